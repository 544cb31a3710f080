//! The transform step for an animated GIF or WebP that keeps its animation
//! ([`super::plan::animation::decide`] said so): the same checks and pixel
//! steps as a still ([`super::shape::shape`]), on every frame, streamed —
//! decode and composite one frame, shape it, encode it, drop it. The crop
//! window `smart` picks on the first frame holds for all of them, so the
//! animation does not jitter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::codec::anim::{self, GifWriter, WebpWriter};
use super::container::anim::Animation;
use super::container::meta;
use super::plan::{geometry, never_larger, OutputSettings, Plan};
use super::reply::{Reply, Stages};
use super::shape::{as_is, check_pixels, shape};
use super::{Error, ImageType};
use crate::value::MAX_QUALITY;

enum Writer {
    Gif(GifWriter),
    Webp(WebpWriter),
}

/// Every frame of `data` (an animated `ty`, described by `info`) shaped by
/// `plan` and written as an animated `out_ty` (GIF or WebP), delays and
/// loop count kept.
#[allow(clippy::too_many_arguments)]
pub(super) fn transform(
    ty: ImageType,
    data: &[u8],
    info: &Animation,
    out_ty: ImageType,
    plan: &Plan,
    out: &OutputSettings,
    stages: &mut Stages,
    cancel: &AtomicBool,
) -> Result<Reply, Error> {
    let cancelled = || cancel.load(Ordering::Relaxed);
    let orientation = if out.auto_orient {
        meta::orientation(ty, data)
    } else {
        meta::Orientation::NORMAL
    };
    let (sx, sy) = (info.width, info.height);
    if sx == 0 || sy == 0 {
        return Err(Error::UnreadableHeader(ty));
    }
    check_pixels(sx, sy, plan.max_pixels)?;
    let (dw, dh) = orientation.displayed(sx, sy);
    stages.source = (dw, dh);
    if orientation.is_normal() && out_ty == ty && as_is(plan, dw, dh, false) {
        return Ok(Reply::Original(ty));
    }
    let geo = geometry::plan_placed(
        plan.op,
        dw,
        dh,
        plan.max_width,
        plan.max_height,
        plan.angle,
        &plan.placement,
    );
    let (tw, th) = geo.pre_rotation(dw, dh);
    let target = orientation.displayed(tw, th);
    if out_ty == ImageType::Webp && plan.webp_quality == 0 {
        return Err(Error::InvalidParameter("invalid webp quality".into()));
    }
    let icc = meta::icc_profile(ty, data);

    let mut decode_us = 0u64;
    let mut resize_us = 0u64;
    let mut encode_us = 0u64;
    let mut writer: Option<Writer> = None;
    let mut window = None;
    let (mut width, mut height) = (0, 0);
    let mut clock = Instant::now();
    let frames = anim::frames(ty, data, plan.max_pixels)?;
    let mut n = 0u64;
    for frame in frames {
        let frame = frame?;
        decode_us += clock.elapsed().as_micros() as u64;
        n += 1;
        // The container's count was the limit's; the decoder must agree.
        if n > u64::from(info.frames) {
            return Err(Error::Decode {
                ty,
                reason: "more frames than the container lists".into(),
            });
        }
        if (frame.canvas.width, frame.canvas.height) != (sx, sy) {
            return Err(Error::Decode {
                ty,
                reason: "a frame's canvas differs from the header's".into(),
            });
        }
        if cancelled() {
            return Err(Error::Cancelled);
        }
        clock = Instant::now();
        let (img, used) = shape(
            frame.canvas,
            ty,
            &geo,
            target,
            orientation,
            plan,
            icc.as_deref(),
            out_ty,
            window,
        )?;
        window = window.or(used);
        resize_us += clock.elapsed().as_micros() as u64;
        clock = Instant::now();
        let w = match &mut writer {
            Some(w) => w,
            None => {
                (width, height) = (img.width, img.height);
                writer.insert(match out_ty {
                    ImageType::Webp => Writer::Webp(WebpWriter::new(
                        width,
                        height,
                        info.plays,
                        plan.webp_quality.min(MAX_QUALITY),
                    )?),
                    _ => Writer::Gif(GifWriter::new(width, height, info.plays)?),
                })
            }
        };
        match w {
            Writer::Gif(g) => g.add(&img, frame.delay_ms)?,
            Writer::Webp(g) => g.add(&img, frame.delay_ms)?,
        }
        encode_us += clock.elapsed().as_micros() as u64;
        clock = Instant::now();
    }
    stages.decode_us = decode_us;
    stages.resize_us = resize_us;
    stages.encode_us = encode_us;
    let bytes = match writer {
        None => {
            return Err(Error::Decode {
                ty,
                reason: "no frame".into(),
            })
        }
        Some(Writer::Gif(g)) => g.finish()?,
        Some(Writer::Webp(g)) => g.finish(),
    };
    let unchanged = never_larger::unchanged(&geo, orientation.is_normal());
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
        width,
        height,
    })
}
