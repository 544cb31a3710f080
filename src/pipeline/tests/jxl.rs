//! JPEG XL input: files made by libjxl's cjxl 0.7 from irs-tool's images
//! (in `data/`, a few hundred bytes each), read through our size header
//! reader and jxl-oxide; orientation, alpha, colour, the "original" output
//! rule, limits and bad input.

use super::engine::process_with;
use super::*;
use crate::negotiate::Token;
use crate::pipeline::codec::jxl;
use plan::OutputSettings;

/// `irs-tool gen png 48 32`, cjxl -d 1 (VarDCT).
const LOSSY: &[u8] = include_bytes!("data/gradient-48x32.jxl");
/// The same, cjxl -d 0 (lossless Modular).
const LOSSLESS: &[u8] = include_bytes!("data/gradient-48x32-lossless.jxl");
/// The same, in the ISOBMFF container (cjxl --container=1).
const CONTAINER: &[u8] = include_bytes!("data/gradient-48x32-container.jxl");
/// `irs-tool gen png-indexed-trns 48 32` (transparent parts), cjxl -d 1.
const ALPHA: &[u8] = include_bytes!("data/alpha-48x32.jxl");
/// `irs-tool gen jpeg-orient-6 48 32` recompressed by cjxl: stored 32x48,
/// orientation 6 in the codestream, quadrants upright when displayed.
const ORIENT6: &[u8] = include_bytes!("data/quadrants-orient6-48x32.jxl");
/// `irs-tool gen jpeg-p3 48 32` (Display P3 ICC), cjxl --lossless_jpeg=0 -d 1.
const P3: &[u8] = include_bytes!("data/p3-48x32.jxl");

fn out(token: Token, negotiated: bool) -> OutputSettings {
    OutputSettings {
        token,
        negotiated,
        ..OutputSettings::default()
    }
}

fn decoded(data: &[u8]) -> Result<decode::Decoded, Error> {
    decode::decode(ImageType::Jxl, data, 1 << 24, &|w, h| Ok((w, h)), false)
}

fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn sniffed_and_sized_from_the_header() {
    for (name, f, size) in [
        ("lossy", LOSSY, (48, 32)),
        ("lossless", LOSSLESS, (48, 32)),
        ("container", CONTAINER, (48, 32)),
        ("alpha", ALPHA, (48, 32)),
        ("orientation 6: displayed size", ORIENT6, (48, 32)),
        ("p3", P3, (48, 32)),
    ] {
        assert_eq!(sniff(f), Some(ImageType::Jxl), "{name}");
        let h = read_header(ImageType::Jxl, f).unwrap();
        assert_eq!((h.width, h.height), size, "{name}");
        // jxl-oxide agrees with our reader.
        let i = jxl::probe(f).unwrap();
        assert_eq!((i.width, i.height), size, "{name}");
    }
    assert!(CONTAINER.starts_with(&jxl::CONTAINER) && LOSSY.starts_with(&jxl::CODESTREAM));
}

#[test]
fn decodes_like_the_source() {
    let src = gen::gradient_rgb(48, 32);
    let d = decoded(LOSSLESS).unwrap();
    assert_eq!((d.bitmap.width, d.bitmap.height, d.bitmap.ch), (48, 32, 3));
    assert_eq!(d.bitmap.data, src, "lossless is exact");
    for f in [LOSSY, CONTAINER] {
        let d = decoded(f).unwrap();
        assert_eq!((d.bitmap.width, d.bitmap.height, d.bitmap.ch), (48, 32, 3));
        let m = mean_diff(&d.bitmap.data, &src);
        assert!(m < 6.0, "mean {m}");
    }
}

#[test]
fn alpha_is_kept_and_an_original_becomes_png() {
    let d = decoded(ALPHA).unwrap();
    assert_eq!(d.bitmap.ch, 4);
    assert!(d.bitmap.data.chunks_exact(4).any(|p| p[3] == 0));
    assert!(d.bitmap.data.chunks_exact(4).any(|p| p[3] == 255));
    let p = plan(Operation::Resize, 24, 24);
    let (ty, bytes, w, h) = encoded(process_with(ALPHA, &p, &out(Token::Orig, false)).unwrap());
    assert_eq!((ty, w, h), (ImageType::Png, 24, 16));
    assert!(decode_any(&bytes).color().has_alpha());
}

