//! ngx_http_image_resize's integer math: what a resize, crop or rotate does
//! to a `sx`x`sy` image, decided before any pixel is touched.

use super::Operation;

/// What to do to a `sx`x`sy` image, computed exactly as nginx does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
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

impl Geometry {
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
pub fn plan(op: Operation, sx: u32, sy: u32, max_w: u64, max_h: u64, angle: u32) -> Geometry {
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
    Geometry {
        resize,
        angle,
        crop,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const U: u64 = u64::MAX;

    fn dims(p: Geometry) -> (u32, u32) {
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
}
