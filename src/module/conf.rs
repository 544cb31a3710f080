//! Location configuration and directive handlers.
//!
//! The `image_resize_rs*` directives have image_filter's syntax, defaults,
//! contexts and merge rules. Handlers are thin: they hand the arguments to the
//! pure parsers in [`crate::value`] and report every failure through
//! [`conf_error`], so `nginx -t` names the directive and the reason.

use core::ffi::{c_char, c_void};
use core::fmt;
use core::mem::{offset_of, size_of};
use core::ptr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::ffi::{
    ngx_command_t, ngx_conf_set_flag_slot, ngx_conf_set_num_slot, ngx_conf_set_size_slot,
    ngx_conf_t, ngx_flag_t, ngx_http_compile_complex_value, ngx_http_compile_complex_value_t,
    ngx_http_complex_value_t, ngx_int_t, ngx_pcalloc, ngx_str_t, ngx_uint_t, NGX_CONF_1MORE,
    NGX_CONF_ANY, NGX_CONF_FLAG, NGX_CONF_TAKE1, NGX_CONF_TAKE123, NGX_HTTP_LOC_CONF,
    NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF, NGX_HTTP_SRV_CONF, NGX_LOG_EMERG, NGX_OK,
};
use ngx::http::Request;
use ngx::ngx_string;

use super::job as threads;
use crate::admission::{self, Limits, Overload};
use crate::negotiate::{self, Formats, Output, Token};
use crate::pipeline::{Settings, DEFAULT_AVIF_QUALITY, DEFAULT_AVIF_SPEED};

use crate::s3::{self, Addressing, Bucket, Credentials, Endpoint};
use crate::value::{self, FilterArgs, Mode, DEFAULT_MAX_PIXELS};

const NGX_CONF_UNSET: ngx_flag_t = -1;
const NGX_CONF_UNSET_SIZE: usize = usize::MAX;
const NGX_CONF_OK: *mut c_char = ptr::null_mut();
const NGX_CONF_ERROR: *mut c_char = usize::MAX as *mut c_char;

/// A directive value: known at config time, or computed per request from
/// variables (`ngx_http_complex_value_t` in the configuration pool).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Static(u64),
    Complex(*mut ngx_http_complex_value_t),
}

impl Value {
    /// image_filter's `ngx_http_image_filter_get_value`: the static value, or
    /// the variables' value parsed like a static one (0 when unusable).
    pub(crate) fn get(&self, r: &Request) -> u64 {
        match *self {
            Value::Static(n) => n,
            // SAFETY: cv was compiled into the configuration pool, which
            // outlives every request.
            Value::Complex(cv) => r
                .get_complex_value(unsafe { &*cv })
                .map_or(0, |s| value::filter_value(s.as_bytes())),
        }
    }
}

pub(crate) struct LocConf {
    /// `image_resize_rs`: unset until a directive sets it; merged together
    /// with width, height and angle, as image_filter merges them.
    pub filter: Option<Mode>,
    pub width: Value,
    pub height: Value,
    pub angle: Value,
    pub jpeg_quality: Option<Value>,
    pub webp_quality: Option<Value>,
    pub sharpen: Option<Value>,
    /// Set by nginx's own flag/size slot setters.
    pub transparency: ngx_flag_t,
    pub interlace: ngx_flag_t,
    /// `image_resize_rs_server_timing`.
    pub server_timing: ngx_flag_t,
    pub buffer_size: usize,
    pub max_pixels: Option<u64>,
    /// S3 origin: each directive merged on its own; `s3` is built from them.
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<Endpoint>,
    pub s3_region: Option<String>,
    pub s3_addressing: Option<Addressing>,
    pub s3_key: Option<*mut ngx_http_complex_value_t>,
    pub s3_credentials: Option<CredentialSource>,
    /// The bucket to sign for, when `image_resize_rs_s3_bucket` applies here.
    pub s3: Option<Bucket>,
    /// `image_resize_rs_thread_pool`: unset, `off`, or a pool.
    pub thread_pool: Option<ThreadPool>,
    /// `image_resize_rs_formats`: negotiable targets, in preference order.
    pub formats: Option<Formats>,
    /// `image_resize_rs_output`: static, or from variables per request.
    pub output: Option<OutputValue>,
    /// `image_resize_rs_avif_quality` / `_avif_speed` (nginx's num slot).
    pub avif_quality: ngx_int_t,
    pub avif_speed: ngx_int_t,
    /// `image_resize_rs_auto_orient` (nginx's flag slot).
    pub auto_orient: ngx_flag_t,
    /// `image_resize_rs_jobs` (http level): `Some(None)` is `auto`.
    pub jobs: Option<Option<usize>>,
    /// `image_resize_rs_queue` (http level).
    pub queue: Option<Limits>,
    /// `image_resize_rs_overload`.
    pub overload: Option<Overload>,
}

