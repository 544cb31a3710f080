//! Output formats (`output_type`, negotiation), EXIF orientation, ICC →
//! sRGB, metadata stripping, palettes and interlacing, end to end.

use super::plan;
use crate::negotiate::Token;
use crate::pipeline::codec::encode;
use crate::pipeline::engine::process_with;
use crate::pipeline::gen::{self, Kind, QUADRANTS};
use crate::pipeline::plan::{output_type, OutputSettings};
use crate::pipeline::{meta, sniff, Bitmap, Error, ImageType, Operation, Plan, Reply};

/// [`process_with`] with `negotiated` set as given.
fn pw(data: &[u8], plan: &Plan, out: &OutputSettings, negotiated: bool) -> Result<Reply, Error> {
    process_with(data, plan, &OutputSettings { negotiated, ..*out })
}

fn forced(token: Token) -> OutputSettings {
    OutputSettings {
        token,
        ..OutputSettings::default()
    }
}

fn encoded(r: Reply) -> (ImageType, Vec<u8>, u32, u32) {
    match r {
        Reply::Image {
            ty,
            bytes,
            width,
            height,
        } => (ty, bytes, width, height),
        r => panic!("expected an image, got {r:?}"),
    }
}

fn close(a: [u8; 4], b: [u8; 3], tol: u8) -> bool {
    (0..3).all(|i| a[i].abs_diff(b[i]) <= tol)
}

/// The four corners of the displayed output show QUADRANTS in order.
fn assert_upright(bytes: &[u8], what: &str) {
    let img = image::load_from_memory(bytes).unwrap().to_rgba8();
    let (w, h) = (img.width(), img.height());
    let corners = [(1, 1), (w - 2, 1), (1, h - 2), (w - 2, h - 2)];
    for (k, &(x, y)) in corners.iter().enumerate() {
        let p = img.get_pixel(x, y).0;
        assert!(close(p, QUADRANTS[k], 40), "{what}: corner {k} is {p:?}");
    }
}

#[test]
fn output_type_rules() {
    use ImageType::*;
    for (tok, input, neg, anim, want) in [
        (Token::Orig, Jpeg, false, false, Jpeg),
        (Token::Orig, Gif, false, true, Gif),
        (Token::Avif, Jpeg, true, false, Avif),
        (Token::Avif, Png, true, false, Avif),
        (Token::Webp, Png, true, false, Webp),
        (Token::Avif, Gif, true, false, Gif),
        (Token::Avif, Gif, true, true, Gif),
        (Token::Avif, Webp, true, true, Webp),
        (Token::Avif, Webp, true, false, Webp),
        (Token::Webp, Gif, true, false, Gif),
        (Token::Jpeg, Png, false, false, Jpeg),
        (Token::Avif, Gif, false, true, Avif),
        (Token::Png, Webp, false, false, Png),
    ] {
        assert_eq!(
            output_type(tok, input, neg, anim),
            want,
            "{tok:?} {input:?}"
        );
    }
}

#[test]
fn all_eight_orientations_come_out_upright() {
    for kind in [Kind::Jpeg, Kind::Png, Kind::Webp] {
        for o in 1..=8u16 {
            // Displayed 96x64; the box applies to the displayed image.
            let src = gen::generate_oriented(kind, 96, 64, o).unwrap();
            let j = plan(Operation::Resize, 48, 100);
            let (_, bytes, w, h) =
                encoded(pw(&src, &j, &OutputSettings::default(), false).unwrap());
            assert_eq!((w, h), (48, 32), "{kind:?} orientation {o}");
            assert_upright(&bytes, &format!("{kind:?} orientation {o}"));
            // No orientation left in the output, and no EXIF at all.
            let ty = sniff(&bytes).unwrap();
            assert!(meta::exif(ty, &bytes).is_none());
            // Crop: same box semantics.
            let (_, _, w, h) = encoded(
                pw(
                    &src,
                    &plan(Operation::Crop, 40, 40),
                    &OutputSettings::default(),
                    false,
                )
                .unwrap(),
            );
            assert_eq!((w, h), (40, 40), "{kind:?} crop orientation {o}");
        }
    }
}

#[test]
fn orientation_turns_even_without_resize() {
    let big = plan(Operation::Resize, 1000, 1000);
    for kind in [Kind::Jpeg, Kind::Png] {
        let src = gen::generate_oriented(kind, 60, 40, 6).unwrap();
        let (_, bytes, w, h) = encoded(pw(&src, &big, &OutputSettings::default(), false).unwrap());
        assert_eq!((w, h), (60, 40));
        assert_upright(&bytes, "6, no resize");
    }
    // PNG (JPEG's >5% APP-data rule would re-encode this tiny file):
    // orientation 1 and nothing to do is sent as is, like image_filter.
    let src1 = gen::generate_oriented(Kind::Png, 60, 40, 1).unwrap();
    assert_eq!(
        pw(&src1, &big, &OutputSettings::default(), false).unwrap(),
        Reply::Original(ImageType::Png)
    );
    // auto_orient off: image_filter's behaviour, stored pixels as they are.
    let off = OutputSettings {
        auto_orient: false,
        ..OutputSettings::default()
    };
    let src = gen::generate_oriented(Kind::Png, 60, 40, 6).unwrap();
    assert_eq!(
        pw(&src, &big, &off, false).unwrap(),
        Reply::Original(ImageType::Png)
    );
    let (_, _, w, h) = encoded(pw(&src, &plan(Operation::Resize, 20, 20), &off, false).unwrap());
    assert_eq!((w, h), (13, 20)); // stored 40x60
}

