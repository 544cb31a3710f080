//! The `image_resize_rs*` directives: the command table and one safe
//! handler per directive. Each handler hands its arguments to a pure parser
//! ([`crate::value`], [`crate::negotiate`], [`crate::admission`],
//! [`crate::s3`]) and returns its complaint; [`handler`], the one
//! `extern "C"` entry, reports it, so `nginx -t` names the directive and
//! the reason. Plain flags, sizes and numbers use nginx's own slot setters.

use core::ffi::{c_char, c_void};
use core::mem::offset_of;
use core::ptr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::core::NGX_CONF_OK;
use ngx::ffi::{
    ngx_command_t, ngx_conf_set_flag_slot, ngx_conf_set_num_slot, ngx_conf_set_size_slot,
    ngx_conf_t, ngx_str_t, ngx_uint_t, NGX_CONF_1MORE, NGX_CONF_ANY, NGX_CONF_FLAG,
    NGX_CONF_NOARGS, NGX_CONF_TAKE1, NGX_CONF_TAKE12, NGX_CONF_TAKE123, NGX_CONF_TAKE2,
    NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF, NGX_HTTP_SRV_CONF,
};
use ngx::ngx_string;

use super::ext::{ConfError, ConfExt};
use super::{
    CredentialSource, FocusPoint, Fraction, Hint, LocConf, OutputValue, SignValue, ThreadPool,
    Value,
};
use crate::admission;
use crate::delivery::{self, Ladder};
use crate::negotiate::{self, Formats};
use crate::s3::{self, Addressing, Bucket, Credentials, Endpoint};
use crate::sign::{self, SignArgs};
use crate::value::{self, FilterArgs, Gravity, Mode};

type ConfResult = Result<(), ConfError>;

/// A directive of ours: sets `conf` from the words after the directive's
/// name, or says what is wrong with them.
pub(super) trait Directive {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult;
}

/// The `extern "C"` shim of every [`Directive`]: nginx's pointers become
/// references here, once; errors and panics leave through
/// [`ConfExt::directive_error`].
unsafe extern "C" fn handler<D: Directive>(
    cf: *mut ngx_conf_t,
    cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls a directive handler with the conf being parsed
    // (whose cf->args is its array of the directive's words, ngx_str_t,
    // name first), the command table entry it matched (a static) and, for
    // NGX_HTTP_LOC_CONF_OFFSET, this module's LocConf of the current block.
    // The words are ngx_str_t copies: their bytes stay in cf->pool.
    let (cf, name, conf, args) = unsafe {
        let cf = &mut *cf;
        let args = cf.args.as_ref().map(|a| a.as_slice()).unwrap_or_default();
        let args = args.get(1..).unwrap_or_default().to_vec();
        (cf, (*cmd).name, &mut *conf.cast::<LocConf>(), args)
    };
    match catch_unwind(AssertUnwindSafe(|| D::set(cf, conf, &args))) {
        Ok(Ok(())) => NGX_CONF_OK,
        Ok(Err(e)) => cf.directive_error(name.as_bytes(), e),
        Err(_) => cf.directive_error(name.as_bytes(), "internal error (panic)".into()),
    }
}

fn duplicate<T>(field: &Option<T>) -> ConfResult {
    match field {
        Some(_) => Err("is duplicate".into()),
        None => Ok(()),
    }
}

fn words(args: &[ngx_str_t]) -> Vec<&[u8]> {
    args.iter().map(|a| a.as_bytes()).collect()
}

fn text(arg: &ngx_str_t) -> String {
    String::from_utf8_lossy(arg.as_bytes()).into_owned()
}

/// A value that may hold variables: compiled if it does, else checked now.
fn value_arg(
    cf: &mut ngx_conf_t,
    arg: ngx_str_t,
    check: fn(&[u8]) -> Result<u64, value::ValueError>,
) -> Result<Value, ConfError> {
    if value::has_variables(arg.as_bytes()) {
        return cf.complex_value(arg).map(Value::Complex);
    }
    Ok(Value::Static(check(arg.as_bytes())?))
}

