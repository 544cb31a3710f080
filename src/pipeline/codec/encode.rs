//! Encoders. None writes metadata but AVIF's EXIF item when asked
//! ([`encode_avif_exif`]): no ICC or text chunks, so a re-encoded image is
//! untagged sRGB (AVIF carries its required nclx colour box: sRGB). What
//! `image_resize_rs_metadata` keeps is written into the other containers
//! afterwards (container/embed.rs).
//!
//! | format | codec | loss | alpha |
//! |---|---|---|---|
//! | JPEG | libjpeg-turbo, 4:2:0, optimised Huffman | lossy | dropped |
//! | PNG | `png` crate / own Adam7 writer | lossless (palette: quantized) | kept |
//! | GIF | `gif` crate, palette | quantized | 1 bit |
//! | WebP | libwebp, VP8 | lossy colour | lossless alpha plane |
//! | AVIF | rav1e (own wrapper, avif.rs), 4:2:0, 8 bit | lossy | lossy alpha (same quality) |

use super::palette;
use super::png_write::{self, Pixels};
use crate::pipeline::ops::Bitmap;
use crate::pipeline::{Error, ImageType};

use crate::value::{
    clamp_quality, DEFAULT_AVIF_QUALITY, DEFAULT_AVIF_SPEED, DEFAULT_JPEG_QUALITY,
    DEFAULT_WEBP_QUALITY,
};

/// Encoder settings, from the request's checked plan.
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
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            webp_quality: DEFAULT_WEBP_QUALITY,
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
        ImageType::Jxl | ImageType::Heic => Err(enc_err(ty, "read, never written")),
    }
}

/// libjpeg-turbo (what gd's gdImageJpeg uses, so sizes compare), 4:2:0,
/// optimised Huffman tables; progressive when `interlace`
/// (gdImageInterlace + gdImageJpeg).
pub fn encode_jpeg(img: &Bitmap, quality: u32, progressive: bool) -> Result<Vec<u8>, Error> {
    encode_jpeg_sampled(img, quality, progressive, turbojpeg::Subsamp::Sub2x2)
}

/// [`encode_jpeg`] with the chroma subsampling of a colour image given.
pub fn encode_jpeg_sampled(
    img: &Bitmap,
    quality: u32,
    progressive: bool,
    chroma: turbojpeg::Subsamp,
) -> Result<Vec<u8>, Error> {
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};
    let ty = ImageType::Jpeg;
    dims_u16(ty, img)?;
    // JPEG has no alpha: translucent pixels are laid over white (what a
    // page behind a transparent PNG usually is), not left at whatever colour
    // the transparent pixels happen to store.
    let flat;
    let img = if img.has_transparency() {
        flat = img.flatten_on_white();
        &flat
    } else {
        img
    };
    let (format, subsamp) = match img.ch {
        1 => (PixelFormat::GRAY, Subsamp::Gray),
        3 => (PixelFormat::RGB, chroma),
        _ => (PixelFormat::RGBA, chroma), // opaque: alpha ignored
    };
    let e = |e: turbojpeg::Error| enc_err(ty, e);
    let mut c = Compressor::new().map_err(e)?;
    c.set_quality(clamp_quality(quality) as i32).map_err(e)?;
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

/// AVIF (codec/avif.rs): rav1e on the calling thread, 4:2:0, 8 bit,
/// alpha kept (encoded lossy at the same quality) and dropped when every
/// pixel is opaque. `quality` 1..=100, `speed` 1..=10.
pub fn encode_avif(img: &Bitmap, quality: u32, speed: u32) -> Result<Vec<u8>, Error> {
    encode_avif_with(img, &super::avif::AvifParams::new(quality, speed))
}

/// [`encode_avif`] with an EXIF item (a TIFF structure).
pub fn encode_avif_exif(
    img: &Bitmap,
    quality: u32,
    speed: u32,
    exif: &[u8],
) -> Result<Vec<u8>, Error> {
    encode_avif_inner(
        img,
        &super::avif::AvifParams::new(quality, speed),
        Some(exif),
    )
}

pub fn encode_avif_with(img: &Bitmap, p: &super::avif::AvifParams) -> Result<Vec<u8>, Error> {
    encode_avif_inner(img, p, None)
}

fn encode_avif_inner(
    img: &Bitmap,
    p: &super::avif::AvifParams,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    let res = if img.ch == 3 || img.ch == 4 {
        super::avif::encode(img, p, exif)
    } else {
        let rgb = Bitmap {
            width: img.width,
            height: img.height,
            ch: 3,
            data: img.to_rgb(),
        };
        super::avif::encode(&rgb, p, exif)
    };
    res.map_err(|e| enc_err(ImageType::Avif, e))
}

/// libwebp's effort (0 fastest ..= 6) for an image of `pixels`: 6 up to
/// half a megapixel, 5 above (gd and libwebp default to 4). On the photo
/// corpus, at the same quality setting: 300×200 at method 6 is 4% smaller
/// than at 4 for ~8 ms more; at 1200×800, 5 keeps most of 6's saving (70%
/// vs 68% of JPEG's bytes) in two thirds of its time (BENCHMARKS.md,
/// "How the AVIF and WebP settings were chosen").
pub fn webp_method(pixels: u64) -> i32 {
    if pixels <= 500_000 {
        6
    } else {
        5
    }
}

/// Lossy WebP via libwebp, alpha kept.
pub fn encode_webp(img: &Bitmap, quality: u32) -> Result<Vec<u8>, Error> {
    encode_webp_with(
        img,
        quality,
        webp_method(img.width as u64 * img.height as u64),
    )
}

pub fn encode_webp_with(img: &Bitmap, quality: u32, method: i32) -> Result<Vec<u8>, Error> {
    let ty = ImageType::Webp;
    if img.width == 0 || img.height == 0 || img.width > 16383 || img.height > 16383 {
        return Err(enc_err(
            ty,
            format!("{}x{} is beyond the format's limit", img.width, img.height),
        ));
    }
    let q = clamp_quality(quality) as f32;
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
    let mut config =
        webp::WebPConfig::new().map_err(|_| enc_err(ty, "libwebp version mismatch"))?;
    config.lossless = 0;
    config.alpha_compression = 1;
    config.quality = q;
    config.method = method.clamp(0, 6);
    let mem = enc
        .encode_advanced(&config)
        .map_err(|e| enc_err(ty, format!("{e:?}")))?;
    Ok(mem.to_vec())
}
