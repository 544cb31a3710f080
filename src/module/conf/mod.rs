//! Location configuration: [`LocConf`], its defaults and its merge.
//!
//! The `image_resize_rs*` directives have image_filter's syntax, defaults,
//! contexts and merge rules. Their handlers live in [`directives`], the safe
//! `ngx_conf_t` plumbing they share in [`ext`]; what a request makes of the
//! values is [`super::eval`].

mod directives;
mod ext;

use core::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::core::NGX_CONF_OK;
use ngx::ffi::{ngx_conf_t, ngx_flag_t, ngx_int_t};

use crate::admission::{Limits, Overload};
use crate::delivery::{Ladder, Policy};
use crate::negotiate::{Formats, Output, Target};
use crate::pipeline::{AnimationMode, AnimationPolicy};
use crate::s3::{Addressing, Bucket, Credentials, Endpoint};
use crate::sign::Key;
use crate::value::{
    Gravity, Mode, DEFAULT_AVIF_QUALITY, DEFAULT_AVIF_SPEED, DEFAULT_JPEG_QUALITY,
    DEFAULT_MAX_PIXELS, DEFAULT_WEBP_QUALITY, MAX_AVIF_SPEED, MAX_QUALITY,
};

pub(crate) use directives::COMMANDS;
pub(crate) use ext::Complex;
use ext::ConfExt;

const NGX_CONF_UNSET: ngx_flag_t = -1;
const NGX_CONF_UNSET_SIZE: usize = usize::MAX;

/// A directive value: known at config time, or computed per request from
/// variables.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Static(u64),
    Complex(Complex),
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
    pub s3_key: Option<Complex>,
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
    /// `image_resize_rs_widths` / `_heights`: `Some(None)` is `off`.
    pub widths: Option<Option<Ladder>>,
    pub heights: Option<Option<Ladder>>,
    /// `image_resize_rs_dpr`, `_client_width`, `_save_data` (with its
    /// quality cap): `Some(None)` is `off`.
    pub dpr: Option<Option<Hint>>,
    pub client_width: Option<Option<Hint>>,
    pub save_data: Option<Option<(Hint, u32)>>,
    /// `image_resize_rs_box W H`: the box `$image_resize_rs_key` is computed
    /// from in a location that does not resize (the front cache's).
    pub key_box: Option<(Value, Value)>,
    /// `image_resize_rs_never_larger` (nginx's flag slot).
    pub never_larger: ngx_flag_t,
    /// `image_resize_rs_sign_key`: this level's keys (a level with any
    /// replaces the inherited list, as nginx merges arrays).
    pub sign_keys: Option<Vec<Key>>,
    /// `image_resize_rs_sign`.
    pub sign: Option<SignValue>,
    /// `image_resize_rs_gravity`, `_focus`, `_pad_color` (RGBA).
    pub gravity: Option<Gravity>,
    pub focus: Option<FocusPoint>,
    pub pad_color: Option<[u8; 4]>,
    /// `image_resize_rs_animation`, `_max_frames`, `_max_frame_pixels`.
    pub animation: Option<AnimationMode>,
    pub max_frames: Option<u64>,
    pub max_frame_pixels: Option<u64>,
    /// `image_resize_rs_metadata`, `image_resize_rs_metadata_gps` (flag slot).
    pub metadata: Option<crate::pipeline::Metadata>,
    pub metadata_gps: ngx_flag_t,
}

/// A client hint's value (`$http_sec_ch_dpr`, `$arg_dpr`, ...) and the
/// request header it reads, for `Vary`, when it is exactly one
/// `$http_NAME`.
#[derive(Clone, Debug)]
pub(crate) struct Hint {
    pub value: Complex,
    pub header: Option<String>,
}

/// `image_resize_rs_sign`'s value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignValue {
    Off,
    /// The signature's value and, with `expires=`, the expiry's.
    On {
        signature: Complex,
        expires: Option<Complex>,
    },
}

/// `image_resize_rs_focus`'s value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FocusPoint {
    /// `off`: the gravity decides (lets a location undo an outer focus).
    Off,
    /// X and Y, each a fraction of the image.
    At(Fraction, Fraction),
}

/// A fraction 0..1 in millionths ([`crate::value::parse_fraction`]),
/// known at config time or computed per request from variables.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fraction {
    Static(u32),
    Complex(Complex),
}

/// `image_resize_rs_output`'s value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OutputValue {
    Static(Output),
    Complex(Complex),
}