/// `image_resize_rs off | test | size | rotate A | resize W H | crop W H;`
struct Filter;

impl Directive for Filter {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        let mode = match value::parse_filter_args(&words(args))? {
            FilterArgs::Off => Mode::Off,
            FilterArgs::Test => Mode::Test,
            FilterArgs::Size => Mode::Size,
            FilterArgs::Placeholder => Mode::Placeholder,
            FilterArgs::Rotate(_) => Mode::Rotate,
            FilterArgs::Resize(..) => Mode::Resize,
            FilterArgs::Crop(..) => Mode::Crop,
            FilterArgs::Pad(..) => Mode::Pad,
        };
        match mode {
            Mode::Off | Mode::Test | Mode::Size | Mode::Placeholder => conf.filter = Some(mode),
            Mode::Rotate => {
                // rotate combines with an earlier resize or crop in the same location.
                if !matches!(conf.filter, Some(Mode::Resize | Mode::Crop | Mode::Pad)) {
                    conf.filter = Some(Mode::Rotate);
                }
                let angle = |s: &[u8]| value::static_angle(s).map(u64::from);
                conf.angle = value_arg(cf, args[1], angle)?;
            }
            Mode::Resize | Mode::Crop => {
                conf.filter = Some(mode);
                conf.width = value_arg(cf, args[1], value::static_dimension)?;
                conf.height = value_arg(cf, args[2], value::static_dimension)?;
            }
            Mode::Pad => {
                conf.filter = Some(mode);
                conf.width = value_arg(cf, args[1], value::static_pad_dimension)?;
                conf.height = value_arg(cf, args[2], value::static_pad_dimension)?;
            }
        }
        Ok(())
    }
}

/// `image_resize_rs_jpeg_quality`, `_webp_quality`, `_sharpen`: one value
/// that may hold variables.
fn set_value(
    cf: &mut ngx_conf_t,
    field: &mut Option<Value>,
    arg: ngx_str_t,
    check: fn(&[u8]) -> Result<u64, value::ValueError>,
) -> ConfResult {
    duplicate(field)?;
    *field = Some(value_arg(cf, arg, check)?);
    Ok(())
}

struct JpegQuality;

impl Directive for JpegQuality {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        set_value(cf, &mut conf.jpeg_quality, args[0], value::static_quality)
    }
}

struct WebpQuality;

impl Directive for WebpQuality {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        set_value(cf, &mut conf.webp_quality, args[0], value::static_quality)
    }
}

struct Sharpen;

impl Directive for Sharpen {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        set_value(cf, &mut conf.sharpen, args[0], value::static_sharpen)
    }
}

/// `image_resize_rs_max_pixels 40m;`
struct MaxPixels;