/// `image_resize_rs_output`'s value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OutputValue {
    Static(Output),
    Complex(*mut ngx_http_complex_value_t),
}

/// Where the image work runs.
#[derive(Clone, Copy)]
pub(crate) enum ThreadPool {
    /// On the event loop (`image_resize_rs_thread_pool off`, or nginx
    /// without threads).
    Off,
    /// On this nginx thread pool.
    Pool(threads::Pool),
}

/// Where SigV4 credentials come from.
pub(crate) enum CredentialSource {
    /// Fixed in the configuration or read from the environment at load time.
    Static(Credentials),
    /// Computed per request from variables (access key id, secret, token).
    Variables(
        *mut ngx_http_complex_value_t,
        *mut ngx_http_complex_value_t,
        Option<*mut ngx_http_complex_value_t>,
    ),
}

impl Clone for CredentialSource {
    fn clone(&self) -> Self {
        match self {
            CredentialSource::Static(c) => CredentialSource::Static(c.clone()),
            CredentialSource::Variables(a, b, c) => CredentialSource::Variables(*a, *b, *c),
        }
    }
}

impl Default for LocConf {
    fn default() -> Self {
        LocConf {
            filter: None,
            width: Value::Static(0),
            height: Value::Static(0),
            angle: Value::Static(0),
            jpeg_quality: None,
            webp_quality: None,
            sharpen: None,
            transparency: NGX_CONF_UNSET,
            interlace: NGX_CONF_UNSET,
            server_timing: NGX_CONF_UNSET,
            buffer_size: NGX_CONF_UNSET_SIZE,
            max_pixels: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: None,
            s3_addressing: None,
            s3_key: None,
            s3_credentials: None,
            s3: None,
            thread_pool: None,
            formats: None,
            output: None,
            avif_quality: NGX_CONF_UNSET as ngx_int_t,
            avif_speed: NGX_CONF_UNSET as ngx_int_t,
            auto_orient: NGX_CONF_UNSET,
            jobs: None,
            queue: None,
            overload: None,
        }
    }
}

impl LocConf {
    pub(crate) fn mode(&self) -> Mode {
        self.filter.unwrap_or(Mode::Off)
    }

    /// This request's settings: variables evaluated now, on the event loop;
    /// the pipeline checks the values.
    pub(crate) fn settings(&self, r: &Request) -> Settings {
        let get = |v: Option<Value>, default: u64| v.map_or(default, |v| v.get(r));
        Settings {
            mode: self.mode(),
            width: self.width.get(r),
            height: self.height.get(r),
            angle: self.angle.get(r),
            jpeg_quality: get(self.jpeg_quality, 75),
            webp_quality: get(self.webp_quality, 80),
            sharpen: get(self.sharpen, 0),
            transparency: self.transparency != 0,
            interlace: self.interlace == 1,
            max_pixels: self.max_pixels.unwrap_or(DEFAULT_MAX_PIXELS),
            format: self.format_token(r),
            negotiated: self.negotiates(),
            auto_orient: self.auto_orient != 0,
            avif_quality: self.avif_quality.clamp(1, 100) as u32,
            avif_speed: self.avif_speed.clamp(1, 10) as u32,
        }
    }

