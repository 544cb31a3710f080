//! The JPEG segment walker: marker segments between SOI and EOI, for the
//! decoder (sampling factors, the DC-only rewrite of progressive files).

/// The (H, V) sampling factors of each component, from the frame header.
pub(crate) fn jpeg_sampling(data: &[u8]) -> Option<Vec<(u8, u8)>> {
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut i = 2;
    loop {
        if *data.get(i)? != 0xff {
            return None;
        }
        let marker = *data.get(i + 1)?;
        if marker == 0xff {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i + 2)?, *data.get(i + 3)?]));
        match marker {
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                let nf = usize::from(*data.get(i + 9)?);
                let comps = data.get(i + 10..i + 10 + 3 * nf)?;
                return Some(comps.chunks(3).map(|c| (c[1] >> 4, c[1] & 0x0f)).collect());
            }
            0xda | 0xd9 => return None,
            _ => i += 2 + len,
        }
    }
}

/// (marker, start, end) of each segment after SOI up to EOI; a scan's end
/// includes its entropy-coded data. `None` for malformed or truncated input.
pub(crate) fn jpeg_segments(data: &[u8]) -> Option<Vec<(u8, usize, usize)>> {
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut segs = Vec::new();
    let mut i = 2;
    loop {
        if *data.get(i)? != 0xff {
            return None;
        }
        while *data.get(i + 1)? == 0xff {
            i += 1; // fill bytes
        }
        let marker = data[i + 1];
        match marker {
            0xd9 => return Some(segs),
            0x01 | 0xd0..=0xd7 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i + 2)?, *data.get(i + 3)?]));
        let mut end = i + 2 + len;
        if len < 2 || end > data.len() {
            return None;
        }
        if marker == 0xda {
            // Entropy data runs to the next marker that is neither a stuffed
            // 0xff00 nor a restart marker.
            loop {
                end += memchr::memchr(0xff, data.get(end..)?)?;
                let b = *data.get(end + 1)?;
                if b != 0x00 && !(0xd0..=0xd7).contains(&b) {
                    break;
                }
                end += 1;
            }
        }
        segs.push((marker, i, end));
        i = end;
    }
}
