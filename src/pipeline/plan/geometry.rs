//! ngx_http_image_resize's integer math: what a resize, crop or rotate does
//! to a `sx`x`sy` image, decided before any pixel is touched; and where
//! `crop`'s window and `pad`'s image sit ([`plan_placed`]).

use super::{Operation, Placement};
use crate::value::Focus;

/// What to do to a `sx`x`sy` image, computed exactly as nginx does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Resample to this size (pre-rotation) when `Some`.
    pub resize: Option<(u32, u32)>,
    /// Counter-clockwise rotation: 0, 90, 180 or 270.
    pub angle: u32,
    /// Crop (x, y, w, h) applied after rotation.
    pub crop: Option<(u32, u32, u32, u32)>,
    /// `pad`: the image goes at (x, y) of a (w, h) canvas, after rotation.
    pub pad: Option<(u32, u32, u32, u32)>,
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

/// ngx_http_image_resize's geometry on the original (sx, sy), crops
/// centred as image_filter's.
#[cfg(test)]
pub fn plan(op: Operation, sx: u32, sy: u32, max_w: u64, max_h: u64, angle: u32) -> Geometry {
    plan_placed(op, sx, sy, max_w, max_h, angle, &Placement::default())
}

/// [`plan`] with a [`Placement`]: the crop window at the gravity's side or
/// around the focus point (`smart` is centred here; the engine moves it
/// once it has the pixels), and `pad`'s image at the gravity's side of its
/// canvas. The centre is image_filter's integer math, bit for bit.
pub fn plan_placed(
    op: Operation,
    sx: u32,
    sy: u32,
    max_w: u64,
    max_h: u64,
    angle: u32,
    place: &Placement,
) -> Geometry {
    let (mut dx, mut dy) = (u64::from(sx), u64::from(sy));
    let mut resize = false;
    let angle = match angle {
        90 | 180 | 270 => angle,
        _ => 0,
    };
    // pad fits the rotated image into the box: the box turns with it.
    let (fit_w, fit_h) = match (op, angle) {
        (Operation::Pad, 90 | 270) => (max_h, max_w),
        _ => (max_w, max_h),
    };
    match op {
        Operation::Resize | Operation::Pad => {
            let (max_w, max_h) = (fit_w, fit_h);
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
            let (x, y) = match place.focus {
                Some(f) => {
                    let f = turned(f, angle);
                    (around(f.x, rw, width), around(f.y, rh, height))
                }
                None => at(place.gravity.halves(), ox, oy),
            };
            crop = Some((x, y, width, height));
        }
    }
    let mut pad = None;
    if op == Operation::Pad {
        // Settings::plan keeps the box within max_pixels, so within u32.
        let (bw, bh) = (
            max_w.min(u64::from(u32::MAX)) as u32,
            max_h.min(u64::from(u32::MAX)) as u32,
        );
        let (fx, fy) = (bw.saturating_sub(rw), bh.saturating_sub(rh));
        if fx != 0 || fy != 0 {
            let (x, y) = at(place.gravity.halves(), fx, fy);
            pad = Some((x, y, bw, bh));
            (width, height) = (bw, bh);
        }
    }
    Geometry {
        resize,
        angle,
        crop,
        pad,
        width,
        height,
    }
}

/// The offset of a window with `free` pixels to spare on each axis, at
/// `halves` of the spare (0, 1 or 2 halves): `free / 2` for the centre,
/// as image_filter's crop.
fn at((hx, hy): (u32, u32), free_x: u32, free_y: u32) -> (u32, u32) {
    let side = |h: u32, free: u32| match h {
        0 => 0,
        1 => free / 2,
        _ => free,
    };
    (side(hx, free_x), side(hy, free_y))
}

/// The offset of a `win`-pixel window centred on the fraction `f` of a
/// `len`-pixel side, clamped inside it.
fn around(f: u32, len: u32, win: u32) -> u32 {
    let centre =
        (u64::from(f) * u64::from(len) + u64::from(Focus::ONE / 2)) / u64::from(Focus::ONE);
    (centre.saturating_sub(u64::from(win / 2)) as u32).min(len - win)
}

