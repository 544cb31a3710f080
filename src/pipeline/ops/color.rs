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
//! "sRGB IEC61966-2.1"), so each worker keeps the last [`CACHE`] verdicts
//! with the profiles they were built from. A hit needs the same bytes (the
//! CRC-32 only skips most of the comparisons): CRC-32 collisions are easy to
//! forge, and a forged profile must not lend its verdict to the genuine one.

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

/// Larger profiles are converted with but not remembered, so the cache
/// holds at most `CACHE * CACHE_MAX_PROFILE` bytes of keys (real camera and
/// display profiles are 0.5–4 KB; sRGB v4's LUT profile is 60 KB).
const CACHE_MAX_PROFILE: usize = 64 << 10;

/// One remembered verdict: the profile's bytes are the key, the CRC-32 is
/// only a quick filter before comparing them.
struct Entry {
    crc: u32,
    rgba: bool,
    icc: Box<[u8]>,
    verdict: Verdict,
}

/// The last [`CACHE`] verdicts, oldest first.
struct Cache(Vec<Entry>);

impl Cache {
    const fn new() -> Cache {
        Cache(Vec::new())
    }

    fn get(&self, crc: u32, icc: &[u8], rgba: bool) -> Option<Verdict> {
        self.0
            .iter()
            .find(|e| e.crc == crc && e.rgba == rgba && *e.icc == *icc)
            .map(|e| e.verdict.clone())
    }

    fn insert(&mut self, crc: u32, icc: &[u8], rgba: bool, verdict: Verdict) {
        if self.0.len() >= CACHE {
            self.0.remove(0);
        }
        self.0.push(Entry {
            crc,
            rgba,
            icc: icc.into(),
            verdict,
        });
    }
}

static VERDICTS: Mutex<Cache> = Mutex::new(Cache::new());

