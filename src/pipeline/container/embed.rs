//! `image_resize_rs_metadata`: what a re-encoded image carries over from
//! its source ([`Kept::from_source`]) and how it is written into the new
//! file ([`embed`]).
//!
//! | output | EXIF | XMP |
//! |---|---|---|
//! | JPEG | APP1 `Exif\0\0`, after SOI/JFIF | APP1 `http://ns.adobe.com/xap/1.0/` |
//! | PNG | `eXIf` after IHDR | `iTXt` `XML:com.adobe.xmp`, uncompressed |
//! | WebP | `EXIF` chunk (VP8X flag set) | `XMP ` chunk |
//! | AVIF | `Exif` item (avif-serialize, in the encoder) | not written |
//! | GIF | not written | not written |
//!
//! ICC is never written: after conversion the output is implied sRGB.

use super::{exif, meta, xmp};
use crate::pipeline::ImageType;

/// `image_resize_rs_metadata none | copyright | all;`
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metadata {
    /// Nothing is written (the default).
    #[default]
    None,
    /// EXIF Artist and Copyright; XMP dc:rights, dc:creator and
    /// xmpRights:UsageTerms/WebStatement/Marked.
    Copyright,
    /// EXIF but orientation (written as 1), the thumbnail and, unless
    /// `gps`, the GPS IFD; XMP as it is (none if it has GPS and `gps` is off).
    All,
}

impl Metadata {
    pub fn parse(s: &[u8]) -> Result<Metadata, String> {
        Ok(match s {
            b"none" => Metadata::None,
            b"copyright" => Metadata::Copyright,
            b"all" => Metadata::All,
            _ => {
                return Err(format!(
                    "invalid value \"{}\": none, copyright or all",
                    String::from_utf8_lossy(s)
                ))
            }
        })
    }
}

/// The policy of a request: `image_resize_rs_metadata` and
/// `image_resize_rs_metadata_gps`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetadataPolicy {
    pub keep: Metadata,
    /// Keep GPS under `all` (`image_resize_rs_metadata_gps`, default off).
    pub gps: bool,
}

/// The metadata to write into the new image: a little-endian TIFF
/// structure and an XMP packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
}

