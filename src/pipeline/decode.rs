//! Decoding: libjpeg-turbo (with DCT-domain downscaling) for JPEG, the `image`
//! crate for everything else and as the JPEG fallback.

use std::io::Cursor;

use image::codecs::{gif::GifDecoder, jpeg::JpegDecoder, png::PngDecoder, webp::WebPDecoder};
use image::{DynamicImage, ImageDecoder, Limits};

use super::bitmap::Bitmap;
use super::{Error, ImageType};

/// A decoded first frame.
pub struct Decoded {
    pub bitmap: Bitmap,
    /// Full-resolution dimensions (differ from the bitmap's when DCT-scaled).
    pub orig_width: u32,
    pub orig_height: u32,
    /// Palette source (GIF, indexed PNG): `transparency off` applies.
    pub palette: bool,
}

/// Something that, given the full-size dimensions, answers the pre-rotation
/// target size (used to pick the JPEG DCT scale), or an error (pixel limit).
pub type TargetFn<'a> = &'a dyn Fn(u32, u32) -> Result<(u32, u32), Error>;

fn decode_err(ty: ImageType, reason: impl std::fmt::Display) -> Error {
    Error::Decode {
        ty,
        reason: reason.to_string(),
    }
}

/// image-crate limits: a second guard behind the explicit pixel check.
pub fn limits(max_pixels: u64) -> Limits {
    let mut l = Limits::default();
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    l.max_alloc = Some(max_pixels.saturating_mul(8).max(16 << 20));
    l
}

/// Decodes `data`; `target` is consulted with the decoder's own dimensions
/// before any pixel is decoded.
pub fn decode(
    ty: ImageType,
    data: &[u8],
    max_pixels: u64,
    target: TargetFn<'_>,
) -> Result<Decoded, Error> {
    if ty == ImageType::Jpeg {
        if let Some(d) = decode_turbo(data, target)? {
            return Ok(d);
        }
    }
    decode_image(ty, data, max_pixels, target)
}

/// Smallest DCT scale (1/8, 1/4, 1/2) whose scaled size still covers the target.
pub fn pick_scale(sx: u32, sy: u32, tw: u32, th: u32) -> usize {
    for den in [8usize, 4, 2] {
        let w = (sx as usize).div_ceil(den);
        let h = (sy as usize).div_ceil(den);
        if w >= tw as usize && h >= th as usize {
            return den;
        }
    }
    1
}