impl Directive for MaxPixels {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.max_pixels)?;
        conf.max_pixels = Some(value::parse_pixels(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_formats off | avif webp ...;`
struct FormatList;

impl Directive for FormatList {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.formats)?;
        let list = negotiate::parse_formats(&words(args))?;
        conf.formats = Some(Formats::new(&list));
        Ok(())
    }
}

/// `image_resize_rs_output original | jpeg | png | webp | avif | $var;`
struct OutputFormat;

impl Directive for OutputFormat {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.output)?;
        let bytes = args[0].as_bytes();
        conf.output = Some(if value::has_variables(bytes) {
            OutputValue::Complex(cf.complex_value(args[0])?)
        } else {
            OutputValue::Static(negotiate::parse_output(bytes)?)
        });
        Ok(())
    }
}

/// `image_resize_rs_thread_pool NAME | off;`
struct ThreadPoolName;

impl Directive for ThreadPoolName {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.thread_pool)?;
        if args[0].as_bytes() == b"off" {
            conf.thread_pool = Some(ThreadPool::Off);
            return Ok(());
        }
        if value::has_variables(args[0].as_bytes()) {
            return Err("does not take variables".into());
        }
        conf.thread_pool = Some(named_pool(cf, args[0]));
        Ok(())
    }
}

/// A pool declared (now or later) with nginx's `thread_pool NAME ...;`;
/// nginx itself reports an undeclared one ("unknown thread pool").
#[cfg(ngx_feature = "threads")]
fn named_pool(cf: &mut ngx_conf_t, name: ngx_str_t) -> ThreadPool {
    pool_or_off(cf.thread_pool_add(Some(name)))
}

/// Nothing said: nginx's implicit "default" pool (32 threads unless
/// `thread_pool default threads=N;` sizes it).
#[cfg(ngx_feature = "threads")]
pub(super) fn default_pool(cf: &mut ngx_conf_t) -> ThreadPool {
    pool_or_off(cf.thread_pool_add(None))
}

#[cfg(ngx_feature = "threads")]
fn pool_or_off(tp: super::Pool) -> ThreadPool {
    if tp.is_null() {
        ThreadPool::Off
    } else {
        ThreadPool::Pool(tp)
    }
}

#[cfg(not(ngx_feature = "threads"))]
fn named_pool(cf: &mut ngx_conf_t, _name: ngx_str_t) -> ThreadPool {
    default_pool(cf)
}

#[cfg(not(ngx_feature = "threads"))]
pub(super) fn default_pool(cf: &mut ngx_conf_t) -> ThreadPool {
    cf.warn(
        "image_resize_rs: this nginx has no thread pools (built without \
         --with-threads): images are processed on the event loop",
    );
    ThreadPool::Off
}

/// `image_resize_rs_jobs number | auto;`
struct Jobs;

impl Directive for Jobs {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.jobs)?;
        conf.jobs = Some(admission::parse_jobs(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_queue [length=N] [size=SIZE] [timeout=TIME];`
struct Queue;

impl Directive for Queue {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.queue)?;
        conf.queue = Some(admission::parse_queue(&words(args))?);
        Ok(())
    }
}

/// `image_resize_rs_overload 503 | original [max_size=SIZE] [max_age=TIME];`
struct Overload;

impl Directive for Overload {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.overload)?;
        conf.overload = Some(admission::parse_overload(&words(args))?);
        Ok(())
    }
}

/// `image_resize_rs_s3_endpoint URL;`
struct S3Endpoint;

impl Directive for S3Endpoint {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_endpoint)?;
        conf.s3_endpoint = Some(Endpoint::parse(&text(&args[0]))?);
        Ok(())
    }
}

/// `image_resize_rs_s3_addressing path | virtual;`
struct S3Addressing;

impl Directive for S3Addressing {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_addressing)?;
        conf.s3_addressing = Some(Addressing::parse(&text(&args[0]))?);
        Ok(())
    }
}

/// `image_resize_rs_s3_region REGION;`
struct S3Region;

impl Directive for S3Region {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_region)?;
        let region = text(&args[0]);
        s3::validate_region(&region)?;
        conf.s3_region = Some(region);
        Ok(())
    }
}

/// `image_resize_rs_s3_bucket NAME;`
struct S3Bucket;

impl Directive for S3Bucket {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_bucket)?;
        let name = text(&args[0]);
        // The name alone is checked here; with the endpoint at merge time.
        let any = Endpoint::parse("http://localhost").expect("static endpoint");
        Bucket::new(any, &name, Addressing::Path)?;
        conf.s3_bucket = Some(name);
        Ok(())
    }
}

/// `image_resize_rs_s3_key $key;`
struct S3Key;

impl Directive for S3Key {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_key)?;
        conf.s3_key = Some(cf.complex_value(args[0])?);
        Ok(())
    }
}

/// `image_resize_rs_s3_credentials env | <access_key_id> <secret_access_key> [<session_token>];`
/// `image_resize_rs_metrics;`: the location answers with the shared
/// counters (as `stub_status` installs its handler).
struct Metrics;

impl Directive for Metrics {
    fn set(cf: &mut ngx_conf_t, _: &mut LocConf, _: &[ngx_str_t]) -> ConfResult {
        use ngx::http::{HttpModuleLocationConf, NgxHttpCoreModule};
        let clcf = NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("has no location")?;
        clcf.handler = Some(crate::module::metrics::HANDLER);
        Ok(())
    }
}