fn verdict(icc: &[u8], layout: Layout) -> Verdict {
    let (crc, rgba) = (crc32fast::hash(icc), layout == Layout::Rgba);
    let lock = || VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = lock().get(crc, icc, rgba) {
        return v;
    }
    let v = build(icc, layout);
    if icc.len() <= CACHE_MAX_PROFILE {
        lock().insert(crc, icc, rgba, v.clone());
    }
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

/// The ICC profile that a CICP (`colr nclx`) description with wide-gamut
/// primaries stands for, to convert like an embedded one: Display P3
/// (primaries 12, SMPTE EG 432-1) or BT.2020 (9), each with the sRGB
/// transfer (13) or the BT.709 one (1, 6, 14, 15). `None` for BT.709 and
/// unspecified primaries (sRGB's own: nothing to do), and for what this
/// conversion cannot do right: PQ and HLG (HDR needs tone mapping), other
/// primaries. Encoded by moxcms once per process.
pub fn cicp_icc(primaries: u16, transfer: u16) -> Option<&'static [u8]> {
    use std::sync::OnceLock;
    static PROFILES: [OnceLock<Option<Vec<u8>>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let wide = match primaries {
        12 => 0,
        9 => 1,
        _ => return None,
    };
    let rec709 = match transfer {
        13 => 0,
        1 | 6 | 14 | 15 => 1,
        _ => return None,
    };
    PROFILES[wide * 2 + rec709]
        .get_or_init(|| {
            let mut p = if wide == 0 {
                ColorProfile::new_display_p3()
            } else {
                ColorProfile::new_bt2020()
            };
            let curves = if rec709 == 0 {
                ColorProfile::new_srgb()
            } else {
                ColorProfile::new_bt2020()
            };
            p.red_trc = curves.red_trc;
            p.green_trc = curves.green_trc;
            p.blue_trc = curves.blue_trc;
            p.cicp = None;
            p.encode().ok()
        })
        .as_deref()
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
    fn cicp_wide_gamut_converts_like_its_profile() {
        assert_eq!(cicp_icc(1, 13), None, "BT.709: sRGB already");
        assert_eq!(cicp_icc(2, 2), None, "unspecified");
        assert_eq!(cicp_icc(9, 16), None, "PQ: HDR, not converted");
        assert_eq!(cicp_icc(12, 18), None, "HLG: HDR, not converted");
        let p3 = cicp_icc(12, 13).expect("Display P3");
        let mut a = flat(crate::pipeline::gen::P3_COLOUR);
        let mut b = flat(crate::pipeline::gen::P3_COLOUR);
        assert_eq!(to_srgb(&mut a, p3), Conversion::Converted);
        assert_eq!(
            to_srgb(&mut b, &crate::pipeline::gen::display_p3_icc()),
            Conversion::Converted
        );
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!(
                x.abs_diff(*y) <= 1,
                "{:?} vs {:?}",
                &a.data[..3],
                &b.data[..3]
            );
        }
        // BT.2020 is wider still: its red turns redder than P3's does.
        let mut c = flat(crate::pipeline::gen::P3_COLOUR);
        assert_eq!(
            to_srgb(&mut c, cicp_icc(9, 1).unwrap()),
            Conversion::Converted
        );
        assert!(c.data[0] > a.data[0], "{:?}", &c.data[..3]);
        // once per process
        assert!(std::ptr::eq(p3, cicp_icc(12, 13).unwrap()));
    }

    #[test]
    fn display_p3_red_gets_more_saturated() {
        let icc = crate::pipeline::gen::display_p3_icc();
        let mut b = flat(crate::pipeline::gen::P3_COLOUR);
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
            let icc = crate::pipeline::gen::display_p3_icc();
            let mut b = flat(crate::pipeline::gen::P3_COLOUR);
            assert_eq!(to_srgb(&mut b, &icc), Conversion::Converted);
            assert!(b.data[0].abs_diff(233) <= 3, "{:?}", &b.data[..3]);
            assert_eq!(
                to_srgb(&mut flat([1, 2, 3]), b"junk"),
                Conversion::Unsupported
            );
        }
    }

    /// `data` with its last four bytes replaced so that its CRC-32 is
    /// `target`: the CRC register is run backwards from `target` over four
    /// zero bytes, and the bytes are what turns the register after the rest
    /// of `data` into that state.
    fn forge_crc(mut data: Vec<u8>, target: u32) -> Vec<u8> {
        let table: Vec<u32> = (0..256u32)
            .map(|i| (0..8).fold(i, |c, _| (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg())))
            .collect();
        let n = data.len() - 4;
        let mut r = !target;
        for _ in 0..4 {
            let i = (0..256).find(|&i| table[i] >> 24 == r >> 24).unwrap();
            r = ((r ^ table[i]) << 8) | i as u32;
        }
        let x = r ^ !crc32fast::hash(&data[..n]);
        data[n..].copy_from_slice(&x.to_le_bytes());
        assert_eq!(crc32fast::hash(&data), target);
        data
    }

    /// Display P3 (converted) and sRGB (identity), padded to the same
    /// length (moxcms reads the tags, not the length field or what follows
    /// them), sRGB's last four bytes forged for Display P3's CRC-32.
    fn colliding_profiles() -> (Vec<u8>, Vec<u8>) {
        let p3 = crate::pipeline::gen::display_p3_icc();
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let len = p3.len().max(srgb.len()) + 4;
        let pad = |mut icc: Vec<u8>| {
            icc.resize(len, 0);
            icc[..4].copy_from_slice(&(len as u32).to_be_bytes());
            icc
        };
        let genuine = pad(p3);
        let forged = forge_crc(pad(srgb), crc32fast::hash(&genuine));
        assert_ne!(genuine, forged);
        assert_eq!(genuine.len(), forged.len());
        assert_eq!(crc32fast::hash(&genuine), crc32fast::hash(&forged));
        (genuine, forged)
    }

    #[test]
    fn forged_crc_collision_keeps_its_verdict_to_itself() {
        let (genuine, forged) = colliding_profiles();
        // The forged profile goes first and its verdict is remembered...
        let mut b = flat(crate::pipeline::gen::P3_COLOUR);
        assert_eq!(to_srgb(&mut b, &forged), Conversion::Identity);
        assert_eq!(b, flat(crate::pipeline::gen::P3_COLOUR));
        // ...and the genuine one, same CRC-32 and length, still converts.
        for _ in 0..2 {
            let mut b = flat(crate::pipeline::gen::P3_COLOUR);
            assert_eq!(to_srgb(&mut b, &genuine), Conversion::Converted);
            assert!(b.data[0].abs_diff(233) <= 3, "{:?}", &b.data[..3]);
            assert_eq!(to_srgb(&mut flat([1, 2, 3]), &forged), Conversion::Identity);
        }
    }

    #[test]
    fn cache_hit_needs_the_same_bytes() {
        // The cache alone, away from the tests sharing VERDICTS.
        let (genuine, forged) = colliding_profiles();
        let crc = crc32fast::hash(&genuine);
        let mut cache = Cache::new();
        let hit = |c: &Cache, icc: &[u8], rgba| match c.get(crc, icc, rgba) {
            None => "miss",
            Some(Verdict::Identity) => "identity",
            Some(Verdict::Unsupported) => "unsupported",
            Some(Verdict::Convert(_)) => "convert",
        };
        cache.insert(crc, &forged, false, Verdict::Identity);
        assert_eq!(hit(&cache, &genuine, false), "miss");
        assert_eq!(hit(&cache, &forged, true), "miss");
        assert_eq!(hit(&cache, &forged, false), "identity");
        cache.insert(crc, &genuine, false, Verdict::Unsupported);
        assert_eq!(hit(&cache, &genuine, false), "unsupported");
        assert_eq!(hit(&cache, &forged, false), "identity");
        // Oldest out first.
        for i in 0..CACHE as u32 - 1 {
            cache.insert(i, &i.to_be_bytes(), false, Verdict::Unsupported);
        }
        assert_eq!(hit(&cache, &forged, false), "miss");
        assert_eq!(hit(&cache, &genuine, false), "unsupported");
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
