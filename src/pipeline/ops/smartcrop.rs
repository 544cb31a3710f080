//! `image_resize_rs_gravity smart`: where a crop window goes, chosen by the
//! image's content, without model files. In the spirit of libvips'
//! `attention` strategy (vips_smartcrop): detail (luminance edges),
//! saturation and skin-like tones score each cell of a shrunk copy (longest
//! side at most [`GRID`] cells, made from the bitmap the crop would cut);
//! a summed-area table then finds the window of the crop's shape with the
//! highest score. Ties go to the window nearest the centre, so a flat image
//! is cut where image_filter cuts it.

use super::bitmap::Bitmap;

/// The shrunk copy's longest side, in cells.
pub const GRID: u32 = 128;

/// Weights of the three cues (integer: the result is deterministic).
/// Detail is the mean absolute luminance step inside a cell (0..=255 per
/// pixel pair), saturation the cell's mean colour's max - min above a
/// floor, skin a fixed bonus for cells whose mean colour looks like skin.
const DETAIL_WEIGHT: u64 = 2;
const SATURATION_FLOOR: u64 = 40;
const SKIN_BONUS: u64 = 40;

/// The (x, y) of the `w`×`h` window of `img` with the most attention; the
/// window lies inside the image (a side larger than the image gets 0).
pub fn window(img: &Bitmap, w: u32, h: u32) -> (u32, u32) {
    let (iw, ih) = (img.width, img.height);
    if iw == 0 || ih == 0 || (w >= iw && h >= ih) {
        return (0, 0);
    }
    let grid = Grid::of(img);
    let sat = grid.summed();
    // The window in cells: the same share of the grid as of the image.
    let cells = |win: u32, len: u32, n: u32| {
        ((u64::from(win.min(len)) * u64::from(n) + u64::from(len) / 2) / u64::from(len))
            .clamp(1, u64::from(n)) as u32
    };
    let (cw, chh) = (cells(w, iw, grid.w), cells(h, ih, grid.h));
    let (span_x, span_y) = (grid.w - cw, grid.h - chh);
    let score = |cx: u32, cy: u32| sat.sum(cx, cy, cw, chh);
    let positions = || (0..=span_y).flat_map(move |cy| (0..=span_x).map(move |cx| (cx, cy)));
    let (mut best, mut worst, mut best_at) = (0u64, u64::MAX, (0, 0));
    for (cx, cy) in positions() {
        let s = score(cx, cy);
        if s > best {
            (best, best_at) = (s, (cx, cy));
        }
        worst = worst.min(s);
    }
    let centred = |win: u32, len: u32| len.saturating_sub(win) / 2;
    if best == worst {
        // Nothing stands out: image_filter's centre.
        return (centred(w, iw), centred(h, ih));
    }
    // The windows within 2% of the best form a plateau (a subject smaller
    // than the window fits many of them): take its middle, so the subject
    // is centred rather than at an edge; the best one if the middle is not
    // on the plateau (two subjects far apart).
    let floor = best - best / 50;
    let (mut n, mut sum_x, mut sum_y) = (0u64, 0u64, 0u64);
    for (cx, cy) in positions() {
        if score(cx, cy) >= floor {
            (n, sum_x, sum_y) = (n + 1, sum_x + u64::from(cx), sum_y + u64::from(cy));
        }
    }
    let mid = ((sum_x + n / 2) / n, (sum_y + n / 2) / n);
    let (twice_x, twice_y) = if score(mid.0 as u32, mid.1 as u32) >= floor {
        // The exact mean, in half cells: 2 * sum / n.
        ((2 * sum_x + n / 2) / n, (2 * sum_y + n / 2) / n)
    } else {
        (2 * u64::from(best_at.0), 2 * u64::from(best_at.1))
    };
    // Back to pixels: centre the window on the chosen cells' centre,
    // (c + cells / 2) * len / n, clamped inside the image.
    let place = |twice_c: u64, cells: u32, len: u32, n: u32, win: u32| -> u32 {
        if win >= len {
            return 0;
        }
        let centre = (twice_c + u64::from(cells)) * u64::from(len) / (2 * u64::from(n));
        (centre.saturating_sub(u64::from(win / 2)) as u32).min(len - win)
    };
    (
        place(twice_x, cw, iw, grid.w, w),
        place(twice_y, chh, ih, grid.h, h),
    )
}

