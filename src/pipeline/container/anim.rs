//! Animation facts read from the container before any pixel is decoded:
//! the frame count, each frame's delay and the loop count of an animated
//! GIF (its blocks) or WebP (its RIFF chunks). What the frame limits
//! (`image_resize_rs_max_frames`, `_max_frame_pixels`) and `size` use.
//!
//! Pure and bounds-checked: a malformed or truncated container gives the
//! frames found up to the damage (the decoder reports the damage itself).

use crate::pipeline::ImageType;

/// An animated image's frames, as the container describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Animation {
    /// The canvas (GIF logical screen, WebP VP8X canvas).
    pub width: u32,
    pub height: u32,
    /// Frames (GIF image descriptors, WebP ANMF chunks).
    pub frames: u32,
    /// Each frame's delay in milliseconds (GIF: centiseconds × 10).
    pub delays_ms: Vec<u32>,
    /// How many times the animation plays; 0 = forever. GIF: no NETSCAPE2.0
    /// extension plays once, a loop count n plays n + 1 times (as browsers
    /// do), 0 forever. WebP: ANIM's loop count as is.
    pub plays: u32,
}

impl Animation {
    /// Pixels decoded for the whole animation: frames × canvas.
    pub fn pixels(&self) -> u128 {
        u128::from(self.frames) * u128::from(self.width) * u128::from(self.height)
    }
}

/// The animation of a GIF with two images or more, or of a WebP with
/// VP8X's animation flag; `None` for a still (or not a GIF/WebP).
pub fn probe(ty: ImageType, data: &[u8]) -> Option<Animation> {
    match ty {
        ImageType::Gif => gif(data).filter(|a| a.frames >= 2),
        ImageType::Webp => webp(data),
        _ => None,
    }
}

fn u16le(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]))
}

fn u24le(d: &[u8], i: usize) -> Option<u32> {
    let b = d.get(i..i + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

/// Skips a run of GIF data sub-blocks (length byte, data) from `i`, the
/// terminator included; `None` when the data ends first.
fn skip_blocks(d: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let n = usize::from(*d.get(i)?);
        i += 1 + n;
        if n == 0 {
            return Some(i);
        }
    }
}

fn gif(d: &[u8]) -> Option<Animation> {
    if !(d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a")) {
        return None;
    }
    let (width, height) = (u32::from(u16le(d, 6)?), u32::from(u16le(d, 8)?));
    let flags = *d.get(10)?;
    let mut i = 13;
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 7) + 1);
    }
    let mut a = Animation {
        width,
        height,
        frames: 0,
        delays_ms: Vec::new(),
        plays: 1,
    };
    // The delay of the next image, from the Graphic Control Extension before it.
    let mut delay = 0u32;
    loop {
        match d.get(i) {
            Some(0x21) => {
                let label = d.get(i + 1).copied();
                let first = i + 2;
                let len = usize::from(d.get(first).copied().unwrap_or(0));
                let block = d.get(first + 1..first + 1 + len);
                match (label, block) {
                    (Some(0xf9), Some(b)) if len >= 4 => delay = u32::from(u16le(b, 1)?) * 10,
                    (Some(0xff), Some(b"NETSCAPE2.0" | b"ANIMEXTS1.0")) => {
                        // Sub-block 1: [3] 1, loop count (LE).
                        let sub = first + 1 + len;
                        if d.get(sub) == Some(&3) && d.get(sub + 1) == Some(&1) {
                            let n = u32::from(u16le(d, sub + 2).unwrap_or(0));
                            a.plays = if n == 0 { 0 } else { n + 1 };
                        }
                    }
                    _ => {}
                }
                match skip_blocks(d, first) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            Some(0x2c) => {
                let Some(&f) = d.get(i + 9) else { break };
                a.frames += 1;
                a.delays_ms.push(delay);
                delay = 0;
                i += 10;
                if f & 0x80 != 0 {
                    i += 3 << ((f & 7) + 1);
                }
                // LZW minimum code size, then the data sub-blocks.
                match skip_blocks(d, i + 1) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            _ => break,
        }
    }
    Some(a)
}

fn webp(d: &[u8]) -> Option<Animation> {
    if d.get(0..4) != Some(b"RIFF") || d.get(8..12) != Some(b"WEBP") {
        return None;
    }
    let mut a = None::<Animation>;
    let mut i = 12;
    while let (Some(name), Some(len)) = (d.get(i..i + 4), d.get(i + 4..i + 8)) {
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let Some(p) = i.checked_add(8).and_then(|s| d.get(s..s.checked_add(len)?)) else {
            break;
        };
        match name {
            b"VP8X" => {
                if p.first().is_none_or(|f| f & 0x02 == 0) {
                    return None;
                }
                a = Some(Animation {
                    width: u24le(p, 4)? + 1,
                    height: u24le(p, 7)? + 1,
                    frames: 0,
                    delays_ms: Vec::new(),
                    plays: 0,
                });
            }
            b"ANIM" => {
                if let (Some(a), Some(n)) = (a.as_mut(), u16le(p, 4)) {
                    a.plays = u32::from(n);
                }
            }
            b"ANMF" => {
                if let (Some(a), Some(ms)) = (a.as_mut(), u24le(p, 12)) {
                    a.frames += 1;
                    a.delays_ms.push(ms);
                }
            }
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::gen;

    #[test]
    fn gif_frames_delays_and_loop() {
        let g = gen::animated_gif_with(&gen::AnimSpec::default());
        let a = probe(ImageType::Gif, &g).unwrap();
        assert_eq!((a.width, a.height, a.frames), (40, 30, 4));
        assert_eq!(a.delays_ms, vec![100, 200, 300, 400]);
        assert_eq!(a.plays, 0);
        let once = gen::animated_gif_with(&gen::AnimSpec {
            repeat: None,
            ..gen::AnimSpec::default()
        });
        assert_eq!(probe(ImageType::Gif, &once).unwrap().plays, 1);
        let thrice = gen::animated_gif_with(&gen::AnimSpec {
            repeat: Some(2),
            ..gen::AnimSpec::default()
        });
        assert_eq!(probe(ImageType::Gif, &thrice).unwrap().plays, 3);
        let still = gen::generate(gen::Kind::Gif, 8, 8).unwrap();
        assert_eq!(probe(ImageType::Gif, &still), None);
        // Truncated anywhere: never panics, never more frames than whole.
        for n in 0..g.len() {
            let f = gif(&g[..n]).map_or(0, |a| a.frames);
            assert!(f <= 4);
        }
    }

    #[test]
    fn webp_frames_delays_and_loop() {
        let w = gen::animated_webp(&gen::AnimSpec::default());
        let a = probe(ImageType::Webp, &w).unwrap();
        assert_eq!((a.width, a.height, a.frames), (40, 30, 4));
        assert_eq!(a.delays_ms, vec![100, 200, 300, 400]);
        assert_eq!(a.plays, 0);
        let still = gen::generate(gen::Kind::Webp, 8, 8).unwrap();
        assert_eq!(probe(ImageType::Webp, &still), None);
        for n in 0..w.len() {
            let _ = probe(ImageType::Webp, &w[..n]);
        }
    }
}
