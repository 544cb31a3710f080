//! The one entry point of the pipeline: the whole body and one request's
//! settings in, the reply out. It sniffs once and handles every mode, so the
//! nginx glue only accumulates, posts this to a thread, and sends the result.
//! `Send` and pure: it runs on an nginx thread-pool thread.

use super::convert::OutputSettings;
use super::{
    json, meta, read_header, sniff, transform_image, Error, ImageType, Job, Operation, Outcome,
};
use crate::negotiate::Token;
use crate::value::{self, Mode, UNLIMITED};
use std::sync::atomic::{AtomicBool, Ordering};

/// One request's settings, as the directives give them: numbers that may come
/// from variables are still raw ([`value::filter_value`]: 0 = unusable,
/// [`UNLIMITED`] = "-") and are checked here, by the same functions the
/// directive parsers use on static arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Never [`Mode::Off`] (the glue passes such responses through).
    pub mode: Mode,
    pub width: u64,
    pub height: u64,
    pub angle: u64,
    pub jpeg_quality: u64,
    pub webp_quality: u64,
    pub sharpen: u64,
    pub transparency: bool,
    pub interlace: bool,
    /// Refuse `width * height > max_pixels` before decoding any pixel.
    pub max_pixels: u64,
    /// The request's `$image_resize_rs_format` ([`crate::negotiate::token`]);
    /// `None` when `image_resize_rs_output`'s variables gave an unusable value.
    pub format: Option<Token>,
    /// `format` was negotiated from `Accept` rather than forced by
    /// `image_resize_rs_output` (GIF, WebP and animated input then keep
    /// their format).
    pub negotiated: bool,
    /// `image_resize_rs_auto_orient`.
    pub auto_orient: bool,
    /// `image_resize_rs_avif_quality` (1..=100) and `_speed` (1..=10).
    pub avif_quality: u32,
    pub avif_speed: u32,
}

impl Default for Settings {
    /// image_filter's defaults with `resize - -` (nothing to do).
    fn default() -> Self {
        Settings {
            mode: Mode::Resize,
            width: UNLIMITED,
            height: UNLIMITED,
            angle: 0,
            jpeg_quality: 75,
            webp_quality: 80,
            sharpen: 0,
            transparency: true,
            interlace: false,
            max_pixels: value::DEFAULT_MAX_PIXELS,
            format: Some(Token::Orig),
            negotiated: false,
            auto_orient: true,
            avif_quality: super::DEFAULT_AVIF_QUALITY,
            avif_speed: super::DEFAULT_AVIF_SPEED,
        }
    }
}

/// What to send.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The original bytes unchanged (image_filter's "as is", and `test`),
    /// with their sniffed type.
    Original(ImageType),
    /// A new image.
    Image {
        ty: ImageType,
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    },
    /// The `size` answer (`application/json`).
    Json(Vec<u8>),
}

/// Does `settings.mode` need the decoder (and so a thread)? `test` and `size`
/// read a few header bytes only.
pub fn is_cheap(mode: Mode) -> bool {
    matches!(mode, Mode::Test | Mode::Size | Mode::Off)
}

/// Where a request's time went and what it started from, for Server-Timing
/// and the log variables. Zero where a stage did not run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages {
    /// The source image's dimensions as displayed (the box `resize` fits
    /// into, what `size` reports); (0, 0) when not known.
    pub source: (u32, u32),
    /// Decoding, shrink-on-load included, microseconds.
    pub decode_us: u64,
    /// Everything between decoding and encoding (resample, orientation,
    /// rotation, crop, colour conversion, sharpening), microseconds.
    pub resize_us: u64,
    /// Encoding, microseconds.
    pub encode_us: u64,
}

/// ngx_http_image_body_filter's work after the body is complete.
pub fn run(body: &[u8], s: &Settings) -> Result<Reply, Error> {
    run_staged(body, s, &mut Stages::default())
}

/// [`run`], also reporting the [`Stages`].
pub fn run_staged(body: &[u8], s: &Settings, stages: &mut Stages) -> Result<Reply, Error> {
    run_cancellable(body, s, stages, &AtomicBool::new(false))
}

