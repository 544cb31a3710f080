//! Embedded ICC profile → sRGB, with moxcms (perceptual intent, fixed point).
//!
//! Output is always sRGB and carries no profile: every browser treats an
//! untagged image as sRGB, so a tag would only cost bytes. An RGB profile
//! whose conversion to sRGB is the identity (within one level on a 17³ grid:
//! sRGB itself, or near copies of it) is not applied at all.
//! Grey and CMYK profiles are left alone (the pixels pass unconverted).

use moxcms::{ColorProfile, DataColorSpace, Layout, RenderingIntent, TransformOptions};

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

/// Converts `img` from `icc` to sRGB in place.
pub fn to_srgb(img: &mut Bitmap, icc: &[u8]) -> Conversion {
    let Ok(src) = ColorProfile::new_from_slice(icc) else {
        return Conversion::Unsupported;
    };
    if src.color_space != DataColorSpace::Rgb || !matches!(img.ch, 3 | 4) {
        return Conversion::Unsupported;
    }
    let layout = if img.ch == 4 {
        Layout::Rgba
    } else {
        Layout::Rgb
    };
    let opts = TransformOptions {
        rendering_intent: RenderingIntent::Perceptual,
        ..TransformOptions::default()
    };
    let dst = ColorProfile::new_srgb();
    let Ok(t) = src.create_transform_8bit(layout, &dst, layout, opts) else {
        return Conversion::Unsupported;
    };
    if is_identity(&src, &dst, opts) {
        return Conversion::Identity;
    }
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
