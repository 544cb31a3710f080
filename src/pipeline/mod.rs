//! The image pipeline: sniff → header/limits → decode → transform → encode.
//!
//! Mirrors nginx 1.28's `ngx_http_image_filter_module` (ngx_http_image_test,
//! ngx_http_image_size, ngx_http_image_process, ngx_http_image_resize) with
//! pure-Rust / bundled codecs instead of libgd. Pure: no `ngx`, no `unsafe`,
//! no clock or environment, every failure is an [`Error`] value.

pub mod avif;
mod bitmap;
mod color;
pub mod convert;
mod decode;
mod encode;
mod error;
#[cfg(any(test, feature = "gen"))]
pub mod gen;
mod json;
pub mod meta;
mod palette;
mod png_write;
mod run;
mod sharpen;
mod sniff;
mod transform;

#[cfg(test)]
mod tests;

pub use bitmap::Bitmap;
pub use encode::{
    encode, encode_avif_with, encode_webp_with, EncodeOptions, DEFAULT_AVIF_QUALITY,
    DEFAULT_AVIF_SPEED,
};
pub use error::Error;
pub use json::size_json;
pub use run::{is_cheap, run, run_cancellable, run_staged, Reply, Settings, Stages};
pub use sniff::{read_header, sniff, Header};

/// The four formats image_filter understands, and AVIF — output only:
/// [`sniff`] never answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Gif,
    Png,
    Webp,
    Avif,
}

impl ImageType {
    /// MIME type for Content-Type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Gif => "image/gif",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
            ImageType::Avif => "image/avif",
        }
    }

    /// Short name, as in the `size` JSON.
    pub fn name(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpeg",
            ImageType::Gif => "gif",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
            ImageType::Avif => "avif",
        }
    }
}

impl std::fmt::Display for ImageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The geometry of the transforming modes of [`Mode`] (`test`, `size` and
/// `off` never reach the transform step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Rotate,
    Resize,
    Crop,
}

/// Validated transform parameters (built by [`run`] from [`Settings`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub op: Operation,
    /// `u64::MAX` means "-" (unlimited); never 0.
    pub max_width: u64,
    pub max_height: u64,
    /// 0, 90, 180 or 270, counter-clockwise. Other values are treated as 0.
    pub angle: u32,
    /// 1..=100 (values above 100 are clamped); 0 = invalid, an error only
    /// when a JPEG is actually encoded (image_filter checks it that late).
    pub jpeg_quality: u32,
    /// As `jpeg_quality`, for WebP.
    pub webp_quality: u32,
    /// Percent, 0 = off.
    pub sharpen: u32,
    pub transparency: bool,
    pub interlace: bool,
    /// Refuse `width * height > max_pixels` before decoding any pixel.
    pub max_pixels: u64,
}

/// Result of [`process`] (the transform step of [`run`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send the original bytes unchanged.
    AsIs,
    /// Send these bytes (same format as the input).
    Encoded {
        ty: ImageType,
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    },
}

fn check_pixels(w: u32, h: u32, max: u64) -> Result<(), Error> {
    let (w, h) = (u64::from(w), u64::from(h));
    if u128::from(w) * u128::from(h) > u128::from(max) {
        return Err(Error::TooManyPixels {
            width: w,
            height: h,
            max,
        });
    }
    Ok(())
}

/// nginx's as-is condition (never for Rotate, which always carries an angle).
fn as_is(job: &Job, w: u32, h: u32, force: bool) -> bool {
    match job.op {
        Operation::Rotate => job.angle == 0,
        Operation::Resize | Operation::Crop => {
            !force
                && rotation(job.angle) == 0
                && u64::from(w) <= job.max_width
                && u64::from(h) <= job.max_height
        }
    }
}

fn rotation(angle: u32) -> u32 {
    match angle {
        90 | 180 | 270 => angle,
        _ => 0,
    }
}

/// ngx_http_image_process + ngx_http_image_resize.
pub fn process(data: &[u8], job: &Job) -> Result<Outcome, Error> {
    process_as(data, job, None)
}

/// [`process`], but the result is written as PNG whatever the input: the
/// pipeline's pixels without the output codec's loss (fidelity benchmarks).
pub fn process_lossless(data: &[u8], job: &Job) -> Result<Outcome, Error> {
    process_as(data, job, Some(ImageType::Png))
}

fn process_as(data: &[u8], job: &Job, out_ty: Option<ImageType>) -> Result<Outcome, Error> {
    let ty = sniff(data).ok_or_else(|| Error::not_an_image(data))?;
    let mut stages = Stages::default();
    transform_image(
        ty,
        data,
        job,
        &convert::OutputSettings::default(),
        out_ty,
        &mut stages,
        &std::sync::atomic::AtomicBool::new(false),
    )
}

