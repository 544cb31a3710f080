//! PNG writing: truecolour through the `png` crate, indexed images, and
//! Adam7-interlaced output (`image_resize_rs_interlace on`, as
//! gdImageInterlace and gdImagePng), which the `png` crate cannot write: for
//! that this module writes the container itself (IHDR, PLTE, tRNS, one IDAT,
//! IEND), each pass's rows filtered separately, zlib through flate2.
//!
//! 8 bits per sample always. No ancillary chunks: no gAMA, iCCP, eXIf,
//! tEXt — the output is untagged sRGB.

use std::io::Write;

use super::palette::Indexed;
use crate::pipeline::ops::Bitmap;

/// What to write.
pub enum Pixels<'a> {
    /// Grey (1), RGB (3) or RGBA (4) samples per pixel.
    Direct(&'a Bitmap),
    Indexed(&'a Indexed),
}

impl Pixels<'_> {
    fn dims(&self) -> (u32, u32) {
        match self {
            Pixels::Direct(b) => (b.width, b.height),
            Pixels::Indexed(ix) => (ix.width, ix.height),
        }
    }

    /// (PNG colour type, bytes per pixel, samples).
    fn layout(&self) -> (u8, usize, &[u8]) {
        match self {
            Pixels::Direct(b) => match b.ch {
                1 => (0, 1, &b.data),
                3 => (2, 3, &b.data),
                _ => (6, 4, &b.data),
            },
            Pixels::Indexed(ix) => (3, 1, &ix.indices),
        }
    }
}

/// Adam7 passes: (x0, y0, dx, dy).
const PASSES: [(u32, u32, u32, u32); 7] = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
];

