//! JPEG XL input, with jxl-oxide (pure Rust): the bare codestream or the
//! ISOBMFF container, its size from the image header before any frame is
//! decoded, the first keyframe rendered in sRGB (jxl-oxide's moxcms colour
//! management converts an embedded ICC profile or an enumerated colour
//! space) with the header's orientation applied, 8 bits a sample.
//!
//! The orientation is the codestream's: a JPEG XL decoder shows the image
//! turned, so the sizes here (and `size`'s) are the displayed ones, and the
//! pipeline does not turn it again. Animations give their first frame.

use jxl_oxide::{
    AllocTracker, EnumColourEncoding, InitializeResult, JxlImage, JxlThreadPool, PixelFormat,
    RenderingIntent,
};

use crate::pipeline::ops::Bitmap;

/// The bare codestream's signature.
pub const CODESTREAM: [u8; 2] = [0xff, 0x0a];
/// The container's signature box (`JXL `).
pub const CONTAINER: [u8; 12] = [
    0, 0, 0, 0x0c, b'J', b'X', b'L', b' ', 0x0d, 0x0a, 0x87, 0x0a,
];

/// Bytes of decoder state per pixel that the allocation tracker allows:
/// jxl-oxide keeps f32 planes (colour, alpha, extra channels) plus the
/// frame's working buffers. With the header's size checked first, this
/// only stops a file whose frames declare far more than the image.
const BYTES_PER_PIXEL: u64 = 64;
/// Plus a fixed allowance for small images (tables, the TOC, ...).
const BASE_BYTES: u64 = 16 << 20;

pub fn is_jxl(data: &[u8]) -> bool {
    data.starts_with(&CODESTREAM) || data.starts_with(&CONTAINER)
}

/// The codestream's first bytes: the file itself, or the payload of the
/// container's `jxlc` box or first `jxlp` box (after its index).
fn codestream(data: &[u8]) -> Option<&[u8]> {
    if data.starts_with(&CODESTREAM) {
        return Some(data);
    }
    let mut rest = data.strip_prefix(&CONTAINER)?;
    while rest.len() >= 8 {
        let size = u64::from(u32::from_be_bytes(rest[..4].try_into().ok()?));
        let ty: [u8; 4] = rest[4..8].try_into().ok()?;
        let (head, size) = match size {
            0 => (8, rest.len() as u64),
            1 => (16, u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)),
            n => (8, n),
        };
        let end = usize::try_from(size).ok().filter(|&e| e >= head)?;
        let body = rest.get(head..end.min(rest.len()))?;
        match &ty {
            b"jxlc" => return Some(body),
            b"jxlp" => return body.get(4..),
            _ => {}
        }
        rest = rest.get(end..)?;
    }
    None
}

/// LSB-first bit reader over the codestream's header.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn u(&mut self, n: u32) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v |= u64::from(byte >> (self.pos % 8) & 1) << i;
            self.pos += 1;
        }
        Some(v)
    }

    /// SizeHeader's U32(1 + u(9), 1 + u(13), 1 + u(18), 1 + u(30)).
    fn dim(&mut self) -> Option<u64> {
        let n = [9, 13, 18, 30][self.u(2)? as usize];
        Some(1 + self.u(n)?)
    }
}

/// The displayed size from the codestream's SizeHeader and the
/// ImageMetadata's orientation (ISO/IEC 18181-1 §D.2, §D.3): the first few
/// bytes, read without the decoder, so the pixel limit is checked before
/// jxl-oxide allocates anything.
pub fn size(data: &[u8]) -> Option<(u64, u64)> {
    let cs = codestream(data)?;
    let mut b = Bits {
        data: cs.get(2..)?,
        pos: 0,
    };
    let small = b.u(1)? == 1;
    let height = if small { (b.u(5)? + 1) * 8 } else { b.dim()? };
    let width = match b.u(3)? {
        0 if small => (b.u(5)? + 1) * 8,
        0 => b.dim()?,
        1 => height,
        2 => height * 12 / 10,
        3 => height * 4 / 3,
        4 => height * 3 / 2,
        5 => height * 16 / 9,
        6 => height * 5 / 4,
        _ => height * 2,
    };
    // ImageMetadata: all_default, extra_fields, orientation - 1.
    let orientation = if b.u(1)? == 1 || b.u(1)? == 0 {
        1
    } else {
        b.u(3)? + 1
    };
    Some(if orientation > 4 {
        (height, width)
    } else {
        (width, height)
    })
}