/// `Ok(None)`: turbojpeg cannot handle this file (CMYK, odd headers): use the fallback.
fn decode_turbo(data: &[u8], target: TargetFn<'_>) -> Result<Option<Decoded>, Error> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};
    let ty = ImageType::Jpeg;
    let Ok(mut dec) = Decompressor::new() else {
        return Ok(None);
    };
    let Ok(hdr) = dec.read_header(data) else {
        return Ok(None);
    };
    let (Ok(sx), Ok(sy)) = (u32::try_from(hdr.width), u32::try_from(hdr.height)) else {
        return Ok(None);
    };
    if sx == 0 || sy == 0 {
        return Ok(None);
    }
    let format = match hdr.colorspace {
        Colorspace::Gray => PixelFormat::GRAY,
        Colorspace::RGB | Colorspace::YCbCr => PixelFormat::RGB,
        _ => return Ok(None), // CMYK / YCCK: the image crate converts those
    };
    // Pixel limit (and target) from the decoder's own view of the size.
    let (tw, th) = target(sx, sy)?;
    // Leave at least a factor of two for the Lanczos step, as libvips does:
    // a DCT block shrink straight to the target aliases. The exception is a
    // progressive JPEG that can be decoded at 1/8 from its DC scans alone
    // (below): that skips most of the entropy decoding, which dominates.
    let dc_only = if !hdr.is_lossless && pick_scale(sx, sy, tw, th) == 8 {
        progressive_dc_only(data)
    } else {
        None
    };
    let den = if hdr.is_lossless {
        1
    } else if dc_only.is_some() {
        8
    } else {
        pick_scale(sx, sy, tw.saturating_mul(2), th.saturating_mul(2))
    };
    let factor = ScalingFactor::new(1, den);
    if dec.set_scaling_factor(factor).is_err() {
        return Ok(None);
    }
    // Guard against the progressive-scan DoS; real files have ~10 scans.
    let _ = dec.set_scan_limit(500);
    let scaled = hdr.scaled(factor);
    let ch = format.size();
    let (Some(pitch), Ok(w), Ok(h)) = (
        scaled.width.checked_mul(ch),
        u32::try_from(scaled.width),
        u32::try_from(scaled.height),
    ) else {
        return Ok(None);
    };
    let Some(len) = pitch.checked_mul(scaled.height) else {
        return Ok(None);
    };
    // At 1/8 scale libjpeg's IDCT uses the DC coefficient only. In a
    // progressive JPEG the DC scans are 7–16% of the bytes: drop the AC scans
    // and skip most of the entropy decoding, for the same pixels.
    let data = dc_only.as_deref().unwrap_or(data);
    let mut img = Image {
        pixels: vec![0u8; len],
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    match dec.decompress(data, img.as_deref_mut()) {
        Ok(()) => Ok(Some(Decoded {
            bitmap: Bitmap {
                width: w,
                height: h,
                ch,
                data: img.pixels,
            },
            orig_width: sx,
            orig_height: sy,
            palette: false,
        })),
        Err(e) => {
            let msg = e.to_string();
            // libjpeg only *warns* on truncation and fills the rest with grey;
            // image_resize_rs treats a truncated body as an error.
            if msg.contains("Premature end") || msg.contains("premature end") {
                Err(decode_err(ty, msg))
            } else {
                // Other trouble (odd but legal streams, warnings on extraneous
                // bytes): let the image crate have a go.
                Ok(None)
            }
        }
    }
}

/// A progressive JPEG rewritten for a 1/8-scale decode: every marker segment
/// and every DC scan kept, the AC scans of full-resolution components
/// (luma, in 4:2:0) dropped — at 1/8 their IDCT is 1×1 and reads only DC.
/// Subsampled components keep their AC scans: libjpeg gives them a larger
/// IDCT instead of upsampling.
///
/// libjpeg would treat the missing AC bits as an unfinished progressive
/// image and smooth its blocks (DC included); a zero in the luma
/// quantisation table's first AC entry — unused by a 1×1 IDCT — is its
/// documented signal not to. The result matches a full decode at 1/8.
///
/// `None` when the input is not a well-formed progressive JPEG, or luma and
/// chroma share a quantisation table (the caller then decodes it as is).
pub fn progressive_dc_only(data: &[u8]) -> Option<Vec<u8>> {
    let segs = jpeg_segments(data)?;
    // SOF2: Nf components of (id, Hi<<4|Vi, Tq).
    let &(_, sof, _) = segs.iter().find(|s| s.0 == 0xc2)?;
    if segs
        .iter()
        .any(|s| matches!(s.0, 0xc0 | 0xc1 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf))
    {
        return None;
    }
    let nf = usize::from(*data.get(sof + 9)?);
    let comps = data.get(sof + 10..sof + 10 + 3 * nf)?;
    let max_h = comps.chunks(3).map(|c| c[1] >> 4).max()?;
    let max_v = comps.chunks(3).map(|c| c[1] & 0x0f).max()?;
    let is_full = |c: &[u8]| c[1] >> 4 == max_h && c[1] & 0x0f == max_v;
    let full_ids: Vec<u8> = comps
        .chunks(3)
        .filter(|c| is_full(c))
        .map(|c| c[0])
        .collect();
    let full_tq: Vec<u8> = comps
        .chunks(3)
        .filter(|c| is_full(c))
        .map(|c| c[2])
        .collect();
    if comps
        .chunks(3)
        .any(|c| !is_full(c) && full_tq.contains(&c[2]))
    {
        return None;
    }

    let mut out = Vec::with_capacity(data.len() / 4);
    out.extend_from_slice(&data[..2]);
    for &(marker, start, end) in &segs {
        let seg = &data[start..end];
        match marker {
            0xda => {
                // SOS: Ns, Ns × (Cs, Td/Ta), Ss, ... AC scans have one component.
                let ns = usize::from(*seg.get(4)?);
                let ss = *seg.get(5 + 2 * ns)?;
                if ss > 0 && ns == 1 && full_ids.contains(seg.get(5)?) {
                    continue;
                }
                out.extend_from_slice(seg);
            }
            0xdb => {
                // DQT: tables of Pq/Tq then 64 entries (1 or 2 bytes), zigzag order.
                let at = out.len();
                out.extend_from_slice(seg);
                let mut k = 4;
                while k < seg.len() {
                    let (pq, tq) = (seg[k] >> 4, seg[k] & 0x0f);
                    let size = if pq == 0 { 1 } else { 2 };
                    if k + 1 + 64 * size > seg.len() {
                        return None;
                    }
                    if full_tq.contains(&tq) {
                        // entry 1 in zigzag order is Q01
                        for b in &mut out[at + k + 1 + size..at + k + 1 + 2 * size] {
                            *b = 0;
                        }
                    }
                    k += 1 + 64 * size;
                }
            }
            _ => out.extend_from_slice(seg),
        }
    }
    out.extend_from_slice(&[0xff, 0xd9]);
    Some(out)
}

/// (marker, start, end) of each segment after SOI up to EOI; a scan's end
/// includes its entropy-coded data. `None` for malformed or truncated input.
fn jpeg_segments(data: &[u8]) -> Option<Vec<(u8, usize, usize)>> {
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut segs = Vec::new();
    let mut i = 2;
    loop {
        if *data.get(i)? != 0xff {
            return None;
        }
        while *data.get(i + 1)? == 0xff {
            i += 1; // fill bytes
        }
        let marker = data[i + 1];
        match marker {
            0xd9 => return Some(segs),
            0x01 | 0xd0..=0xd7 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i + 2)?, *data.get(i + 3)?]));
        let mut end = i + 2 + len;
        if len < 2 || end > data.len() {
            return None;
        }
        if marker == 0xda {
            // Entropy data runs to the next marker that is neither a stuffed
            // 0xff00 nor a restart marker.
            loop {
                let (a, b) = (*data.get(end)?, *data.get(end + 1)?);
                if a == 0xff && b != 0x00 && !(0xd0..=0xd7).contains(&b) {
                    break;
                }
                end += 1;
            }
        }
        segs.push((marker, i, end));
        i = end;
    }
}

