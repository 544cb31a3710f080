//! The checks and pixel steps a still and every frame of an animation
//! share: the pixel limit, image_filter's as-is condition, and [`shape`]
//! (everything between decoding and encoding).

use super::container::meta;
use super::ops::{color, sharpen, smartcrop, transform, Bitmap};
use super::plan::{geometry, Operation, Plan};
use super::{Error, ImageType};

pub(super) fn check_pixels(w: u32, h: u32, max: u64) -> Result<(), Error> {
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
pub(super) fn as_is(plan: &Plan, w: u32, h: u32, force: bool) -> bool {
    match plan.op {
        Operation::Rotate => plan.angle == 0,
        Operation::Resize | Operation::Crop => {
            !force
                && rotation(plan.angle) == 0
                && u64::from(w) <= plan.max_width
                && u64::from(h) <= plan.max_height
        }
        // Exactly the box already: nothing to fit or fill.
        Operation::Pad => {
            !force
                && rotation(plan.angle) == 0
                && u64::from(w) == plan.max_width
                && u64::from(h) == plan.max_height
        }
    }
}

fn rotation(angle: u32) -> u32 {
    match angle {
        90 | 180 | 270 => angle,
        _ => 0,
    }
}

/// The pixel steps between decoding and encoding, on one decoded image
/// (or one frame of an animation): resample to `target` (stored
/// orientation) → orient → rotate → crop (`smart` chooses its window here,
/// unless `window` gives it: every frame of an animation takes the first
/// frame's) → ICC → sRGB → sharpen → pad. Returns the image and the crop
/// window used.
#[allow(clippy::too_many_arguments)]
pub(super) fn shape(
    mut img: Bitmap,
    ty: ImageType,
    geo: &geometry::Geometry,
    target: (u32, u32),
    orientation: meta::Orientation,
    plan: &Plan,
    icc: Option<&[u8]>,
    out_ty: ImageType,
    window: Option<(u32, u32)>,
) -> Result<(Bitmap, Option<(u32, u32)>), Error> {
    let (tw, th) = target;
    if (img.width, img.height) != (tw, th) {
        img = transform::resample(img, tw, th).map_err(|reason| Error::Decode { ty, reason })?;
    }
    img = transform::orient(img, orientation);
    if geo.angle != 0 {
        img = transform::rotate(img, geo.angle);
    }
    let mut used = None;
    if let Some((x, y, w, h)) = geo.crop {
        // `smart` looks at the pixels the crop would cut.
        let (x, y) = match window {
            Some(at) => at,
            None if plan.placement.is_smart() => smartcrop::window(&img, w, h),
            None => (x, y),
        };
        used = Some((x, y));
        img = transform::crop(img, x, y, w, h);
    }
    if let Some(icc) = icc {
        color::to_srgb(&mut img, icc);
    }
    if plan.sharpen > 0 {
        sharpen::sharpen(&mut img, plan.sharpen);
    }
    // Last: the colour is sRGB already, and the bars' edge is not sharpened.
    if let Some((x, y, w, h)) = geo.pad {
        let alpha = !matches!(out_ty, ImageType::Jpeg);
        img = transform::pad(img, x, y, w, h, plan.placement.pad_color, alpha);
    }
    Ok((img, used))
}
