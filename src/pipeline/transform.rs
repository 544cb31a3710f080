//! Geometry (ngx_http_image_resize's integer math), resampling, rotation, crop.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::bitmap::Bitmap;
use super::meta::Orientation;
use super::Operation;

/// What to do to a `sx`x`sy` image, computed exactly as nginx does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Resample to this size (pre-rotation) when `Some`.
    pub resize: Option<(u32, u32)>,
    /// Counter-clockwise rotation: 0, 90, 180 or 270.
    pub angle: u32,
    /// Crop (x, y, w, h) applied after rotation.
    pub crop: Option<(u32, u32, u32, u32)>,
    /// Final output size.
    pub width: u32,
    pub height: u32,
}

impl Plan {
    /// Size before rotation (the resample target, or the source size).
    pub fn pre_rotation(&self, sx: u32, sy: u32) -> (u32, u32) {
        self.resize.unwrap_or((sx, sy))
    }
}

/// `dy * max / dx`, at least 1 (nginx: `dy = dy * max / dx; dy = dy ? dy : 1;`).
fn scale(a: u64, max: u64, b: u64) -> u64 {
    let v = u128::from(a) * u128::from(max) / u128::from(b.max(1));
    (v as u64).max(1)
}

/// ngx_http_image_resize's geometry on the original (sx, sy).
pub fn plan(op: Operation, sx: u32, sy: u32, max_w: u64, max_h: u64, angle: u32) -> Plan {
    let (mut dx, mut dy) = (u64::from(sx), u64::from(sy));
    let mut resize = false;
    match op {
        Operation::Resize => {
            if dx > max_w {
                dy = scale(dy, max_w, dx);
                dx = max_w;
            }
            if dy > max_h {
                dx = scale(dx, max_h, dy);
                dy = max_h;
            }
            resize = true;
        }
        Operation::Rotate => {}
        Operation::Crop => {
            // C: (double) dx / dy < (double) max_width / max_height
            if (dx as f64 / dy.max(1) as f64) < (max_w as f64 / max_h.max(1) as f64) {
                if dx > max_w {
                    dy = scale(dy, max_w, dx);
                    dx = max_w;
                    resize = true;
                }
            } else if dy > max_h {
                dx = scale(dx, max_h, dy);
                dy = max_h;
                resize = true;
            }
        }
    }
    // Never larger than the source, so these fit in u32.
    let (dx32, dy32) = (dx.min(u64::from(sx)) as u32, dy.min(u64::from(sy)) as u32);
    let resize = (resize && (dx32, dy32) != (sx, sy)).then_some((dx32, dy32));
    let angle = match angle {
        90 | 180 | 270 => angle,
        _ => 0,
    };
    let (rw, rh) = if angle == 90 || angle == 270 {
        (dy32, dx32)
    } else {
        (dx32, dy32)
    };
    let mut crop = None;
    let (mut width, mut height) = (rw, rh);
    if op == Operation::Crop {
        let ox = if u64::from(rw) > max_w {
            rw - max_w as u32
        } else {
            0
        };
        let oy = if u64::from(rh) > max_h {
            rh - max_h as u32
        } else {
            0
        };
        if ox != 0 || oy != 0 {
            width = rw - ox;
            height = rh - oy;
            crop = Some((ox / 2, oy / 2, width, height));
        }
    }
    Plan {
        resize,
        angle,
        crop,
        width,
        height,
    }
}

/// Lanczos3 resample (alpha premultiplied for RGBA).
pub fn resample(src: Bitmap, w: u32, h: u32) -> Result<Bitmap, String> {
    if (src.width, src.height) == (w, h) {
        return Ok(src);
    }
    let pt = match src.ch {
        1 => PixelType::U8,
        3 => PixelType::U8x3,
        4 => PixelType::U8x4,
        n => return Err(format!("unsupported channel count {n}")),
    };
    let ch = src.ch;
    let s = Image::from_vec_u8(src.width, src.height, src.data, pt).map_err(|e| e.to_string())?;
    let mut d = Image::new(w, h, pt);
    let opts = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(true);
    Resizer::new()
        .resize(&s, &mut d, &opts)
        .map_err(|e| e.to_string())?;
    Ok(Bitmap {
        width: w,
        height: h,
        ch,
        data: d.into_vec(),
    })
}