    /// `image_resize_rs_output` for this request; `None` when its variables
    /// give something other than original/jpeg/png/webp/avif.
    fn output(&self, r: &Request) -> Option<Output> {
        match self.output {
            None => Some(Output::Original),
            Some(OutputValue::Static(o)) => Some(o),
            // SAFETY: cv was compiled into the configuration pool.
            Some(OutputValue::Complex(cv)) => {
                let v = r.get_complex_value(unsafe { &*cv })?;
                negotiate::parse_output(v.as_bytes()).ok()
            }
        }
    }

    /// `$image_resize_rs_format` for this request, from the request alone
    /// (Accept + configuration); `None` for an unusable output value.
    pub(crate) fn format_token(&self, r: &Request) -> Option<Token> {
        let output = self.output(r)?;
        let accept = r
            .headers_in_iterator()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(b"accept"))
            .map(|(_, v)| v.as_bytes());
        let formats = self.formats.unwrap_or_default().to_vec();
        Some(negotiate::token(output, &formats, accept))
    }

    /// The format may change with `Accept` (`Vary: Accept` then): formats
    /// configured and the output not forced.
    pub(crate) fn negotiates(&self) -> bool {
        matches!(
            self.output,
            None | Some(OutputValue::Static(Output::Original))
        ) && self.formats.is_some_and(|f| !f.to_vec().is_empty())
    }

    /// The worker's admission limits (the same in every location: the
    /// directives are http-level).
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            jobs: self.jobs.flatten(),
            ..self.queue.unwrap_or_default()
        }
    }

    /// The pool to run the image work on; `None` means inline.
    pub(crate) fn thread_pool(&self) -> Option<threads::Pool> {
        match self.thread_pool {
            Some(ThreadPool::Pool(p)) => Some(p),
            _ => None,
        }
    }

    fn merge(&mut self, cf: *mut ngx_conf_t, prev: &LocConf) -> Result<(), String> {
        if self.filter.is_none() {
            self.filter = Some(prev.filter.unwrap_or(Mode::Off));
            self.width = prev.width;
            self.height = prev.height;
            self.angle = prev.angle;
        }
        // 75 is libjpeg's default quality, 80 libwebp's.
        self.jpeg_quality = self
            .jpeg_quality
            .or(prev.jpeg_quality)
            .or(Some(Value::Static(75)));
        self.webp_quality = self
            .webp_quality
            .or(prev.webp_quality)
            .or(Some(Value::Static(80)));
        self.sharpen = self.sharpen.or(prev.sharpen).or(Some(Value::Static(0)));
        merge_flag(&mut self.transparency, prev.transparency, 1);
        merge_flag(&mut self.interlace, prev.interlace, 0);
        merge_flag(&mut self.server_timing, prev.server_timing, 0);
        if self.buffer_size == NGX_CONF_UNSET_SIZE {
            self.buffer_size = if prev.buffer_size == NGX_CONF_UNSET_SIZE {
                1024 * 1024
            } else {
                prev.buffer_size
            };
        }
        self.max_pixels = self
            .max_pixels
            .or(prev.max_pixels)
            .or(Some(DEFAULT_MAX_PIXELS));
        self.formats = self.formats.or(prev.formats);
        self.output = self.output.or(prev.output);
        merge_num(
            &mut self.avif_quality,
            prev.avif_quality,
            DEFAULT_AVIF_QUALITY,
        );
        merge_num(&mut self.avif_speed, prev.avif_speed, DEFAULT_AVIF_SPEED);
        if !(1..=100).contains(&self.avif_quality) {
            return Err("\"image_resize_rs_avif_quality\" must be 1..100".into());
        }
        if !(1..=10).contains(&self.avif_speed) {
            return Err("\"image_resize_rs_avif_speed\" must be 1..10".into());
        }
        merge_flag(&mut self.auto_orient, prev.auto_orient, 1);
        self.jobs = self.jobs.or(prev.jobs);
        self.queue = self.queue.or(prev.queue);
        self.overload = self.overload.or(prev.overload);
        self.thread_pool = self.thread_pool.or(prev.thread_pool);
        if self.thread_pool.is_none() && self.mode() != Mode::Off {
            // Nothing said: offload to nginx's implicit "default" pool
            // (32 threads unless `thread_pool default threads=N;` sizes it).
            self.thread_pool = Some(default_pool(cf));
        }
        self.merge_s3(prev)
    }

    fn merge_s3(&mut self, prev: &LocConf) -> Result<(), String> {
        if self.s3_bucket.is_none() {
            self.s3_bucket = prev.s3_bucket.clone();
        }
        if self.s3_endpoint.is_none() {
            self.s3_endpoint = prev.s3_endpoint.clone();
        }
        if self.s3_region.is_none() {
            self.s3_region = prev.s3_region.clone();
        }
        self.s3_addressing = self.s3_addressing.or(prev.s3_addressing);
        self.s3_key = self.s3_key.or(prev.s3_key);
        if self.s3_credentials.is_none() {
            self.s3_credentials = prev.s3_credentials.clone();
        }
        let Some(name) = self.s3_bucket.as_deref() else {
            return Ok(());
        };
        let region = self
            .s3_region
            .get_or_insert_with(|| "us-east-1".into())
            .clone();
        let endpoint = match &self.s3_endpoint {
            Some(e) => e.clone(),
            None => Endpoint::parse(&format!("https://s3.{region}.amazonaws.com"))
                .map_err(|e| format!("\"image_resize_rs_s3_region\" {e}"))?,
        };
        let addressing = self.s3_addressing.unwrap_or(Addressing::Path);
        self.s3 = Some(
            Bucket::new(endpoint, name, addressing)
                .map_err(|e| format!("\"image_resize_rs_s3_bucket\" directive {e}"))?,
        );
        // Credentials are needed where a key is signed: usually a location,
        // while the bucket may be set for the whole http block.
        if self.s3_credentials.is_none() && self.s3_key.is_some() {
            // Read once, in the master, while the configuration loads: nginx
            // clears the workers' environment.
            let creds = Credentials::from_env(|k| std::env::var(k).ok()).map_err(|e| {
                format!(
                    "\"image_resize_rs_s3_bucket\" directive needs credentials: {e}; set \
                     \"image_resize_rs_s3_credentials\" or AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY in nginx's environment"
                )
            })?;
            self.s3_credentials = Some(CredentialSource::Static(creds));
        }
        Ok(())
    }
}

