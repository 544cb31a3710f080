//! Encoding in the source format.

use image::codecs::gif::GifEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::bitmap::Bitmap;
use super::{Error, ImageType};

/// Encoder settings taken from the job.
#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    pub jpeg_quality: u32,
    pub webp_quality: u32,
    pub interlace: bool,
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
        ImageType::Png => encode_png(img),
        ImageType::Gif => encode_gif(img),
        ImageType::Webp => encode_webp(img, opt.webp_quality),
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

/// image's PNG encoder. Interlaced (Adam7) output is not supported by it, so
/// `image_filter_interlace` is ignored for PNG.
pub fn encode_png(img: &Bitmap) -> Result<Vec<u8>, Error> {
    let ty = ImageType::Png;
    let ct = match img.ch {
        1 => ExtendedColorType::L8,
        3 => ExtendedColorType::Rgb8,
        _ => ExtendedColorType::Rgba8,
    };
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&img.data, img.width, img.height, ct)
        .map_err(|e| enc_err(ty, e))?;
    Ok(out)
}

/// image's GIF encoder (NeuQuant to 256 colours); alpha 0 becomes the transparent index.
pub fn encode_gif(img: &Bitmap) -> Result<Vec<u8>, Error> {
    let ty = ImageType::Gif;
    dims_u16(ty, img)?;
    let rgba = img.to_rgba();
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.encode(&rgba, img.width, img.height, ExtendedColorType::Rgba8)
            .map_err(|e| enc_err(ty, e))?;
    }
    Ok(out)
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
