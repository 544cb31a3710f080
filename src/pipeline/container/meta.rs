//! Container metadata the pipeline acts on, read from the encoded bytes
//! before any pixel is decoded: the EXIF orientation, the embedded ICC
//! profile and whether a GIF/WebP is animated.
//!
//! Small bounds-checked parsers of the containers (JPEG APP1/APP2, PNG
//! eXIf/iCCP, WebP EXIF/ICCP, GIF blocks) — libjpeg-turbo, our JPEG decoder,
//! hands none of this out. Nothing here allocates more than the profile it
//! returns, and a malformed container just means "no metadata".

use std::io::Read;

use super::isobmff;
use crate::pipeline::ImageType;

/// ICC profiles above this size are ignored (real ones are 0.5–60 kB;
/// a zlib bomb in PNG's iCCP stops here).
pub const MAX_ICC: usize = 1 << 20;

/// EXIF orientation (tag 0x0112): how the stored pixels must be turned to be
/// displayed. Values outside 1..=8 read as 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation(u8);

impl Orientation {
    pub const NORMAL: Orientation = Orientation(1);

    /// 1..=8, anything else is [`Orientation::NORMAL`].
    pub fn new(v: u16) -> Orientation {
        match v {
            1..=8 => Orientation(v as u8),
            _ => Orientation::NORMAL,
        }
    }

    pub fn value(self) -> u8 {
        self.0.max(1)
    }

    pub fn is_normal(self) -> bool {
        self.value() == 1
    }

    /// 5–8 transpose: the displayed width is the stored height.
    pub fn swaps_dimensions(self) -> bool {
        self.value() >= 5
    }

