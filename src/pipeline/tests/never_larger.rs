//! `image_resize_rs_never_larger`, end to end: an image that only
//! re-encodes the original and came out bigger gives way to the original
//! ([`Reply::OriginalSmaller`]); any geometric change, a smaller result,
//! the directive off, or a client that may not take the original's type
//! keeps the new image.

use std::sync::atomic::AtomicBool;

use super::{plan, U};
use crate::negotiate::Token;
use crate::pipeline::codec::encode;
use crate::pipeline::engine::process_with;
use crate::pipeline::gen::{self, Kind};
use crate::pipeline::plan::OutputSettings;
use crate::pipeline::{
    process_lossless, run, Bitmap, ImageType, Operation, Plan, Reply, Settings, Stages,
};
use crate::value::Mode;

fn negotiated(token: Token) -> OutputSettings {
    OutputSettings {
        token,
        negotiated: true,
        ..OutputSettings::default()
    }
}

fn forced(token: Token) -> OutputSettings {
    OutputSettings {
        token,
        ..OutputSettings::default()
    }
}

fn off(out: OutputSettings) -> OutputSettings {
    OutputSettings {
        never_larger: false,
        ..out
    }
}

fn fits() -> Plan {
    plan(Operation::Resize, 150, 150)
}

/// The type and length of a new image; panics on anything else.
fn made(r: Reply) -> (ImageType, usize) {
    match r {
        Reply::Image { ty, bytes, .. } => (ty, bytes.len()),
        r => panic!("expected a new image, got {r:?}"),
    }
}

fn low(w: u32, h: u32) -> Vec<u8> {
    gen::generate(Kind::JpegLow, w, h).unwrap()
}

/// A quality-10 gradient JPEG with `more` wrapped around it.
fn low_with(w: u32, h: u32, more: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let b = Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: gen::gradient_rgb(w, h),
    };
    more(&encode::encode_jpeg(&b, 10, false).unwrap())
}

#[test]
fn a_tiny_low_quality_jpeg_goes_out_as_it_came() {
    let src = low(80, 60);
    for token in [Token::Avif, Token::Webp] {
        // The premise: converting it grows it.
        let (ty, len) = made(process_with(&src, &fits(), &off(negotiated(token))).unwrap());
        assert!(len > src.len(), "{token:?}: {len} vs {}", src.len());
        assert_eq!(
            process_with(&src, &fits(), &negotiated(token)).unwrap(),
            Reply::OriginalSmaller {
                ty: ImageType::Jpeg,
                made: ty,
                made_len: len
            },
            "{token:?}"
        );
    }
}

#[test]
fn a_conversion_that_saves_bytes_is_sent() {
    let src = gen::generate(Kind::Jpeg, 80, 60).unwrap();
    for token in [Token::Avif, Token::Webp] {
        let (ty, len) = made(process_with(&src, &fits(), &negotiated(token)).unwrap());
        assert_eq!(
            ty,
            if token == Token::Avif {
                ImageType::Avif
            } else {
                ImageType::Webp
            }
        );
        assert!(len < src.len(), "{token:?}: {len} vs {}", src.len());
    }
}

#[test]
fn each_format_decides_on_its_own_size() {
    // A smooth gradient PNG: lossy WebP (VP8) grows it, AVIF does not.
    let src = gen::generate(Kind::Png, 200, 150).unwrap();
    let plan = plan(Operation::Resize, 300, 300);
    let (_, webp) = made(process_with(&src, &plan, &off(negotiated(Token::Webp))).unwrap());
    let (_, avif) = made(process_with(&src, &plan, &negotiated(Token::Avif)).unwrap());
    assert!(
        webp > src.len() && avif < src.len(),
        "png {} webp {webp} avif {avif}",
        src.len()
    );
    assert!(matches!(
        process_with(&src, &plan, &negotiated(Token::Webp)).unwrap(),
        Reply::OriginalSmaller {
            ty: ImageType::Png,
            made: ImageType::Webp,
            ..
        }
    ));
}