fn merge_flag(v: &mut ngx_flag_t, prev: ngx_flag_t, default: ngx_flag_t) {
    if *v == NGX_CONF_UNSET {
        *v = if prev == NGX_CONF_UNSET {
            default
        } else {
            prev
        };
    }
}

fn merge_num(v: &mut ngx_int_t, prev: ngx_int_t, default: u32) {
    if *v == NGX_CONF_UNSET as ngx_int_t {
        *v = if prev == NGX_CONF_UNSET as ngx_int_t {
            default as ngx_int_t
        } else {
            prev
        };
    }
}

pub(crate) unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx passes two LocConf allocated by create_loc_conf.
    let (prev, conf) = unsafe { (&*(prev as *const LocConf), &mut *(conf as *mut LocConf)) };
    let merged = catch_unwind(AssertUnwindSafe(|| conf.merge(cf, prev)))
        .unwrap_or_else(|_| Err("internal error (panic) while merging the configuration".into()));
    match merged {
        Ok(()) => NGX_CONF_OK,
        Err(msg) => {
            ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
            NGX_CONF_ERROR
        }
    }
}

/// The one exit for configuration errors:
/// `"image_resize_rs" directive invalid parameter "x" in /etc/nginx/nginx.conf:12`.
fn conf_error(
    cf: *mut ngx_conf_t,
    cmd: *const ngx_command_t,
    err: impl fmt::Display,
) -> *mut c_char {
    // SAFETY: cmd is the command table entry nginx is executing.
    let name = unsafe { (*cmd).name.as_bytes() };
    ngx::ngx_conf_log_error!(
        NGX_LOG_EMERG,
        cf,
        "\"{}\" directive {}",
        String::from_utf8_lossy(name),
        err
    );
    NGX_CONF_ERROR
}