struct S3Credentials;

impl Directive for S3Credentials {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.s3_credentials)?;
        conf.s3_credentials = Some(credentials(cf, args)?);
        Ok(())
    }
}

fn credentials(cf: &mut ngx_conf_t, args: &[ngx_str_t]) -> Result<CredentialSource, ConfError> {
    let raw = words(args);
    if raw == [b"env".as_slice()] {
        let creds = Credentials::from_env(|k| std::env::var(k).ok())?;
        return Ok(CredentialSource::Static(creds));
    }
    if raw.len() < 2 {
        return Err(
            "takes \"env\" or an access key id, a secret and an optional session token".into(),
        );
    }
    if raw.iter().any(|a| value::has_variables(a)) {
        let id = cf.complex_value(args[0])?;
        let secret = cf.complex_value(args[1])?;
        let token = match args.get(2) {
            Some(&t) => Some(cf.complex_value(t)?),
            None => None,
        };
        return Ok(CredentialSource::Variables(id, secret, token));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let creds = Credentials::new(
        text(raw[0]),
        zeroize::Zeroizing::new(text(raw[1])).as_str(),
        raw.get(2).map(|t| text(t)).filter(|t| !t.is_empty()),
    )?;
    Ok(CredentialSource::Static(creds))
}

/// `image_resize_rs_widths N ... | off;`
struct Widths;

impl Directive for Widths {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.widths)?;
        conf.widths = Some(Ladder::parse(&words(args))?);
        Ok(())
    }
}

/// `image_resize_rs_heights N ... | off;`
struct Heights;

impl Directive for Heights {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.heights)?;
        conf.heights = Some(Ladder::parse(&words(args))?);
        Ok(())
    }
}

/// A hint's value (`off`: none), with the header it reads for `Vary`.
fn hint(cf: &mut ngx_conf_t, arg: ngx_str_t) -> Result<Option<Hint>, ConfError> {
    if arg.as_bytes() == b"off" {
        return Ok(None);
    }
    Ok(Some(Hint {
        value: cf.complex_value(arg)?,
        header: delivery::header_of(arg.as_bytes()),
    }))
}

/// `image_resize_rs_dpr VALUE | off;`
struct Dpr;

impl Directive for Dpr {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.dpr)?;
        conf.dpr = Some(hint(cf, args[0])?);
        Ok(())
    }
}

/// `image_resize_rs_client_width VALUE | off;`
struct ClientWidth;

impl Directive for ClientWidth {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.client_width)?;
        conf.client_width = Some(hint(cf, args[0])?);
        Ok(())
    }
}

/// `image_resize_rs_save_data VALUE [quality=N] | off;`
struct SaveData;

impl Directive for SaveData {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.save_data)?;
        let (_, cap) = delivery::parse_save_data_args(&words(args))?;
        conf.save_data = Some(hint(cf, args[0])?.map(|h| (h, cap)));
        Ok(())
    }
}

/// `image_resize_rs_box WIDTH HEIGHT;`
struct KeyBox;

impl Directive for KeyBox {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.key_box)?;
        let w = value_arg(cf, args[0], value::static_dimension)?;
        let h = value_arg(cf, args[1], value::static_dimension)?;
        conf.key_box = Some((w, h));
        Ok(())
    }
}

/// `image_resize_rs_sign_key key | file=path;`, repeatable (key rotation).
/// The complaint never holds the key.
struct SignKey;

impl Directive for SignKey {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        let key = sign::parse_key(args[0].as_bytes(), |name| cf.conf_path(name))?;
        conf.sign_keys.get_or_insert_with(Vec::new).push(key);
        Ok(())
    }
}

/// `image_resize_rs_sign off | value [expires=value];`
struct Sign;

