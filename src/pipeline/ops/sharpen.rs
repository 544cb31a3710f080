//! gd's gdImageSharpen(pct): separable 3-tap kernel [o, 1-2o, o] with
//! o = -pct/400, edge pixels replicated, first column-wise then row-wise
//! (gd's order), f32 math, clamp to 0..255 and truncate like gd's `(int)`.
//! Alpha is left untouched.

use super::bitmap::Bitmap;

pub fn sharpen(img: &mut Bitmap, pct: u32) {
    if pct == 0 || img.width == 0 || img.height == 0 {
        return;
    }
    let outer = (-(f64::from(pct)) / 400.0) as f32;
    let inner = 1.0 - 2.0 * outer;
    let colour = if img.ch == 4 { 3 } else { img.ch };
    let (w, h, ch) = (img.width as usize, img.height as usize, img.ch);
    let f = |p: u8, c: u8, n: u8| -> u8 {
        let v = f32::from(p) * outer + f32::from(c) * inner + f32::from(n) * outer;
        v.clamp(0.0, 255.0) as u8
    };
    // column-wise
    let mut col = vec![0u8; h];
    for x in 0..w {
        for k in 0..colour {
            for (y, v) in col.iter_mut().enumerate() {
                *v = img.data[(y * w + x) * ch + k];
            }
            for y in 0..h {
                let p = col[y.saturating_sub(1)];
                let n = col[(y + 1).min(h - 1)];
                img.data[(y * w + x) * ch + k] = f(p, col[y], n);
            }
        }
    }
    // row-wise
    let mut row = vec![0u8; w];
    for y in 0..h {
        for k in 0..colour {
            for (x, v) in row.iter_mut().enumerate() {
                *v = img.data[(y * w + x) * ch + k];
            }
            for x in 0..w {
                let p = row[x.saturating_sub(1)];
                let n = row[(x + 1).min(w - 1)];
                img.data[(y * w + x) * ch + k] = f(p, row[x], n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharpen_edges_and_flat() {
        // flat stays flat
        let mut b = Bitmap {
            width: 4,
            height: 3,
            ch: 4,
            data: [100, 100, 100, 7].repeat(12),
        };
        sharpen(&mut b, 100);
        assert!(b.data.chunks(4).all(|p| p == [100, 100, 100, 7]));
        // a step gets overshoot; pct=100 1-D kernel is [-1 6 -1]/4
        let mut b = Bitmap {
            width: 4,
            height: 1,
            ch: 1,
            data: vec![100, 100, 200, 200],
        };
        sharpen(&mut b, 100);
        assert_eq!(b.data, vec![100, 75, 225, 200]);
    }
}