/// Writes `px` as a PNG, Adam7-interlaced when `interlace`.
pub fn write(px: &Pixels<'_>, interlace: bool) -> Result<Vec<u8>, String> {
    let (w, h) = px.dims();
    if w == 0 || h == 0 || w > i32::MAX as u32 || h > i32::MAX as u32 {
        return Err(format!("{w}x{h} is beyond the format's limit"));
    }
    if !interlace {
        return write_with_png_crate(px);
    }
    let (ctype, bpp, samples) = px.layout();
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, ctype, 0, 0, 1]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Pixels::Indexed(ix) = px {
        write_palette(&mut out, ix);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let (w, h) = (w as usize, h as usize);
    for (x0, y0, dx, dy) in PASSES {
        let (x0, y0, dx, dy) = (x0 as usize, y0 as usize, dx as usize, dy as usize);
        if x0 >= w || y0 >= h {
            continue; // empty pass
        }
        let pw = (w - x0).div_ceil(dx);
        let mut prev = vec![0u8; pw * bpp];
        let mut line = vec![0u8; pw * bpp];
        let mut filtered = vec![0u8; pw * bpp + 1];
        for y in (y0..h).step_by(dy) {
            for (k, x) in (x0..w).step_by(dx).enumerate() {
                let s = (y * w + x) * bpp;
                line[k * bpp..(k + 1) * bpp].copy_from_slice(&samples[s..s + bpp]);
            }
            // Palette rows unfiltered (PNG spec's advice), others adaptively.
            filter_row(&line, &prev, bpp, ctype != 3, &mut filtered);
            z.write_all(&filtered).map_err(|e| e.to_string())?;
            std::mem::swap(&mut prev, &mut line);
        }
    }
    let idat = z.finish().map_err(|e| e.to_string())?;
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn write_palette(out: &mut Vec<u8>, ix: &Indexed) {
    let plte: Vec<u8> = ix.palette.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
    chunk(out, b"PLTE", &plte);
    // tRNS up to the last non-opaque entry.
    if let Some(last) = ix.palette.iter().rposition(|p| p[3] != 255) {
        let trns: Vec<u8> = ix.palette[..=last].iter().map(|p| p[3]).collect();
        chunk(out, b"tRNS", &trns);
    }
}

fn write_with_png_crate(px: &Pixels<'_>) -> Result<Vec<u8>, String> {
    let (w, h) = px.dims();
    let (ctype, _, samples) = px.layout();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_color(match ctype {
            0 => png::ColorType::Grayscale,
            2 => png::ColorType::Rgb,
            3 => png::ColorType::Indexed,
            _ => png::ColorType::Rgba,
        });
        if let Pixels::Indexed(ix) = px {
            let plte: Vec<u8> = ix.palette.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
            enc.set_palette(plte);
            if let Some(last) = ix.palette.iter().rposition(|p| p[3] != 255) {
                enc.set_trns(
                    ix.palette[..=last]
                        .iter()
                        .map(|p| p[3])
                        .collect::<Vec<u8>>(),
                );
            }
        }
        let mut wr = enc.write_header().map_err(|e| e.to_string())?;
        wr.write_image_data(samples).map_err(|e| e.to_string())?;
        wr.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// One filtered row (filter byte first) into `out`: type 0 when
/// `!adaptive`, else the type with the least sum of absolute values.
fn filter_row(line: &[u8], prev: &[u8], bpp: usize, adaptive: bool, out: &mut [u8]) {
    let apply = |ft: u8, out: &mut [u8]| {
        out[0] = ft;
        for i in 0..line.len() {
            let a = if i >= bpp { line[i - bpp] } else { 0 };
            let (b, c) = (prev[i], if i >= bpp { prev[i - bpp] } else { 0 });
            let pred = match ft {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                _ => paeth(a, b, c),
            };
            out[i + 1] = line[i].wrapping_sub(pred);
        }
    };
    if !adaptive {
        apply(0, out);
        return;
    }
    let cost = |r: &[u8]| -> u64 {
        r[1..]
            .iter()
            .map(|&v| u64::from((v as i8).unsigned_abs()))
            .sum()
    };
    let mut best = (u64::MAX, 0u8);
    let mut tmp = vec![0u8; out.len()];
    for ft in 0..5u8 {
        apply(ft, &mut tmp);
        let c = cost(&tmp);
        if c < best.0 {
            best = (c, ft);
        }
    }
    apply(best.1, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>, bool, Option<Vec<u8>>) {
        let mut d = png::Decoder::new(std::io::Cursor::new(png_bytes));
        d.set_transformations(png::Transformations::IDENTITY);
        let mut r = d.read_info().unwrap();
        let interlaced = r.info().interlaced;
        let plte = r.info().palette.as_ref().map(|p| p.to_vec());
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf, interlaced, plte)
    }

    fn noise(w: u32, h: u32, ch: usize) -> Bitmap {
        let mut s = 12345u32;
        let data = (0..w as usize * h as usize * ch)
            .map(|i| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((s >> 16) as u8) / 4 + (i % 7) as u8 * 20
            })
            .collect();
        Bitmap {
            width: w,
            height: h,
            ch,
            data,
        }
    }

    #[test]
    fn adam7_round_trips_every_layout_and_odd_size() {
        // Sizes that leave passes empty (1x1, 3x2) and partial (13x11).
        for (w, h) in [(1, 1), (3, 2), (13, 11), (64, 33)] {
            for ch in [1, 3, 4] {
                let b = noise(w, h, ch);
                let bytes = write(&Pixels::Direct(&b), true).unwrap();
                let (info, px, interlaced, _) = decode(&bytes);
                assert!(interlaced);
                assert_eq!((info.width, info.height), (w, h));
                assert_eq!(px, b.data, "{w}x{h}x{ch}");
            }
        }
    }

    #[test]
    fn indexed_round_trips_with_trns() {
        let ix = Indexed {
            width: 17,
            height: 9,
            palette: vec![
                [255, 0, 0, 255],
                [0, 0, 0, 0],
                [0, 255, 0, 128],
                [1, 2, 3, 255],
            ],
            indices: (0..17 * 9).map(|i| (i % 4) as u8).collect(),
        };
        for interlace in [true, false] {
            let bytes = write(&Pixels::Indexed(&ix), interlace).unwrap();
            let (info, px, interlaced, plte) = decode(&bytes);
            assert_eq!(interlaced, interlace);
            assert_eq!(info.color_type, png::ColorType::Indexed);
            assert_eq!(px, ix.indices);
            assert_eq!(plte.unwrap(), vec![255, 0, 0, 0, 0, 0, 0, 255, 0, 1, 2, 3]);
            // The image crate agrees on the RGBA result.
            let rgba = image::load_from_memory(&bytes).unwrap().to_rgba8();
            assert_eq!(rgba.get_pixel(1, 0).0, [0, 0, 0, 0]);
            assert_eq!(rgba.get_pixel(2, 0).0, [0, 255, 0, 128]);
        }
    }
}