/// Where the image work runs.
#[derive(Clone, Copy)]
pub(crate) enum ThreadPool {
    /// On the event loop (`image_resize_rs_thread_pool off`, or nginx
    /// without threads).
    Off,
    /// On this nginx thread pool.
    Pool(Pool),
}

/// An nginx thread pool (`thread_pool NAME ...;`); nothing in an nginx
/// built without threads.
#[cfg(ngx_feature = "threads")]
pub(crate) type Pool = ext::ThreadPoolPtr;
#[cfg(not(ngx_feature = "threads"))]
pub(crate) type Pool = ();

/// Where SigV4 credentials come from.
#[derive(Clone)]
pub(crate) enum CredentialSource {
    /// Fixed in the configuration or read from the environment at load time.
    Static(Credentials),
    /// Computed per request from variables (access key id, secret, token).
    Variables(Complex, Complex, Option<Complex>),
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
            widths: None,
            heights: None,
            dpr: None,
            client_width: None,
            save_data: None,
            key_box: None,
            never_larger: NGX_CONF_UNSET,
            sign_keys: None,
            sign: None,
            gravity: None,
            focus: None,
            pad_color: None,
            animation: None,
            max_frames: None,
            max_frame_pixels: None,
            metadata: None,
            metadata_gps: NGX_CONF_UNSET,
        }
    }
}

impl LocConf {
    /// `image_resize_rs_animation`, `_max_frames`, `_max_frame_pixels`,
    /// defaults filled in.
    pub(crate) fn animation(&self) -> AnimationPolicy {
        let d = AnimationPolicy::default();
        AnimationPolicy {
            mode: self.animation.unwrap_or(d.mode),
            max_frames: self.max_frames.unwrap_or(d.max_frames),
            max_frame_pixels: self.max_frame_pixels.unwrap_or(d.max_frame_pixels),
            webp_for_avif: self
                .formats
                .is_some_and(|f| f.as_slice().contains(&Target::Webp)),
        }
    }

    pub(crate) fn mode(&self) -> Mode {
        self.filter.unwrap_or(Mode::Off)
    }

    /// The format may change with `Accept` for some request here: formats
    /// configured and the output not forced to one format (absent,
    /// `original`, or variables). nginx's not-modified filter is then off
    /// for the location and the filter checks the client's validators
    /// against the format's own ETag. Whether a given request varies is
    /// [`super::eval::Evaluated::varies`].
    pub(crate) fn may_vary(&self) -> bool {
        !matches!(
            self.output,
            Some(OutputValue::Static(o)) if o != Output::Original
        ) && self.formats.is_some_and(|f| !f.as_slice().is_empty())
            || self.hinted()
    }

    /// A client hint is configured: the same URL may get another box.
    pub(crate) fn hinted(&self) -> bool {
        self.dpr.as_ref().is_some_and(Option::is_some)
            || self.client_width.as_ref().is_some_and(Option::is_some)
            || self.save_data.as_ref().is_some_and(Option::is_some)
    }

    /// The ladders that bound this location's boxes.
    pub(crate) fn policy(&self) -> Policy<'_> {
        Policy {
            widths: self.widths.as_ref().and_then(Option::as_ref),
            heights: self.heights.as_ref().and_then(Option::as_ref),
        }
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
    pub(crate) fn thread_pool(&self) -> Option<Pool> {
        match self.thread_pool {
            Some(ThreadPool::Pool(p)) => Some(p),
            _ => None,
        }
    }

