//! Animated GIF and WebP, frame by frame: [`frames`] decodes and composites
//! one full canvas at a time (the `image` crate's GIF and WebP frame
//! iterators: GIF disposal none/background/previous, frame offsets and the
//! transparent index; WebP blending and disposal), and the writers
//! ([`GifWriter`], [`WebpWriter`]) take each resized canvas as it comes and
//! keep only its encoded bytes. At most the decoder's canvas, its
//! previous canvas and the one frame in hand are in memory.

use std::io::Cursor;

use image::codecs::{gif::GifDecoder, webp::WebPDecoder};
use image::{AnimationDecoder, ImageDecoder};

use super::decode::limits;
use super::{encode, palette};
use crate::pipeline::ops::Bitmap;
use crate::pipeline::{Error, ImageType};

/// One composited frame: the full canvas, RGBA, and how long it shows.
pub struct Frame {
    pub canvas: Bitmap,
    pub delay_ms: u32,
}

fn decode_err(ty: ImageType, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        ty,
        reason: e.to_string(),
    }
}

fn enc_err(ty: ImageType, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        ty,
        reason: e.to_string(),
    }
}

/// The frames of an animated GIF or WebP, each composited onto the canvas,
/// one at a time.
pub fn frames<'a>(
    ty: ImageType,
    data: &'a [u8],
    max_pixels: u64,
) -> Result<Box<dyn Iterator<Item = Result<Frame, Error>> + 'a>, Error> {
    let cur = Cursor::new(data);
    let de = move |e: image::ImageError| decode_err(ty, e);
    let frames = match ty {
        ImageType::Gif => {
            let mut d = GifDecoder::new(cur).map_err(de)?;
            d.set_limits(limits(max_pixels)).map_err(de)?;
            d.into_frames()
        }
        ImageType::Webp => {
            let mut d = WebPDecoder::new(cur).map_err(de)?;
            d.set_limits(limits(max_pixels)).map_err(de)?;
            d.into_frames()
        }
        _ => return Err(decode_err(ty, "not an animated format")),
    };
    Ok(Box::new(frames.map(move |f| {
        let f = f.map_err(de)?;
        let (n, d) = f.delay().numer_denom_ms();
        let delay_ms = n.checked_div(d).unwrap_or(0);
        let buf = f.into_buffer();
        let (width, height) = buf.dimensions();
        Ok(Frame {
            canvas: Bitmap {
                width,
                height,
                ch: 4,
                data: buf.into_raw(),
            },
            delay_ms,
        })
    })))
}

/// An animated GIF written frame by frame: every frame a full canvas with
/// its own palette ([`palette::quantize`], alpha below 128 transparent),
/// disposed to the background, so a transparent pixel never shows the frame
/// before it.
pub struct GifWriter {
    enc: gif::Encoder<Vec<u8>>,
    width: u16,
    height: u16,
}

impl GifWriter {
    /// `plays`: 0 = forever, 1 = once (no loop extension), n = n times.
    pub fn new(width: u32, height: u32, plays: u32) -> Result<GifWriter, Error> {
        let ty = ImageType::Gif;
        let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(enc_err(
                ty,
                format!("{width}x{height} is beyond the format's limit"),
            ));
        };
        let mut enc = gif::Encoder::new(Vec::new(), w, h, &[]).map_err(|e| enc_err(ty, e))?;
        let repeat = match plays {
            0 => Some(gif::Repeat::Infinite),
            1 => None,
            n => Some(gif::Repeat::Finite(
                u16::try_from(n - 1).unwrap_or(u16::MAX),
            )),
        };
        if let Some(r) = repeat {
            enc.set_repeat(r).map_err(|e| enc_err(ty, e))?;
        }
        Ok(GifWriter {
            enc,
            width: w,
            height: h,
        })
    }

    /// One frame, `img` the canvas size; the delay rounds to centiseconds.
    pub fn add(&mut self, img: &Bitmap, delay_ms: u32) -> Result<(), Error> {
        let ty = ImageType::Gif;
        if (img.width, img.height) != (u32::from(self.width), u32::from(self.height)) {
            return Err(enc_err(ty, "frame size differs from the canvas"));
        }
        let ix = palette::quantize(img, true);
        let plte: Vec<u8> = ix.palette.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
        let frame = gif::Frame {
            width: self.width,
            height: self.height,
            delay: u16::try_from(delay_ms.saturating_add(5) / 10).unwrap_or(u16::MAX),
            dispose: gif::DisposalMethod::Background,
            palette: Some(plte),
            transparent: ix.transparent(),
            buffer: std::borrow::Cow::Owned(ix.indices),
            ..gif::Frame::default()
        };
        self.enc.write_frame(&frame).map_err(|e| enc_err(ty, e))
    }

    pub fn finish(self) -> Result<Vec<u8>, Error> {
        self.enc
            .into_inner()
            .map_err(|e| enc_err(ImageType::Gif, e))
    }
}