/// [`run_staged`], giving up with [`Error::Cancelled`] between stages
/// (before decoding, before resampling, before encoding) once `cancel` is
/// set: the request it works for is gone.
pub fn run_cancellable(
    body: &[u8],
    s: &Settings,
    stages: &mut Stages,
    cancel: &AtomicBool,
) -> Result<Reply, Error> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let Some(ty) = sniff(body) else {
        if s.mode == Mode::Size {
            return Ok(Reply::Json(json::size_json(None)));
        }
        return Err(Error::not_an_image(body));
    };
    // The dimensions as displayed, the box resize and crop fit into, for the
    // modes that stop here (transform_image reports its own).
    let displayed = || {
        read_header(ty, body).map(|hd| {
            if s.auto_orient {
                meta::orientation(ty, body).displayed(hd.width, hd.height)
            } else {
                (hd.width, hd.height)
            }
        })
    };
    let (op, max_width, max_height) = match s.mode {
        Mode::Off | Mode::Test => {
            stages.source = displayed().unwrap_or((0, 0));
            return Ok(Reply::Original(ty));
        }
        Mode::Size => {
            let info = displayed();
            stages.source = info.unwrap_or((0, 0));
            return Ok(Reply::Json(json::size_json(info.map(|(w, h)| (ty, w, h)))));
        }
        Mode::Rotate => (Operation::Rotate, UNLIMITED, UNLIMITED),
        Mode::Resize | Mode::Crop => {
            let bad = |_| {
                Error::InvalidParameter("width and height must be positive numbers or \"-\"".into())
            };
            let w = value::check_dimension(s.width).map_err(bad)?;
            let h = value::check_dimension(s.height).map_err(bad)?;
            let op = if s.mode == Mode::Crop {
                Operation::Crop
            } else {
                Operation::Resize
            };
            (op, w, h)
        }
    };
    // rotate needs a valid angle; with resize/crop a bad one means "no rotation".
    let angle = match value::check_angle(s.angle) {
        Ok(a) => a,
        Err(_) if op == Operation::Rotate => {
            return Err(Error::InvalidParameter(format!(
                "rotate angle {} is not 90, 180 or 270",
                s.angle
            )))
        }
        Err(_) => 0,
    };
    let job = Job {
        op,
        max_width,
        max_height,
        angle,
        // 0 = invalid, reported only if that codec is used (after "as is").
        jpeg_quality: value::check_quality(s.jpeg_quality).unwrap_or(0),
        webp_quality: value::check_quality(s.webp_quality).unwrap_or(0),
        sharpen: value::check_sharpen(s.sharpen),
        transparency: s.transparency,
        interlace: s.interlace,
        max_pixels: s.max_pixels,
    };
    let token = s.format.ok_or_else(|| {
        Error::InvalidParameter(
            "image_resize_rs_output is not original, jpeg, png, webp or avif".into(),
        )
    })?;
    let out = OutputSettings {
        token,
        negotiated: s.negotiated,
        auto_orient: s.auto_orient,
        avif_quality: s.avif_quality.clamp(1, 100),
        avif_speed: s.avif_speed.clamp(1, 10),
    };
    Ok(
        match transform_image(ty, body, &job, &out, None, stages, cancel)? {
            Outcome::AsIs => Reply::Original(ty),
            Outcome::Encoded {
                ty,
                bytes,
                width,
                height,
            } => Reply::Image {
                ty,
                bytes,
                width,
                height,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::gen::{self, Kind};

    fn img(kind: Kind, w: u32, h: u32) -> Vec<u8> {
        gen::generate(kind, w, h).expect("generate")
    }

    fn settings(mode: Mode, w: u64, h: u64) -> Settings {
        Settings {
            mode,
            width: w,
            height: h,
            ..Settings::default()
        }
    }

    #[test]
    fn stages_and_source() {
        let jpeg =
            gen::jpeg_with_exif(&img(Kind::Jpeg, 300, 200), &gen::exif_tiff(6, false, false));
        let mut st = Stages::default();
        run_staged(&jpeg, &settings(Mode::Resize, 100, 100), &mut st).unwrap();
        assert_eq!(st.source, (200, 300), "displayed");
        assert!(st.decode_us > 0 && st.encode_us > 0, "{st:?}");
        // Fits, but turned: decoded and re-encoded all the same.
        let mut st = Stages::default();
        match run_staged(&jpeg, &settings(Mode::Resize, 1000, 1000), &mut st).unwrap() {
            Reply::Image { width, height, .. } => assert_eq!((width, height), (200, 300)),
            r => panic!("{r:?}"),
        }
        assert!(st.decode_us > 0, "{st:?}");
        // As is (fits, upright): the source is known, no stage ran.
        let mut st = Stages::default();
        let plain = img(Kind::Jpeg, 300, 200);
        assert_eq!(
            run_staged(&plain, &settings(Mode::Resize, 1000, 1000), &mut st).unwrap(),
            Reply::Original(ImageType::Jpeg)
        );
        assert_eq!(
            st,
            Stages {
                source: (300, 200),
                ..Stages::default()
            }
        );
        let mut st = Stages::default();
        assert!(run_staged(b"not an image", &settings(Mode::Resize, 10, 10), &mut st).is_err());
        assert_eq!(st, Stages::default());
    }

    #[test]
    fn every_mode() {
        let jpeg = img(Kind::Jpeg, 300, 200);
        assert_eq!(
            run(&jpeg, &settings(Mode::Test, 0, 0)).unwrap(),
            Reply::Original(ImageType::Jpeg)
        );
        assert_eq!(
            run(&jpeg, &settings(Mode::Size, 0, 0)).unwrap(),
            Reply::Json(
                b"{ \"img\" : { \"width\": 300, \"height\": 200, \"type\": \"jpeg\" } }\r\n"
                    .to_vec()
            )
        );
        // `size` reports the displayed box (orientation 6: stored 300x200
        // shows as 200x300), or the stored one with auto_orient off.
        let turned = gen::jpeg_with_exif(&jpeg, &gen::exif_tiff(6, false, false));
        let size = |auto_orient| {
            let s = Settings {
                auto_orient,
                ..settings(Mode::Size, 0, 0)
            };
            String::from_utf8(match run(&turned, &s).unwrap() {
                Reply::Json(j) => j,
                r => panic!("{r:?}"),
            })
            .unwrap()
        };
        assert!(
            size(true).contains("\"width\": 200, \"height\": 300"),
            "{}",
            size(true)
        );
        assert!(
            size(false).contains("\"width\": 300, \"height\": 200"),
            "{}",
            size(false)
        );
        assert_eq!(
            run(b"plain text, no image", &settings(Mode::Size, 0, 0)).unwrap(),
            Reply::Json(b"{}\r\n".to_vec())
        );
        match run(&jpeg, &settings(Mode::Resize, 150, 150)).unwrap() {
            Reply::Image {
                ty, width, height, ..
            } => assert_eq!((ty, width, height), (ImageType::Jpeg, 150, 100)),
            r => panic!("{r:?}"),
        }
        match run(&jpeg, &settings(Mode::Crop, 100, 100)).unwrap() {
            Reply::Image { width, height, .. } => assert_eq!((width, height), (100, 100)),
            r => panic!("{r:?}"),
        }
        let rot = Settings {
            angle: 90,
            ..settings(Mode::Rotate, 0, 0)
        };
        match run(&jpeg, &rot).unwrap() {
            Reply::Image { width, height, .. } => assert_eq!((width, height), (200, 300)),
            r => panic!("{r:?}"),
        }
        // Fits already: the original.
        assert_eq!(
            run(&jpeg, &settings(Mode::Resize, 400, UNLIMITED)).unwrap(),
            Reply::Original(ImageType::Jpeg)
        );
    }

    #[test]
    fn request_time_values_use_the_directive_checks() {
        let jpeg = img(Kind::Jpeg, 300, 200);
        let e = run(&jpeg, &settings(Mode::Resize, 0, 100)).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
        let rot = Settings {
            angle: 45,
            ..settings(Mode::Rotate, 0, 0)
        };
        assert_eq!(
            run(&jpeg, &rot).unwrap_err().to_string(),
            "rotate angle 45 is not 90, 180 or 270"
        );
        // A bad angle next to resize means no rotation, as in image_filter.
        let s = Settings {
            angle: 45,
            ..settings(Mode::Resize, 100, 100)
        };
        assert!(matches!(run(&jpeg, &s).unwrap(), Reply::Image { .. }));
    }

    #[test]
    fn quality_is_checked_only_when_encoding() {
        let jpeg = img(Kind::Jpeg, 300, 200);
        // `image_resize_rs_jpeg_quality $arg_q` without ?q=: as is, like image_filter.
        let s = Settings {
            jpeg_quality: 0,
            ..settings(Mode::Resize, 400, 400)
        };
        assert_eq!(run(&jpeg, &s).unwrap(), Reply::Original(ImageType::Jpeg));
        let s = Settings {
            jpeg_quality: 0,
            ..settings(Mode::Resize, 100, 100)
        };
        assert_eq!(
            run(&jpeg, &s).unwrap_err().to_string(),
            "invalid jpeg quality"
        );
        // A PNG does not care about the JPEG quality.
        let png = img(Kind::Png, 300, 200);
        assert!(matches!(run(&png, &s).unwrap(), Reply::Image { .. }));
    }

    #[test]
    fn not_an_image_says_what_it_got() {
        let s = settings(Mode::Resize, 100, 100);
        assert_eq!(
            run(b"", &s).unwrap_err().to_string(),
            "empty response body, not an image"
        );
        assert_eq!(
            run(b"<?xml version", &s).unwrap_err().to_string(),
            "not a JPEG, GIF, PNG or WebP image (13 bytes starting with 3c 3f 78 6d)"
        );
    }

    #[test]
    fn settings_are_send() {
        fn is_send<T: Send + 'static>() {}
        is_send::<Settings>();
        is_send::<Reply>();
        is_send::<Error>();
    }
}
