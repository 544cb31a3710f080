//! Deterministic test images (used by the unit tests and `irs-tool gen`).

use super::bitmap::Bitmap;
use super::encode;
use super::Error;

/// What `irs-tool gen` can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    JpegProgressive,
    JpegExif,
    Png,
    PngIndexedTrns,
    Gif,
    Webp,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "jpeg" => Kind::Jpeg,
            "jpeg-progressive" => Kind::JpegProgressive,
            "jpeg-exif" => Kind::JpegExif,
            "png" => Kind::Png,
            "png-indexed-trns" => Kind::PngIndexedTrns,
            "gif" => Kind::Gif,
            "webp" => Kind::Webp,
            _ => return None,
        })
    }
}

/// Colourful gradient with some texture: red grows left→right, green top→bottom,
/// blue is a diagonal ripple.
pub fn gradient_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let r = (u64::from(x) * 255 / u64::from(w.max(2) - 1)) as u8;
            let g = (u64::from(y) * 255 / u64::from(h.max(2) - 1)) as u8;
            let t = f64::from(x + 2 * y) / 9.0;
            let b = (128.0 + 100.0 * t.sin()) as u8;
            v.extend_from_slice(&[r, g, b]);
        }
    }
    v
}

fn bitmap(w: u32, h: u32) -> Bitmap {
    Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: gradient_rgb(w, h),
    }
}

/// Generates an encoded test image.
pub fn generate(kind: Kind, w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let b = bitmap(w, h);
    match kind {
        Kind::Jpeg => encode::encode_jpeg(&b, 90, false),
        Kind::JpegProgressive => encode::encode_jpeg(&b, 90, true),
        Kind::JpegExif => Ok(add_app1(&encode::encode_jpeg(&b, 90, false)?)),
        Kind::Png => encode::encode_png(&b),
        Kind::Gif => encode::encode_gif(&b),
        Kind::Webp => encode::encode_webp(&b, 90),
        Kind::PngIndexedTrns => Ok(indexed_png(w, h)),
    }
}

/// Inserts APP1 "Exif" segments after SOI totalling more than 5% of the result.
pub fn add_app1(jpeg: &[u8]) -> Vec<u8> {
    let want = jpeg.len() / 10 + 64; // comfortably above 5% of the final size
    let mut segs = Vec::new();
    let mut left = want;
    while left > 0 {
        let n = left.min(60000);
        let mut payload = b"Exif\0\0".to_vec();
        payload.resize(n.max(6), 0);
        let len = (payload.len() + 2) as u16;
        segs.extend_from_slice(&[0xff, 0xe1]);
        segs.extend_from_slice(&len.to_be_bytes());
        segs.extend_from_slice(&payload);
        left -= n;
    }
    let mut out = Vec::with_capacity(jpeg.len() + segs.len());
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]);
    out.extend_from_slice(&segs);
    out.extend_from_slice(jpeg.get(2..).unwrap_or(&[]));
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let n = c.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// 8-bit indexed PNG, 64-colour gradient palette; index 0 is fully transparent
/// (palette colour 255,0,255 underneath) and fills a centred rectangle.
pub fn indexed_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut plte = vec![255, 0, 255];
    for i in 1..64u32 {
        plte.extend_from_slice(&[(i * 4) as u8, (255 - i * 4) as u8, ((i * 37) % 256) as u8]);
    }
    chunk(&mut out, b"PLTE", &plte);
    chunk(&mut out, b"tRNS", &[0]);
    let mut raw = Vec::with_capacity((w as usize + 1) * h as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            let inside = x >= w / 4 && x < w - w / 4 && y >= h / 4 && y < h - h / 4;
            let idx = if inside {
                0
            } else {
                1 + ((x * 63 / w.max(1) + y * 7 / h.max(1)) % 63) as u8
            };
            raw.push(idx);
        }
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}