    /// Displayed size of a stored `w`x`h`.
    pub fn displayed(self, w: u32, h: u32) -> (u32, u32) {
        if self.swaps_dimensions() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The orientation that undoes this one (6 and 8 swap, the rest are
    /// their own inverse). For the test-image generator.
    #[cfg(any(test, feature = "gen"))]
    pub fn inverse(self) -> Orientation {
        match self.value() {
            6 => Orientation(8),
            8 => Orientation(6),
            v => Orientation(v),
        }
    }
}

/// EXIF orientation of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk).
pub fn orientation(ty: ImageType, data: &[u8]) -> Orientation {
    if ty == ImageType::Avif {
        // HEIF's irot/imir, not EXIF.
        return isobmff::parse_still(data).map_or(Orientation::NORMAL, |s| {
            Orientation::new(s.exif_orientation())
        });
    }
    exif(ty, data)
        .and_then(tiff_orientation)
        .map_or(Orientation::NORMAL, Orientation::new)
}

/// The raw TIFF structure of the image's EXIF, if any.
pub fn exif(ty: ImageType, data: &[u8]) -> Option<&[u8]> {
    match ty {
        ImageType::Jpeg => jpeg_app_segments(data)
            .find(|&(m, p)| m == 0xe1 && p.starts_with(b"Exif\0\0"))
            .map(|(_, p)| &p[6..]),
        ImageType::Png => png_chunks(data)
            .find(|&(name, _)| &name == b"eXIf")
            .map(|(_, p)| p),
        ImageType::Webp => webp_chunks(data)
            .find(|&(name, _)| &name == b"EXIF")
            .map(|(_, p)| p.strip_prefix(b"Exif\0\0").unwrap_or(p)),
        // JPEG XL: its `Exif` box is not read (the orientation is the
        // codestream's, applied by the decoder).
        ImageType::Gif | ImageType::Avif | ImageType::Jxl | ImageType::Heic => None,
    }
}

/// The image's XMP packet, if any: JPEG APP1 `http://ns.adobe.com/xap/1.0/`
/// (the first; extended XMP is not joined), PNG iTXt `XML:com.adobe.xmp`
/// (uncompressed only), WebP `XMP ` chunk.
pub fn xmp(ty: ImageType, data: &[u8]) -> Option<&[u8]> {
    match ty {
        ImageType::Jpeg => jpeg_app_segments(data).find_map(|(m, p)| {
            (m == 0xe1)
                .then(|| p.strip_prefix(b"http://ns.adobe.com/xap/1.0/\0"))
                .flatten()
        }),
        ImageType::Png => png_chunks(data).find_map(|(name, p)| {
            // keyword \0, compression flag 0, method, language \0, translated \0
            let p = p.strip_prefix(b"XML:com.adobe.xmp\0\0")?;
            let p = p.get(1..)?;
            let lang = p.iter().position(|&c| c == 0)?;
            let p = &p[lang + 1..];
            let tr = p.iter().position(|&c| c == 0)?;
            (&name == b"iTXt").then_some(&p[tr + 1..])
        }),
        ImageType::Webp => webp_chunks(data)
            .find(|&(name, _)| &name == b"XMP ")
            .map(|(_, p)| p),
        ImageType::Gif | ImageType::Avif | ImageType::Jxl | ImageType::Heic => None,
    }
}

/// The embedded ICC profile: JPEG APP2 `ICC_PROFILE` chunks joined in
/// sequence order, PNG iCCP inflated, WebP ICCP. `None` when absent,
/// malformed or larger than [`MAX_ICC`].
pub fn icc_profile(ty: ImageType, data: &[u8]) -> Option<Vec<u8>> {
    match ty {
        ImageType::Jpeg => {
            // ICC_PROFILE\0, sequence number (1-based), count, data.
            let mut parts: Vec<(u8, &[u8])> = Vec::new();
            let mut count = 0u8;
            for (m, p) in jpeg_app_segments(data) {
                if m == 0xe2 && p.len() > 14 && p.starts_with(b"ICC_PROFILE\0") {
                    count = p[13];
                    parts.push((p[12], &p[14..]));
                }
            }
            if parts.is_empty() || parts.len() != usize::from(count) {
                return None;
            }
            parts.sort_by_key(|&(seq, _)| seq);
            if parts
                .iter()
                .enumerate()
                .any(|(i, &(seq, _))| usize::from(seq) != i + 1)
            {
                return None;
            }
            let icc: Vec<u8> = parts.iter().flat_map(|&(_, d)| d.iter().copied()).collect();
            (icc.len() <= MAX_ICC).then_some(icc)
        }
        ImageType::Png => {
            // iCCP: name (1-79 bytes) \0, compression method 0, zlib data.
            let (_, p) = png_chunks(data).find(|&(name, _)| &name == b"iCCP")?;
            let nul = p.iter().take(80).position(|&c| c == 0)?;
            if *p.get(nul + 1)? != 0 {
                return None;
            }
            let mut icc = Vec::new();
            flate2::read::ZlibDecoder::new(&p[nul + 2..])
                .take(MAX_ICC as u64 + 1)
                .read_to_end(&mut icc)
                .ok()?;
            (icc.len() <= MAX_ICC).then_some(icc)
        }
        ImageType::Webp => webp_chunks(data)
            .find(|&(name, _)| &name == b"ICCP")
            .map(|(_, p)| p.to_vec())
            .filter(|p| p.len() <= MAX_ICC),
        // An ICC profile, else a wide-gamut CICP as the profile it names.
        ImageType::Avif => isobmff::parse_still(data).ok().and_then(|s| match s.icc {
            Some(p) => (p.len() <= MAX_ICC).then(|| p.to_vec()),
            None => s
                .nclx
                .and_then(|n| crate::pipeline::ops::color::cicp_icc(n.primaries, n.transfer))
                .map(<[u8]>::to_vec),
        }),
        // HEIC: the profile, else a wide-gamut nclx (as for AVIF).
        ImageType::Heic => irs_heif::probe(data).ok().and_then(|i| match i.icc {
            Some(p) => (p.len() <= MAX_ICC).then_some(p),
            None => i
                .nclx
                .and_then(|(p, t)| crate::pipeline::ops::color::cicp_icc(p, t))
                .map(<[u8]>::to_vec),
        }),
        // JPEG XL: the decoder renders in sRGB already.
        ImageType::Gif | ImageType::Jxl => None,
    }
}

/// Does an image in a format that is not [`ImageType::web_safe`] carry
/// alpha (AVIF: an alpha auxiliary item)? False for the others, which keep
/// their format anyway.
pub fn has_alpha(ty: ImageType, data: &[u8]) -> bool {
    match ty {
        ImageType::Avif => isobmff::parse_still(data).is_ok_and(|s| s.alpha.is_some()),
        ImageType::Jxl => crate::pipeline::codec::jxl::probe(data).is_ok_and(|i| i.alpha),
        ImageType::Heic => irs_heif::probe(data).is_ok_and(|i| i.alpha),
        _ => false,
    }
}

/// True for a GIF with more than one image or a WebP with the animation flag.
pub fn is_animated(ty: ImageType, data: &[u8]) -> bool {
    match ty {
        ImageType::Gif => gif_frames(data, 2) >= 2,
        ImageType::Webp => {
            // VP8X: flags byte right after the chunk header; bit 1 = animation.
            data.get(12..16) == Some(b"VP8X") && data.get(20).is_some_and(|f| f & 0x02 != 0)
        }
        _ => false,
    }
}

/// Number of image descriptors in a GIF, counting stops at `stop`.
fn gif_frames(d: &[u8], stop: usize) -> usize {
    let Some(&flags) = d.get(10) else {
        return 0;
    };
    let mut i = 13;
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 7) + 1);
    }
    // Skips a run of data sub-blocks (length byte, data) up to the terminator.
    let skip_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let n = usize::from(*d.get(i)?);
            i += 1 + n;
            if n == 0 {
                return Some(i);
            }
        }
    };
    let mut frames = 0;
    while frames < stop {
        match d.get(i) {
            Some(0x21) => match skip_blocks(i + 2) {
                Some(next) => i = next,
                None => break,
            },
            Some(0x2c) => {
                frames += 1;
                let Some(&f) = d.get(i + 9) else { break };
                i += 10;
                if f & 0x80 != 0 {
                    i += 3 << ((f & 7) + 1);
                }
                match skip_blocks(i + 1) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            _ => break,
        }
    }
    frames
}

