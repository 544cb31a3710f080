//! Format detection (ngx_http_image_test) and header-only dimensions
//! (ngx_http_image_size), bounds-checked.

use super::isobmff;
use crate::pipeline::ImageType;

/// Dimensions read from the header bytes, plus image_filter's `force` flag
/// (JPEG application data above 5% of the file: re-encode to strip it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub force: bool,
}

/// ngx_http_image_test applied to the whole body; needs at least 16 bytes.
pub fn sniff(data: &[u8]) -> Option<ImageType> {
    if data.len() < 16 {
        return None;
    }
    let p = data;
    if p[0] == 0xff && p[1] == 0xd8 {
        Some(ImageType::Jpeg)
    } else if &p[0..4] == b"GIF8" && (p[4] == b'7' || p[4] == b'9') && p[5] == b'a' {
        Some(ImageType::Gif)
    } else if p[0..8] == [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a] {
        Some(ImageType::Png)
    } else if &p[0..4] == b"RIFF" && &p[8..12] == b"WEBP" {
        Some(ImageType::Webp)
    } else if isobmff::is_avif(p) {
        Some(ImageType::Avif)
    } else if crate::pipeline::codec::jxl::is_jxl(p) {
        Some(ImageType::Jxl)
    } else if isobmff::is_heic(p) {
        Some(ImageType::Heic)
    } else {
        None
    }
}

/// ngx_http_image_size: dimensions from the header only, no pixel decode.
pub fn read_header(ty: ImageType, data: &[u8]) -> Option<Header> {
    let p = data;
    let len = p.len();
    let b = |i: usize| u32::from(p[i]);
    let (width, height, force) = match ty {
        ImageType::Jpeg => {
            // `p < last` guarantees p+1..p+8 are in bounds after the `p++`.
            let last = len.saturating_sub(10);
            let mut i = 2usize;
            let (mut w, mut h) = (0u32, 0u32);
            let mut app = 0u64;
            while i < last {
                if p[i] == 0xff && p[i + 1] != 0xff {
                    i += 1;
                    let m = p[i];
                    if matches!(m, 0xc0..=0xc3 | 0xc9..=0xcb) && (w == 0 || h == 0) {
                        w = b(i + 6) * 256 + b(i + 7);
                        h = b(i + 4) * 256 + b(i + 5);
                    }
                    let l = usize::from(p[i + 1]) * 256 + usize::from(p[i + 2]);
                    if (0xe1..=0xef).contains(&m) {
                        // application data: EXIF, Adobe XMP, ...
                        app += l as u64;
                    }
                    i += l;
                    continue;
                }
                i += 1;
            }
            if w == 0 || h == 0 {
                return None;
            }
            (w, h, (len as u64) / 20 < app)
        }
        ImageType::Gif => {
            if len < 10 {
                return None;
            }
            (b(7) * 256 + b(6), b(9) * 256 + b(8), false)
        }
        ImageType::Png => {
            if len < 24 {
                return None;
            }
            (b(18) * 256 + b(19), b(22) * 256 + b(23), false)
        }
        ImageType::Webp => {
            if len < 30 || &p[12..15] != b"VP8" {
                return None;
            }
            match p[15] {
                b' ' => {
                    if p[20] & 1 != 0 {
                        // not a key frame
                        return None;
                    }
                    if p[23..26] != [0x9d, 0x01, 0x2a] {
                        return None;
                    }
                    (
                        (b(26) | b(27) << 8) & 0x3fff,
                        (b(28) | b(29) << 8) & 0x3fff,
                        false,
                    )
                }
                b'L' => {
                    if p[20] != 0x2f {
                        return None;
                    }
                    (
                        ((b(21) | b(22) << 8) & 0x3fff) + 1,
                        ((b(22) >> 6 | b(23) << 2 | b(24) << 10) & 0x3fff) + 1,
                        false,
                    )
                }
                b'X' => (
                    (b(24) | b(25) << 8 | b(26) << 16) + 1,
                    (b(27) | b(28) << 8 | b(29) << 16) + 1,
                    false,
                ),
                _ => return None,
            }
        }
        ImageType::Avif => {
            let s = isobmff::parse_still(data).ok()?;
            (s.width, s.height, false)
        }
        // As displayed: the decoder applies the codestream's orientation.
        ImageType::Jxl => {
            let (w, h) = crate::pipeline::codec::jxl::size(data)?;
            (u32::try_from(w).ok()?, u32::try_from(h).ok()?, false)
        }
        // As displayed (libheif applies irot): our strict parser's `ispe`,
        // so a bomb is sized before libheif sees it, else libheif's reading.
        ImageType::Heic => match isobmff::parse_still(data) {
            Ok(s) if s.rotation & 1 == 1 => (s.height, s.width, false),
            Ok(s) => (s.width, s.height, false),
            Err(_) => {
                let i = irs_heif::probe(data).ok()?;
                (i.width, i.height, false)
            }
        },
    };
    Some(Header {
        width,
        height,
        force,
    })
}