fn decode_image(
    ty: ImageType,
    data: &[u8],
    max_pixels: u64,
    target: TargetFn<'_>,
) -> Result<Decoded, Error> {
    let cur = Cursor::new(data);
    let lim = limits(max_pixels);
    let de = |e: image::ImageError| decode_err(ty, e);
    let (img, sx, sy, palette) = match ty {
        ImageType::Jpeg => {
            let mut d = JpegDecoder::new(cur).map_err(de)?;
            d.set_limits(lim).map_err(de)?;
            let (w, h) = d.dimensions();
            target(w, h)?;
            (DynamicImage::from_decoder(d).map_err(de)?, w, h, false)
        }
        ImageType::Png => {
            // IHDR colour type byte (3 = indexed); sniff guarantees >= 16 bytes.
            let indexed = data.get(25) == Some(&3);
            let mut d = PngDecoder::new(cur).map_err(de)?;
            d.set_limits(lim).map_err(de)?;
            let (w, h) = d.dimensions();
            target(w, h)?;
            (DynamicImage::from_decoder(d).map_err(de)?, w, h, indexed)
        }
        ImageType::Gif => {
            let mut d = GifDecoder::new(cur).map_err(de)?;
            d.set_limits(lim).map_err(de)?;
            let (w, h) = d.dimensions();
            target(w, h)?;
            (DynamicImage::from_decoder(d).map_err(de)?, w, h, true)
        }
        ImageType::Webp => {
            let mut d = WebPDecoder::new(cur).map_err(de)?;
            d.set_limits(lim).map_err(de)?;
            let (w, h) = d.dimensions();
            target(w, h)?;
            (DynamicImage::from_decoder(d).map_err(de)?, w, h, false)
        }
        ImageType::Avif => return Err(decode_err(ty, "AVIF is an output format only")),
    };
    let bitmap = from_dynamic(img);
    Ok(Decoded {
        bitmap,
        orig_width: sx,
        orig_height: sy,
        palette,
    })
}

/// DynamicImage -> Bitmap (grey stays grey, grey+alpha becomes RGBA, 16 bit -> 8 bit).
pub fn from_dynamic(img: DynamicImage) -> Bitmap {
    let (width, height) = (img.width(), img.height());
    match img {
        DynamicImage::ImageLuma8(b) => Bitmap {
            width,
            height,
            ch: 1,
            data: b.into_raw(),
        },
        DynamicImage::ImageRgb8(b) => Bitmap {
            width,
            height,
            ch: 3,
            data: b.into_raw(),
        },
        DynamicImage::ImageRgba8(b) => Bitmap {
            width,
            height,
            ch: 4,
            data: b.into_raw(),
        },
        DynamicImage::ImageLuma16(_) => Bitmap {
            width,
            height,
            ch: 1,
            data: img.to_luma8().into_raw(),
        },
        other if other.color().has_alpha() => Bitmap {
            width,
            height,
            ch: 4,
            data: other.to_rgba8().into_raw(),
        },
        other => Bitmap {
            width,
            height,
            ch: 3,
            data: other.to_rgb8().into_raw(),
        },
    }
}
