//! The engine: the whole body and one request's [`Settings`] in, the
//! [`Reply`] out. It sniffs once and handles every mode, so the nginx glue
//! only accumulates, posts this to a thread, and sends the result. `Send`
//! and pure: it runs on an nginx thread-pool thread.
//!
//! Mirrors ngx_http_image_body_filter's work after the body is complete:
//! ngx_http_image_test, ngx_http_image_size, ngx_http_image_process and
//! ngx_http_image_resize.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::animate;
use super::codec::encode::{self, EncodeOptions};
use super::codec::{decode, placeholder};
use super::container::embed::{self, Kept, Metadata};
use super::container::{anim, meta, read_header, sniff};
use super::json;
use super::ops::{color, transform, Bitmap};
use super::plan::{
    animation, geometry, never_larger, output_type, web_safe_type, Operation, OutputSettings,
    Placement, Plan, Settings,
};
use super::reply::{Reply, Stages};
use super::shape::{as_is, check_pixels, shape};
use super::{Error, ImageType};
use crate::negotiate::Token;
use crate::value::{Mode, MAX_QUALITY};

/// Does `settings.mode` need the decoder (and so a thread)? `test` and `size`
/// read a few header bytes only.
pub fn is_cheap(mode: Mode) -> bool {
    matches!(mode, Mode::Test | Mode::Size | Mode::Off)
}

/// The pipeline's one entry: ngx_http_image_body_filter's work after the
/// body is complete, for every mode. Records where the time went in
/// `stages`, and gives up with [`Error::Cancelled`] between stages (before
/// decoding, before resampling, before encoding) once `cancel` is set: the
/// request it works for is gone.
pub fn run(
    body: &[u8],
    s: &Settings,
    stages: &mut Stages,
    cancel: &AtomicBool,
) -> Result<Reply, Error> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let Some(ty) = sniff(body) else {
        if s.mode == Mode::Size {
            return Ok(Reply::Json(json::size_json(None)));
        }
        return Err(Error::not_an_image(body));
    };
    // The dimensions as displayed, the box resize and crop fit into, for the
    // modes that stop here (transform_image reports its own).
    let displayed = || {
        read_header(ty, body).map(|hd| {
            if s.auto_orient {
                meta::orientation(ty, body).displayed(hd.width, hd.height)
            } else {
                (hd.width, hd.height)
            }
        })
    };
    match s.mode {
        Mode::Off | Mode::Test => {
            stages.source = displayed().unwrap_or((0, 0));
            return Ok(Reply::Original(ty));
        }
        Mode::Size => {
            let info = displayed();
            stages.source = info.unwrap_or((0, 0));
            let frames = anim::probe(ty, body).map(|a| a.frames);
            return Ok(Reply::Json(json::size_json_frames(
                info.map(|(w, h)| (ty, w, h)),
                frames,
            )));
        }
        Mode::Placeholder => return placeholder(ty, body, s, stages, cancel),
        Mode::Rotate | Mode::Resize | Mode::Crop | Mode::Pad => {}
    }
    let (plan, out) = s.plan()?;
    if let Some(info) = anim::probe(ty, body) {
        let decision = animation::decide(&out.animation, &info, out.token, ty, out.negotiated)?;
        if let animation::Decision::Animate(out_ty) = decision {
            return animate::transform(ty, body, &info, out_ty, &plan, &out, stages, cancel);
        }
    }
    transform_image(ty, body, &plan, &out, None, stages, cancel)
}