#[test]
fn display_p3_becomes_srgb() {
    for kind in [Kind::Jpeg, Kind::Png, Kind::Webp] {
        let src = gen::generate_p3(kind, 64, 64).unwrap();
        for tok in [Token::Orig, Token::Png] {
            let (ty, bytes, _, _) =
                encoded(pw(&src, &plan(Operation::Resize, 32, 32), &forced(tok), false).unwrap());
            let p = image::load_from_memory(&bytes)
                .unwrap()
                .to_rgba8()
                .get_pixel(16, 16)
                .0;
            let tol = if ty == ImageType::Png { 3 } else { 8 };
            assert!(close(p, [233, 66, 33], tol), "{kind:?}->{ty:?}: {p:?}");
            assert!(meta::icc_profile(ty, &bytes).is_none());
        }
    }
}

#[test]
fn gps_exif_never_reaches_the_output() {
    let src = gen::generate(Kind::JpegGps, 120, 80).unwrap();
    assert!(src.windows(18).any(|w| w == b"IRS-GPS-TEST-DATUM"));
    for tok in [Token::Orig, Token::Png, Token::Webp, Token::Avif] {
        let (_, bytes, _, _) =
            encoded(pw(&src, &plan(Operation::Resize, 60, 60), &forced(tok), false).unwrap());
        assert!(
            !bytes.windows(18).any(|w| w == b"IRS-GPS-TEST-DATUM"),
            "{tok:?}"
        );
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{tok:?}");
    }
}

#[test]
fn palette_in_palette_out() {
    let src = gen::generate(Kind::PngPalette64, 400, 300).unwrap();
    let j = plan(Operation::Resize, 200, 200);
    let (ty, bytes, w, h) = encoded(pw(&src, &j, &OutputSettings::default(), false).unwrap());
    assert_eq!((ty, w, h), (ImageType::Png, 200, 150));
    assert_eq!(bytes[25], 3, "indexed colour type");
    // The same pixels as truecolour (this module's output before palettes).
    let rgb = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let truecolour = encode::encode_png(&Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: rgb.into_raw(),
    })
    .unwrap();
    assert!(
        bytes.len() * 4 < truecolour.len() * 3,
        "palette {} vs truecolour {}",
        bytes.len(),
        truecolour.len()
    );
    // transparency survives in tRNS.
    let trns = gen::generate(Kind::PngIndexedTrns, 80, 80).unwrap();
    let (_, bytes, _, _) = encoded(
        pw(
            &trns,
            &plan(Operation::Resize, 40, 40),
            &OutputSettings::default(),
            false,
        )
        .unwrap(),
    );
    assert_eq!(bytes[25], 3);
    let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(img.get_pixel(20, 20).0[3], 0);
    assert_eq!(img.get_pixel(1, 1).0[3], 255);
}

#[test]
fn interlaced_png_and_gif_decode_to_the_same_pixels() {
    for kind in [Kind::Png, Kind::PngPalette64, Kind::Gif] {
        let src = gen::generate(kind, 97, 61).unwrap();
        let mut j = plan(Operation::Resize, 50, 50);
        let (_, plain, _, _) = encoded(pw(&src, &j, &OutputSettings::default(), false).unwrap());
        j.interlace = true;
        let (ty, inter, _, _) = encoded(pw(&src, &j, &OutputSettings::default(), false).unwrap());
        match ty {
            ImageType::Png => {
                assert_eq!((plain[28], inter[28]), (0, 1), "{kind:?} IHDR interlace");
            }
            _ => {
                let flag = |b: &[u8]| {
                    let mut d = gif::DecodeOptions::new()
                        .read_info(std::io::Cursor::new(b))
                        .unwrap();
                    d.next_frame_info().unwrap().unwrap().interlaced
                };
                assert_eq!(
                    (flag(&plain), flag(&inter)),
                    (false, true),
                    "GIF interlace flag"
                );
            }
        }
        let a = image::load_from_memory(&plain).unwrap().to_rgba8();
        let b = image::load_from_memory(&inter).unwrap().to_rgba8();
        assert_eq!(a, b, "{kind:?}");
    }
}

#[test]
fn negotiated_conversion_and_alpha() {
    // PNG with alpha -> WebP keeps alpha.
    let src = gen::generate(Kind::PngIndexedTrns, 80, 80).unwrap();
    let s = forced(Token::Webp);
    let (ty, bytes, _, _) = encoded(pw(&src, &plan(Operation::Resize, 40, 40), &s, true).unwrap());
    assert_eq!(ty, ImageType::Webp);
    let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(img.get_pixel(20, 20).0[3], 0);
    assert_eq!(img.get_pixel(1, 1).0[3], 255);
    // JPEG -> AVIF even when no resize is needed.
    let src = gen::generate(Kind::Jpeg, 60, 40).unwrap();
    let (ty, bytes, w, h) = encoded(
        pw(
            &src,
            &plan(Operation::Resize, 300, 200),
            &forced(Token::Avif),
            true,
        )
        .unwrap(),
    );
    assert_eq!((ty, w, h), (ImageType::Avif, 60, 40));
    assert_eq!(&bytes[4..12], b"ftypavif");
    // Animated GIF stays GIF under negotiation.
    let anim = gen::animated_gif(40, 40);
    let (ty, _, _, _) = encoded(
        pw(
            &anim,
            &plan(Operation::Resize, 20, 20),
            &forced(Token::Avif),
            true,
        )
        .unwrap(),
    );
    assert_eq!(ty, ImageType::Gif);
    // ... and as is when nothing else changes.
    assert_eq!(
        pw(
            &anim,
            &plan(Operation::Resize, 50, 50),
            &forced(Token::Avif),
            true
        )
        .unwrap(),
        Reply::Original(ImageType::Gif)
    );
}
