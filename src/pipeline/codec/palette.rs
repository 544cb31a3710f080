//! Truecolour → palette, for palette input written back as PNG or GIF
//! (image_filter's gdImageTrueColorToPalette after a resize).
//!
//! An image with at most 256 distinct colours (after the alpha rule below)
//! gets an exact palette; otherwise NeuQuant (the `color_quant` crate that
//! image's GIF encoder uses, sampling factor 10) picks 256 colours. No
//! dithering.

use std::collections::HashMap;

use color_quant::NeuQuant;

use crate::pipeline::ops::Bitmap;

/// An 8-bit indexed image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    pub width: u32,
    pub height: u32,
    /// RGBA entries, at most 256.
    pub palette: Vec<[u8; 4]>,
    /// One palette index per pixel, row by row.
    pub indices: Vec<u8>,
}

impl Indexed {
    /// Index of the first fully transparent entry (GIF's transparent colour).
    pub fn transparent(&self) -> Option<u8> {
        self.palette.iter().position(|p| p[3] == 0).map(|i| i as u8)
    }
}

/// Quantizes `img` to at most 256 colours. With `binary_alpha` (GIF) alpha
/// below 128 becomes one fully transparent entry and the rest opaque;
/// otherwise (PNG's tRNS) alpha levels are palette colours like any other.
pub fn quantize(img: &Bitmap, binary_alpha: bool) -> Indexed {
    let mut rgba = img.to_rgba();
    if binary_alpha {
        for p in rgba.chunks_exact_mut(4) {
            if p[3] < 128 {
                p.copy_from_slice(&[0, 0, 0, 0]);
            } else {
                p[3] = 255;
            }
        }
    }
    let (width, height) = (img.width, img.height);
    if let Some(ix) = exact(&rgba, width, height) {
        return ix;
    }
    // NeuQuant on the opaque colours; a transparent entry is added when needed.
    let has_clear = binary_alpha && rgba.chunks_exact(4).any(|p| p[3] == 0);
    let colors = if has_clear { 255 } else { 256 };
    let nq = NeuQuant::new(10, colors, &rgba);
    // NeuQuant learns alpha like a colour: an opaque image must not come
    // out with slightly translucent entries (and a needless tRNS).
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let mut palette: Vec<[u8; 4]> = nq
        .color_map_rgba()
        .chunks_exact(4)
        .map(|c| {
            [
                c[0],
                c[1],
                c[2],
                if opaque || binary_alpha { 255 } else { c[3] },
            ]
        })
        .collect();
    let clear = has_clear.then(|| {
        palette.push([0, 0, 0, 0]);
        (palette.len() - 1) as u8
    });
    let mut memo: HashMap<[u8; 4], u8> = HashMap::new();
    let indices = rgba
        .chunks_exact(4)
        .map(|p| {
            let px = [p[0], p[1], p[2], p[3]];
            match clear {
                Some(c) if px[3] == 0 => c,
                _ => *memo.entry(px).or_insert_with(|| nq.index_of(p) as u8),
            }
        })
        .collect();
    Indexed {
        width,
        height,
        palette,
        indices,
    }
}

/// The exact palette (in order of first appearance) when there are at most
/// 256 distinct colours.
fn exact(rgba: &[u8], width: u32, height: u32) -> Option<Indexed> {
    let mut map: HashMap<[u8; 4], u8> = HashMap::new();
    let mut palette = Vec::new();
    let mut indices = Vec::with_capacity(rgba.len() / 4);
    for p in rgba.chunks_exact(4) {
        let px = [p[0], p[1], p[2], p[3]];
        let i = match map.get(&px) {
            Some(&i) => i,
            None => {
                if palette.len() == 256 {
                    return None;
                }
                let i = palette.len() as u8;
                palette.push(px);
                map.insert(px, i);
                i
            }
        };
        indices.push(i);
    }
    Some(Indexed {
        width,
        height,
        palette,
        indices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(ch: usize, data: Vec<u8>, w: u32) -> Bitmap {
        let h = (data.len() / ch) as u32 / w;
        Bitmap {
            width: w,
            height: h,
            ch,
            data,
        }
    }

    #[test]
    fn few_colours_are_exact() {
        let data: Vec<u8> = (0..64 * 4)
            .flat_map(|i| [(i % 64) as u8 * 4, 7, 9])
            .collect();
        let b = bitmap(3, data.clone(), 16);
        let ix = quantize(&b, false);
        assert_eq!(ix.palette.len(), 64);
        let back: Vec<u8> = ix
            .indices
            .iter()
            .flat_map(|&i| {
                let p = ix.palette[usize::from(i)];
                [p[0], p[1], p[2]]
            })
            .collect();
        assert_eq!(back, data);
        assert_eq!(ix.transparent(), None);
    }

    #[test]
    fn many_colours_quantized_close() {
        let data: Vec<u8> = (0..128 * 128)
            .flat_map(|i| [(i % 128 * 2) as u8, (i / 128 * 2) as u8, 100])
            .collect();
        let b = bitmap(3, data.clone(), 128);
        let ix = quantize(&b, false);
        assert!(ix.palette.len() <= 256);
        let err: u64 = ix
            .indices
            .iter()
            .zip(data.chunks_exact(3))
            .map(|(&i, p)| {
                let q = ix.palette[usize::from(i)];
                (0..3).map(|c| u64::from(q[c].abs_diff(p[c]))).sum::<u64>()
            })
            .sum();
        let mean = err as f64 / (128.0 * 128.0 * 3.0);
        assert!(mean < 6.0, "mean error {mean}");
        assert!(
            ix.palette.iter().all(|p| p[3] == 255),
            "opaque in, opaque out"
        );
    }

    #[test]
    fn gif_alpha_is_one_transparent_entry() {
        let mut data = Vec::new();
        for i in 0..300u32 {
            // many colours, a third of them transparent with different RGB
            let a = if i % 3 == 0 { 0 } else { 255 };
            data.extend_from_slice(&[(i % 256) as u8, (i * 7 % 256) as u8, 3, a]);
        }
        let b = bitmap(4, data.clone(), 30);
        let ix = quantize(&b, true);
        let t = ix.transparent().expect("transparent entry");
        assert_eq!(ix.palette.iter().filter(|p| p[3] == 0).count(), 1);
        for (k, &i) in ix.indices.iter().enumerate() {
            assert_eq!(i == t, data[k * 4 + 3] == 0);
        }
    }
}
