//! Decoding: libjpeg-turbo (with DCT-domain downscaling) for JPEG, the `image`
//! crate for everything else and as the JPEG fallback.

use std::io::Cursor;

use image::codecs::{gif::GifDecoder, jpeg::JpegDecoder, png::PngDecoder, webp::WebPDecoder};
use image::{DynamicImage, ImageDecoder, Limits};

use super::dc_scan::{self, idct_size};
use super::yuv;
use crate::pipeline::container::isobmff;
use crate::pipeline::container::jpeg::{jpeg_sampling, jpeg_segments};
use crate::pipeline::ops::Bitmap;
use crate::pipeline::{Error, ImageType};

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
    half_chroma: bool,
) -> Result<Decoded, Error> {
    if ty == ImageType::Jpeg {
        if let Some(d) = decode_turbo(data, target, half_chroma)? {
            return Ok(d);
        }
    }
    decode_image(ty, data, max_pixels, target)
}

/// Smallest DCT scale (1/8, 1/4, 1/2) whose scaled size still covers the
/// target, for luma alone (the tests compare [`pick_scale_sampled`] with it).
#[cfg(test)]
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

/// [`pick_scale`] for every component of a JPEG with sampling factors
/// `samp` (H, V per component): the smallest DCT scale at which luma (the
/// first component) and every full-resolution component still have
/// `margin`× the target, and every subsampled component the target's
/// resolution, each capped at what the component holds. A component that
/// libjpeg decodes with a 1×1 IDCT and then upsamples (chroma in 4:2:2 or
/// 4:1:1, luma in `2x1,1x2,1x1`) holds less than the scale suggests.
///
/// `half_chroma`: the output keeps chroma at half the resolution in both
/// directions (JPEG, lossy WebP and AVIF are all 4:2:0 here), so a
/// subsampled component needs only `margin`× that half resolution. With
/// `margin` 2 that is the target's resolution, as without it; with
/// `margin` 1 it lets 4:2:2 and 4:4:0 files (chroma 1×1 at 1/8, at half
/// the luma resolution in one direction) decode at 1/8 from DC alone.
pub fn pick_scale_sampled(
    samp: &[(u8, u8)],
    sx: u32,
    sy: u32,
    tw: u32,
    th: u32,
    margin: u32,
    half_chroma: bool,
) -> usize {
    let max_h = samp
        .iter()
        .map(|s| usize::from(s.0))
        .max()
        .unwrap_or(1)
        .max(1);
    let max_v = samp
        .iter()
        .map(|s| usize::from(s.1))
        .max()
        .unwrap_or(1)
        .max(1);
    let (sx, sy) = (sx as usize, sy as usize);
    for den in [8usize, 4, 2] {
        let m = 8 / den;
        let ok = samp.iter().enumerate().all(|(i, &(h, v))| {
            let (h, v) = (usize::from(h).max(1), usize::from(v).max(1));
            let s = idct_size(m, h, v, max_h, max_v);
            let (dw, dh) = (
                (sx * h * s).div_ceil(max_h * 8),
                (sy * v * s).div_ceil(max_v * 8),
            );
            let (nw, nh) = ((sx * h).div_ceil(max_h), (sy * v).div_ceil(max_v));
            let need = |t: u32| {
                let t = t as usize;
                if i == 0 || (h == max_h && v == max_v) {
                    t * margin as usize
                } else if half_chroma {
                    (t * margin as usize).div_ceil(2)
                } else {
                    t
                }
            };
            dw >= need(tw).min(nw) && dh >= need(th).min(nh)
        });
        if ok {
            return den;
        }
    }
    1
}