/// The transform step for a body already sniffed as `ty`: image_filter's
/// process/resize plus the output format, EXIF auto-orientation and ICC →
/// sRGB ([`convert::OutputSettings`]). `lossless` overrides the output type
/// (PNG for the fidelity benchmarks).
///
/// Order: limits (on the displayed size) → decode (shrink-on-load target in
/// stored orientation) → resample → orient → rotate → crop → ICC → sRGB →
/// sharpen → encode (palette kept for palette input written as PNG/GIF; no
/// metadata is ever written).
fn transform_image(
    ty: ImageType,
    data: &[u8],
    job: &Job,
    out: &convert::OutputSettings,
    lossless: Option<ImageType>,
    stages: &mut Stages,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Outcome, Error> {
    let cancelled = || cancel.load(std::sync::atomic::Ordering::Relaxed);
    let hdr = read_header(ty, data);
    let force = hdr.is_some_and(|h| h.force);
    let orientation = if out.auto_orient {
        meta::orientation(ty, data)
    } else {
        meta::Orientation::NORMAL
    };
    if let Some(h) = hdr {
        stages.source = orientation.displayed(h.width, h.height);
    }
    let out_ty = lossless.unwrap_or_else(|| {
        convert::output_type(out.token, ty, out.negotiated, meta::is_animated(ty, data))
    });
    // Sent as is only when image_filter would and nothing else must change.
    let keep = |w: u32, h: u32| {
        let (w, h) = orientation.displayed(w, h);
        orientation.is_normal() && out_ty == ty && as_is(job, w, h, force)
    };
    if let Some(h) = hdr {
        // image_filter reads only 16 bits of PNG dimensions; the limit uses all 32.
        let (lw, lh) = match (ty, data.get(16..24)) {
            (ImageType::Png, Some(d)) => (
                u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            ),
            _ => (h.width, h.height),
        };
        check_pixels(lw, lh, job.max_pixels)?;
        if keep(h.width, h.height) {
            return Ok(Outcome::AsIs);
        }
    }

    // The box applies to the displayed image; the decoder works on the stored one.
    let plan_for = |sw: u32, sh: u32| {
        let (dw, dh) = orientation.displayed(sw, sh);
        transform::plan(job.op, dw, dh, job.max_width, job.max_height, job.angle)
    };
    let stored_target = |sw: u32, sh: u32| {
        let (dw, dh) = orientation.displayed(sw, sh);
        let (tw, th) = plan_for(sw, sh).pre_rotation(dw, dh);
        orientation.displayed(tw, th) // 5–8 swap back
    };
    // The decoder reports its own full size first: limit check and the
    // target size for JPEG shrink-on-load happen before pixel decoding.
    let target = |w: u32, h: u32| -> Result<(u32, u32), Error> {
        check_pixels(w, h, job.max_pixels)?;
        Ok(stored_target(w, h))
    };
    let clock = std::time::Instant::now();
    let decoded = decode::decode(ty, data, job.max_pixels, &target);
    stages.decode_us = clock.elapsed().as_micros() as u64;
    let dec = match decoded {
        Ok(d) => d,
        // Neither the header shortcut nor the decoder could make sense of it.
        Err(Error::Decode { .. }) if hdr.is_none() => return Err(Error::UnreadableHeader(ty)),
        Err(e) => return Err(e),
    };
    let (sx, sy) = (dec.orig_width, dec.orig_height);
    if sx == 0 || sy == 0 {
        return Err(Error::UnreadableHeader(ty));
    }
    // Second as-is check, on the decoder's dimensions (top of ngx_http_image_resize).
    if keep(sx, sy) {
        return Ok(Outcome::AsIs);
    }

    stages.source = orientation.displayed(sx, sy);
    if cancelled() {
        return Err(Error::Cancelled);
    }
    let clock = std::time::Instant::now();
    let mut img: Bitmap = dec.bitmap;
    if img.ch == 4 && dec.palette && (!job.transparency || !img.has_transparency()) {
        // `transparency off` drops a palette image's transparent colour (the
        // RGB underneath stays); an opaque palette image needs no alpha either.
        img = img.drop_alpha();
    }

    let plan = plan_for(sx, sy);
    let (tw, th) = stored_target(sx, sy);
    if (img.width, img.height) != (tw, th) {
        img = transform::resample(img, tw, th).map_err(|reason| Error::Decode { ty, reason })?;
    }
    img = transform::orient(img, orientation);
    if plan.angle != 0 {
        img = transform::rotate(img, plan.angle);
    }
    if let Some((x, y, w, h)) = plan.crop {
        img = transform::crop(img, x, y, w, h);
    }
    if let Some(icc) = meta::icc_profile(ty, data) {
        color::to_srgb(&mut img, &icc);
    }
    if job.sharpen > 0 {
        sharpen::sharpen(&mut img, job.sharpen);
    }
    stages.resize_us = clock.elapsed().as_micros() as u64;
    if cancelled() {
        return Err(Error::Cancelled);
    }

    let quality_ok = match out_ty {
        ImageType::Jpeg => job.jpeg_quality > 0,
        ImageType::Webp => job.webp_quality > 0,
        ImageType::Gif | ImageType::Png | ImageType::Avif => true,
    };
    if !quality_ok {
        return Err(Error::InvalidParameter(format!(
            "invalid {} quality",
            out_ty.name()
        )));
    }
    let opts = EncodeOptions {
        jpeg_quality: job.jpeg_quality.min(100),
        webp_quality: job.webp_quality.min(100),
        avif_quality: out.avif_quality,
        avif_speed: out.avif_speed,
        interlace: job.interlace,
        palette: dec.palette,
    };
    let clock = std::time::Instant::now();
    let bytes = encode::encode(out_ty, &img, &opts);
    stages.encode_us = clock.elapsed().as_micros() as u64;
    let bytes = bytes?;
    Ok(Outcome::Encoded {
        ty: out_ty,
        bytes,
        width: img.width,
        height: img.height,
    })
}