/// `placeholder`: the image decoded at the smallest scale that still fills
/// [`placeholder::MAX_SIDE`] (JPEG 1/8, a progressive JPEG from its DC
/// scans), shrunk to fit it, oriented and in sRGB, then hashed.
fn placeholder(
    ty: ImageType,
    data: &[u8],
    s: &Settings,
    stages: &mut Stages,
    cancel: &AtomicBool,
) -> Result<Reply, Error> {
    let side = u64::from(placeholder::MAX_SIDE);
    let orientation = if s.auto_orient {
        meta::orientation(ty, data)
    } else {
        meta::Orientation::NORMAL
    };
    if let Some(h) = read_header(ty, data) {
        check_pixels(h.width, h.height, s.max_pixels)?;
        stages.source = orientation.displayed(h.width, h.height);
    }
    // The displayed image fits the box; the decoder works on the stored one.
    let fit = |sw: u32, sh: u32| {
        let (dw, dh) = orientation.displayed(sw, sh);
        let g = geometry::plan_placed(
            Operation::Resize,
            dw,
            dh,
            side,
            side,
            0,
            &Placement::default(),
        );
        let (tw, th) = g.pre_rotation(dw, dh);
        orientation.displayed(tw, th)
    };
    let target = |w: u32, h: u32| -> Result<(u32, u32), Error> {
        check_pixels(w, h, s.max_pixels)?;
        Ok(fit(w, h))
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let clock = Instant::now();
    let decoded = decode::decode(ty, data, s.max_pixels, &target, false);
    stages.decode_us = clock.elapsed().as_micros() as u64;
    let dec = match decoded {
        Ok(d) => d,
        Err(Error::Decode { .. }) if read_header(ty, data).is_none() => {
            return Err(Error::UnreadableHeader(ty))
        }
        Err(e) => return Err(e),
    };
    let (sx, sy) = (dec.orig_width, dec.orig_height);
    if sx == 0 || sy == 0 {
        return Err(Error::UnreadableHeader(ty));
    }
    stages.source = orientation.displayed(sx, sy);
    let clock = Instant::now();
    let mut img = dec.bitmap;
    let (tw, th) = fit(sx, sy);
    if (img.width, img.height) != (tw, th) {
        img = transform::resample(img, tw, th).map_err(|reason| Error::Decode { ty, reason })?;
    }
    img = transform::orient(img, orientation);
    if let Some(icc) = meta::icc_profile(ty, data) {
        color::to_srgb(&mut img, &icc);
    }
    stages.resize_us = clock.elapsed().as_micros() as u64;
    let clock = Instant::now();
    let (w, h) = stages.source;
    let json = placeholder::json(&img, ty, w, h);
    stages.encode_us = clock.elapsed().as_micros() as u64;
    Ok(Reply::Json(json))
}

/// ngx_http_image_process + ngx_http_image_resize (tests).
#[cfg(any(test, feature = "gen"))]
pub fn process(data: &[u8], plan: &Plan) -> Result<Reply, Error> {
    process_as(data, plan, &OutputSettings::default(), None)
}

/// [`process`], but the result is written as PNG whatever the input: the
/// pipeline's pixels without the output codec's loss (irs-tool, for the
/// fidelity benchmarks).
#[cfg(any(test, feature = "gen"))]
pub fn process_lossless(data: &[u8], plan: &Plan) -> Result<Reply, Error> {
    process_as(data, plan, &OutputSettings::default(), Some(ImageType::Png))
}

/// [`process`] with an output format, auto-orientation and sRGB conversion
/// (what [`run`] does for the transforming modes).
#[cfg(test)]
pub(crate) fn process_with(data: &[u8], plan: &Plan, out: &OutputSettings) -> Result<Reply, Error> {
    process_as(data, plan, out, None)
}

#[cfg(any(test, feature = "gen"))]
fn process_as(
    data: &[u8],
    plan: &Plan,
    out: &OutputSettings,
    lossless: Option<ImageType>,
) -> Result<Reply, Error> {
    let ty = sniff(data).ok_or_else(|| Error::not_an_image(data))?;
    transform_image(
        ty,
        data,
        plan,
        out,
        lossless,
        &mut Stages::default(),
        &AtomicBool::new(false),
    )
}

/// The transform step for a body already sniffed as `ty`: image_filter's
/// process/resize plus the output format, EXIF auto-orientation and ICC →
/// sRGB ([`OutputSettings`]). `lossless` overrides the output type (PNG
/// for the fidelity benchmarks); decoding still plans for the nominal one.
///
/// Order: limits (on the displayed size) → decode (shrink-on-load target in
/// stored orientation) → resample → orient → rotate → crop (`smart` chooses
/// its window here) → ICC → sRGB → sharpen → pad → encode (palette kept
/// for palette input written as PNG/GIF; the metadata
/// `image_resize_rs_metadata` keeps written in, [`embed`]) → the
/// original instead, if the new image only re-encodes it and is bigger
/// ([`never_larger`]).
fn transform_image(
    ty: ImageType,
    data: &[u8],
    plan: &Plan,
    out: &OutputSettings,
    lossless: Option<ImageType>,
    stages: &mut Stages,
    cancel: &AtomicBool,
) -> Result<Reply, Error> {
    let cancelled = || cancel.load(Ordering::Relaxed);
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
    let nominal_ty = output_type(out.token, ty, out.negotiated, meta::is_animated(ty, data));
    // "original" for a format not every client takes: JPEG, or PNG for alpha.
    let nominal_ty = if out.token == Token::Orig {
        web_safe_type(nominal_ty, meta::has_alpha(ty, data))
    } else {
        nominal_ty
    };
    let out_ty = lossless.unwrap_or(nominal_ty);
    // Sent as is only when image_filter would and nothing else must change.
    let keep = |w: u32, h: u32| {
        let (w, h) = orientation.displayed(w, h);
        orientation.is_normal() && out_ty == ty && as_is(plan, w, h, force)
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
        check_pixels(lw, lh, plan.max_pixels)?;
        if keep(h.width, h.height) {
            return Ok(Reply::Original(ty));
        }
    }

    // The box applies to the displayed image; the decoder works on the stored one.
    let plan_for = |sw: u32, sh: u32| {
        let (dw, dh) = orientation.displayed(sw, sh);
        geometry::plan_placed(
            plan.op,
            dw,
            dh,
            plan.max_width,
            plan.max_height,
            plan.angle,
            &plan.placement,
        )
    };
    let stored_target = |sw: u32, sh: u32| {
        let (dw, dh) = orientation.displayed(sw, sh);
        let (tw, th) = plan_for(sw, sh).pre_rotation(dw, dh);
        orientation.displayed(tw, th) // 5–8 swap back
    };
    // The decoder reports its own full size first: limit check and the
    // target size for JPEG shrink-on-load happen before pixel decoding.
    let target = |w: u32, h: u32| -> Result<(u32, u32), Error> {
        check_pixels(w, h, plan.max_pixels)?;
        Ok(stored_target(w, h))
    };
    let clock = Instant::now();
    // JPEG, WebP (VP8) and AVIF are all written with 4:2:0 chroma here. The
    // nominal type decides, so that `lossless` shows the pixels the lossy
    // output would have been made of.
    let half_chroma = matches!(
        nominal_ty,
        ImageType::Jpeg | ImageType::Webp | ImageType::Avif
    );
    let decoded = decode::decode(ty, data, plan.max_pixels, &target, half_chroma);
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
        return Ok(Reply::Original(ty));
    }

    stages.source = orientation.displayed(sx, sy);
    if cancelled() {
        return Err(Error::Cancelled);
    }
    let clock = Instant::now();
    let mut img: Bitmap = dec.bitmap;
    if img.ch == 4 && dec.palette && (!plan.transparency || !img.has_transparency()) {
        // `transparency off` drops a palette image's transparent colour (the
        // RGB underneath stays); an opaque palette image needs no alpha either.
        img = img.drop_alpha();
    }

    let geo = plan_for(sx, sy);
    let icc = meta::icc_profile(ty, data);
    let target = stored_target(sx, sy);
    img = shape(
        img,
        ty,
        &geo,
        target,
        orientation,
        plan,
        icc.as_deref(),
        out_ty,
        None,
    )?
    .0;
    stages.resize_us = clock.elapsed().as_micros() as u64;
    if cancelled() {
        return Err(Error::Cancelled);
    }

    let quality_ok = match out_ty {
        ImageType::Jpeg => plan.jpeg_quality > 0,
        ImageType::Webp => plan.webp_quality > 0,
        ImageType::Gif | ImageType::Png | ImageType::Avif | ImageType::Jxl | ImageType::Heic => {
            true
        }
    };
    if !quality_ok {
        return Err(Error::InvalidParameter(format!(
            "invalid {} quality",
            out_ty.name()
        )));
    }
    let opts = EncodeOptions {
        jpeg_quality: plan.jpeg_quality.min(MAX_QUALITY),
        webp_quality: plan.webp_quality.min(MAX_QUALITY),
        avif_quality: out.avif_quality,
        avif_speed: out.avif_speed,
        interlace: plan.interlace,
        palette: dec.palette,
    };
    // Not for `lossless` either: its yardstick is the pixels.
    let kept = match out.metadata.keep {
        Metadata::None => Kept::default(),
        _ if lossless.is_some() => Kept::default(),
        _ => Kept::from_source(ty, data, out.metadata),
    };
    let clock = Instant::now();
    let bytes = match (out_ty, &kept.exif) {
        // AVIF's EXIF is an item the muxer writes.
        (ImageType::Avif, Some(exif)) => {
            encode::encode_avif_exif(&img, out.avif_quality, out.avif_speed, exif)
        }
        _ => encode::encode(out_ty, &img, &opts),
    };
    stages.encode_us = clock.elapsed().as_micros() as u64;
    let bytes = embed::embed(out_ty, bytes?, &kept, img.width, img.height);
    // Not for `lossless` (irs-tool's yardstick wants the pixels).
    let unchanged = lossless.is_none() && never_larger::unchanged(&geo, orientation.is_normal());
    if never_larger::send_original(ty, data.len(), bytes.len(), unchanged, out) {
        return Ok(Reply::OriginalSmaller {
            ty,
            made: out_ty,
            made_len: bytes.len(),
        });
    }
    Ok(Reply::Image {
        ty: out_ty,
        bytes,
        width: img.width,
        height: img.height,
    })
}