/// Arguments after the directive name.
///
/// SAFETY: cf must be the conf nginx is calling a handler with.
unsafe fn args<'a>(cf: *mut ngx_conf_t) -> &'a mut [ngx_str_t] {
    // SAFETY: cf->args is an array of ngx_str_t with at least the name.
    let all = unsafe { (*(*cf).args).as_slice_mut::<ngx_str_t>() };
    &mut all[1..]
}

type ConfResult = Result<(), Box<dyn fmt::Display>>;

/// The one shape of every directive handler: the conf, the arguments after
/// the name, a closure that sets the field; errors (and panics) go through
/// [`conf_error`].
///
/// SAFETY: called from a directive handler with nginx's arguments.
unsafe fn directive(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
    set: impl FnOnce(&mut LocConf, &mut [ngx_str_t]) -> ConfResult,
) -> *mut c_char {
    // SAFETY: conf is our LocConf; args come from nginx's parser.
    let (conf, args) = unsafe { (&mut *(conf as *mut LocConf), args(cf)) };
    match catch_unwind(AssertUnwindSafe(|| set(conf, args))) {
        Ok(Ok(())) => NGX_CONF_OK,
        Ok(Err(e)) => conf_error(cf, cmd, e),
        Err(_) => conf_error(cf, cmd, "internal error (panic)"),
    }
}

fn boxed<E: fmt::Display + 'static>(e: E) -> Box<dyn fmt::Display> {
    Box::new(e)
}

fn duplicate<T>(field: &Option<T>) -> ConfResult {
    match field {
        Some(_) => Err(Box::new("is duplicate")),
        None => Ok(()),
    }
}

/// A value that may hold variables: compiled if it does, else checked now.
///
/// SAFETY: cf is live; `arg` points into cf->args.
unsafe fn value_arg(
    cf: *mut ngx_conf_t,
    arg: *mut ngx_str_t,
    check: fn(&[u8]) -> Result<u64, value::ValueError>,
) -> Result<Value, Box<dyn fmt::Display>> {
    // SAFETY: arg is valid for the duration of the handler.
    let bytes = unsafe { (*arg).as_bytes() };
    if !value::has_variables(bytes) {
        return check(bytes)
            .map(Value::Static)
            .map_err(|e| Box::new(e) as _);
    }
    // SAFETY: forwarded from the caller.
    unsafe { complex_arg(cf, arg) }.map(Value::Complex)
}

/// `image_resize_rs off | test | size | rotate A | resize W H | crop W H;`
unsafe extern "C" fn cmd_filter(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let mode = match value::parse_filter_args(&raw).map_err(boxed)? {
                FilterArgs::Off => Mode::Off,
                FilterArgs::Test => Mode::Test,
                FilterArgs::Size => Mode::Size,
                FilterArgs::Rotate(_) => Mode::Rotate,
                FilterArgs::Resize(..) => Mode::Resize,
                FilterArgs::Crop(..) => Mode::Crop,
            };
            match mode {
                Mode::Off | Mode::Test | Mode::Size => conf.filter = Some(mode),
                Mode::Rotate => {
                    // rotate combines with an earlier resize or crop in the same location.
                    if !matches!(conf.filter, Some(Mode::Resize | Mode::Crop)) {
                        conf.filter = Some(Mode::Rotate);
                    }
                    let angle = |s: &[u8]| value::static_angle(s).map(u64::from);
                    conf.angle = value_arg(cf, &mut args[1], angle)?;
                }
                Mode::Resize | Mode::Crop => {
                    conf.filter = Some(mode);
                    conf.width = value_arg(cf, &mut args[1], value::static_dimension)?;
                    conf.height = value_arg(cf, &mut args[2], value::static_dimension)?;
                }
            }
            Ok(())
        })
    }
}

