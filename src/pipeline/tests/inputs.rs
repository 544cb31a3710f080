//! AVIF input: made by our own encoder, read back through the container
//! parser and libaom's decoder; orientation, alpha, the "original" output
//! rule, limits and bad input.

use super::engine::process_with;
use super::*;
use crate::negotiate::Token;
use plan::OutputSettings;

fn avif_of(img: &Bitmap) -> Vec<u8> {
    encode::encode(ImageType::Avif, img, &encode::EncodeOptions::default()).unwrap()
}

fn rgb(w: u32, h: u32) -> Bitmap {
    Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: gen::gradient_rgb(w, h),
    }
}

fn out(token: Token, negotiated: bool) -> OutputSettings {
    OutputSettings {
        token,
        negotiated,
        ..OutputSettings::default()
    }
}

#[test]
fn avif_is_sniffed_sized_and_decoded() {
    let src = avif_of(&rgb(61, 37));
    assert_eq!(sniff(&src), Some(ImageType::Avif));
    let h = read_header(ImageType::Avif, &src).unwrap();
    assert_eq!((h.width, h.height), (61, 37));
    let d = decode::decode(ImageType::Avif, &src, u64::MAX, &|w, h| Ok((w, h)), false).unwrap();
    assert_eq!((d.bitmap.width, d.bitmap.height, d.bitmap.ch), (61, 37, 3));
    let (max, mean) = diff(&d.bitmap.data, &gen::gradient_rgb(61, 37));
    assert!(mean < 6.0, "max {max} mean {mean}");
}

#[test]
fn avif_original_becomes_jpeg_or_png_with_alpha() {
    let src = avif_of(&rgb(80, 40));
    let p = plan(Operation::Resize, 40, 40);
    let (ty, bytes, w, h) = encoded(process_with(&src, &p, &out(Token::Orig, false)).unwrap());
    assert_eq!((ty, w, h), (ImageType::Jpeg, 40, 20));
    assert_eq!(sniff(&bytes), Some(ImageType::Jpeg));
    // Nothing to do, but not sent as is to a client that may not take it.
    let big = plan(Operation::Resize, 1000, 1000);
    let (ty, ..) = encoded(process_with(&src, &big, &out(Token::Orig, true)).unwrap());
    assert_eq!(ty, ImageType::Jpeg);
    // A client that accepts AVIF gets the original as is.
    assert_eq!(
        process_with(&src, &big, &out(Token::Avif, true)).unwrap(),
        Reply::Original(ImageType::Avif)
    );
    // WebP for a WebP client.
    let (ty, ..) = encoded(process_with(&src, &p, &out(Token::Webp, true)).unwrap());
    assert_eq!(ty, ImageType::Webp);
    // Alpha: PNG, alpha kept.
    let mut rgba = Bitmap {
        width: 20,
        height: 10,
        ch: 4,
        data: vec![200; 20 * 10 * 4],
    };
    for px in rgba.data.chunks_mut(4).take(100) {
        px[3] = 0;
    }
    let src = avif_of(&rgba);
    let (ty, bytes, ..) = encoded(process_with(&src, &big, &out(Token::Orig, false)).unwrap());
    assert_eq!(ty, ImageType::Png);
    let png = image::load_from_memory(&bytes).unwrap().to_rgba8();
    let a = png.as_raw();
    assert!(
        a[3] < 20 && a[a.len() - 1] > 180,
        "{:?} {:?}",
        &a[..8],
        &a[a.len() - 8..]
    );
}

#[test]
fn avif_pixel_limit_and_bad_input() {
    let src = avif_of(&rgb(64, 64));
    let mut p = plan(Operation::Resize, 10, 10);
    p.max_pixels = 1000;
    assert!(matches!(
        process_with(&src, &p, &OutputSettings::default()),
        Err(Error::TooManyPixels { .. })
    ));
    let p = plan(Operation::Resize, 10, 10);
    // Truncated: the item data runs past the end.
    let e = process_with(&src[..src.len() - 10], &p, &OutputSettings::default()).unwrap_err();
    assert!(
        matches!(e, Error::UnreadableHeader(_) | Error::Decode { .. }),
        "{e:?}"
    );
    // Corrupt AV1 data.
    let mut bad = src.clone();
    let n = bad.len();
    for b in &mut bad[n - 40..] {
        *b ^= 0x5a;
    }
    assert!(process_with(&bad, &p, &OutputSettings::default()).is_err());
    // A pixel bomb: ispe claims 100000x100000.
    let i = src.windows(4).position(|w| w == b"ispe").unwrap();
    let mut bomb = src.clone();
    bomb[i + 8..i + 12].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[i + 12..i + 16].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(matches!(
        process_with(&bomb, &p, &OutputSettings::default()),
        Err(Error::TooManyPixels { .. })
    ));
}

#[test]
fn avif_irot_is_the_orientation() {
    let src = avif_of(&rgb(60, 30));
    let s = container::isobmff::parse_still(&src).unwrap();
    assert_eq!(s.exif_orientation(), 1);
    assert_eq!(meta::orientation(ImageType::Avif, &src).value(), 1);
}

/// An AVIF tagged `colr nclx` Display P3 (primaries 12) and no ICC profile
/// is converted to sRGB like one carrying the P3 profile; BT.709 is not.
#[test]
fn avif_nclx_display_p3_is_converted_to_srgb() {
    let flat = Bitmap {
        width: 16,
        height: 16,
        ch: 3,
        data: gen::P3_COLOUR.repeat(256),
    };
    let srgb = avif_of(&flat);
    // The same AV1 payload, in a container that says Display P3.
    let obus = crate::pipeline::container::isobmff::parse_still(&srgb)
        .unwrap()
        .data
        .into_owned();
    let mut boxes = avif_serialize::Aviffy::new();
    boxes
        .set_color_primaries(avif_serialize::constants::ColorPrimaries::DisplayP3)
        .set_transfer_characteristics(avif_serialize::constants::TransferCharacteristics::Srgb)
        .set_matrix_coefficients(avif_serialize::constants::MatrixCoefficients::Bt601)
        .set_full_color_range(true)
        .set_chroma_subsampling((true, true));
    let p3 = boxes.to_vec(&obus, None, 16, 16, 8);
    assert!(p3.windows(8).any(|w| w == b"colrnclx"));
    let p = plan(Operation::Resize, 8, 8);
    let centre = |src: &[u8]| {
        let (ty, bytes, ..) = encoded(process_with(src, &p, &out(Token::Png, false)).unwrap());
        assert_eq!(ty, ImageType::Png);
        decode_any(&bytes).to_rgb8().get_pixel(4, 4).0
    };
    let (a, b) = (centre(&srgb), centre(&p3));
    // BT.709: the colour as coded (within AVIF's loss); P3 (215, 80, 50) is
    // sRGB (233, 66, 33).
    for (x, y) in a.iter().zip(gen::P3_COLOUR) {
        assert!(x.abs_diff(y) <= 6, "{a:?}");
    }
    for (x, y) in b.iter().zip([233, 66, 33]) {
        assert!(x.abs_diff(y) <= 7, "{b:?}");
    }
}