impl Directive for Sign {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.sign)?;
        conf.sign = Some(match sign::parse_sign_args(&words(args))? {
            SignArgs::Off => SignValue::Off,
            SignArgs::On { expires, .. } => {
                let signature = cf.complex_value(args[0])?;
                let expires = match expires {
                    // the words' bytes stay in cf->pool: the value after `expires=`
                    Some(e) => Some(cf.complex_value(ngx_str_t {
                        len: e.len(),
                        data: e.as_ptr().cast_mut(),
                    })?),
                    None => None,
                };
                SignValue::On { signature, expires }
            }
        });
        Ok(())
    }
}

/// `image_resize_rs_gravity center | north | ... | smart;`
struct GravityWord;

impl Directive for GravityWord {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.gravity)?;
        conf.gravity = Some(Gravity::parse(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_animation keep [over_limit=first|refuse] | first;`
struct Animation;

impl Directive for Animation {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.animation)?;
        conf.animation = Some(crate::pipeline::parse_animation(&words(args))?);
        Ok(())
    }
}

/// `image_resize_rs_max_frames 300;`
struct MaxFrames;

impl Directive for MaxFrames {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.max_frames)?;
        conf.max_frames = Some(value::parse_pixels(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_max_frame_pixels 200m;`: frames × width × height.
struct MaxFramePixels;

impl Directive for MaxFramePixels {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.max_frame_pixels)?;
        conf.max_frame_pixels = Some(value::parse_pixels(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_focus X Y | off;`: fractions, may hold variables.
struct Focus;

impl Directive for Focus {
    fn set(cf: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.focus)?;
        let mut fraction = |arg: ngx_str_t| -> Result<Fraction, ConfError> {
            if value::has_variables(arg.as_bytes()) {
                return cf.complex_value(arg).map(Fraction::Complex);
            }
            Ok(Fraction::Static(value::parse_fraction(arg.as_bytes())?))
        };
        conf.focus = Some(match args {
            [off] if off.as_bytes() == b"off" => FocusPoint::Off,
            [x, y] => FocusPoint::At(fraction(*x)?, fraction(*y)?),
            _ => return Err("takes \"off\" or X and Y, fractions 0..1 of the image".into()),
        });
        Ok(())
    }
}

/// `image_resize_rs_pad_color #rrggbb | #rrggbbaa | transparent;`
struct PadColor;

impl Directive for PadColor {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.pad_color)?;
        conf.pad_color = Some(value::parse_color(args[0].as_bytes())?);
        Ok(())
    }
}

/// `image_resize_rs_metadata none | copyright | all;`
struct MetadataWord;

impl Directive for MetadataWord {
    fn set(_: &mut ngx_conf_t, conf: &mut LocConf, args: &[ngx_str_t]) -> ConfResult {
        duplicate(&conf.metadata)?;
        conf.metadata = Some(crate::pipeline::Metadata::parse(args[0].as_bytes())?);
        Ok(())
    }
}

const ANY_LEVEL: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

/// A directive set by one of our [`Directive`]s.
const fn ours<D: Directive>(name: ngx_str_t, type_: u32) -> ngx_command_t {
    slot(name, type_, handler::<D>, 0)
}

/// A directive set by nginx's own slot setter at `offset` in [`LocConf`].
const fn slot(
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

/// nginx reads the table during configuration parsing only.
pub(crate) static mut COMMANDS: [ngx_command_t; 43] = [
    ours::<Filter>(
        ngx_string!("image_resize_rs"),
        NGX_HTTP_LOC_CONF | NGX_CONF_TAKE123,
    ),
    ours::<JpegQuality>(
        ngx_string!("image_resize_rs_jpeg_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<WebpQuality>(
        ngx_string!("image_resize_rs_webp_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<Sharpen>(
        ngx_string!("image_resize_rs_sharpen"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    slot(
        ngx_string!("image_resize_rs_transparency"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, transparency),
    ),
    slot(
        ngx_string!("image_resize_rs_interlace"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, interlace),
    ),
    slot(
        ngx_string!("image_resize_rs_server_timing"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, server_timing),
    ),
    slot(
        ngx_string!("image_resize_rs_buffer"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_size_slot,
        offset_of!(LocConf, buffer_size),
    ),
    ours::<MaxPixels>(
        ngx_string!("image_resize_rs_max_pixels"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<ThreadPoolName>(
        ngx_string!("image_resize_rs_thread_pool"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Bucket>(
        ngx_string!("image_resize_rs_s3_bucket"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Endpoint>(
        ngx_string!("image_resize_rs_s3_endpoint"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Region>(
        ngx_string!("image_resize_rs_s3_region"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Addressing>(
        ngx_string!("image_resize_rs_s3_addressing"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Key>(
        ngx_string!("image_resize_rs_s3_key"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<S3Credentials>(
        ngx_string!("image_resize_rs_s3_credentials"),
        ANY_LEVEL | NGX_CONF_TAKE123,
    ),
    ours::<FormatList>(
        ngx_string!("image_resize_rs_formats"),
        ANY_LEVEL | NGX_CONF_1MORE,
    ),
    ours::<OutputFormat>(
        ngx_string!("image_resize_rs_output"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    slot(
        ngx_string!("image_resize_rs_avif_quality"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, avif_quality),
    ),
    slot(
        ngx_string!("image_resize_rs_avif_speed"),
        ANY_LEVEL | NGX_CONF_TAKE1,
        ngx_conf_set_num_slot,
        offset_of!(LocConf, avif_speed),
    ),
    slot(
        ngx_string!("image_resize_rs_auto_orient"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, auto_orient),
    ),
    ours::<Jobs>(
        ngx_string!("image_resize_rs_jobs"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
    ),
    ours::<Queue>(
        ngx_string!("image_resize_rs_queue"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_ANY,
    ),
    ours::<Overload>(
        ngx_string!("image_resize_rs_overload"),
        ANY_LEVEL | NGX_CONF_1MORE,
    ),
    ours::<Metrics>(
        ngx_string!("image_resize_rs_metrics"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
    ),
    ours::<Widths>(
        ngx_string!("image_resize_rs_widths"),
        ANY_LEVEL | NGX_CONF_1MORE,
    ),
    ours::<Heights>(
        ngx_string!("image_resize_rs_heights"),
        ANY_LEVEL | NGX_CONF_1MORE,
    ),
    ours::<Dpr>(
        ngx_string!("image_resize_rs_dpr"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<ClientWidth>(
        ngx_string!("image_resize_rs_client_width"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<SaveData>(
        ngx_string!("image_resize_rs_save_data"),
        ANY_LEVEL | NGX_CONF_TAKE12,
    ),
    ours::<KeyBox>(
        ngx_string!("image_resize_rs_box"),
        ANY_LEVEL | NGX_CONF_TAKE2,
    ),
    slot(
        ngx_string!("image_resize_rs_never_larger"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, never_larger),
    ),
    ours::<SignKey>(
        ngx_string!("image_resize_rs_sign_key"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<Sign>(
        ngx_string!("image_resize_rs_sign"),
        ANY_LEVEL | NGX_CONF_TAKE12,
    ),
    ours::<GravityWord>(
        ngx_string!("image_resize_rs_gravity"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<Focus>(
        ngx_string!("image_resize_rs_focus"),
        ANY_LEVEL | NGX_CONF_TAKE12,
    ),
    ours::<PadColor>(
        ngx_string!("image_resize_rs_pad_color"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<Animation>(
        ngx_string!("image_resize_rs_animation"),
        ANY_LEVEL | NGX_CONF_TAKE12,
    ),
    ours::<MaxFrames>(
        ngx_string!("image_resize_rs_max_frames"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<MaxFramePixels>(
        ngx_string!("image_resize_rs_max_frame_pixels"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    ours::<MetadataWord>(
        ngx_string!("image_resize_rs_metadata"),
        ANY_LEVEL | NGX_CONF_TAKE1,
    ),
    slot(
        ngx_string!("image_resize_rs_metadata_gps"),
        ANY_LEVEL | NGX_CONF_FLAG,
        ngx_conf_set_flag_slot,
        offset_of!(LocConf, metadata_gps),
    ),
    ngx_command_t::empty(),
];
