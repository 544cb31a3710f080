//! Embedded ICC profile → sRGB, with moxcms (perceptual intent, fixed point).
//!
//! Output is always sRGB and carries no profile: every browser treats an
//! untagged image as sRGB, so a tag would only cost bytes. An RGB profile
//! whose conversion to sRGB is the identity (within one level on a 17³ grid:
//! sRGB itself, or near copies of it) is not applied at all.
//! Grey and CMYK profiles are left alone (the pixels pass unconverted).
//!
//! Building a transform (and the identity check) costs 2–3 ms, more than
//! converting a thumbnail; photos repeat a few profiles (most often HP's
//! "sRGB IEC61966-2.1"), so each worker keeps the last [`CACHE`] verdicts,
//! keyed by the profile's CRC-32 and length. A forged profile that
//! collides can only mis-colour its own image.

use std::sync::{Arc, Mutex};

use moxcms::{
    ColorProfile, DataColorSpace, Layout, RenderingIntent, Transform8BitExecutor, TransformOptions,
};

use super::bitmap::Bitmap;

/// What [`to_srgb`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// The profile is sRGB already (or as good as).
    Identity,
    /// Pixels converted.
    Converted,
    /// Not an RGB profile, or one moxcms cannot read: pixels unchanged.
    Unsupported,
}

/// What a profile does to RGB or RGBA pixels.
#[derive(Clone)]
enum Verdict {
    Identity,
    Unsupported,
    Convert(Arc<Transform8BitExecutor>),
}

/// Profiles remembered per process (the pool's threads share them).
const CACHE: usize = 32;

type Key = (u32, usize, bool);
static VERDICTS: Mutex<Vec<(Key, Verdict)>> = Mutex::new(Vec::new());

fn verdict(icc: &[u8], layout: Layout) -> Verdict {
    let key = (crc32fast::hash(icc), icc.len(), layout == Layout::Rgba);
    let lock = || VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, v)) = lock().iter().find(|(k, _)| *k == key) {
        return v.clone();
    }
    let v = build(icc, layout);
    let mut cache = lock();
    if cache.len() >= CACHE {
        cache.remove(0);
    }
    cache.push((key, v.clone()));
    v
}

fn build(icc: &[u8], layout: Layout) -> Verdict {
    let Ok(src) = ColorProfile::new_from_slice(icc) else {
        return Verdict::Unsupported;
    };
    if src.color_space != DataColorSpace::Rgb {
        return Verdict::Unsupported;
    }
    let opts = TransformOptions {
        rendering_intent: RenderingIntent::Perceptual,
        ..TransformOptions::default()
    };
    let dst = ColorProfile::new_srgb();
    let Ok(t) = src.create_transform_8bit(layout, &dst, layout, opts) else {
        return Verdict::Unsupported;
    };
    if is_identity(&src, &dst, opts) {
        return Verdict::Identity;
    }
    Verdict::Convert(t)
}

/// Converts `img` from `icc` to sRGB in place.
pub fn to_srgb(img: &mut Bitmap, icc: &[u8]) -> Conversion {
    let layout = match img.ch {
        3 => Layout::Rgb,
        4 => Layout::Rgba,
        _ => return Conversion::Unsupported,
    };
    let t = match verdict(icc, layout) {
        Verdict::Identity => return Conversion::Identity,
        Verdict::Unsupported => return Conversion::Unsupported,
        Verdict::Convert(t) => t,
    };
    let mut out = vec![0u8; img.data.len()];
    if t.transform(&img.data, &mut out).is_err() {
        return Conversion::Unsupported;
    }
    img.data = out;
    Conversion::Converted
}

/// True when `src` → `dst` moves no colour of a 17×17×17 grid by more than
/// one level.
fn is_identity(src: &ColorProfile, dst: &ColorProfile, opts: TransformOptions) -> bool {
    let Ok(t) = src.create_transform_8bit(Layout::Rgb, dst, Layout::Rgb, opts) else {
        return false;
    };
    let steps: Vec<u8> = (0..17u32).map(|i| (i * 255 / 16) as u8).collect();
    let mut grid = Vec::with_capacity(17 * 17 * 17 * 3);
    for &r in &steps {
        for &g in &steps {
            for &b in &steps {
                grid.extend_from_slice(&[r, g, b]);
            }
        }
    }
    let mut out = vec![0u8; grid.len()];
    t.transform(&grid, &mut out).is_ok() && grid.iter().zip(&out).all(|(a, b)| a.abs_diff(*b) <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(rgb: [u8; 3]) -> Bitmap {
        Bitmap {
            width: 4,
            height: 4,
            ch: 3,
            data: rgb.repeat(16),
        }
    }

    #[test]
    fn srgb_profile_is_identity() {
        let icc = ColorProfile::new_srgb().encode().unwrap();
        let mut b = flat([200, 100, 50]);
        assert_eq!(to_srgb(&mut b, &icc), Conversion::Identity);
        assert_eq!(b, flat([200, 100, 50]));
    }

    #[test]
    fn display_p3_red_gets_more_saturated() {
        let icc = super::super::gen::display_p3_icc();
        let mut b = flat(super::super::gen::P3_COLOUR);
        assert_eq!(to_srgb(&mut b, &icc), Conversion::Converted);
        let p = &b.data[..3];
        // P3 (215, 80, 50) is sRGB (233, 66, 33) (Display P3 → sRGB matrix).
        assert!(p[0].abs_diff(233) <= 3, "{p:?}");
        assert!(p[1].abs_diff(66) <= 3, "{p:?}");
        assert!(p[2].abs_diff(33) <= 3, "{p:?}");
        // Alpha is carried through.
        let mut rgba = Bitmap {
            width: 2,
            height: 1,
            ch: 4,
            data: vec![215, 80, 50, 7, 215, 80, 50, 255],
        };
        assert_eq!(to_srgb(&mut rgba, &icc), Conversion::Converted);
        assert_eq!((rgba.data[3], rgba.data[7]), (7, 255));
    }

    #[test]
    fn cached_verdicts_match_fresh_ones() {
        // Twice each: the second answer comes from the cache.
        for _ in 0..2 {
            let icc = ColorProfile::new_srgb().encode().unwrap();
            assert_eq!(
                to_srgb(&mut flat([200, 10, 10]), &icc),
                Conversion::Identity
            );
            let icc = super::super::gen::display_p3_icc();
            let mut b = flat(super::super::gen::P3_COLOUR);
            assert_eq!(to_srgb(&mut b, &icc), Conversion::Converted);
            assert!(b.data[0].abs_diff(233) <= 3, "{:?}", &b.data[..3]);
            assert_eq!(
                to_srgb(&mut flat([1, 2, 3]), b"junk"),
                Conversion::Unsupported
            );
        }
    }

    #[test]
    fn adobe_rgb_converted_and_junk_ignored() {
        let icc = ColorProfile::new_adobe_rgb().encode().unwrap();
        let mut b = flat([100, 180, 60]);
        assert_eq!(to_srgb(&mut b, &icc), Conversion::Converted);
        assert_ne!(b, flat([100, 180, 60]));
        let mut b = flat([1, 2, 3]);
        assert_eq!(to_srgb(&mut b, b"not a profile"), Conversion::Unsupported);
        assert_eq!(to_srgb(&mut b, &[]), Conversion::Unsupported);
        assert_eq!(b, flat([1, 2, 3]));
    }
}