impl Kept {
    /// What `policy` keeps of the metadata of `data` (a `ty` image).
    pub fn from_source(ty: ImageType, data: &[u8], policy: MetadataPolicy) -> Kept {
        let (filter, xmp_of): (_, XmpFilter) = match policy.keep {
            Metadata::None => return Kept::default(),
            Metadata::Copyright => (exif::Filter::Copyright, |x, _| xmp::keep_rights(x)),
            Metadata::All => (exif::Filter::All { gps: policy.gps }, xmp::keep_all),
        };
        Kept {
            exif: meta::exif(ty, data).and_then(|t| exif::filter(t, filter)),
            xmp: meta::xmp(ty, data).and_then(|x| xmp_of(x, policy.gps)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.exif.is_none() && self.xmp.is_none()
    }
}

/// How `all` or `copyright` filters a packet (the flag: GPS kept).
type XmpFilter = fn(&[u8], bool) -> Option<Vec<u8>>;

const XMP_NS: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// `bytes` (a `ty` image from our encoders, `width`×`height`) with `kept`
/// written in. AVIF's EXIF is written by the encoder, GIF gets nothing:
/// both come back as they are. Also as they are when the container is not
/// what our encoders write (never, short of a bug).
pub fn embed(ty: ImageType, bytes: Vec<u8>, kept: &Kept, width: u32, height: u32) -> Vec<u8> {
    if kept.is_empty() {
        return bytes;
    }
    let done = match ty {
        ImageType::Jpeg => jpeg(&bytes, kept),
        ImageType::Png => png(&bytes, kept),
        ImageType::Webp => webp(&bytes, kept, width, height),
        ImageType::Gif | ImageType::Avif | ImageType::Jxl | ImageType::Heic => None,
    };
    done.unwrap_or(bytes)
}

fn jpeg(b: &[u8], kept: &Kept) -> Option<Vec<u8>> {
    if !b.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    // After SOI and a JFIF APP0, if there is one.
    let mut at = 2;
    if b.get(2..4) == Some(&[0xff, 0xe0]) && b.get(6..11) == Some(b"JFIF\0") {
        at += 2 + usize::from(u16::from_be_bytes([*b.get(4)?, *b.get(5)?]));
        b.get(..at)?;
    }
    let mut out = Vec::with_capacity(b.len() + 65536);
    out.extend_from_slice(&b[..at]);
    let mut segment = |head: &[u8], body: &[u8]| {
        let len = 2 + head.len() + body.len();
        if let Ok(len) = u16::try_from(len) {
            out.extend_from_slice(&[0xff, 0xe1]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(head);
            out.extend_from_slice(body);
        }
    };
    if let Some(e) = &kept.exif {
        segment(b"Exif\0\0", e);
    }
    if let Some(x) = &kept.xmp {
        segment(XMP_NS, x);
    }
    out.extend_from_slice(&b[at..]);
    Some(out)
}

fn png_chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[&[u8]]) {
    let len: usize = data.iter().map(|d| d.len()).sum();
    out.extend_from_slice(&(len as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(name);
    for d in data {
        out.extend_from_slice(d);
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn png(b: &[u8], kept: &Kept) -> Option<Vec<u8>> {
    // Signature (8) and IHDR (4 + 4 + 13 + 4), which is always first.
    if b.get(12..16) != Some(b"IHDR") {
        return None;
    }
    let at = 33;
    b.get(..at)?;
    let mut out = Vec::with_capacity(b.len() + 65536);
    out.extend_from_slice(&b[..at]);
    if let Some(e) = &kept.exif {
        png_chunk(&mut out, b"eXIf", &[e]);
    }
    if let Some(x) = &kept.xmp {
        // keyword, \0, uncompressed (0, 0), no language \0, no translation \0.
        png_chunk(&mut out, b"iTXt", &[b"XML:com.adobe.xmp\0\0\0\0\0", x]);
    }
    out.extend_from_slice(&b[at..]);
    Some(out)
}

fn riff_chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() & 1 == 1 {
        out.push(0);
    }
}

/// A simple (`VP8 `/`VP8L`) or extended (`VP8X`) WebP becomes an extended
/// one with the EXIF and XMP chunks after the image data, as the container
/// spec orders them.
fn webp(b: &[u8], kept: &Kept, width: u32, height: u32) -> Option<Vec<u8>> {
    if b.get(..4) != Some(b"RIFF") || b.get(8..12) != Some(b"WEBP") {
        return None;
    }
    let flags = u8::from(kept.exif.is_some()) << 3 | u8::from(kept.xmp.is_some()) << 2;
    let mut out = Vec::with_capacity(b.len() + 65536);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    match b.get(12..16)? {
        b"VP8X" => {
            let mut x = b.get(12..30)?.to_vec();
            x[8] |= flags;
            out.extend_from_slice(&x);
            out.extend_from_slice(b.get(30..)?);
        }
        b"VP8 " | b"VP8L" => {
            if width == 0 || height == 0 || width > 1 << 24 || height > 1 << 24 {
                return None;
            }
            let mut x = vec![flags, 0, 0, 0];
            x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
            x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
            riff_chunk(&mut out, b"VP8X", &x);
            out.extend_from_slice(b.get(12..)?);
        }
        _ => return None,
    }
    if let Some(e) = &kept.exif {
        riff_chunk(&mut out, b"EXIF", e);
    }
    if let Some(x) = &kept.xmp {
        riff_chunk(&mut out, b"XMP ", x);
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::gen;

    fn kept() -> Kept {
        let t = exif::build(
            false,
            &[&[
                (0x013b, 2, 5, b"Jane\0".to_vec()),
                (0x8298, 2, 7, b"(c) J.\0".to_vec()),
            ]],
        );
        Kept {
            exif: Some(t),
            xmp: Some(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>".to_vec()),
        }
    }

    #[test]
    fn parse() {
        assert_eq!(Metadata::parse(b"none"), Ok(Metadata::None));
        assert_eq!(Metadata::parse(b"copyright"), Ok(Metadata::Copyright));
        assert_eq!(Metadata::parse(b"all"), Ok(Metadata::All));
        assert!(Metadata::parse(b"on").is_err());
    }

    #[test]
    fn written_and_read_back_in_each_container() {
        let k = kept();
        for kind in [gen::Kind::Jpeg, gen::Kind::Png, gen::Kind::Webp] {
            let src = gen::generate(kind, 20, 10).unwrap();
            let ty = crate::pipeline::container::sniff(&src).unwrap();
            let out = embed(ty, src.clone(), &k, 20, 10);
            assert_eq!(meta::exif(ty, &out), k.exif.as_deref(), "{kind:?}");
            assert_eq!(meta::xmp(ty, &out), k.xmp.as_deref(), "{kind:?}");
            assert_eq!(
                crate::pipeline::container::read_header(ty, &out).map(|h| (h.width, h.height)),
                Some((20, 10))
            );
            // Still decodes.
            let dec = crate::pipeline::codec::decode::decode(
                ty,
                &out,
                1 << 20,
                &|w, h| Ok((w, h)),
                false,
            )
            .unwrap();
            assert_eq!((dec.orig_width, dec.orig_height), (20, 10));
            assert_eq!(embed(ty, src.clone(), &Kept::default(), 20, 10), src);
        }
        // WebP with alpha is VP8X already: flags added.
        let rgba = crate::pipeline::ops::Bitmap {
            width: 4,
            height: 4,
            ch: 4,
            data: vec![128; 64],
        };
        let w = crate::pipeline::codec::encode::encode_webp(&rgba, 80).unwrap();
        assert_eq!(&w[12..16], b"VP8X");
        let out = embed(ImageType::Webp, w, &k, 4, 4);
        assert_eq!(out[20] & 0x0c, 0x0c);
        assert_eq!(meta::xmp(ImageType::Webp, &out), k.xmp.as_deref());
        let riff = u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff + 8, out.len());
    }

    #[test]
    fn from_source_per_policy() {
        let jpeg = gen::generate(gen::Kind::JpegGps, 16, 16).unwrap();
        let p = |keep, gps| MetadataPolicy { keep, gps };
        assert!(Kept::from_source(ImageType::Jpeg, &jpeg, p(Metadata::None, true)).is_empty());
        // jpeg-gps has an ImageDescription, Orientation and GPS, no rights.
        assert!(Kept::from_source(ImageType::Jpeg, &jpeg, p(Metadata::Copyright, true)).is_empty());
        let all = Kept::from_source(ImageType::Jpeg, &jpeg, p(Metadata::All, false));
        let t = all.exif.unwrap();
        assert!(memchr::memmem::find(&t, b"image_resize_rs test").is_some());
        assert!(memchr::memmem::find(&t, b"IRS-GPS-TEST-DATUM").is_none());
        let gps = Kept::from_source(ImageType::Jpeg, &jpeg, p(Metadata::All, true));
        assert!(memchr::memmem::find(&gps.exif.unwrap(), b"IRS-GPS-TEST-DATUM").is_some());
    }
}
