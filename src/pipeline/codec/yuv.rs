//! Y′CbCr → RGB for decoded AV1 frames (AVIF input): 8, 10 or 12 bits,
//! 4:2:0, 4:2:2, 4:4:4 or monochrome, full or limited range, with the CICP
//! matrix (`colr nclx`, else the sequence header's; unspecified is BT.601,
//! as libavif reads it). Chroma is upsampled by nearest sample; the output
//! is 8-bit grey, RGB or RGBA.

use crate::pipeline::ops::Bitmap;

/// The colour description applied: CICP matrix coefficients and range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvFormat {
    pub matrix: u16,
    pub full_range: bool,
}

/// Kr, Kb of a CICP matrix (ITU-T H.273); `None` for identity (GBR).
fn coefficients(matrix: u16) -> Option<(f32, f32)> {
    match matrix {
        0 => None,
        1 => Some((0.2126, 0.0722)),
        4 => Some((0.30, 0.11)),
        7 => Some((0.212, 0.087)),
        9 | 10 => Some((0.2627, 0.0593)),
        // 2 (unspecified), 5, 6 and everything else: BT.601.
        _ => Some((0.299, 0.114)),
    }
}

/// Sample → 0.0..=1.0 (luma or alpha), by bit depth and range.
fn luma_scale(bit_depth: u32, full: bool) -> (f32, f32) {
    let s = (1u32 << (bit_depth - 8)) as f32;
    if full {
        (0.0, ((1u32 << bit_depth) - 1) as f32)
    } else {
        (16.0 * s, 219.0 * s)
    }
}

/// Sample → -0.5..=0.5 (chroma).
fn chroma_scale(bit_depth: u32, full: bool) -> (f32, f32) {
    let s = (1u32 << (bit_depth - 8)) as f32;
    if full {
        (
            (1u32 << (bit_depth - 1)) as f32,
            ((1u32 << bit_depth) - 1) as f32,
        )
    } else {
        (128.0 * s, 224.0 * s)
    }
}

fn to8(v: f32) -> u8 {
    (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// The frame as a bitmap; `alpha` (a frame of the same size, its luma the
/// alpha) adds the fourth channel. `Err` when the sizes disagree.
pub fn to_bitmap(
    f: &irs_aom::Frame,
    fmt: YuvFormat,
    alpha: Option<&irs_aom::Frame>,
) -> Result<Bitmap, String> {
    let (w, h) = (f.width as usize, f.height as usize);
    if let Some(a) = alpha {
        if (a.width, a.height) != (f.width, f.height) {
            return Err(format!(
                "alpha plane {}x{} for a {}x{} image",
                a.width, a.height, f.width, f.height
            ));
        }
    }
    let ch = match (f.mono, alpha.is_some()) {
        (true, false) => 1,
        (false, false) => 3,
        _ => 4,
    };
    let mut data = Vec::new();
    data.try_reserve_exact(w * h * ch)
        .map_err(|e| e.to_string())?;
    let (yo, ys) = luma_scale(f.bit_depth, fmt.full_range);
    let (co, cs) = chroma_scale(f.bit_depth, fmt.full_range);
    let alpha_scale = alpha.map(|a| luma_scale(a.bit_depth, a.full_range));
    let cw = (w + f.x_shift as usize) >> f.x_shift;
    let k = coefficients(fmt.matrix);
    for y in 0..h {
        let cy = y >> f.y_shift;
        for x in 0..w {
            let yv = (f32::from(f.planes[0][y * w + x]) - yo) / ys;
            let (r, g, b) = if f.mono {
                (yv, yv, yv)
            } else {
                let ci = cy * cw + (x >> f.x_shift);
                let cb = (f32::from(f.planes[1][ci]) - co) / cs;
                let cr = (f32::from(f.planes[2][ci]) - co) / cs;
                match k {
                    // GBR: every plane scales as luma does.
                    None => (
                        (f32::from(f.planes[2][ci]) - yo) / ys,
                        yv,
                        (f32::from(f.planes[1][ci]) - yo) / ys,
                    ),
                    Some((kr, kb)) => {
                        let r = yv + 2.0 * (1.0 - kr) * cr;
                        let b = yv + 2.0 * (1.0 - kb) * cb;
                        let g = (yv - kr * r - kb * b) / (1.0 - kr - kb);
                        (r, g, b)
                    }
                }
            };
            if ch == 1 {
                data.push(to8(r));
                continue;
            }
            data.extend_from_slice(&[to8(r), to8(g), to8(b)]);
            if let (Some(a), Some((ao, asc))) = (alpha, alpha_scale) {
                data.push(to8((f32::from(a.planes[0][y * w + x]) - ao) / asc));
            }
        }
    }
    Ok(Bitmap {
        width: f.width,
        height: f.height,
        ch,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bd: u32, mono: bool, full: bool, y: u16, cb: u16, cr: u16) -> irs_aom::Frame {
        let c = if mono { vec![] } else { vec![cb, cr] };
        irs_aom::Frame {
            width: 3,
            height: 3,
            bit_depth: bd,
            mono,
            x_shift: 1,
            y_shift: 1,
            planes: [
                vec![y; 9],
                c.first().map_or(vec![], |&v| vec![v; 4]),
                c.get(1).map_or(vec![], |&v| vec![v; 4]),
            ],
            primaries: 1,
            transfer: 13,
            matrix: 6,
            full_range: full,
        }
    }

    #[test]
    fn converts_ranges_depths_and_matrices() {
        let fmt = |matrix, full_range| YuvFormat { matrix, full_range };
        // Full-range 8-bit grey.
        let b = to_bitmap(&frame(8, false, true, 128, 128, 128), fmt(6, true), None).unwrap();
        assert_eq!((b.ch, &b.data[..3]), (3, &[128u8, 128, 128][..]));
        // Limited-range white and black.
        let b = to_bitmap(&frame(8, false, false, 235, 128, 128), fmt(1, false), None).unwrap();
        assert_eq!(&b.data[..3], &[255, 255, 255]);
        let b = to_bitmap(&frame(8, false, false, 16, 128, 128), fmt(1, false), None).unwrap();
        assert_eq!(&b.data[..3], &[0, 0, 0]);
        // 10-bit full-range pure red (BT.601): Y = 0.299, Cr = 0.5.
        let y = (0.299f32 * 1023.0).round() as u16;
        let cb = (512.0 - 0.168736f32 * 1023.0).round() as u16;
        let b = to_bitmap(&frame(10, false, true, y, cb, 1023), fmt(6, true), None).unwrap();
        assert!(
            b.data[0] > 250 && b.data[1] < 5 && b.data[2] < 5,
            "{:?}",
            &b.data[..3]
        );
        // Identity matrix: GBR.
        let b = to_bitmap(&frame(8, false, true, 10, 20, 30), fmt(0, true), None).unwrap();
        assert_eq!(&b.data[..3], &[30, 10, 20]);
        // Monochrome, with and without alpha.
        let m = frame(12, true, true, 4095, 0, 0);
        let b = to_bitmap(&m, fmt(6, true), None).unwrap();
        assert_eq!((b.ch, b.data[0]), (1, 255));
        let a = frame(8, true, true, 0, 0, 0);
        let b = to_bitmap(&m, fmt(6, true), Some(&a)).unwrap();
        assert_eq!((b.ch, &b.data[..4]), (4, &[255u8, 255, 255, 0][..]));
        let mut small = frame(8, true, true, 0, 0, 0);
        small.width = 2;
        assert!(to_bitmap(&m, fmt(6, true), Some(&small)).is_err());
    }
}