/// `Ok(None)`: turbojpeg cannot handle this file (CMYK, odd headers): use the fallback.
fn decode_turbo(
    data: &[u8],
    target: TargetFn<'_>,
    half_chroma: bool,
) -> Result<Option<Decoded>, Error> {
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
    let (format, color) = match hdr.colorspace {
        Colorspace::Gray => (PixelFormat::GRAY, dc_scan::Color::Gray),
        Colorspace::RGB => (PixelFormat::RGB, dc_scan::Color::Rgb),
        Colorspace::YCbCr => (PixelFormat::RGB, dc_scan::Color::YCbCr),
        _ => return Ok(None), // CMYK / YCCK: the image crate converts those
    };
    // Pixel limit (and target) from the decoder's own view of the size.
    let (tw, th) = target(sx, sy)?;
    // Leave at least a factor of two for the Lanczos step, as libvips does:
    // a DCT block shrink straight to the target aliases. The exception is a
    // progressive JPEG that can be decoded at 1/8 from its DC scans alone
    // (below): that skips most of the entropy decoding, which dominates.
    // Each component counts: in 4:2:2, 4:1:1 or 2x1,1x2,1x1 some component
    // is decoded below the nominal scale (see pick_scale_sampled).
    let samp = jpeg_sampling(data).unwrap_or_else(|| vec![(1, 1)]);
    let eighth = !hdr.is_lossless && pick_scale_sampled(&samp, sx, sy, tw, th, 1, half_chroma) == 8;
    // A progressive file whose every component has a 1x1 or 2x2 IDCT at
    // 1/8 is decoded by our own decoder from its DC scans (and 4:2:0
    // chroma's AC scans), with no coefficient buffer for the whole image;
    // the others go through libjpeg, their AC scans dropped where exact.
    if eighth {
        if let Some(bitmap) = dc_scan::decode(data, color) {
            return Ok(Some(Decoded {
                bitmap,
                orig_width: sx,
                orig_height: sy,
                palette: false,
            }));
        }
    }
    let dc_only = if eighth {
        progressive_dc_only(data)
    } else {
        None
    };
    let den = if hdr.is_lossless {
        1
    } else if dc_only.is_some() {
        8
    } else {
        pick_scale_sampled(&samp, sx, sy, tw, th, 2, half_chroma)
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
/// and every DC scan kept, and the AC scans dropped of every component that
/// libjpeg decodes with a 1×1 IDCT at 1/8, which reads DC only: luma and
/// every full-resolution component, and the chroma of 4:2:2, 4:4:0 and
/// 4:1:1 (decoded at 1×1, then upsampled). Chroma in 4:2:0 gets a 2×2 IDCT
/// instead, so its AC scans stay.
///
/// libjpeg would treat the missing AC bits as an unfinished progressive
/// image and smooth its blocks (DC included); a zero in the first AC entry
/// of a dropped component's quantisation table, unused by a 1×1 IDCT, is
/// its documented signal not to. The result matches a full decode at 1/8.
///
/// `None` when the input is not a well-formed progressive JPEG, luma is not
/// sampled at the full resolution, no AC scan can be dropped, or a
/// component whose AC scans stay shares a quantisation table with one whose
/// AC scans go (the caller then decodes with the usual 2× margin).
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
    let factors = |c: &[u8]| {
        (
            usize::from(c[1] >> 4).max(1),
            usize::from(c[1] & 0x0f).max(1),
        )
    };
    let max_h = comps.chunks(3).map(|c| factors(c).0).max()?;
    let max_v = comps.chunks(3).map(|c| factors(c).1).max()?;
    // The first component (luma, or grey) must be full resolution: one
    // sampled below the maximum gets a 1×1 IDCT at 1/8 and is then
    // upsampled, i.e. decoded at 1/16 or less (sampling 2x1,1x2,1x1). Such
    // files decode with the usual 2× margin instead.
    if factors(comps.get(..3)?) != (max_h, max_v) {
        return None;
    }
    let dc_read = |c: &[u8]| {
        let (h, v) = factors(c);
        idct_size(1, h, v, max_h, max_v) == 1
    };
    let drop_ids: Vec<u8> = comps
        .chunks(3)
        .filter(|c| dc_read(c))
        .map(|c| c[0])
        .collect();
    let drop_tq: Vec<u8> = comps
        .chunks(3)
        .filter(|c| dc_read(c))
        .map(|c| c[2])
        .collect();
    if comps
        .chunks(3)
        .any(|c| !dc_read(c) && drop_tq.contains(&c[2]))
    {
        return None;
    }

    let mut out = Vec::with_capacity(data.len() / 4);
    let mut dropped = 0;
    out.extend_from_slice(&data[..2]);
    for &(marker, start, end) in &segs {
        let seg = &data[start..end];
        match marker {
            0xda => {
                // SOS: Ns, Ns × (Cs, Td/Ta), Ss, ... AC scans have one component.
                let ns = usize::from(*seg.get(4)?);
                let ss = *seg.get(5 + 2 * ns)?;
                if ss > 0 && ns == 1 && drop_ids.contains(seg.get(5)?) {
                    dropped += 1;
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
                    if drop_tq.contains(&tq) {
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
    // Nothing dropped: no gain, so no reason to give up the 2× margin.
    if dropped == 0 {
        return None;
    }
    out.extend_from_slice(&[0xff, 0xd9]);
    Some(out)
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
        ImageType::Avif => return decode_avif(data, max_pixels, target),
        ImageType::Jxl => return decode_jxl(data, max_pixels, target),
        ImageType::Heic => return decode_heic(data, target),
    };
    let bitmap = from_dynamic(img);
    Ok(Decoded {
        bitmap,
        orig_width: sx,
        orig_height: sy,
        palette,
    })
}

/// AVIF: the container's `ispe` goes through `target` (the pixel limit)
/// and each AV1 sequence header's maximum frame size is checked before
/// libaom decodes (and allocates) anything; then the primary item and its
/// alpha item are decoded and converted to RGB(A).
fn decode_avif(data: &[u8], max_pixels: u64, target: TargetFn<'_>) -> Result<Decoded, Error> {
    let ty = ImageType::Avif;
    let still = isobmff::parse_still(data).map_err(|e| decode_err(ty, e))?;
    if &still.item_type != b"av01" {
        return Err(decode_err(
            ty,
            format!(
                "primary item of type {:?}, not a single AV1 image",
                String::from_utf8_lossy(&still.item_type)
            ),
        ));
    }
    target(still.width, still.height)?;
    let decode_item = |obus: &[u8]| -> Result<irs_aom::Frame, Error> {
        let (mw, mh) =
            isobmff::av1_max_frame(obus).ok_or_else(|| decode_err(ty, "no AV1 sequence header"))?;
        if u64::from(mw) * u64::from(mh) > max_pixels {
            return Err(Error::TooManyPixels {
                width: mw.into(),
                height: mh.into(),
                max: max_pixels,
            });
        }
        let f = irs_aom::decode_still(obus, max_pixels).map_err(|e| decode_err(ty, e))?;
        if (f.width, f.height) != (still.width, still.height) {
            return Err(decode_err(
                ty,
                format!(
                    "a {}x{} frame in a {}x{} item",
                    f.width, f.height, still.width, still.height
                ),
            ));
        }
        Ok(f)
    };
    let frame = decode_item(&still.data)?;
    let alpha = still.alpha.as_deref().map(decode_item).transpose()?;
    let fmt = match still.nclx {
        Some(n) => yuv::YuvFormat {
            matrix: n.matrix,
            full_range: n.full_range,
        },
        None => yuv::YuvFormat {
            matrix: u16::from(frame.matrix),
            full_range: frame.full_range,
        },
    };
    let bitmap = yuv::to_bitmap(&frame, fmt, alpha.as_ref()).map_err(|e| decode_err(ty, e))?;
    Ok(Decoded {
        bitmap,
        orig_width: still.width,
        orig_height: still.height,
        palette: false,
    })
}

/// JPEG XL: the header's (displayed) size goes through `target` before any
/// frame is decoded; jxl-oxide renders the first keyframe in sRGB, turned.
fn decode_jxl(data: &[u8], max_pixels: u64, target: TargetFn<'_>) -> Result<Decoded, Error> {
    let ty = ImageType::Jxl;
    let check = |w: u64, h: u64| match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) => target(w, h).map(drop),
        _ => Err(Error::TooManyPixels {
            width: w,
            height: h,
            max: max_pixels,
        }),
    };
    let (bitmap, info) = super::jxl::decode(data, check, |reason| decode_err(ty, reason))?;
    Ok(Decoded {
        bitmap,
        orig_width: info.width,
        orig_height: info.height,
        palette: false,
    })
}

/// HEIC: libheif parses the file and reports the primary image's displayed
/// size, which goes through `target` before libde265 decodes anything;
/// transformations applied, 8 bits a sample.
fn decode_heic(data: &[u8], target: TargetFn<'_>) -> Result<Decoded, Error> {
    let ty = ImageType::Heic;
    // Our own strict reading of the primary item's `ispe` first, where it
    // parses (a grid's is the whole image's), so a bomb never reaches
    // libheif; then libheif's own idea of the size.
    if let Ok(s) = isobmff::parse_still(data) {
        target(s.width, s.height)?;
    }
    let (px, info) = irs_heif::decode(
        data,
        |i| target(i.width, i.height).map(drop),
        |reason| decode_err(ty, reason),
    )?;
    if (px.width, px.height) != (info.width, info.height) {
        return Err(decode_err(
            ty,
            format!(
                "a {}x{} image in a {}x{} item",
                px.width, px.height, info.width, info.height
            ),
        ));
    }
    Ok(Decoded {
        bitmap: Bitmap {
            width: px.width,
            height: px.height,
            ch: px.channels,
            data: px.data,
        },
        orig_width: info.width,
        orig_height: info.height,
        palette: false,
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

#[cfg(test)]
#[path = "test_jpeg.rs"]
mod test_jpeg;

#[cfg(test)]
mod tests {
    //! Shrink-on-load against a full decode, for every JPEG sampling layout.
    use super::*;
    use crate::pipeline::ops::transform::resample;
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

    const W: usize = 1024;
    const H: usize = 768;
    /// Fits 1024×768 in 120×90: 1/8 covers it, so both the DC-only and the
    /// 2×-margin paths are candidates.
    const TW: u32 = 120;
    const TH: u32 = 90;

    /// Detail in both directions well below the target's Nyquist limit, plus
    /// colour: what stair-steps from a too-small decode would show on.
    fn pattern() -> Vec<u8> {
        let mut v = Vec::with_capacity(W * H * 3);
        for y in 0..H {
            for x in 0..W {
                let (fx, fy) = (x as f32, y as f32);
                let t = std::f32::consts::TAU;
                let a = (t * fx / 72.0).sin() * (t * fy / 64.0).cos();
                let b = (t * (fx + fy) / 120.0).sin();
                v.push((128.0 + 90.0 * a) as u8);
                v.push((128.0 + 60.0 * b + 30.0 * a) as u8);
                v.push((fy * 255.0 / H as f32) as u8);
            }
        }
        v
    }

    fn turbo(rgb: &[u8], subsamp: Subsamp, progressive: bool) -> Vec<u8> {
        let mut c = Compressor::new().unwrap();
        c.set_quality(95).unwrap();
        c.set_subsamp(subsamp).unwrap();
        c.set_progressive(progressive).unwrap();
        let img = Image {
            pixels: rgb,
            width: W,
            pitch: W * 3,
            height: H,
            format: PixelFormat::RGB,
        };
        c.compress_to_vec(img).unwrap()
    }

    fn rgb_of(b: &Bitmap) -> Vec<u8> {
        match b.ch {
            1 => b.data.iter().flat_map(|&g| [g, g, g]).collect(),
            _ => b.to_rgb(),
        }
    }

    /// (decoded width, height, mean abs diff, max abs diff) of shrink-on-load
    /// and Lanczos against full decode and Lanczos. With `half_chroma` (a lossy
    /// output) both sides are compared as the encoder sees them: Y′ and
    /// 4:2:0 Cb/Cr planes; without it (PNG), as RGB.
    fn compare(jpeg: &[u8], half_chroma: bool) -> (u32, u32, f64, u8) {
        let max = u64::MAX;
        let small = decode(
            ImageType::Jpeg,
            jpeg,
            max,
            &|_, _| Ok((TW, TH)),
            half_chroma,
        )
        .unwrap();
        let full = decode(ImageType::Jpeg, jpeg, max, &|w, h| Ok((w, h)), half_chroma).unwrap();
        assert_eq!(
            (full.bitmap.width, full.bitmap.height),
            (W as u32, H as u32)
        );
        let (dw, dh) = (small.bitmap.width, small.bitmap.height);
        let planes = |b: &Bitmap| {
            let rgb = rgb_of(b);
            if !half_chroma {
                return rgb;
            }
            let (y, cb, cr) =
                crate::pipeline::codec::avif::ycbcr420(&rgb, 3, TW as usize, TH as usize);
            [y, cb, cr].concat()
        };
        let a = planes(&resample(small.bitmap, TW, TH).unwrap());
        let b = planes(&resample(full.bitmap, TW, TH).unwrap());
        let (max, mean) = crate::pipeline::tests::diff(&a, &b);
        (dw, dh, mean, max)
    }

    fn check(name: &str, jpeg: &[u8], progressive: bool) {
        for half_chroma in [false, true] {
            let (dw, dh, mean, max) = compare(jpeg, half_chroma);
            eprintln!(
                "{name:28} half {half_chroma:5} decoded {dw}x{dh}: mean {mean:.2}, max {max}"
            );
            // DC-only 1/8 decodes (128×96) are allowed only where luma is
            // full resolution; everything else keeps the 2× margin (256×192).
            let dc_only = progressive && progressive_dc_only(jpeg).is_some();
            if !dc_only {
                assert!(dw >= 2 * TW && dh >= 2 * TH, "{name}: margin lost");
            }
            // Measured: mean <= 1.22, max <= 7 over every layout. Before
            // the per-component scale, 4:2:2/4:4:0 progressive gave mean ~5,
            // max ~27, and 4:1:1 progressive mean 11.8, max 60 (a component
            // decoded at 1/16 or 1/32 and upsampled).
            assert!(mean < 1.5 && max <= 10, "{name}: mean {mean:.2}, max {max}");
        }
    }

    /// libjpeg-turbo's own 1/8 decode, as RGB.
    fn turbo_eighth(data: &[u8]) -> Vec<u8> {
        use turbojpeg::{Decompressor, ScalingFactor};
        let f = ScalingFactor::new(1, 8);
        let mut d = Decompressor::new().unwrap();
        d.set_scaling_factor(f).unwrap();
        let h = d.read_header(data).unwrap().scaled(f);
        let mut img = Image {
            pixels: vec![0u8; h.width * h.height * 3],
            width: h.width,
            pitch: h.width * 3,
            height: h.height,
            format: PixelFormat::RGB,
        };
        d.decompress(data, img.as_deref_mut()).unwrap();
        img.pixels
    }

    /// Number of SOS segments whose spectral selection starts above DC.
    fn ac_scans(data: &[u8]) -> usize {
        let segs = jpeg_segments(data).unwrap();
        segs.iter()
            .filter(|&&(m, start, _)| {
                m == 0xda && {
                    let ns = usize::from(data[start + 4]);
                    data[start + 5 + 2 * ns] > 0
                }
            })
            .count()
    }

    #[test]
    fn dc_only_rewrite_decodes_like_libjpeg_at_one_eighth() {
        let rgb = pattern();
        // (name, file, AC scans left in the rewrite)
        let mut cases: Vec<(String, Vec<u8>, Option<usize>)> = Vec::new();
        for (name, s, left) in [
            ("4:4:4", Subsamp::None, Some(0)),
            ("4:2:2", Subsamp::Sub2x1, Some(0)),
            // 4:2:0 chroma gets a 2×2 IDCT: its AC scans stay.
            ("4:2:0", Subsamp::Sub2x2, None),
            ("4:4:0", Subsamp::Sub1x2, Some(0)),
            ("4:1:1", Subsamp::Sub4x1, Some(0)),
            ("grey", Subsamp::Gray, Some(0)),
        ] {
            cases.push((format!("turbo {name}"), turbo(&rgb, s, true), left));
        }
        for (name, samp, left) in [
            // Separate spectral-selection scans per component, as mozjpeg
            // writes them.
            ("1x1,1x1,1x1", &[(1u8, 1u8), (1, 1), (1, 1)][..], Some(0)),
            ("2x1,1x1,1x1", &[(2, 1), (1, 1), (1, 1)], Some(0)),
            ("2x2,1x1,1x1", &[(2, 2), (1, 1), (1, 1)], None),
            // Chroma below luma in one direction only: 1×1 at 1/8, upsampled.
            ("2x2,2x1,1x2", &[(2, 2), (2, 1), (1, 2)], Some(0)),
            ("4x1,2x1,1x1", &[(4, 1), (2, 1), (1, 1)], Some(0)),
            ("2x2 grey", &[(2, 2)], Some(0)),
        ] {
            cases.push((
                format!("{name} spectral"),
                test_jpeg::encode(&rgb, W, H, samp, true),
                left,
            ));
        }
        for (name, jpeg, left) in cases {
            let dc = progressive_dc_only(&jpeg).unwrap_or_else(|| panic!("{name}: refused"));
            let acs = ac_scans(&dc);
            assert!(acs < ac_scans(&jpeg), "{name}: nothing dropped");
            if let Some(left) = left {
                assert_eq!(acs, left, "{name}: AC scans left");
            } else {
                assert!(acs > 0, "{name}: a 2×2-IDCT component lost its AC scans");
            }
            let (a, b) = (turbo_eighth(&jpeg), turbo_eighth(&dc));
            assert_eq!(a.len(), b.len(), "{name}");
            let (max, mean) = crate::pipeline::tests::diff(&a, &b);
            eprintln!(
                "{name:24} {} -> {} bytes: max {max}, mean {mean:.3}",
                jpeg.len(),
                dc.len()
            );
            assert!(max <= 1, "{name}: max {max}, mean {mean}");
        }
    }

    #[test]
    fn shrink_on_load_matches_full_decode_for_every_turbo_layout() {
        let rgb = pattern();
        for (name, s) in [
            ("4:4:4", Subsamp::None),
            ("4:2:2", Subsamp::Sub2x1),
            ("4:2:0", Subsamp::Sub2x2),
            ("4:4:0", Subsamp::Sub1x2),
            ("4:1:1", Subsamp::Sub4x1),
            ("grey", Subsamp::Gray),
        ] {
            for progressive in [false, true] {
                let jpeg = turbo(&rgb, s, progressive);
                let kind = if progressive {
                    "progressive"
                } else {
                    "baseline"
                };
                check(&format!("turbo {name} {kind}"), &jpeg, progressive);
            }
        }
    }

    #[test]
    fn shrink_on_load_matches_full_decode_for_odd_layouts() {
        let rgb = pattern();
        let layouts: &[(&str, &[(u8, u8)])] = &[
            ("2x1,1x2,1x1", &[(2, 1), (1, 2), (1, 1)]),
            ("1x2,2x1,1x1", &[(1, 2), (2, 1), (1, 1)]),
            ("1x1,2x2,2x2", &[(1, 1), (2, 2), (2, 2)]),
            ("2x2,2x1,1x2", &[(2, 2), (2, 1), (1, 2)]),
            ("2x2,1x1,1x1", &[(2, 2), (1, 1), (1, 1)]),
            ("4x1,2x1,1x1", &[(4, 1), (2, 1), (1, 1)]),
            ("1x1,1x1,1x1", &[(1, 1), (1, 1), (1, 1)]),
            ("2x2 grey", &[(2, 2)]),
        ];
        for (name, samp) in layouts {
            for progressive in [false, true] {
                let jpeg = test_jpeg::encode(&rgb, W, H, samp, progressive);
                let kind = if progressive {
                    "progressive"
                } else {
                    "baseline"
                };
                check(&format!("{name} {kind}"), &jpeg, progressive);
            }
        }
    }

    #[test]
    fn scale_counts_every_component() {
        // 4:2:0: chroma gets a 2×2 IDCT at 1/8, nothing upsampled.
        let s420 = [(2, 2), (1, 1), (1, 1)];
        assert_eq!(pick_scale_sampled(&s420, 1024, 768, 120, 90, 1, false), 8);
        assert_eq!(pick_scale_sampled(&s420, 1024, 768, 120, 90, 2, false), 4);
        // 4:2:2: chroma 1×1 at 1/8 then upsampled: 1/16 horizontally. Too
        // little for a full-chroma output (PNG), but a 4:2:0 output keeps
        // only half the target's chroma columns: 1/8 has them.
        let s422 = [(2, 1), (1, 1), (1, 1)];
        assert_eq!(pick_scale_sampled(&s422, 1024, 768, 120, 90, 1, false), 4);
        assert_eq!(pick_scale_sampled(&s422, 1024, 768, 120, 90, 1, true), 8);
        // The same for 4:4:0, by rows.
        let s440 = [(1, 2), (1, 1), (1, 1)];
        assert_eq!(pick_scale_sampled(&s440, 1024, 768, 120, 90, 1, false), 4);
        assert_eq!(pick_scale_sampled(&s440, 1024, 768, 120, 90, 1, true), 8);
        // 4:1:1 chroma at 1/8 is 1/32 wide: 32 columns, 60 needed. At 1/4,
        // 64 columns.
        let s411 = [(4, 1), (1, 1), (1, 1)];
        assert_eq!(pick_scale_sampled(&s411, 1024, 768, 120, 90, 1, true), 4);
        assert_eq!(pick_scale_sampled(&s411, 2048, 768, 120, 90, 1, true), 8);
        // With the 2× margin, half chroma changes nothing.
        for samp in [&s420, &s422, &s440, &s411] {
            for (tw, th) in [(120, 90), (300, 225), (64, 64)] {
                assert_eq!(
                    pick_scale_sampled(samp, 1024, 768, tw, th, 2, true),
                    pick_scale_sampled(samp, 1024, 768, tw, th, 2, false),
                );
            }
        }
        // 2x1,1x2,1x1: luma holds half the rows; 1/2 keeps 2× of the target.
        let odd = [(2, 1), (1, 2), (1, 1)];
        assert_eq!(pick_scale_sampled(&odd, 1024, 768, 120, 90, 2, true), 2);
        // Grey and 4:4:4 are the plain luma rule.
        for samp in [&[(1u8, 1u8)][..], &[(1, 1), (1, 1), (1, 1)]] {
            for (tw, th) in [(120, 90), (300, 225), (799, 599), (801, 600)] {
                assert_eq!(
                    pick_scale_sampled(samp, 1600, 1200, tw, th, 1, true),
                    pick_scale(1600, 1200, tw, th)
                );
            }
        }
        assert_eq!(
            jpeg_sampling(&test_jpeg::encode(&[0; 48], 4, 4, &odd, true)),
            Some(odd.to_vec())
        );
        assert_eq!(jpeg_sampling(b"\xff\xd8\xff"), None);
    }

    #[test]
    fn dc_only_refuses_subsampled_luma() {
        let rgb = pattern();
        let odd = test_jpeg::encode(&rgb, W, H, &[(2, 1), (1, 2), (1, 1)], true);
        assert!(progressive_dc_only(&odd).is_none());
        let usual = test_jpeg::encode(&rgb, W, H, &[(2, 2), (1, 1), (1, 1)], true);
        assert!(progressive_dc_only(&usual).is_some());
        // Nothing to drop (baseline) or nothing dropped: None.
        let base = test_jpeg::encode(&rgb, W, H, &[(2, 2), (1, 1), (1, 1)], false);
        assert!(progressive_dc_only(&base).is_none());
    }

    /// The DC-scan decoder's image, as RGB like `turbo_eighth`.
    fn dc_scan_rgb(jpeg: &[u8], color: dc_scan::Color) -> Option<Vec<u8>> {
        let b = dc_scan::decode(jpeg, color)?;
        Some(if b.ch == 1 {
            b.data.iter().flat_map(|&g| [g, g, g]).collect()
        } else {
            b.data
        })
    }

    fn opts(restart: usize, separate_dc: bool) -> test_jpeg::Options {
        test_jpeg::Options {
            progressive: true,
            restart,
            separate_dc,
        }
    }

    #[test]
    fn dc_scan_decodes_like_libjpeg_at_one_eighth() {
        use dc_scan::Color::{Gray, YCbCr};
        let rgb = pattern();
        let mut cases: Vec<(String, Vec<u8>, dc_scan::Color)> = Vec::new();
        // libjpeg-turbo's progression: DC successive approximation (a first
        // scan at Al=1, then a refinement scan), interleaved.
        for (name, s, color) in [
            ("4:4:4", Subsamp::None, YCbCr),
            ("4:2:2", Subsamp::Sub2x1, YCbCr),
            ("4:4:0", Subsamp::Sub1x2, YCbCr),
            ("4:1:1", Subsamp::Sub4x1, YCbCr),
            ("4:2:0", Subsamp::Sub2x2, YCbCr),
            ("grey", Subsamp::Gray, Gray),
        ] {
            cases.push((format!("turbo {name}"), turbo(&rgb, s, true), color));
        }
        // One DC scan at Al=0, interleaved or one per component (as some
        // encoders write them), with and without restart intervals, which
        // do not fall on MCU-row boundaries here.
        for (name, samp, color) in [
            ("1x1,1x1,1x1", &[(1u8, 1u8), (1, 1), (1, 1)][..], YCbCr),
            ("2x1,1x1,1x1", &[(2, 1), (1, 1), (1, 1)], YCbCr),
            ("2x2,2x1,1x2", &[(2, 2), (2, 1), (1, 2)], YCbCr),
            ("4x1,2x1,1x1", &[(4, 1), (2, 1), (1, 1)], YCbCr),
            ("1x2,1x1,1x1", &[(1, 2), (1, 1), (1, 1)], YCbCr),
            // 2×2 IDCTs: chroma's AC scans are decoded.
            ("2x2,1x1,1x1", &[(2, 2), (1, 1), (1, 1)], YCbCr),
            ("2x2,2x2,1x1", &[(2, 2), (2, 2), (1, 1)], YCbCr),
            ("2x2,1x1,2x1", &[(2, 2), (1, 1), (2, 1)], YCbCr),
            ("2x2 grey", &[(2, 2)], Gray),
        ] {
            for (restart, separate) in [(0, false), (0, true), (7, false), (5, true)] {
                cases.push((
                    format!("{name} rst {restart} separate {separate}"),
                    test_jpeg::encode_with(&rgb, W, H, samp, opts(restart, separate)),
                    color,
                ));
            }
        }
        for (name, jpeg, color) in cases {
            let ours = dc_scan_rgb(&jpeg, color).unwrap_or_else(|| panic!("{name}: refused"));
            let theirs = turbo_eighth(&jpeg);
            assert_eq!(ours.len(), theirs.len(), "{name}: size");
            let (max, mean) = crate::pipeline::tests::diff(&ours, &theirs);
            eprintln!("{name:36} max {max}, mean {mean:.4}");
            assert!(max <= 1, "{name}: max {max}, mean {mean}");
        }
    }

    #[test]
    fn dc_scan_decodes_odd_sizes_like_libjpeg() {
        // Partial MCUs on both edges, and images under one MCU.
        for (w, h) in [(1, 1), (7, 9), (17, 33), (333, 97)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
            for samp in [
                &[(2u8, 1u8), (1, 1), (1, 1)][..],
                &[(1, 1), (1, 1), (1, 1)],
                &[(2, 2), (1, 1), (1, 1)],
            ] {
                for (restart, separate) in [(0, false), (3, true)] {
                    let jpeg = test_jpeg::encode_with(&rgb, w, h, samp, opts(restart, separate));
                    let ours = dc_scan_rgb(&jpeg, dc_scan::Color::YCbCr).unwrap();
                    let (max, _) = crate::pipeline::tests::diff(&ours, &turbo_eighth(&jpeg));
                    assert!(max <= 1, "{w}x{h} {samp:?} rst {restart}: max {max}");
                }
            }
        }
    }

    #[test]
    fn dc_scan_refuses_what_needs_ac_or_is_not_progressive() {
        use dc_scan::Color::YCbCr;
        let rgb = pattern();
        // Chroma at a quarter of luma's resolution each way gets a 4×4 IDCT.
        let quarter = test_jpeg::encode(&rgb, W, H, &[(4, 4), (1, 1), (1, 1)], true);
        assert!(dc_scan::decode(&quarter, YCbCr).is_none());
        // Subsampled luma.
        let odd = test_jpeg::encode(&rgb, W, H, &[(1, 1), (2, 1), (1, 1)], true);
        assert!(dc_scan::decode(&odd, YCbCr).is_none());
        // Baseline.
        assert!(dc_scan::decode(&turbo(&rgb, Subsamp::None, false), YCbCr).is_none());
        // The colour space must match the component count.
        let p = turbo(&rgb, Subsamp::None, true);
        assert!(dc_scan::decode(&p, dc_scan::Color::Gray).is_none());
        assert!(dc_scan::decode(&p, YCbCr).is_some());
    }

    /// The offset of the first DC scan's entropy-coded data.
    fn first_dc_entropy(jpeg: &[u8]) -> (usize, usize) {
        let &(_, start, end) = jpeg_segments(jpeg)
            .unwrap()
            .iter()
            .find(|s| s.0 == 0xda)
            .unwrap();
        let ns = usize::from(jpeg[start + 4]);
        (start + 2 + 6 + 2 * ns, end)
    }

    #[test]
    fn dc_scan_refuses_damaged_streams() {
        use dc_scan::Color::YCbCr;
        let rgb = pattern();
        let samp = &[(2u8, 1u8), (1, 1), (1, 1)][..];
        let good = test_jpeg::encode_with(&rgb, W, H, samp, opts(4, false));
        assert!(dc_scan::decode(&good, YCbCr).is_some());
        let (start, end) = first_dc_entropy(&good);

        // Truncated: anywhere, with or without the EOI put back.
        for cut in [
            start - 3,
            start + 10,
            (start + end) / 2,
            end,
            good.len() - 1,
        ] {
            let mut t = good[..cut].to_vec();
            assert!(dc_scan::decode(&t, YCbCr).is_none(), "cut at {cut}");
            t.extend_from_slice(&[0xff, 0xd9]);
            if cut < end {
                assert!(dc_scan::decode(&t, YCbCr).is_none(), "cut at {cut} + EOI");
            }
        }
        // test_jpeg's DC codes are 4 bits for sizes 0..=11: 1110 is none.
        let mut bad = good.clone();
        bad[start] = 0xee;
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "bad Huffman code");
        // A restart marker out of sequence (RST0 where RST1 belongs)...
        let rst: Vec<usize> = (start..end - 1)
            .filter(|&i| good[i] == 0xff && (0xd0..=0xd7).contains(&good[i + 1]))
            .collect();
        assert!(rst.len() > 2);
        let mut bad = good.clone();
        bad[rst[1] + 1] = 0xd0;
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "RST out of order");
        // ... or missing: the interval's bits run into the next one.
        let mut bad = good.clone();
        bad.drain(rst[1]..rst[1] + 2);
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "RST missing");
        // A DRI that does not match the markers.
        let dri = good
            .windows(4)
            .position(|w| w == [0xff, 0xdd, 0, 4])
            .unwrap();
        let mut bad = good.clone();
        bad[dri + 5] = 9;
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "DRI mismatch");
        // A component id in a scan that the frame does not have.
        let sos = good.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
        let mut bad = good.clone();
        bad[sos + 5] = 9;
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "unknown component");
        // No DC scan at all for a component: libjpeg's business.
        let sep = test_jpeg::encode_with(&rgb, W, H, samp, opts(0, true));
        let segs = jpeg_segments(&sep).unwrap();
        let &(_, s2, e2) = segs.iter().filter(|s| s.0 == 0xda).nth(1).unwrap();
        let mut bad = sep.clone();
        bad.drain(s2..e2);
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "no DC scan for Cb");
    }

    #[test]
    fn progressive_thumbnails_decode_from_dc_scans() {
        // Through `decode`, 4:2:2 and 4:2:0 progressive files at 1/8 with a
        // 4:2:0 output give the DC-scan decoder's image.
        for s in [Subsamp::Sub2x1, Subsamp::Sub2x2] {
            let jpeg = turbo(&pattern(), s, true);
            let fit = &|_, _| Ok((TW, TH));
            let d = decode(ImageType::Jpeg, &jpeg, u64::MAX, fit, true).unwrap();
            let ours = dc_scan::decode(&jpeg, dc_scan::Color::YCbCr).unwrap();
            assert_eq!((d.bitmap.width, d.bitmap.height), (ours.width, ours.height));
            assert_eq!(d.bitmap.data, ours.data);
            assert_eq!((d.orig_width, d.orig_height), (W as u32, H as u32));
        }
    }

    #[test]
    fn dc_scan_refuses_damaged_chroma_ac() {
        // 4:2:0: chroma's AC scans are decoded, so damage there is seen.
        use dc_scan::Color::YCbCr;
        let good = turbo(&pattern(), Subsamp::Sub2x2, true);
        assert!(dc_scan::decode(&good, YCbCr).is_some());
        let segs = jpeg_segments(&good).unwrap();
        // A chroma (component 2 or 3) AC scan.
        let &(_, start, end) = segs
            .iter()
            .find(|&&(m, s, _)| {
                m == 0xda && good[s + 4] == 1 && good[s + 5] != 1 && good[s + 7] > 0
            })
            .unwrap();
        let at = start + 2 + 8;
        let mut bad = good.clone();
        bad.splice(at..end, std::iter::repeat_n(0xfe, 16));
        assert!(dc_scan::decode(&bad, YCbCr).is_none(), "garbage chroma AC");
        let mut short = good.clone();
        short.drain(at + 4..end);
        assert!(
            dc_scan::decode(&short, YCbCr).is_none(),
            "truncated chroma AC"
        );
        // (Luma's AC scans are never read, as in the DC-only rewrite: damage
        // there goes unnoticed, and the 1/8 image does not depend on them.)
    }
}

#[cfg(test)]
mod timing {
    /// `IRS_DECODE_FILE=photo.jpg cargo test --no-default-features --lib
    /// decode_time -- --ignored --nocapture`: median decode of a file into
    /// 300×200 (4:2:0 output), 15 runs.
    #[test]
    #[ignore]
    fn decode_time() {
        let Ok(path) = std::env::var("IRS_DECODE_FILE") else {
            return;
        };
        let data = std::fs::read(&path).unwrap();
        let mut t: Vec<f64> = (0..15)
            .map(|_| {
                let c = std::time::Instant::now();
                let d = super::decode(
                    crate::pipeline::ImageType::Jpeg,
                    &data,
                    u64::MAX,
                    &|w, h| {
                        let s = (300.0 / w as f64).min(200.0 / h as f64);
                        Ok(((w as f64 * s).round() as u32, (h as f64 * s).round() as u32))
                    },
                    true,
                )
                .unwrap();
                std::hint::black_box(d.bitmap.width);
                c.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        eprintln!("{path}: median {:.2} ms, min {:.2} ms", t[7], t[0]);
    }
}