/// `image_resize_rs_jpeg_quality`, `_webp_quality`, `_sharpen`: one value
/// that may hold variables.
macro_rules! value_directive {
    ($name:ident, $field:ident, $check:path) => {
        unsafe extern "C" fn $name(
            cf: *mut ngx_conf_t,
            cmd: *mut ngx_command_t,
            conf: *mut c_void,
        ) -> *mut c_char {
            // SAFETY: a directive handler.
            unsafe {
                directive(cf, cmd, conf, |conf, args| {
                    duplicate(&conf.$field)?;
                    conf.$field = Some(value_arg(cf, &mut args[0], $check)?);
                    Ok(())
                })
            }
        }
    };
}

value_directive!(cmd_jpeg_quality, jpeg_quality, value::static_quality);
value_directive!(cmd_webp_quality, webp_quality, value::static_quality);
value_directive!(cmd_sharpen, sharpen, value::static_sharpen);

/// `image_resize_rs_max_pixels 40m;`
unsafe extern "C" fn cmd_max_pixels(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.max_pixels)?;
            conf.max_pixels = Some(value::parse_pixels(args[0].as_bytes()).map_err(boxed)?);
            Ok(())
        })
    }
}

/// `image_resize_rs_formats off | avif webp ...;`
unsafe extern "C" fn cmd_formats(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.formats)?;
            let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let list = negotiate::parse_formats(&raw).map_err(boxed)?;
            conf.formats = Some(Formats::new(&list));
            Ok(())
        })
    }
}

/// `image_resize_rs_output original | jpeg | png | webp | avif | $var;`
unsafe extern "C" fn cmd_output(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.output)?;
            let bytes = args[0].as_bytes();
            conf.output = Some(if value::has_variables(bytes) {
                OutputValue::Complex(complex_arg(cf, &mut args[0])?)
            } else {
                OutputValue::Static(negotiate::parse_output(bytes).map_err(boxed)?)
            });
            Ok(())
        })
    }
}

/// `image_resize_rs_thread_pool NAME | off;`
unsafe extern "C" fn cmd_thread_pool(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.thread_pool)?;
            if args[0].as_bytes() == b"off" {
                conf.thread_pool = Some(ThreadPool::Off);
                return Ok(());
            }
            if value::has_variables(args[0].as_bytes()) {
                return Err(Box::new("does not take variables"));
            }
            conf.thread_pool = Some(named_pool(cf, &mut args[0]));
            Ok(())
        })
    }
}

/// `image_resize_rs_jobs number | auto;`
unsafe extern "C" fn cmd_jobs(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.jobs)?;
            conf.jobs = Some(admission::parse_jobs(args[0].as_bytes()).map_err(boxed)?);
            Ok(())
        })
    }
}

/// `image_resize_rs_queue [length=N] [size=SIZE] [timeout=TIME];`
unsafe extern "C" fn cmd_queue(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.queue)?;
            let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            conf.queue = Some(admission::parse_queue(&raw).map_err(boxed)?);
            Ok(())
        })
    }
}

/// `image_resize_rs_overload 503 | original [max_size=SIZE] [max_age=TIME];`
unsafe extern "C" fn cmd_overload(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.overload)?;
            let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            conf.overload = Some(admission::parse_overload(&raw).map_err(boxed)?);
            Ok(())
        })
    }
}

/// A pool declared (now or later) with nginx's `thread_pool NAME ...;`;
/// nginx itself reports an undeclared one ("unknown thread pool").
#[cfg(ngx_feature = "threads")]
unsafe fn named_pool(cf: *mut ngx_conf_t, name: *mut ngx_str_t) -> ThreadPool {
    // SAFETY: cf is the configuration being parsed; name lives in its pool.
    let tp = unsafe { ngx::ffi::ngx_thread_pool_add(cf, name) };
    if tp.is_null() {
        ThreadPool::Off
    } else {
        ThreadPool::Pool(tp)
    }
}

#[cfg(ngx_feature = "threads")]
fn default_pool(cf: *mut ngx_conf_t) -> ThreadPool {
    // SAFETY: as above; NULL names nginx's implicit "default" pool.
    let tp = unsafe { ngx::ffi::ngx_thread_pool_add(cf, ptr::null_mut()) };
    if tp.is_null() {
        ThreadPool::Off
    } else {
        ThreadPool::Pool(tp)
    }
}