/// The shrunk copy: one attention score per cell.
struct Grid {
    w: u32,
    h: u32,
    score: Vec<u64>,
}

impl Grid {
    fn of(img: &Bitmap) -> Grid {
        let (iw, ih) = (img.width, img.height);
        let step = iw.max(ih).div_ceil(GRID).max(1);
        let (w, h) = (iw.div_ceil(step), ih.div_ceil(step));
        let n = w as usize * h as usize;
        // Per cell: sums of R, G, B, alpha, |luma steps| and the pixel count.
        let mut acc = vec![[0u64; 6]; n];
        let mut prev_row: Vec<u32> = vec![0; iw as usize];
        for y in 0..ih {
            let row_cells = (y / step) as usize * w as usize;
            let mut left = 0u32;
            for x in 0..iw {
                let (r, g, b, a) = pixel(img, x, y);
                // Luma ×1000 (BT.601), weighted by alpha: a transparent
                // area draws no attention.
                let l = (299 * r + 587 * g + 114 * b) * a / 255;
                let mut step_sum = 0u64;
                if x > 0 {
                    step_sum += u64::from(l.abs_diff(left));
                }
                if y > 0 {
                    step_sum += u64::from(l.abs_diff(prev_row[x as usize]));
                }
                left = l;
                prev_row[x as usize] = l;
                let c = &mut acc[row_cells + (x / step) as usize];
                c[0] += u64::from(r * a / 255);
                c[1] += u64::from(g * a / 255);
                c[2] += u64::from(b * a / 255);
                c[3] += u64::from(a);
                c[4] += step_sum;
                c[5] += 1;
            }
        }
        let score = acc.iter().map(cell_score).collect();
        Grid { w, h, score }
    }

    fn summed(&self) -> Summed {
        let (w, h) = (self.w as usize, self.h as usize);
        let mut t = vec![0u64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0u64;
            for x in 0..w {
                row += self.score[y * w + x];
                t[(y + 1) * (w + 1) + x + 1] = t[y * (w + 1) + x + 1] + row;
            }
        }
        Summed { w: w + 1, t }
    }
}

fn pixel(img: &Bitmap, x: u32, y: u32) -> (u32, u32, u32, u32) {
    let i = img.idx(x, y);
    let p = &img.data[i..i + img.ch];
    match img.ch {
        1 | 2 => (p[0].into(), p[0].into(), p[0].into(), 255),
        3 => (p[0].into(), p[1].into(), p[2].into(), 255),
        _ => (p[0].into(), p[1].into(), p[2].into(), p[3].into()),
    }
}

/// One cell's attention from its sums.
fn cell_score(c: &[u64; 6]) -> u64 {
    let n = c[5].max(1);
    let (r, g, b) = (c[0] / n, c[1] / n, c[2] / n);
    // Mean |luma step| per pixel, back to 0..=510 (two steps, luma ×1000).
    let detail = c[4] / n / 1000;
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let saturation = (max - min).saturating_sub(SATURATION_FLOOR);
    let opaque = c[3] / n; // 0..=255
    let skin = if is_skin(r, g, b) { SKIN_BONUS } else { 0 };
    DETAIL_WEIGHT * detail + saturation + skin * opaque / 255
}

/// Kovač, Peer and Solina's RGB rule for skin under daylight.
fn is_skin(r: u64, g: u64, b: u64) -> bool {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    r > 95 && g > 40 && b > 20 && max - min > 15 && r.abs_diff(g) > 15 && r > g && r > b
}

/// A summed-area table over the grid: `t[(y+1)*w + x+1]` is the sum of the
/// cells above and left of (x, y), inclusive.
struct Summed {
    w: usize,
    t: Vec<u64>,
}

