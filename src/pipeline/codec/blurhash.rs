//! BlurHash (Wolt's format, <https://blurha.sh>): a few cosine components
//! of the image in linear light, quantised into about 28 base-83
//! characters. Some front ends only decode BlurHash, so `placeholder` gives
//! it next to the ThumbHash; it costs one pass over at most 100×100 pixels.
//! The arithmetic follows the reference encoders (Swift, C, Python) step by
//! step, in f64, so the strings are theirs.

const BASE83: &[u8; 83] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// Components along the image's longer side (4) and shorter side (3).
const LONG: usize = 4;
const SHORT: usize = 3;

/// The BlurHash of `rgba` (`w`×`h`, row-major, 4 bytes a pixel; alpha is
/// ignored, as the format has none): 4×3 components for a landscape or
/// square image, 3×4 for a portrait one.
pub fn encode(w: usize, h: usize, rgba: &[u8]) -> String {
    assert!(w > 0 && h > 0 && rgba.len() == w * h * 4);
    let (nx, ny) = if w >= h { (LONG, SHORT) } else { (SHORT, LONG) };
    let lin = linear_table();
    // cos(pi i x / w) and cos(pi j y / h), as the reference computes them.
    let cos = |n: usize, len: usize| -> Vec<f64> {
        (0..n)
            .flat_map(|i| {
                (0..len)
                    .map(move |x| (std::f64::consts::PI * i as f64 * x as f64 / len as f64).cos())
            })
            .collect()
    };
    let (cx, cy) = (cos(nx, w), cos(ny, h));
    let mut comps = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let norm = if i == 0 && j == 0 { 1.0 } else { 2.0 };
            let mut c = [0.0f64; 3];
            for y in 0..h {
                for x in 0..w {
                    let basis = norm * cx[i * w + x] * cy[j * h + y];
                    let p = &rgba[(y * w + x) * 4..][..3];
                    for k in 0..3 {
                        c[k] += basis * lin[usize::from(p[k])];
                    }
                }
            }
            let scale = (w * h) as f64;
            comps.push(c.map(|v| v / scale));
        }
    }
    let max_ac = comps[1..]
        .iter()
        .flat_map(|c| c.iter().map(|v| v.abs()))
        .fold(0.0f64, f64::max);
    let quant_max = (max_ac * 166.0 - 0.5).floor().clamp(0.0, 82.0) as u32;
    let ac_norm = f64::from(quant_max + 1) / 166.0;
    let mut out = String::with_capacity(6 + 2 * (comps.len() - 1));
    push83(&mut out, ((nx - 1) + (ny - 1) * 9) as u32, 1);
    push83(&mut out, quant_max, 1);
    let dc = comps[0];
    push83(
        &mut out,
        to_srgb(dc[0]) << 16 | to_srgb(dc[1]) << 8 | to_srgb(dc[2]),
        4,
    );
    for c in &comps[1..] {
        let q = |v: f64| {
            let s = (v / ac_norm).abs().sqrt().copysign(v / ac_norm);
            (s * 9.0 + 9.5).floor().clamp(0.0, 18.0) as u32
        };
        push83(&mut out, q(c[0]) * 19 * 19 + q(c[1]) * 19 + q(c[2]), 2);
    }
    out
}

/// sRGB byte → linear light, for all 256 values.
fn linear_table() -> [f64; 256] {
    std::array::from_fn(|v| {
        let v = v as f64 / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    })
}

/// Linear light → sRGB byte, truncating after +0.5 like the reference.
fn to_srgb(v: f64) -> u32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        (v * 12.92 * 255.0 + 0.5) as u32
    } else {
        ((1.055 * v.powf(1.0 / 2.4) - 0.055) * 255.0 + 0.5) as u32
    }
}

fn push83(out: &mut String, value: u32, len: u32) {
    for i in 1..=len {
        let digit = value / 83u32.pow(len - i) % 83;
        out.push(BASE83[digit as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let b = ((x * 7 + y * 13) % 32) * 8;
                v.extend_from_slice(&[
                    (x * 255 / (w - 1)) as u8,
                    (y * 255 / (h - 1)) as u8,
                    b as u8,
                    255,
                ]);
            }
        }
        v
    }

    /// The strings of the reference Python encoder (PyPI `blurhash` 1.1.4,
    /// a port of Wolt's Swift one) for the same pixels.
    #[test]
    fn matches_the_reference_encoder() {
        assert_eq!(
            encode(32, 24, &image(32, 24)),
            "L$HewZ2swwX8l}WCjte:gJfifPfi"
        );
        assert_eq!(
            encode(24, 32, &image(24, 32)),
            "T$HoE^2swxl}WEjsgIfifPnmWojt"
        );
        let flat: Vec<u8> = [200, 40, 40, 255].repeat(100);
        assert_eq!(encode(10, 10, &flat), "LIM_9^|_fQ|_|_sofQsofQfQfQfQ");
    }

    #[test]
    fn length_follows_the_components() {
        // 1 + 1 + 4 + 2 × (12 - 1)
        assert_eq!(encode(1, 1, &[0, 0, 0, 0]).len(), 28);
        assert_eq!(encode(3, 7, &[9; 84]).len(), 28);
    }
}