/// Orientation from a TIFF structure: IFD0's tag 0x0112 (SHORT, count 1).
pub fn tiff_orientation(t: &[u8]) -> Option<u16> {
    let le = match t.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b = t.get(i..i + 2)?;
        Some(if le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b = t.get(i..i + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let n = usize::from(u16_at(ifd)?);
    (0..n).find_map(|k| {
        let e = ifd + 2 + 12 * k;
        (u16_at(e)? == 0x0112 && u16_at(e + 2)? == 3).then(|| u16_at(e + 8))?
    })
}

/// APPn segments (marker, payload) of a JPEG, up to the first scan.
fn jpeg_app_segments(d: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = if d.starts_with(&[0xff, 0xd8]) {
        2
    } else {
        d.len()
    };
    std::iter::from_fn(move || loop {
        if d.get(i) != Some(&0xff) {
            return None;
        }
        while d.get(i + 1) == Some(&0xff) {
            i += 1;
        }
        let m = *d.get(i + 1)?;
        if matches!(m, 0xd9 | 0xda) {
            return None;
        }
        if matches!(m, 0x01 | 0xd0..=0xd7) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*d.get(i + 2)?, *d.get(i + 3)?]));
        let payload = d.get(i + 4..(i + 2 + len).max(i + 4))?;
        i += 2 + len.max(2);
        if (0xe0..=0xef).contains(&m) {
            return Some((m, payload));
        }
    })
}

/// Chunks (name, data) of a PNG, CRCs not checked (the decoder does).
fn png_chunks(d: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut i = 8;
    std::iter::from_fn(move || {
        let len = usize::try_from(u32::from_be_bytes(d.get(i..i + 4)?.try_into().ok()?)).ok()?;
        let name: [u8; 4] = d.get(i + 4..i + 8)?.try_into().ok()?;
        let data = d.get(i + 8..(i + 8).checked_add(len)?)?;
        i += 12 + len;
        (&name != b"IEND").then_some((name, data))
    })
}

