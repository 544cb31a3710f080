//! [`run`]: every mode, the stages it reports, request-time checks.

use crate::pipeline::gen::{self, Kind};
use crate::pipeline::{self, Error, ImageType, Reply, Settings, Stages};
use crate::value::{Mode, UNLIMITED};
use std::sync::atomic::AtomicBool;

fn run(body: &[u8], s: &Settings) -> Result<Reply, Error> {
    run_staged(body, s, &mut Stages::default())
}

fn run_staged(body: &[u8], s: &Settings, stages: &mut Stages) -> Result<Reply, Error> {
    pipeline::run(body, s, stages, &AtomicBool::new(false))
}

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
    let jpeg = gen::jpeg_with_exif(&img(Kind::Jpeg, 300, 200), &gen::exif_tiff(6, false, false));
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
            b"{ \"img\" : { \"width\": 300, \"height\": 200, \"type\": \"jpeg\" } }\r\n".to_vec()
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