impl Summed {
    /// The sum of the `cw`×`ch` cells from (x, y).
    fn sum(&self, x: u32, y: u32, cw: u32, ch: u32) -> u64 {
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = (x0 + cw as usize, y0 + ch as usize);
        let at = |x: usize, y: usize| self.t[y * self.w + x];
        at(x1, y1) + at(x0, y0) - at(x0, y1) - at(x1, y0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pipeline::gen::subject_at as subject;

    fn contains(win: (u32, u32, u32, u32), block: (u32, u32, u32, u32)) -> bool {
        let (x, y, w, h) = win;
        let (bx, by, bw, bh) = block;
        bx >= x && by >= y && bx + bw <= x + w && by + bh <= y + h
    }

    #[test]
    fn finds_the_subject_off_centre() {
        // Landscape: the window slides along x.
        for (bx, by) in [(10, 20), (250, 10), (130, 60)] {
            let img = subject(300, 100, bx, by, 30, 30);
            let (x, y) = window(&img, 100, 100);
            assert_eq!(y, 0);
            assert!(
                contains((x, y, 100, 100), (bx, by, 30, 30)),
                "{bx},{by}: x {x}"
            );
        }
        // Portrait, and larger than the grid (the copy is shrunk 8 times).
        let img = subject(200, 1000, 60, 850, 80, 100);
        let (x, y) = window(&img, 200, 300);
        assert_eq!(x, 0);
        assert!(contains((x, y, 200, 300), (60, 850, 80, 100)), "y {y}");
        // Both ways at once.
        let img = subject(400, 400, 300, 20, 40, 40);
        let (x, y) = window(&img, 150, 150);
        assert!(contains((x, y, 150, 150), (300, 20, 40, 40)), "{x},{y}");
    }

    #[test]
    fn flat_images_stay_centred() {
        let flat = Bitmap {
            width: 301,
            height: 100,
            ch: 3,
            data: vec![128; 301 * 100 * 3],
        };
        assert_eq!(window(&flat, 100, 100), (100, 0));
        let grey = Bitmap {
            width: 50,
            height: 90,
            ch: 1,
            data: vec![7; 50 * 90],
        };
        assert_eq!(window(&grey, 50, 30), (0, 30));
    }

    #[test]
    fn transparent_areas_draw_nothing() {
        // The busy block is transparent; the opaque, saturated one wins.
        let mut img = Bitmap {
            width: 300,
            height: 100,
            ch: 4,
            data: Vec::new(),
        };
        let src = subject(300, 100, 20, 30, 40, 40);
        let other = subject(300, 100, 240, 30, 40, 40);
        for (i, p) in src.data.chunks_exact(3).enumerate() {
            let x = i as u32 % 300;
            let a = if x < 150 { 0 } else { 255 };
            let q = &other.data[i * 3..i * 3 + 3];
            let px = if x < 150 { p } else { q };
            img.data.extend_from_slice(&[px[0], px[1], px[2], a]);
        }
        let (x, _) = window(&img, 100, 100);
        assert!(x >= 180, "x {x}");
    }

    #[test]
    fn edge_cases() {
        let img = subject(1, 500, 0, 400, 1, 20);
        let (x, y) = window(&img, 1, 50);
        assert_eq!(x, 0);
        assert!(y <= 400 && y + 50 >= 420, "y {y}");
        let img = subject(500, 1, 30, 0, 20, 1);
        let (x, y) = window(&img, 60, 1);
        assert_eq!(y, 0);
        assert!(x <= 30 && x + 60 >= 50, "x {x}");
        // A window as large as the image, or larger.
        assert_eq!(window(&img, 500, 1), (0, 0));
        assert_eq!(window(&img, 900, 9), (0, 0));
        // Odd sizes: always inside.
        for (w, h, ww, wh) in [(7, 5, 3, 5), (129, 3, 128, 3), (257, 255, 1, 1)] {
            let img = subject(w, h, w / 3, h / 3, 2.min(w), 2.min(h));
            let (x, y) = window(&img, ww, wh);
            assert!(x + ww <= w && y + wh <= h, "{w}x{h} {ww}x{wh}: {x},{y}");
        }
    }

    #[test]
    fn skin_rule() {
        assert!(is_skin(224, 172, 140));
        assert!(!is_skin(128, 128, 128));
        assert!(!is_skin(40, 60, 220));
    }
}