#[cfg(not(ngx_feature = "threads"))]
unsafe fn named_pool(cf: *mut ngx_conf_t, _name: *mut ngx_str_t) -> ThreadPool {
    default_pool(cf)
}

#[cfg(not(ngx_feature = "threads"))]
fn default_pool(cf: *mut ngx_conf_t) -> ThreadPool {
    ngx::ngx_conf_log_error!(
        ngx::ffi::NGX_LOG_WARN,
        cf,
        "image_resize_rs: this nginx has no thread pools (built without \
         --with-threads): images are processed on the event loop"
    );
    ThreadPool::Off
}

/// Compiles an argument as a complex value (nginx's complex values handle
/// constants too); the one place that calls nginx's compiler. The error
/// names no value: arguments can be secrets.
///
/// SAFETY: cf is live; `arg` points into cf->args.
unsafe fn complex_arg(
    cf: *mut ngx_conf_t,
    arg: *mut ngx_str_t,
) -> Result<*mut ngx_http_complex_value_t, Box<dyn fmt::Display>> {
    // SAFETY: arg is valid for the duration of the handler.
    let bytes = unsafe { (*arg).as_bytes() };
    // nginx's compiler quotes the whole argument in its errors; the value
    // may be a secret, so its syntax errors are caught here first.
    value::check_variable_syntax(bytes).map_err(|e| Box::new(e) as Box<dyn fmt::Display>)?;
    // SAFETY: pool allocation, zeroed as ngx_pcalloc does.
    let cv = unsafe { ngx_pcalloc((*cf).pool, size_of::<ngx_http_complex_value_t>()) }
        as *mut ngx_http_complex_value_t;
    if cv.is_null() {
        return Err(Box::new("out of memory"));
    }
    // SAFETY: a zeroed ngx_http_compile_complex_value_t is its documented initial state.
    let mut ccv: ngx_http_compile_complex_value_t = unsafe { core::mem::zeroed() };
    ccv.cf = cf;
    ccv.value = arg;
    ccv.complex_value = cv;
    // SAFETY: ccv is fully initialised for nginx's compiler.
    if unsafe { ngx_http_compile_complex_value(&mut ccv) } != NGX_OK as isize {
        return Err(Box::new("has an invalid variable reference"));
    }
    Ok(cv)
}

/// `image_resize_rs_s3_{endpoint,addressing,region,bucket}`: one static
/// argument through a pure parser.
macro_rules! s3_directive {
    ($name:ident, $field:ident, |$arg:ident| $parse:expr) => {
        unsafe extern "C" fn $name(
            cf: *mut ngx_conf_t,
            cmd: *mut ngx_command_t,
            conf: *mut c_void,
        ) -> *mut c_char {
            // SAFETY: a directive handler.
            unsafe {
                directive(cf, cmd, conf, |conf, args| {
                    duplicate(&conf.$field)?;
                    let $arg = String::from_utf8_lossy(args[0].as_bytes()).into_owned();
                    conf.$field = Some($parse.map_err(boxed)?);
                    Ok(())
                })
            }
        }
    };
}

s3_directive!(cmd_s3_endpoint, s3_endpoint, |a| Endpoint::parse(&a));
s3_directive!(cmd_s3_addressing, s3_addressing, |a| Addressing::parse(&a));
s3_directive!(cmd_s3_region, s3_region, |a| s3::validate_region(&a)
    .map(|_| a));
s3_directive!(cmd_s3_bucket, s3_bucket, |a| {
    // The name alone is checked here; with the endpoint at merge time.
    let any = Endpoint::parse("http://localhost").expect("static endpoint");
    Bucket::new(any, &a, Addressing::Path).map(|_| a)
});

/// `image_resize_rs_s3_key $key;`
unsafe extern "C" fn cmd_s3_key(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.s3_key)?;
            conf.s3_key = Some(complex_arg(cf, &mut args[0])?);
            Ok(())
        })
    }
}