/// A focus point of the image as displayed, on the image turned
/// counter-clockwise by `angle` (image_filter's rotate).
fn turned(f: Focus, angle: u32) -> Focus {
    let flip = |v: u32| Focus::ONE - v;
    match angle {
        90 => Focus {
            x: f.y,
            y: flip(f.x),
        },
        180 => Focus {
            x: flip(f.x),
            y: flip(f.y),
        },
        270 => Focus {
            x: flip(f.y),
            y: f.x,
        },
        _ => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Focus, Gravity};
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

    fn placed(g: Gravity) -> Placement {
        Placement {
            gravity: g,
            ..Placement::default()
        }
    }

    fn focus(x: u32, y: u32) -> Placement {
        Placement {
            focus: Some(Focus { x, y }),
            ..Placement::default()
        }
    }

    #[test]
    fn crop_gravity() {
        use Gravity::*;
        // 800x400 into 100x100: resized 200x100, 100 px to spare in x.
        let x = |g| {
            let p = plan_placed(Operation::Crop, 800, 400, 100, 100, 0, &placed(g));
            assert_eq!(p.resize, Some((200, 100)));
            let (x, y, w, h) = p.crop.unwrap();
            assert_eq!((y, w, h), (0, 100, 100));
            x
        };
        for (g, want) in [
            (Center, 50),
            (Smart, 50),
            (North, 50),
            (South, 50),
            (West, 0),
            (NorthWest, 0),
            (SouthWest, 0),
            (East, 100),
            (NorthEast, 100),
            (SouthEast, 100),
        ] {
            assert_eq!(x(g), want, "{g:?}");
        }
        // 600x800 into 200x100: 200x266, 166 to spare in y (odd: centre 83).
        let y = |g| plan_placed(Operation::Crop, 600, 800, 200, 100, 0, &placed(g)).crop;
        assert_eq!(y(North), Some((0, 0, 200, 100)));
        assert_eq!(y(Center), Some((0, 83, 200, 100)));
        assert_eq!(y(South), Some((0, 166, 200, 100)));
        assert_eq!(y(SouthEast), Some((0, 166, 200, 100)));
        assert_eq!(y(NorthWest), Some((0, 0, 200, 100)));
        // 150x80 into 100x50: 100x53, 3 to spare in y.
        let p = plan_placed(Operation::Crop, 150, 80, 100, 50, 0, &placed(SouthEast));
        assert_eq!(p.crop, Some((0, 3, 100, 50)));
        let p = plan_placed(Operation::Crop, 150, 80, 100, 50, 0, &placed(NorthWest));
        assert_eq!(p.crop, Some((0, 0, 100, 50)));
        // The centre is plan()'s, bit for bit, on odd sizes too.
        for (sx, sy, w, h) in [
            (333, 221, 100, 37),
            (1, 999, 1, 10),
            (999, 1, 7, 1),
            (7, 5, 3, 3),
        ] {
            for a in [0, 90, 180, 270] {
                assert_eq!(
                    plan_placed(Operation::Crop, sx, sy, w, h, a, &placed(Center)),
                    plan(Operation::Crop, sx, sy, w, h, a)
                );
            }
        }
    }

    #[test]
    fn crop_focus() {
        // 800x400 -> 200x100, window 100 wide; the focus beats the gravity.
        let f = |x, y| {
            let mut p = focus(x, y);
            p.gravity = Gravity::East;
            plan_placed(Operation::Crop, 800, 400, 100, 100, 0, &p)
                .crop
                .unwrap()
        };
        assert_eq!(f(500_000, 500_000), (50, 0, 100, 100));
        assert_eq!(f(250_000, 0), (0, 0, 100, 100)); // clamped left
        assert_eq!(f(600_000, 0), (70, 0, 100, 100)); // 120 - 50
        assert_eq!(f(1_000_000, 1_000_000), (100, 0, 100, 100)); // clamped right
                                                                 // 1xN: a 1-px-wide column cropped in y around the focus.
        let p = plan_placed(Operation::Crop, 1, 1000, 1, 10, 0, &focus(0, 900_000));
        assert_eq!(p.crop, Some((0, 895, 1, 10)));
        // Rotation: the focus is a point of the image as displayed; rotated
        // 90 counter-clockwise, its left edge becomes the bottom.
        let p = plan_placed(Operation::Crop, 400, 800, 100, 100, 90, &focus(0, 500_000));
        // 400x800 fits 100x200, turned 200x100: the window is 100 wide,
        // centred at y 0.5 -> x 0.5 of the turned image.
        assert_eq!(p.crop, Some((50, 0, 100, 100)));
        let p = plan_placed(Operation::Crop, 800, 400, 100, 100, 90, &focus(0, 0));
        // 800x400 -> 200x100, turned 100x200; the top-left corner goes to
        // the bottom-left: the window is at the bottom.
        assert_eq!(p.crop, Some((0, 100, 100, 100)));
    }

    #[test]
    fn pad_geometry() {
        use Gravity::*;
        let pad = |sx, sy, w, h, a, g| plan_placed(Operation::Pad, sx, sy, w, h, a, &placed(g));
        // Landscape into a square: fit 200x100, bars above and below.
        let p = pad(800, 400, 200, 200, 0, Center);
        assert_eq!(p.resize, Some((200, 100)));
        assert_eq!(p.pad, Some((0, 50, 200, 200)));
        assert_eq!(dims(p), (200, 200));
        assert_eq!(
            pad(800, 400, 200, 200, 0, North).pad,
            Some((0, 0, 200, 200))
        );
        assert_eq!(
            pad(800, 400, 200, 200, 0, South).pad,
            Some((0, 100, 200, 200))
        );
        assert_eq!(
            pad(800, 400, 200, 200, 0, Smart).pad,
            Some((0, 50, 200, 200))
        );
        // Odd spare: the centre rounds down, as crop's.
        let p = pad(333, 222, 100, 100, 0, Center);
        assert_eq!(p.resize, Some((100, 66)));
        assert_eq!(p.pad, Some((0, 17, 100, 100)));
        // Never enlarged: a small image sits in the box.
        let p = pad(50, 40, 100, 100, 0, SouthEast);
        assert_eq!(
            (p.resize, p.pad, dims(p)),
            (None, Some((50, 60, 100, 100)), (100, 100))
        );
        // Exactly the box: nothing to pad.
        let p = pad(800, 400, 200, 100, 0, Center);
        assert_eq!(
            (p.resize, p.pad, dims(p)),
            (Some((200, 100)), None, (200, 100))
        );
        // Rotated: the turned image fits the box.
        let p = pad(800, 600, 400, 200, 90, Center);
        assert_eq!(p.resize, Some((200, 150)));
        assert_eq!(p.pad, Some((125, 0, 400, 200)));
        assert_eq!(dims(p), (400, 200));
        // 1xN into a wide box.
        let p = pad(1, 1000, 50, 100, 0, West);
        assert_eq!(p.resize, Some((1, 100)));
        assert_eq!(p.pad, Some((0, 0, 50, 100)));
    }
}
