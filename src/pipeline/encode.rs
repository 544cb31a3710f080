//! Encoders. None writes metadata: no EXIF, XMP, ICC or text chunks, so
//! every re-encoded image leaves GPS positions and camera data behind and is
//! untagged sRGB (AVIF carries its required nclx colour box: sRGB).
//!
//! | format | codec | loss | alpha |
//! |---|---|---|---|
//! | JPEG | libjpeg-turbo, 4:2:0, optimised Huffman | lossy | dropped |
//! | PNG | `png` crate / own Adam7 writer | lossless (palette: quantized) | kept |
//! | GIF | `gif` crate, palette | quantized | 1 bit |
//! | WebP | libwebp, VP8 | lossy colour | lossless alpha plane |
//! | AVIF | rav1e via ravif, 4:4:4, 8 bit | lossy | lossy alpha (same quality) |

use super::bitmap::Bitmap;
use super::palette;
use super::png_write::{self, Pixels};
use super::{Error, ImageType};

/// Default `image_resize_rs_avif_quality` (ravif's 1..=100 scale).
/// 80: the lowest that keeps luma SSIM within ~0.007 of JPEG q80 on the
/// photo corpus (BENCHMARKS.md, "Output formats").
pub const DEFAULT_AVIF_QUALITY: u32 = 80;
/// Default `image_resize_rs_avif_speed` (rav1e 1 slowest ..= 10 fastest).
/// 9: with 8-bit coding about half the time of speed 8 for the same bytes
/// (BENCHMARKS.md); 10 trades 10–20% more bytes for little time.
pub const DEFAULT_AVIF_SPEED: u32 = 9;

/// Encoder settings taken from the job.
#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    pub jpeg_quality: u32,
    pub webp_quality: u32,
    pub avif_quality: u32,
    pub avif_speed: u32,
    pub interlace: bool,
    /// Write PNG/GIF with a palette (palette input, gdImageTrueColorToPalette).
    pub palette: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            jpeg_quality: 75,
            webp_quality: 80,
            avif_quality: DEFAULT_AVIF_QUALITY,
            avif_speed: DEFAULT_AVIF_SPEED,
            interlace: false,
            palette: false,
        }
    }
}

fn enc_err(ty: ImageType, reason: impl std::fmt::Display) -> Error {
    Error::Encode {
        ty,
        reason: reason.to_string(),
    }
}

fn dims_u16(ty: ImageType, img: &Bitmap) -> Result<(u16, u16), Error> {
    match (u16::try_from(img.width), u16::try_from(img.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(enc_err(
            ty,
            format!("{}x{} is beyond the format's limit", img.width, img.height),
        )),
    }
}

pub fn encode(ty: ImageType, img: &Bitmap, opt: &EncodeOptions) -> Result<Vec<u8>, Error> {
    match ty {
        ImageType::Jpeg => encode_jpeg(img, opt.jpeg_quality, opt.interlace),
        ImageType::Png if opt.palette => encode_png_palette(img, opt.interlace),
        ImageType::Png => encode_png_with(img, opt.interlace),
        ImageType::Gif => encode_gif_with(img, opt.interlace),
        ImageType::Webp => encode_webp(img, opt.webp_quality),
        ImageType::Avif => encode_avif(img, opt.avif_quality, opt.avif_speed),
    }
}

/// libjpeg-turbo (what gd's gdImageJpeg uses, so sizes compare), 4:2:0,
/// optimised Huffman tables; progressive when `interlace`
/// (gdImageInterlace + gdImageJpeg).
pub fn encode_jpeg(img: &Bitmap, quality: u32, progressive: bool) -> Result<Vec<u8>, Error> {
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};
    let ty = ImageType::Jpeg;
    dims_u16(ty, img)?;
    let (format, subsamp) = match img.ch {
        1 => (PixelFormat::GRAY, Subsamp::Gray),
        3 => (PixelFormat::RGB, Subsamp::Sub2x2),
        _ => (PixelFormat::RGBA, Subsamp::Sub2x2), // alpha ignored
    };
    let e = |e: turbojpeg::Error| enc_err(ty, e);
    let mut c = Compressor::new().map_err(e)?;
    c.set_quality(quality.clamp(1, 100) as i32).map_err(e)?;
    c.set_subsamp(subsamp).map_err(e)?;
    c.set_optimize(true).map_err(e)?;
    c.set_progressive(progressive).map_err(e)?;
    let (w, h) = (img.width as usize, img.height as usize);
    let image = Image {
        pixels: img.data.as_slice(),
        width: w,
        pitch: w * img.ch,
        height: h,
        format,
    };
    c.compress_to_vec(image).map_err(e)
}

/// Truecolour (or grey) PNG, not interlaced (fixtures and tests).
#[cfg(any(test, feature = "gen"))]
pub fn encode_png(img: &Bitmap) -> Result<Vec<u8>, Error> {
    encode_png_with(img, false)
}

/// Truecolour (or grey) PNG, Adam7 when `interlace`.
pub fn encode_png_with(img: &Bitmap, interlace: bool) -> Result<Vec<u8>, Error> {
    png_write::write(&Pixels::Direct(img), interlace).map_err(|e| enc_err(ImageType::Png, e))
}