/// Counter-clockwise rotation by 90, 180 or 270 degrees (image_filter rotate).
pub fn rotate(src: Bitmap, angle: u32) -> Bitmap {
    let (w, h, ch) = (src.width, src.height, src.ch);
    let (nw, nh) = match angle {
        90 | 270 => (h, w),
        180 => (w, h),
        _ => return src,
    };
    let mut data = vec![0u8; src.data.len()];
    let mut o = 0;
    for y in 0..nh {
        for x in 0..nw {
            let (sx, sy) = match angle {
                90 => (w - 1 - y, x),
                270 => (y, h - 1 - x),
                _ => (w - 1 - x, h - 1 - y),
            };
            let i = src.idx(sx, sy);
            data[o..o + ch].copy_from_slice(&src.data[i..i + ch]);
            o += ch;
        }
    }
    Bitmap {
        width: nw,
        height: nh,
        ch,
        data,
    }
}

/// Turns stored pixels the way EXIF `o` says, so they display upright
/// (orientations 5–8 swap width and height).
pub fn orient(src: Bitmap, o: Orientation) -> Bitmap {
    let (w, h, ch) = (src.width, src.height, src.ch);
    let v = o.value();
    if v == 1 {
        return src;
    }
    let (nw, nh) = o.displayed(w, h);
    let mut data = vec![0u8; src.data.len()];
    let mut out = 0;
    for dy in 0..nh {
        for dx in 0..nw {
            // Source of displayed pixel (dx, dy).
            let (sx, sy) = match v {
                2 => (w - 1 - dx, dy),         // mirror horizontal
                3 => (w - 1 - dx, h - 1 - dy), // rotate 180
                4 => (dx, h - 1 - dy),         // mirror vertical
                5 => (dy, dx),                 // transpose
                6 => (dy, h - 1 - dx),         // rotate 90 clockwise
                7 => (w - 1 - dy, h - 1 - dx), // transverse
                _ => (w - 1 - dy, dx),         // 8: rotate 90 counter-clockwise
            };
            let i = src.idx(sx, sy);
            data[out..out + ch].copy_from_slice(&src.data[i..i + ch]);
            out += ch;
        }
    }
    Bitmap {
        width: nw,
        height: nh,
        ch,
        data,
    }
}

