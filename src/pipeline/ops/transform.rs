//! Pixel geometry: resampling, rotation, EXIF orientation, crop, padding.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::bitmap::Bitmap;
use crate::pipeline::container::meta::Orientation;

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

/// Lays `src` at (x, y) of a `w`×`h` canvas of `color` (RGBA) — `pad`'s
/// letterbox; the caller guarantees it fits. With `alpha` (the output
/// format has alpha) the canvas is RGBA when the image or the colour is
/// translucent; otherwise the colour's alpha is dropped (its RGB fills the
/// bars) and a grey image on a grey colour stays grey.
pub fn pad(src: Bitmap, x: u32, y: u32, w: u32, h: u32, color: [u8; 4], alpha: bool) -> Bitmap {
    let [r, g, b, a] = color;
    let ch = if src.ch == 4 || (alpha && a < 255) {
        4
    } else if src.ch == 1 && r == g && g == b {
        1
    } else {
        3
    };
    // The image keeps its own alpha even for JPEG (the encoder lays it over
    // white); the bars are opaque there.
    let fill: Vec<u8> = match ch {
        4 => vec![r, g, b, if alpha { a } else { 255 }],
        3 => vec![r, g, b],
        _ => vec![r],
    };
    let mut data: Vec<u8> = fill
        .iter()
        .copied()
        .cycle()
        .take(w as usize * h as usize * ch)
        .collect();
    let row = src.width as usize;
    for yy in 0..src.height {
        let o = ((y + yy) as usize * w as usize + x as usize) * ch;
        let dst = &mut data[o..o + row * ch];
        let i = src.idx(0, yy);
        let line = &src.data[i..i + row * src.ch];
        if src.ch == ch {
            dst.copy_from_slice(line);
            continue;
        }
        for (d, p) in dst.chunks_exact_mut(ch).zip(line.chunks_exact(src.ch)) {
            match src.ch {
                1 => d[..3].copy_from_slice(&[p[0]; 3]),
                _ => d[..3].copy_from_slice(&p[..3]),
            }
            if ch == 4 {
                d[3] = 255;
            }
        }
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

    #[test]
    fn pad_pixels() {
        let img = Bitmap {
            width: 2,
            height: 1,
            ch: 3,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        // RGB on an opaque colour: RGB, the image at (1, 1) of 3x3.
        let p = pad(img.clone(), 1, 1, 3, 3, [9, 8, 7, 255], true);
        assert_eq!((p.width, p.height, p.ch), (3, 3, 3));
        assert_eq!(&p.data[..9], &[9, 8, 7, 9, 8, 7, 9, 8, 7]);
        assert_eq!(&p.data[9..18], &[9, 8, 7, 1, 2, 3, 4, 5, 6]);
        assert_eq!(&p.data[18..], &[9, 8, 7, 9, 8, 7, 9, 8, 7]);
        // A translucent colour: RGBA where the output has alpha...
        let p = pad(img.clone(), 0, 0, 2, 2, [255, 255, 255, 0], true);
        assert_eq!(p.ch, 4);
        assert_eq!(
            p.data,
            vec![1, 2, 3, 255, 4, 5, 6, 255, 255, 255, 255, 0, 255, 255, 255, 0]
        );
        // ...and its RGB where it has not.
        let p = pad(img.clone(), 0, 1, 2, 2, [10, 20, 30, 0], false);
        assert_eq!(p.ch, 3);
        assert_eq!(p.data, vec![10, 20, 30, 10, 20, 30, 1, 2, 3, 4, 5, 6]);
        // Grey stays grey on grey; turns RGB on a colour.
        let grey = Bitmap {
            width: 1,
            height: 2,
            ch: 1,
            data: vec![50, 60],
        };
        let p = pad(grey.clone(), 1, 0, 2, 2, [0, 0, 0, 255], false);
        assert_eq!((p.ch, p.data), (1, vec![0, 50, 0, 60]));
        let p = pad(grey, 0, 0, 2, 2, [255, 0, 0, 255], false);
        assert_eq!(p.data, vec![50, 50, 50, 255, 0, 0, 60, 60, 60, 255, 0, 0]);
        // RGBA image, no alpha in the output: bars opaque, the image's alpha kept.
        let rgba = Bitmap {
            width: 1,
            height: 1,
            ch: 4,
            data: vec![1, 2, 3, 100],
        };
        let p = pad(rgba, 0, 0, 2, 1, [7, 7, 7, 0], false);
        assert_eq!(p.data, vec![1, 2, 3, 100, 7, 7, 7, 255]);
    }
}