/// Indexed PNG (exact palette when ≤ 256 colours, else NeuQuant), tRNS for alpha.
pub fn encode_png_palette(img: &Bitmap, interlace: bool) -> Result<Vec<u8>, Error> {
    let ix = palette::quantize(img, false);
    png_write::write(&Pixels::Indexed(&ix), interlace).map_err(|e| enc_err(ImageType::Png, e))
}

/// GIF: palette as [`palette::quantize`] gives it, alpha below 128 becomes
/// the transparent index.
#[cfg(any(test, feature = "gen"))]
pub fn encode_gif(img: &Bitmap) -> Result<Vec<u8>, Error> {
    encode_gif_with(img, false)
}

/// GIF; with `interlace` the rows are stored in GIF's four-pass order
/// (every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1)
/// and the image descriptor's interlace flag set.
pub fn encode_gif_with(img: &Bitmap, interlace: bool) -> Result<Vec<u8>, Error> {
    let ty = ImageType::Gif;
    let (w, h) = dims_u16(ty, img)?;
    let ix = palette::quantize(img, true);
    let e = |e: gif::EncodingError| enc_err(ty, e);
    let plte: Vec<u8> = ix.palette.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
    let row = usize::from(w);
    let buffer = if interlace {
        let mut v = Vec::with_capacity(ix.indices.len());
        for y in gif_interlaced_rows(usize::from(h)) {
            v.extend_from_slice(&ix.indices[y * row..(y + 1) * row]);
        }
        v
    } else {
        ix.indices.clone()
    };
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w, h, &[]).map_err(e)?;
        let frame = gif::Frame {
            width: w,
            height: h,
            palette: Some(plte),
            transparent: ix.transparent(),
            interlaced: interlace,
            buffer: std::borrow::Cow::Owned(buffer),
            ..gif::Frame::default()
        };
        enc.write_frame(&frame).map_err(e)?;
    }
    Ok(out)
}

/// Row order of an interlaced GIF of `h` rows.
pub fn gif_interlaced_rows(h: usize) -> impl Iterator<Item = usize> {
    [(0, 8), (4, 8), (2, 4), (1, 2)]
        .into_iter()
        .flat_map(move |(start, step)| (start..h).step_by(step))
}

/// AVIF via ravif/rav1e on the calling thread (threads = 1, no rayon):
/// 4:4:4, 8-bit (10-bit took twice the time for the same bytes), alpha kept (encoded lossy at the same quality) and
/// dropped when every pixel is opaque. `quality` 1..=100, `speed` 1..=10.
pub fn encode_avif(img: &Bitmap, quality: u32, speed: u32) -> Result<Vec<u8>, Error> {
    use ravif::{Encoder, Img, RGB8, RGBA8};
    let ty = ImageType::Avif;
    if img.width == 0 || img.height == 0 || img.width > 65536 || img.height > 65536 {
        return Err(enc_err(
            ty,
            format!("{}x{} is beyond the format's limit", img.width, img.height),
        ));
    }
    let q = quality.clamp(1, 100) as f32;
    let enc = Encoder::new()
        .with_quality(q)
        .with_alpha_quality(q)
        .with_speed(speed.clamp(1, 10) as u8)
        .with_num_threads(Some(1))
        .with_bit_depth(ravif::BitDepth::Eight);
    let (w, h) = (img.width as usize, img.height as usize);
    let res = if img.ch == 4 {
        let px: Vec<RGBA8> = img
            .data
            .chunks_exact(4)
            .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
            .collect();
        enc.encode_rgba(Img::new(px.as_slice(), w, h))
    } else {
        let rgb = img.to_rgb();
        let px: Vec<RGB8> = rgb
            .chunks_exact(3)
            .map(|p| RGB8::new(p[0], p[1], p[2]))
            .collect();
        enc.encode_rgb(Img::new(px.as_slice(), w, h))
    };
    res.map(|r| r.avif_file).map_err(|e| enc_err(ty, e))
}

/// Lossy WebP via libwebp, alpha kept.
pub fn encode_webp(img: &Bitmap, quality: u32) -> Result<Vec<u8>, Error> {
    let ty = ImageType::Webp;
    if img.width == 0 || img.height == 0 || img.width > 16383 || img.height > 16383 {
        return Err(enc_err(
            ty,
            format!("{}x{} is beyond the format's limit", img.width, img.height),
        ));
    }
    let q = quality.clamp(1, 100) as f32;
    let (buf, alpha) = match img.ch {
        4 => (img.to_rgba(), true),
        3 => (img.data.clone(), false),
        _ => (img.to_rgb(), false),
    };
    // Buffer length is exactly w*h*bpp, so the webp crate's size assert holds.
    let enc = if alpha {
        webp::Encoder::from_rgba(&buf, img.width, img.height)
    } else {
        webp::Encoder::from_rgb(&buf, img.width, img.height)
    };
    let mem = enc
        .encode_simple(false, q)
        .map_err(|e| enc_err(ty, format!("{e:?}")))?;
    Ok(mem.to_vec())
}