#[test]
fn original_becomes_jpeg_and_formats_convert() {
    let p = plan(Operation::Resize, 24, 24);
    let (ty, _, w, h) = encoded(process_with(LOSSY, &p, &out(Token::Orig, false)).unwrap());
    assert_eq!((ty, w, h), (ImageType::Jpeg, 24, 16));
    // Nothing to do: still not sent as is (no browser is asked for JPEG XL).
    let big = plan(Operation::Resize, 1000, 1000);
    let (ty, ..) = encoded(process_with(LOSSY, &big, &out(Token::Orig, true)).unwrap());
    assert_eq!(ty, ImageType::Jpeg);
    for (tok, want) in [
        (Token::Webp, ImageType::Webp),
        (Token::Avif, ImageType::Avif),
    ] {
        let (ty, bytes, ..) = encoded(process_with(LOSSY, &p, &out(tok, true)).unwrap());
        assert_eq!((ty, sniff(&bytes)), (want, Some(want)));
    }
}

#[test]
fn orientation_applied_once() {
    let d = decoded(ORIENT6).unwrap();
    assert_eq!((d.bitmap.width, d.bitmap.height), (48, 32));
    let p = plan(Operation::Resize, 48, 48);
    let (_, bytes, w, h) = encoded(process_with(ORIENT6, &p, &out(Token::Png, false)).unwrap());
    assert_eq!((w, h), (48, 32));
    let img = decode_any(&bytes).to_rgb8();
    for (k, (x, y)) in [(2, 2), (45, 2), (2, 29), (45, 29)].into_iter().enumerate() {
        let px = img.get_pixel(x, y).0;
        let want = gen::QUADRANTS[k];
        assert!(
            (0..3).all(|c| px[c].abs_diff(want[c]) <= 40),
            "corner {k}: {px:?}, want {want:?}"
        );
    }
}

#[test]
fn display_p3_renders_in_srgb() {
    let d = decoded(P3).unwrap();
    let px = &d.bitmap.data[(16 * 48 + 24) * 3..][..3];
    // P3 (215, 80, 50) is sRGB (233, 66, 33).
    for (x, y) in px.iter().zip([233u8, 66, 33]) {
        assert!(x.abs_diff(y) <= 6, "{px:?}");
    }
}

/// LOSSY with its SizeHeader (9 bits: small, 3x8 high, ratio 3:2) replaced
/// by a 65536x65536 one.
fn bomb() -> Vec<u8> {
    let bits: Vec<u8> = LOSSY[2..]
        .iter()
        .flat_map(|b| (0..8).map(move |i| b >> i & 1))
        .collect();
    let mut head = vec![0u8]; // not small
    let field = |v: u64, n: u32| (0..n).map(move |i| (v >> i & 1) as u8);
    head.extend(field(3, 2)); // U32 selector 3: 1 + u(30)
    head.extend(field(65535, 30));
    head.extend(field(1, 3)); // ratio 1:1
    head.extend_from_slice(&bits[9..]);
    let mut out = LOSSY[..2].to_vec();
    for c in head.chunks(8) {
        out.push(c.iter().enumerate().fold(0, |b, (i, &v)| b | v << i));
    }
    out
}

#[test]
fn a_bomb_is_refused_from_its_header() {
    let b = bomb();
    let h = read_header(ImageType::Jxl, &b).unwrap();
    assert_eq!((h.width, h.height), (65536, 65536));
    let p = Plan {
        max_pixels: 40_000_000,
        ..plan(Operation::Resize, 24, 24)
    };
    assert!(matches!(
        process_with(&b, &p, &out(Token::Orig, false)),
        Err(Error::TooManyPixels {
            width: 65536,
            height: 65536,
            ..
        })
    ));
}

#[test]
fn truncated_and_corrupt_fail_cleanly() {
    let p = plan(Operation::Resize, 24, 24);
    for cut in [3, 6, 12, 40, LOSSY.len() / 2, LOSSY.len() - 1] {
        let r = process_with(&LOSSY[..cut], &p, &out(Token::Orig, false));
        assert!(r.is_err(), "cut at {cut}: {r:?}");
    }
    for cut in [14, 40, CONTAINER.len() / 2] {
        assert!(process_with(&CONTAINER[..cut], &p, &out(Token::Orig, false)).is_err());
    }
    // Noise after the header: an error or an image, never a panic.
    for seed in 0..64u32 {
        let mut d = LOSSY.to_vec();
        for (i, b) in d.iter_mut().enumerate().skip(4) {
            *b ^= ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8;
        }
        let _ = process_with(&d, &p, &out(Token::Orig, false));
    }
}