/// An animated WebP written frame by frame: each frame a full canvas,
/// encoded on its own by libwebp (lossy, alpha kept where a frame has any)
/// and muxed here into an ANMF chunk (no blending, no disposal), under
/// VP8X and ANIM (transparent background, the loop count).
pub struct WebpWriter {
    width: u32,
    height: u32,
    plays: u32,
    quality: u32,
    alpha: bool,
    frames: Vec<u8>,
}

impl WebpWriter {
    /// `plays`: 0 = forever, n = n times (ANIM's loop count).
    pub fn new(width: u32, height: u32, plays: u32, quality: u32) -> Result<WebpWriter, Error> {
        if width == 0 || height == 0 || width > 16383 || height > 16383 {
            return Err(enc_err(
                ImageType::Webp,
                format!("{width}x{height} is beyond the format's limit"),
            ));
        }
        Ok(WebpWriter {
            width,
            height,
            plays,
            quality,
            alpha: false,
            frames: Vec::new(),
        })
    }

    /// One frame, `img` the canvas size.
    pub fn add(&mut self, img: &Bitmap, delay_ms: u32) -> Result<(), Error> {
        let ty = ImageType::Webp;
        if (img.width, img.height) != (self.width, self.height) {
            return Err(enc_err(ty, "frame size differs from the canvas"));
        }
        let opaque;
        let img = if img.ch == 4 && !img.has_transparency() {
            opaque = img.clone().drop_alpha();
            &opaque
        } else {
            img
        };
        let method = encode::webp_method(u64::from(self.width) * u64::from(self.height));
        let still = encode::encode_webp_with(img, self.quality, method)?;
        // The still's image chunks (ALPH, VP8 or VP8L), headers and padding kept.
        let mut body = Vec::new();
        let mut i = 12;
        while let (Some(name), Some(len)) = (still.get(i..i + 4), still.get(i + 4..i + 8)) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let end = (i + 8 + len + (len & 1)).min(still.len());
            if matches!(name, b"ALPH" | b"VP8 " | b"VP8L") {
                self.alpha |= name == b"ALPH" || (name == b"VP8L" && img.ch == 4);
                body.extend_from_slice(&still[i..end]);
            }
            i = end;
        }
        if body.is_empty() {
            return Err(enc_err(ty, "libwebp wrote no image chunk"));
        }
        let mut anmf = Vec::with_capacity(16 + body.len());
        anmf.extend_from_slice(&[0; 6]); // x / 2, y / 2
        anmf.extend_from_slice(&u24(self.width - 1));
        anmf.extend_from_slice(&u24(self.height - 1));
        anmf.extend_from_slice(&u24(delay_ms.min(0xff_ffff)));
        anmf.push(0x02); // do not blend, do not dispose
        anmf.extend_from_slice(&body);
        chunk(&mut self.frames, b"ANMF", &anmf);
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        let mut vp8x = vec![0x02 | if self.alpha { 0x10 } else { 0 }, 0, 0, 0];
        vp8x.extend_from_slice(&u24(self.width - 1));
        vp8x.extend_from_slice(&u24(self.height - 1));
        let mut anim = vec![0, 0, 0, 0];
        anim.extend_from_slice(&u16::try_from(self.plays).unwrap_or(0).to_le_bytes());
        let mut body = b"WEBP".to_vec();
        chunk(&mut body, b"VP8X", &vp8x);
        chunk(&mut body, b"ANIM", &anim);
        body.extend_from_slice(&self.frames);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn chunk(out: &mut Vec<u8>, name: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}
