//! HEIC input: files made by libheif's heif-enc 1.15 (x265) from irs-tool's
//! images (in `data/`, about a kilobyte each), read through libheif and
//! libde265; alpha, colour, the "original" output rule, limits, bad input.

use super::engine::process_with;
use super::*;
use crate::negotiate::Token;
use plan::OutputSettings;

/// `irs-tool gen png 48 32`, heif-enc -q 60.
const GRADIENT: &[u8] = include_bytes!("data/gradient-48x32.heic");
/// A 48x32 RGBA PNG whose left third is transparent, heif-enc -q 60.
const ALPHA: &[u8] = include_bytes!("data/alpha-48x32.heic");
/// `irs-tool gen jpeg-p3 48 32` (a Display P3 ICC profile), heif-enc -q 60.
const P3: &[u8] = include_bytes!("data/p3-48x32.heic");

fn out(token: Token) -> OutputSettings {
    OutputSettings {
        token,
        negotiated: token != Token::Orig,
        ..OutputSettings::default()
    }
}

#[test]
fn sniffed_sized_and_decoded() {
    for f in [GRADIENT, ALPHA, P3] {
        assert_eq!(sniff(f), Some(ImageType::Heic));
        let h = read_header(ImageType::Heic, f).unwrap();
        assert_eq!((h.width, h.height), (48, 32));
    }
    let d = decode::decode(
        ImageType::Heic,
        GRADIENT,
        1 << 24,
        &|w, h| Ok((w, h)),
        false,
    )
    .unwrap();
    assert_eq!((d.bitmap.width, d.bitmap.height, d.bitmap.ch), (48, 32, 3));
    let src = gen::gradient_rgb(48, 32);
    let mean = d
        .bitmap
        .data
        .iter()
        .zip(&src)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / src.len() as f64;
    assert!(mean < 8.0, "mean {mean}");
    // An AVIF is not taken for HEIC.
    let avif = encode::encode(
        ImageType::Avif,
        &d.bitmap,
        &encode::EncodeOptions::default(),
    )
    .unwrap();
    assert_eq!(sniff(&avif), Some(ImageType::Avif));
}

#[test]
fn original_becomes_jpeg_or_png_with_alpha() {
    let p = plan(Operation::Resize, 24, 24);
    let (ty, _, w, h) = encoded(process_with(GRADIENT, &p, &out(Token::Orig)).unwrap());
    assert_eq!((ty, w, h), (ImageType::Jpeg, 24, 16));
    let (ty, bytes, ..) = encoded(process_with(ALPHA, &p, &out(Token::Orig)).unwrap());
    assert_eq!(ty, ImageType::Png);
    let img = decode_any(&bytes).to_rgba8();
    assert!(img.pixels().any(|p| p.0[3] < 16) && img.pixels().any(|p| p.0[3] > 240));
    let (ty, ..) = encoded(process_with(GRADIENT, &p, &out(Token::Webp)).unwrap());
    assert_eq!(ty, ImageType::Webp);
}

#[test]
fn display_p3_profile_is_converted() {
    let p = plan(Operation::Resize, 48, 48);
    let (_, bytes, ..) = encoded(process_with(P3, &p, &out(Token::Png)).unwrap());
    let px = decode_any(&bytes).to_rgb8().get_pixel(24, 16).0;
    // P3 (215, 80, 50) is sRGB (233, 66, 33); HEVC 4:2:0 at q60 moves it a little.
    for (x, y) in px.iter().zip([233u8, 66, 33]) {
        assert!(x.abs_diff(y) <= 8, "{px:?}");
    }
}

#[test]
fn limits_and_bad_input() {
    let small = Plan {
        max_pixels: 1000,
        ..plan(Operation::Resize, 24, 24)
    };
    assert!(matches!(
        process_with(GRADIENT, &small, &out(Token::Orig)),
        Err(Error::TooManyPixels {
            width: 48,
            height: 32,
            ..
        })
    ));
    // A bomb: every ispe property (heif-enc writes a grid: the grid's and
    // its tile's) says 60000x60000.
    let mut bomb = GRADIENT.to_vec();
    let spots: Vec<usize> = bomb
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"ispe")
        .map(|(i, _)| i + 8)
        .collect();
    assert!(!spots.is_empty());
    for at in spots {
        bomb[at..at + 8].copy_from_slice(&[0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60]);
    }
    let p = Plan {
        max_pixels: 40_000_000,
        ..plan(Operation::Resize, 24, 24)
    };
    assert!(matches!(
        process_with(&bomb, &p, &out(Token::Orig)),
        Err(Error::TooManyPixels {
            width: 60000,
            height: 60000,
            ..
        })
    ));
    for cut in [20, 100, GRADIENT.len() / 2, GRADIENT.len() - 10] {
        assert!(
            process_with(&GRADIENT[..cut], &p, &out(Token::Orig)).is_err(),
            "cut {cut}"
        );
    }
    for seed in 0..32u32 {
        let mut d = GRADIENT.to_vec();
        for (i, b) in d.iter_mut().enumerate().skip(40) {
            *b ^= ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 11) as u8;
        }
        let _ = process_with(&d, &p, &out(Token::Orig));
    }
}