/// Chunks (FourCC, data) of a RIFF WebP.
fn webp_chunks(d: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut i = 12;
    std::iter::from_fn(move || {
        let name: [u8; 4] = d.get(i..i + 4)?.try_into().ok()?;
        let len =
            usize::try_from(u32::from_le_bytes(d.get(i + 4..i + 8)?.try_into().ok()?)).ok()?;
        let data = d.get(i + 8..(i + 8).checked_add(len)?)?;
        i += 8 + len + (len & 1);
        Some((name, data))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::gen;

    #[test]
    fn tiff_both_byte_orders() {
        for o in 1..=8u16 {
            let le = gen::exif_tiff(o, false, true);
            let be = gen::exif_tiff(o, true, false);
            assert_eq!(tiff_orientation(&le), Some(o));
            assert_eq!(tiff_orientation(&be), Some(o));
        }
        assert_eq!(tiff_orientation(b"II*\0\xff\xff\xff\xff"), None);
        assert_eq!(tiff_orientation(b"XX"), None);
        assert_eq!(Orientation::new(0), Orientation::NORMAL);
        assert_eq!(Orientation::new(9), Orientation::NORMAL);
    }

    #[test]
    fn orientation_from_each_container() {
        for o in 1..=8u16 {
            let j = gen::generate_oriented(gen::Kind::Jpeg, 20, 10, o).unwrap();
            assert_eq!(orientation(ImageType::Jpeg, &j).value() as u16, o);
            let p = gen::generate_oriented(gen::Kind::Png, 20, 10, o).unwrap();
            assert_eq!(orientation(ImageType::Png, &p).value() as u16, o);
            let w = gen::generate_oriented(gen::Kind::Webp, 20, 10, o).unwrap();
            assert_eq!(orientation(ImageType::Webp, &w).value() as u16, o);
        }
        let plain = gen::generate(gen::Kind::Jpeg, 20, 10).unwrap();
        assert!(orientation(ImageType::Jpeg, &plain).is_normal());
        // Truncated anywhere: never panics.
        let j = gen::generate_oriented(gen::Kind::Jpeg, 20, 10, 6).unwrap();
        for n in 0..j.len().min(400) {
            let _ = orientation(ImageType::Jpeg, &j[..n]);
            let _ = icc_profile(ImageType::Jpeg, &j[..n]);
        }
    }

    #[test]
    fn icc_from_each_container() {
        let icc = gen::display_p3_icc();
        for k in [gen::Kind::Jpeg, gen::Kind::Png, gen::Kind::Webp] {
            let d = gen::generate_p3(k, 16, 16).unwrap();
            let ty = crate::pipeline::container::sniff(&d).unwrap();
            assert_eq!(
                icc_profile(ty, &d).as_deref(),
                Some(icc.as_slice()),
                "{k:?}"
            );
        }
        // A profile split across several APP2 segments.
        let big: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
        let j = gen::jpeg_with_icc(&gen::generate(gen::Kind::Jpeg, 8, 8).unwrap(), &big);
        assert_eq!(icc_profile(ImageType::Jpeg, &j), Some(big));
        assert_eq!(
            icc_profile(
                ImageType::Jpeg,
                &gen::generate(gen::Kind::Jpeg, 8, 8).unwrap()
            ),
            None
        );
    }

    #[test]
    fn animation() {
        let still = gen::generate(gen::Kind::Gif, 8, 8).unwrap();
        assert!(!is_animated(ImageType::Gif, &still));
        assert!(is_animated(ImageType::Gif, &gen::animated_gif(8, 8)));
        let w = gen::generate(gen::Kind::Webp, 8, 8).unwrap();
        assert!(!is_animated(ImageType::Webp, &w));
        let mut anim = gen::generate_oriented(gen::Kind::Webp, 8, 8, 1).unwrap();
        anim[20] |= 0x02;
        assert!(is_animated(ImageType::Webp, &anim));
    }
}