#[test]
fn any_geometric_change_keeps_the_new_image() {
    let avif = negotiated(Token::Avif);
    // Resized (it would grow even so: the box is what was asked for).
    let big = low(400, 300);
    let (ty, len) = made(process_with(&big, &fits(), &avif).unwrap());
    assert_eq!(ty, ImageType::Avif);
    assert!(len > big.len(), "premise: {len} vs {}", big.len());
    // A crop that cuts.
    let wide = low(200, 60);
    let (ty, clen) = made(process_with(&wide, &plan(Operation::Crop, 100, 100), &avif).unwrap());
    assert_eq!(ty, ImageType::Avif);
    assert!(clen > wide.len(), "premise: {clen} vs {}", wide.len());
    // Rotated, alone or with a resize that fits.
    let src = low(80, 60);
    let rot = Plan {
        angle: 90,
        ..plan(Operation::Rotate, U, U)
    };
    let (_, rlen) = made(process_with(&src, &rot, &avif).unwrap());
    assert!(rlen > src.len(), "premise: the rotated AVIF is bigger");
    let fits_turned = Plan {
        angle: 180,
        ..fits()
    };
    made(process_with(&src, &fits_turned, &avif).unwrap());
    // Turned upright by its EXIF orientation.
    let tiff = gen::exif_tiff(6, false, false);
    let tagged = low_with(80, 60, |j| gen::jpeg_with_exif(j, &tiff));
    let (_, olen) = made(process_with(&tagged, &fits(), &avif).unwrap());
    assert!(olen > tagged.len(), "premise: {olen} vs {}", tagged.len());
    // ...unless auto-orientation is off: then nothing turns.
    let plain = OutputSettings {
        auto_orient: false,
        ..avif
    };
    assert!(matches!(
        process_with(&tagged, &fits(), &plain).unwrap(),
        Reply::OriginalSmaller { .. }
    ));
}

#[test]
fn a_forced_re_encode_that_grows_gives_way() {
    // image_filter's force (application data above 5%) re-encodes a JPEG
    // that fits, to shrink it: at quality 85 this quality-10 one grows.
    let src = low_with(80, 60, gen::add_app1);
    assert!(read_force(&src));
    let orig = OutputSettings::default();
    let (_, len) = made(process_with(&src, &fits(), &off(orig)).unwrap());
    assert!(len > src.len(), "premise: {len} vs {}", src.len());
    assert_eq!(
        process_with(&src, &fits(), &orig).unwrap(),
        Reply::OriginalSmaller {
            ty: ImageType::Jpeg,
            made: ImageType::Jpeg,
            made_len: len
        }
    );
    // The same under image_resize_rs_output jpeg (the original's own type).
    assert!(matches!(
        process_with(&src, &fits(), &forced(Token::Jpeg)).unwrap(),
        Reply::OriginalSmaller { .. }
    ));
}

fn read_force(jpeg: &[u8]) -> bool {
    crate::pipeline::read_header(ImageType::Jpeg, jpeg).is_some_and(|h| h.force)
}

#[test]
fn a_forced_other_format_is_always_sent() {
    let src = low(80, 60);
    let (ty, len) = made(process_with(&src, &fits(), &forced(Token::Avif)).unwrap());
    assert!(
        ty == ImageType::Avif && len > src.len(),
        "{len} vs {}",
        src.len()
    );
    // A WebP original: its Accept must name WebP, and a forced AVIF does not.
    let webp = gen::generate(Kind::Webp, 40, 30).unwrap();
    let (ty, _) = made(process_with(&webp, &fits(), &forced(Token::Avif)).unwrap());
    assert_eq!(ty, ImageType::Avif);
}

#[test]
fn the_lossless_yardstick_is_never_replaced() {
    // irs-tool's PNG of the pipeline's pixels is far bigger than this JPEG,
    // and is what the benchmarks want.
    let src = low(80, 60);
    let (ty, len) = made(process_lossless(&src, &fits()).unwrap());
    assert!(ty == ImageType::Png && len > src.len());
}

#[test]
fn settings_carry_the_directive() {
    let src = low(80, 60);
    let s = Settings {
        mode: Mode::Resize,
        width: 150,
        height: 150,
        format: Some(Token::Avif),
        negotiated: true,
        ..Settings::default()
    };
    let mut stages = Stages::default();
    let r = run(&src, &s, &mut stages, &AtomicBool::new(false)).unwrap();
    assert!(matches!(r, Reply::OriginalSmaller { .. }), "{r:?}");
    assert!(
        stages.encode_us > 0,
        "the encoder ran: that is how it knows"
    );
    assert_eq!(stages.source, (80, 60));
    let s = Settings {
        never_larger: false,
        ..s
    };
    let (ty, _) = made(run(&src, &s, &mut Stages::default(), &AtomicBool::new(false)).unwrap());
    assert_eq!(ty, ImageType::Avif);
}