/// Copies the (x, y, w, h) region; the caller guarantees it lies inside.
pub fn crop(src: Bitmap, x: u32, y: u32, w: u32, h: u32) -> Bitmap {
    let ch = src.ch;
    let row = w as usize * ch;
    let mut data = Vec::with_capacity(row * h as usize);
    for yy in y..y + h {
        let i = src.idx(x, yy);
        data.extend_from_slice(&src.data[i..i + row]);
    }
    Bitmap {
        width: w,
        height: h,
        ch,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const U: u64 = u64::MAX;

    fn dims(p: Plan) -> (u32, u32) {
        (p.width, p.height)
    }

    #[test]
    fn resize_geometry() {
        // landscape / portrait
        let p = plan(Operation::Resize, 800, 600, 400, 400, 0);
        assert_eq!((p.resize, dims(p)), (Some((400, 300)), (400, 300)));
        let p = plan(Operation::Resize, 600, 800, 400, 400, 0);
        assert_eq!((p.resize, dims(p)), (Some((300, 400)), (300, 400)));
        // "-" on either side
        assert_eq!(
            dims(plan(Operation::Resize, 800, 600, U, 300, 0)),
            (400, 300)
        );
        assert_eq!(
            dims(plan(Operation::Resize, 800, 600, 200, U, 0)),
            (200, 150)
        );
        // integer truncation like C, min 1
        assert_eq!(
            dims(plan(Operation::Resize, 1000, 3, 100, 100, 0)),
            (100, 1)
        );
        assert_eq!(
            dims(plan(Operation::Resize, 3, 1000, 100, 100, 0)),
            (1, 100)
        );
        assert_eq!(
            dims(plan(Operation::Resize, 333, 222, 100, 100, 0)),
            (100, 66)
        );
        // never enlarge
        let p = plan(Operation::Resize, 50, 40, 400, 400, 0);
        assert_eq!((p.resize, dims(p)), (None, (50, 40)));
    }

    #[test]
    fn crop_geometry() {
        // dx/dy < max ratio: fit width, then crop height
        let p = plan(Operation::Crop, 600, 800, 200, 100, 0);
        assert_eq!(p.resize, Some((200, 266)));
        assert_eq!(p.crop, Some((0, 83, 200, 100)));
        assert_eq!(dims(p), (200, 100));
        // else branch: fit height, crop width
        let p = plan(Operation::Crop, 800, 400, 100, 100, 0);
        assert_eq!(p.resize, Some((200, 100)));
        assert_eq!(p.crop, Some((50, 0, 100, 100)));
        // no resize needed but crop
        let p = plan(Operation::Crop, 150, 80, 100, 100, 0);
        assert_eq!(p.resize, None);
        assert_eq!(p.crop, Some((25, 0, 100, 80)));
        // "-" sides
        // "-" sides: nginx's ratio test never resizes the unlimited side,
        // it crops the limited one
        let p = plan(Operation::Crop, 800, 600, U, 300, 0);
        assert_eq!(p.resize, None);
        assert_eq!(p.crop, Some((0, 150, 800, 300)));
        let p = plan(Operation::Crop, 800, 600, 100, U, 0);
        assert_eq!(p.resize, None);
        assert_eq!(p.crop, Some((350, 0, 100, 600)));
        // smaller: nothing
        let p = plan(Operation::Crop, 50, 50, 100, 100, 0);
        assert_eq!((p.resize, p.crop), (None, None));
    }

    #[test]
    fn rotate_geometry() {
        for (a, d) in [(90, (60, 80)), (180, (80, 60)), (270, (60, 80))] {
            let p = plan(Operation::Rotate, 80, 60, 0, 0, a);
            assert_eq!((p.resize, p.crop, p.angle, dims(p)), (None, None, a, d));
        }
        // rotate + resize
        let p = plan(Operation::Resize, 800, 600, 400, 400, 90);
        assert_eq!((p.resize, dims(p)), (Some((400, 300)), (300, 400)));
        // rotate + crop: crop uses the rotated dims
        let p = plan(Operation::Crop, 800, 400, 100, 100, 90);
        assert_eq!(p.resize, Some((200, 100)));
        assert_eq!(p.crop, Some((0, 50, 100, 100)));
        let p = plan(Operation::Crop, 800, 400, 300, 150, 270);
        // 800/400=2 >= 2 -> fit height: 300x150, rotated 150x300, crop h to 150
        assert_eq!(p.resize, Some((300, 150)));
        assert_eq!(p.crop, Some((0, 75, 150, 150)));
    }

    fn numbered(w: u32, h: u32) -> Bitmap {
        let data = (0..w * h).map(|i| i as u8).collect();
        Bitmap {
            width: w,
            height: h,
            ch: 1,
            data,
        }
    }

    #[test]
    fn rotate_pixels_ccw() {
        // 3x2: [0 1 2; 3 4 5]
        let b = numbered(3, 2);
        // CCW 90: top-right (2) goes to top-left
        assert_eq!(rotate(b.clone(), 90).data, vec![2, 5, 1, 4, 0, 3]);
        assert_eq!(rotate(b.clone(), 180).data, vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(rotate(b.clone(), 270).data, vec![3, 0, 4, 1, 5, 2]);
        let c = crop(numbered(4, 4), 1, 1, 2, 2);
        assert_eq!(c.data, vec![5, 6, 9, 10]);
    }

    #[test]
    fn orient_all_eight() {
        // stored 3x2: [0 1 2; 3 4 5]
        let b = numbered(3, 2);
        let o = |v| orient(b.clone(), Orientation::new(v));
        assert_eq!(o(1).data, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(o(2).data, vec![2, 1, 0, 5, 4, 3]);
        assert_eq!(o(3).data, vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(o(4).data, vec![3, 4, 5, 0, 1, 2]);
        assert_eq!(o(5).data, vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(o(6).data, vec![3, 0, 4, 1, 5, 2]);
        assert_eq!(o(7).data, vec![5, 2, 4, 1, 3, 0]);
        assert_eq!(o(8).data, vec![2, 5, 1, 4, 0, 3]);
        for v in 5..=8 {
            assert_eq!((o(v).width, o(v).height), (2, 3));
        }
        // 6 is a clockwise turn: the opposite of image_filter's rotate 90.
        assert_eq!(o(6).data, rotate(b.clone(), 270).data);
        for v in 1..=8 {
            let ov = Orientation::new(v);
            assert_eq!(orient(o(v), ov.inverse()), b, "inverse of {v}");
        }
    }
}