    fn merge(&mut self, cf: &mut ngx_conf_t, prev: &LocConf) -> Result<(), String> {
        if self.filter.is_none() {
            self.filter = Some(prev.filter.unwrap_or(Mode::Off));
            self.width = prev.width;
            self.height = prev.height;
            self.angle = prev.angle;
        }
        self.jpeg_quality = self
            .jpeg_quality
            .or(prev.jpeg_quality)
            .or(Some(Value::Static(DEFAULT_JPEG_QUALITY.into())));
        self.webp_quality = self
            .webp_quality
            .or(prev.webp_quality)
            .or(Some(Value::Static(DEFAULT_WEBP_QUALITY.into())));
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
        if let (Some(Mode::Pad), Value::Static(w), Value::Static(h), Some(max)) =
            (self.filter, self.width, self.height, self.max_pixels)
        {
            // The canvas is made whatever the source: a box over the limit
            // could never be answered.
            if u128::from(w) * u128::from(h) > u128::from(max) {
                return Err(format!(
                    "\"image_resize_rs\" pad {w}x{h} is over image_resize_rs_max_pixels ({max})"
                ));
            }
        }
        merge_num(
            &mut self.avif_quality,
            prev.avif_quality,
            DEFAULT_AVIF_QUALITY,
        );
        merge_num(&mut self.avif_speed, prev.avif_speed, DEFAULT_AVIF_SPEED);
        if !(1..=MAX_QUALITY as ngx_int_t).contains(&self.avif_quality) {
            return Err(format!(
                "\"image_resize_rs_avif_quality\" must be 1..{MAX_QUALITY}"
            ));
        }
        if !(1..=MAX_AVIF_SPEED as ngx_int_t).contains(&self.avif_speed) {
            return Err(format!(
                "\"image_resize_rs_avif_speed\" must be 1..{MAX_AVIF_SPEED}"
            ));
        }
        merge_flag(&mut self.auto_orient, prev.auto_orient, 1);
        self.jobs = self.jobs.or(prev.jobs);
        self.queue = self.queue.or(prev.queue);
        self.overload = self.overload.or(prev.overload);
        self.merge_delivery(prev)?;
        merge_flag(&mut self.never_larger, prev.never_larger, 1);
        self.gravity = self.gravity.or(prev.gravity);
        self.focus = self.focus.or(prev.focus);
        self.pad_color = self.pad_color.or(prev.pad_color);
        self.animation = self.animation.or(prev.animation);
        self.max_frames = self.max_frames.or(prev.max_frames);
        self.max_frame_pixels = self.max_frame_pixels.or(prev.max_frame_pixels);
        self.metadata = self.metadata.or(prev.metadata);
        merge_flag(&mut self.metadata_gps, prev.metadata_gps, 0);
        self.thread_pool = self.thread_pool.or(prev.thread_pool);
        if self.thread_pool.is_none() && self.mode() != Mode::Off {
            // Nothing said: offload to nginx's implicit "default" pool
            // (32 threads unless `thread_pool default threads=N;` sizes it).
            self.thread_pool = Some(directives::default_pool(cf));
        }
        self.merge_sign(prev)?;
        self.merge_s3(prev)
    }

    fn merge_delivery(&mut self, prev: &LocConf) -> Result<(), String> {
        fn inherit<T: Clone>(v: &mut Option<T>, prev: &Option<T>) {
            if v.is_none() {
                *v = prev.clone();
            }
        }
        // Checked where it is set; inherited into a location without a
        // ladder, it is ignored there.
        let own_client_width = self.client_width.as_ref().is_some_and(Option::is_some);
        inherit(&mut self.widths, &prev.widths);
        inherit(&mut self.heights, &prev.heights);
        inherit(&mut self.dpr, &prev.dpr);
        inherit(&mut self.client_width, &prev.client_width);
        inherit(&mut self.save_data, &prev.save_data);
        inherit(&mut self.key_box, &prev.key_box);
        if own_client_width && self.policy().widths.is_none() {
            // Unbounded, a width hint would be a cache entry per value.
            return Err("\"image_resize_rs_client_width\" needs \"image_resize_rs_widths\"".into());
        }
        Ok(())
    }

    fn merge_sign(&mut self, prev: &LocConf) -> Result<(), String> {
        if self.sign_keys.is_none() {
            self.sign_keys = prev.sign_keys.clone();
        }
        self.sign = self.sign.or(prev.sign);
        if matches!(self.sign, Some(SignValue::On { .. }))
            && self.sign_keys.as_ref().is_none_or(|k| k.is_empty())
        {
            return Err("\"image_resize_rs_sign\" needs a key: no \
                        \"image_resize_rs_sign_key\" applies here"
                .into());
        }
        Ok(())
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

/// nginx's `merge_loc_conf` for this module.
pub(crate) unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx merges with the configuration being parsed and two
    // distinct LocConf that create_loc_conf allocated (parent, child).
    let (cf, prev, conf) = unsafe {
        (
            &mut *cf,
            &*prev.cast::<LocConf>(),
            &mut *conf.cast::<LocConf>(),
        )
    };
    let merged = catch_unwind(AssertUnwindSafe(|| conf.merge(cf, prev)))
        .unwrap_or_else(|_| Err("internal error (panic) while merging the configuration".into()));
    match merged {
        Ok(()) => NGX_CONF_OK,
        Err(msg) => cf.emerg(msg),
    }
}
