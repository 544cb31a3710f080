//! What a request makes of its location's configuration: the directive
//! values with variables evaluated, the output format token and whether it
//! varies with `Accept`. [`evaluate`] does it all once, on the event loop,
//! when the body is complete; the filter keeps the result in its ctx for
//! the headers, the variables and the logs.

use ngx::http::Request;

use super::conf::{FocusPoint, Fraction, Hint, LocConf, OutputValue, Pool, Value};
use crate::admission::{Limits, Overload};
use crate::delivery::{self, Answer, Hints};
use crate::negotiate::{self, Output, Token};
use crate::pipeline::{self, Placement, Settings};
use crate::value::{
    self, Focus, Mode, DEFAULT_JPEG_QUALITY, DEFAULT_MAX_PIXELS, DEFAULT_WEBP_QUALITY,
};

/// A request's evaluated configuration.
pub(crate) struct Evaluated {
    /// What the pipeline is asked to do; `settings.format` is [`Self::token`].
    pub settings: Settings,
    /// `$image_resize_rs_format`; `None` for an unusable output value.
    pub token: Option<Token>,
    /// The box after the DPR, the client's width and the ladder, for a
    /// resize or crop; `None` for the other modes.
    pub answer: Option<Answer>,
    /// The `Vary` value: `Accept` when the format varies, then the headers
    /// the hints read; empty for none.
    pub vary: String,
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
    let mode = conf.mode();
    let (mut width, mut height) = (conf.width.get(r), conf.height.get(r));
    let answer = matches!(mode, Mode::Resize | Mode::Crop | Mode::Pad)
        .then(|| answer(conf, r, width, height));
    if let Some(a) = answer {
        (width, height) = (a.width, a.height);
    }
    let cap = |q: u64| match (answer, &conf.save_data) {
        (Some(a), Some(Some((_, cap)))) => a.quality(q, *cap),
        _ => q,
    };
    let settings = Settings {
        mode,
        width,
        height,
        angle: conf.angle.get(r),
        jpeg_quality: cap(get(conf.jpeg_quality, DEFAULT_JPEG_QUALITY.into())),
        webp_quality: cap(get(conf.webp_quality, DEFAULT_WEBP_QUALITY.into())),
        sharpen: get(conf.sharpen, 0),
        transparency: conf.transparency != 0,
        interlace: conf.interlace == 1,
        max_pixels: conf.max_pixels.unwrap_or(DEFAULT_MAX_PIXELS),
        format: token,
        negotiated: varies,
        auto_orient: conf.auto_orient != 0,
        // Checked at merge (1..=MAX_QUALITY, 1..=MAX_AVIF_SPEED).
        avif_quality: cap(conf.avif_quality as u64) as u32,
        avif_speed: conf.avif_speed as u32,
        never_larger: conf.never_larger != 0,
        metadata: pipeline::MetadataPolicy {
            keep: conf.metadata.unwrap_or_default(),
            gps: conf.metadata_gps == 1,
        },
        placement: placement(conf, r),
        animation: conf.animation(),
    };
    Evaluated {
        settings,
        token,
        answer,
        vary: vary(conf, varies, answer),
        offload: conf
            .thread_pool()
            .filter(|_| !pipeline::is_cheap(settings.mode)),
        limits: conf.limits(),
        overload: conf.overload,
        server_timing: conf.server_timing == 1,
        checks_validators: conf.may_vary(),
    }
}

impl Evaluated {
    /// What the reply's ETag gets appended: the format where it is not the
    /// original's, and the box where a hint chose it; `None`: the origin's
    /// tag as it is.
    pub(crate) fn etag_suffix(&self) -> Option<String> {
        let token = self.token.filter(|&t| t != Token::Orig);
        let hinted = self.answer.filter(Answer::hinted);
        match (token, hinted) {
            (None, None) => None,
            (Some(t), None) => Some(t.as_str().to_string()),
            (t, Some(a)) => Some(a.key(t.unwrap_or(Token::Orig).as_str()).replace('/', "-")),
        }
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

/// The box this request is answered with, from the URL's `width`×`height`
/// and the location's ladders and hints.
fn answer(conf: &LocConf, r: &Request, width: u64, height: u64) -> Answer {
    let hint = |h: &Option<Hint>| h.as_ref().map(|h| h.value.get(r).map(|v| v.as_bytes()));
    let hints = Hints {
        dpr: conf.dpr.as_ref().and_then(hint),
        client_width: conf.client_width.as_ref().and_then(hint),
        save_data: conf.save_data.as_ref().and_then(|s| {
            s.as_ref()
                .map(|(h, _)| h.value.get(r).map(|v| v.as_bytes()))
        }),
    };
    delivery::answer(width, height, conf.policy(), hints)
}

/// `Vary`: `Accept` where the format negotiates, and each hint header the
/// answer read.
fn vary(conf: &LocConf, varies: bool, answer: Option<Answer>) -> String {
    let mut names: Vec<&str> = Vec::new();
    if varies {
        names.push("Accept");
    }
    if let Some(a) = answer {
        fn header(h: &Option<Option<Hint>>) -> Option<&str> {
            h.as_ref()
                .and_then(Option::as_ref)
                .and_then(|h| h.header.as_deref())
        }
        let sd = conf
            .save_data
            .as_ref()
            .and_then(Option::as_ref)
            .and_then(|(h, _)| h.header.as_deref());
        for (used, name) in [
            (a.used_dpr, header(&conf.dpr)),
            (a.used_client_width, header(&conf.client_width)),
            (a.used_save_data, sd),
        ] {
            if let (true, Some(n)) = (used, name) {
                names.push(n);
            }
        }
    }
    names.join(", ")
}

/// `$image_resize_rs_key` for a request the filter has not evaluated:
/// the format token and the box of `image_resize_rs_box` (else of the
/// location's resize or crop). `None` where neither gives a box.
pub(crate) fn key(conf: &LocConf, r: &Request) -> Option<String> {
    let (w, h) = match conf.key_box {
        Some((w, h)) => (w.get(r), h.get(r)),
        None if matches!(conf.mode(), Mode::Resize | Mode::Crop | Mode::Pad) => {
            (conf.width.get(r), conf.height.get(r))
        }
        None => return None,
    };
    let token = format_token(conf, r)?;
    Some(answer(conf, r, w, h).key(token.as_str()))
}

fn accept(r: &Request) -> Option<&[u8]> {
    r.headers_in_iterator()
        .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(b"accept"))
        .map(|(_, v)| v.as_bytes())
}
