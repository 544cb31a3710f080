//! What a request makes of its location's configuration: the directive
//! values with variables evaluated, the output format token and whether it
//! varies with `Accept`. [`evaluate`] does it all once, on the event loop,
//! when the body is complete; the filter keeps the result in its ctx for
//! the headers, the variables and the logs.

use ngx::http::Request;

use super::conf::{FocusPoint, Fraction, LocConf, OutputValue, Pool, Value};
use crate::admission::{Limits, Overload};
use crate::negotiate::{self, Output, Token};
use crate::pipeline::{self, Placement, Settings};
use crate::value::{self, Focus, DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, DEFAULT_WEBP_QUALITY};

/// A request's evaluated configuration.
pub(crate) struct Evaluated {
    /// What the pipeline is asked to do; `settings.format` is [`Self::token`].
    pub settings: Settings,
    /// `$image_resize_rs_format`; `None` for an unusable output value.
    pub token: Option<Token>,
    /// The format may change with `Accept`: `Vary: Accept`, and the token
    /// in the ETag.
    pub varies: bool,
    /// The pool the job runs on; `None`: inline (no pool configured, or a
    /// `test`/`size` that costs less than posting it).
    pub offload: Option<Pool>,
    /// The worker's admission limits and what a saturated worker answers.
    pub limits: Limits,
    pub overload: Option<Overload>,
    /// `image_resize_rs_server_timing on`.
    pub server_timing: bool,
    /// nginx's not-modified filter is off here ([`LocConf::may_vary`]): the
    /// filter checks the client's validators itself.
    pub checks_validators: bool,
}

/// This request's settings, format token and `varies`, each computed once.
/// The pipeline checks the values.
pub(crate) fn evaluate(conf: &LocConf, r: &Request) -> Evaluated {
    let get = |v: Option<Value>, default: u64| v.map_or(default, |v| v.get(r));
    let formats = conf.formats.unwrap_or_default();
    let output = output(conf, r);
    let token = output.map(|o| negotiate::token(o, formats.as_slice(), accept(r)));
    // From this request's output value, so a variable that gives `original`
    // negotiates (and says so in Vary and the ETag) like a static one.
    let varies = output.is_some_and(|o| negotiate::varies(o, formats.as_slice()));
    let settings = Settings {
        mode: conf.mode(),
        width: conf.width.get(r),
        height: conf.height.get(r),
        angle: conf.angle.get(r),
        jpeg_quality: get(conf.jpeg_quality, DEFAULT_JPEG_QUALITY.into()),
        webp_quality: get(conf.webp_quality, DEFAULT_WEBP_QUALITY.into()),
        sharpen: get(conf.sharpen, 0),
        transparency: conf.transparency != 0,
        interlace: conf.interlace == 1,
        max_pixels: conf.max_pixels.unwrap_or(DEFAULT_MAX_PIXELS),
        format: token,
        negotiated: varies,
        auto_orient: conf.auto_orient != 0,
        // Checked at merge (1..=MAX_QUALITY, 1..=MAX_AVIF_SPEED).
        avif_quality: conf.avif_quality as u32,
        avif_speed: conf.avif_speed as u32,
        placement: placement(conf, r),
    };
    Evaluated {
        settings,
        token,
        varies,
        offload: conf
            .thread_pool()
            .filter(|_| !pipeline::is_cheap(settings.mode)),
        limits: conf.limits(),
        overload: conf.overload,
        server_timing: conf.server_timing == 1,
        checks_validators: conf.may_vary(),
    }
}

impl Value {
    /// image_filter's `ngx_http_image_filter_get_value`: the static value, or
    /// the variables' value parsed like a static one (0 when unusable).
    pub(crate) fn get(&self, r: &Request) -> u64 {
        match self {
            Value::Static(n) => *n,
            Value::Complex(cv) => cv.get(r).map_or(0, |s| value::filter_value(s.as_bytes())),
        }
    }
}

/// `image_resize_rs_gravity`, `_focus` and `_pad_color` for this request.
/// A focus whose variables give something other than two fractions 0..1
/// is the image's centre.
fn placement(conf: &LocConf, r: &Request) -> Placement {
    let defaults = Placement::default();
    let focus = match conf.focus {
        None | Some(FocusPoint::Off) => None,
        Some(FocusPoint::At(x, y)) => Some(
            x.get(r)
                .zip(y.get(r))
                .map_or(Focus::CENTER, |(x, y)| Focus { x, y }),
        ),
    };
    Placement {
        gravity: conf.gravity.unwrap_or(defaults.gravity),
        focus,
        pad_color: conf.pad_color.unwrap_or(defaults.pad_color),
    }
}

impl Fraction {
    /// The static value, or the variables' value parsed like a static one;
    /// `None` when unusable.
    fn get(&self, r: &Request) -> Option<u32> {
        match self {
            Fraction::Static(f) => Some(*f),
            Fraction::Complex(cv) => value::parse_fraction(cv.get(r)?.as_bytes()).ok(),
        }
    }
}

/// `image_resize_rs_output` for this request; `None` when its variables
/// give something other than original/jpeg/png/webp/avif.
fn output(conf: &LocConf, r: &Request) -> Option<Output> {
    match conf.output {
        None => Some(Output::Original),
        Some(OutputValue::Static(o)) => Some(o),
        Some(OutputValue::Complex(cv)) => negotiate::parse_output(cv.get(r)?.as_bytes()).ok(),
    }
}

/// `$image_resize_rs_format` for this request, from the request alone
/// (Accept + configuration); `None` for an unusable output value. For a
/// request the filter has evaluated, [`Evaluated::token`] is the answer.
pub(crate) fn format_token(conf: &LocConf, r: &Request) -> Option<Token> {
    let output = output(conf, r)?;
    let formats = conf.formats.unwrap_or_default();
    Some(negotiate::token(output, formats.as_slice(), accept(r)))
}

fn accept(r: &Request) -> Option<&[u8]> {
    r.headers_in_iterator()
        .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(b"accept"))
        .map(|(_, v)| v.as_bytes())
}