/// The image as JPEG XL's header describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Displayed size (orientation applied).
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
}

/// Parses the headers (and the first frame's header and table of contents,
/// which jxl-oxide reads with them), no pixel data; `limit` bounds what the
/// decoder may allocate, in bytes.
fn open(data: &[u8], limit: u64) -> Result<JxlImage, String> {
    let tracker = AllocTracker::with_limit(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut u = JxlImage::builder()
        .pool(JxlThreadPool::none())
        .alloc_tracker(tracker)
        .build_uninit();
    u.feed_bytes(data).map_err(|e| e.to_string())?;
    let mut img = match u.try_init().map_err(|e| e.to_string())? {
        InitializeResult::Initialized(img) => img,
        InitializeResult::NeedMoreData(_) => return Err("truncated header".into()),
    };
    img.finalize().map_err(|e| e.to_string())?;
    Ok(img)
}

fn info_of(img: &JxlImage) -> Info {
    Info {
        width: img.width(),
        height: img.height(),
        alpha: img.pixel_format().has_alpha(),
    }
}

/// The header only: displayed size and alpha.
pub fn probe(data: &[u8]) -> Result<Info, String> {
    open(data, BASE_BYTES).map(|img| info_of(&img))
}

/// Decodes the first keyframe after `check` accepted the displayed size
/// (the pixel limit): RGB, RGBA, grey or grey+alpha (as RGBA), in sRGB.
pub fn decode<E>(
    data: &[u8],
    check: impl FnOnce(u64, u64) -> Result<(), E>,
    err: impl Fn(String) -> E,
) -> Result<(Bitmap, Info), E> {
    let (w, h) = size(data).ok_or_else(|| err("truncated or invalid size header".into()))?;
    check(w, h)?;
    let limit = BASE_BYTES.saturating_add(w * h * BYTES_PER_PIXEL);
    let mut img = open(data, limit).map_err(&err)?;
    let head = info_of(&img);
    if (u64::from(head.width), u64::from(head.height)) != (w, h) {
        return Err(err("the decoder read another size".into()));
    }
    let format = img.pixel_format();
    if format.has_black() {
        return Err(err("CMYK JPEG XL is not supported".into()));
    }
    img.request_color_encoding(EnumColourEncoding::srgb(RenderingIntent::Perceptual));
    if img.num_loaded_keyframes() == 0 {
        return Err(err("truncated: no complete frame".into()));
    }
    let render = img.render_frame(0).map_err(|e| err(e.to_string()))?;
    let mut stream = render.stream();
    let (w, h, ch) = (stream.width(), stream.height(), stream.channels() as usize);
    if (w, h) != (head.width, head.height) {
        return Err(err(format!(
            "a {w}x{h} frame in a {}x{} image",
            head.width, head.height
        )));
    }
    let mut buf = vec![0u8; w as usize * h as usize * ch];
    if stream.write_to_buffer(&mut buf) != buf.len() {
        return Err(err("short render".into()));
    }
    let (ch, data) = match (format, ch) {
        (PixelFormat::Gray, 1) | (PixelFormat::Rgb, 3) | (PixelFormat::Rgba, 4) => (ch, buf),
        (PixelFormat::Graya, 2) => (
            4,
            buf.chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
        ),
        (f, n) => return Err(err(format!("{f:?} rendered with {n} channels"))),
    };
    let bitmap = Bitmap {
        width: w,
        height: h,
        ch,
        data,
    };
    Ok((bitmap, head))
}