/// `image_resize_rs_s3_credentials env | <access_key_id> <secret_access_key> [<session_token>];`
unsafe extern "C" fn cmd_s3_credentials(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: a directive handler.
    unsafe {
        directive(cf, cmd, conf, |conf, args| {
            duplicate(&conf.s3_credentials)?;
            conf.s3_credentials = Some(credentials(cf, args)?);
            Ok(())
        })
    }
}

/// SAFETY: cf is live; args are this directive's.
unsafe fn credentials(
    cf: *mut ngx_conf_t,
    args: &mut [ngx_str_t],
) -> Result<CredentialSource, Box<dyn fmt::Display>> {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    if raw == [b"env".as_slice()] {
        return Credentials::from_env(|k| std::env::var(k).ok())
            .map(CredentialSource::Static)
            .map_err(|e| Box::new(e) as _);
    }
    if raw.len() < 2 {
        return Err(Box::new(
            "takes \"env\" or an access key id, a secret and an optional session token",
        ));
    }
    if raw.iter().any(|a| value::has_variables(a)) {
        // SAFETY: forwarded from the caller.
        let id = unsafe { complex_arg(cf, &mut args[0])? };
        let secret = unsafe { complex_arg(cf, &mut args[1])? };
        let token = if args.len() > 2 {
            Some(unsafe { complex_arg(cf, &mut args[2])? })
        } else {
            None
        };
        return Ok(CredentialSource::Variables(id, secret, token));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Credentials::new(
        text(raw[0]),
        zeroize::Zeroizing::new(text(raw[1])).as_str(),
        raw.get(2).map(|t| text(t)).filter(|t| !t.is_empty()),
    )
    .map(CredentialSource::Static)
    .map_err(|e| Box::new(e) as _)
}

const ANY_LEVEL: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

const fn command(
    name: ngx_str_t,
    type_: u32,
    set: unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char,
    offset: usize,
) -> ngx_command_t {
    ngx_command_t {
        name,
        type_: type_ as ngx_uint_t,
        set: Some(set),
        conf: NGX_HTTP_LOC_CONF_OFFSET,
        offset,
        post: ptr::null_mut(),
    }
}

pub(crate) static mut COMMANDS: [ngx_command_t; 25] = [
    command(
        ngx_string!("image_resize_rs"),
        NGX_HTTP_LOC_CONF | NGX_CONF_TAKE123,
        cmd_filter,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_jpeg_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_jpeg_quality,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_webp_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_webp_quality,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_sharpen"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_sharpen,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_transparency"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, transparency),
    ),
    command(
        ngx_string!("image_resize_rs_interlace"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, interlace),
    ),
    command(
        ngx_string!("image_resize_rs_server_timing"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, server_timing),
    ),
    command(
        ngx_string!("image_resize_rs_buffer"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_size_slot,
        offset_of!(LocConf, buffer_size),
    ),
    command(
        ngx_string!("image_resize_rs_max_pixels"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_max_pixels,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_thread_pool"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_thread_pool,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_bucket"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_s3_bucket,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_endpoint"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_s3_endpoint,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_region"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_s3_region,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_addressing"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_s3_addressing,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_key"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_s3_key,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_s3_credentials"),
        ANY_LEVEL | NGX_CONF_TAKE123,
        cmd_s3_credentials,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_formats"),
        ANY_LEVEL | NGX_CONF_1MORE,
        cmd_formats,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_output"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        cmd_output,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_avif_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, avif_quality),
    ),
    command(
        ngx_string!("image_resize_rs_avif_speed"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, avif_speed),
    ),
    command(
        ngx_string!("image_resize_rs_auto_orient"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, auto_orient),
    ),
    command(
        ngx_string!("image_resize_rs_jobs"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
        cmd_jobs,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_queue"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_ANY,
        cmd_queue,
        0,
    ),
    command(
        ngx_string!("image_resize_rs_overload"),
        ANY_LEVEL | NGX_CONF_1MORE,
        cmd_overload,
        0,
    ),
    ngx_command_t::empty(),
];
