//! EXIF kept on re-encode (`image_resize_rs_metadata`): the source's TIFF
//! structure read entry by entry and written anew, little-endian, with only
//! the entries the policy keeps and every offset recomputed.
//!
//! Pure and bounds-checked: every offset and count is checked against the
//! input, which is refused above [`MAX_EXIF`], so no hostile value can make
//! it panic or allocate more than a few times the input. IFD0 and its Exif
//! (0x8769) and GPS (0x8825) sub-IFDs are read; IFD1 (the thumbnail) and the
//! Interoperability IFD are never followed.

/// The largest EXIF read or written: what one JPEG APP1 segment holds after
/// its `Exif\0\0` (65535 − 2 − 6 bytes, just under 64 kB).
pub const MAX_EXIF: usize = 65_527;

const TAG_ORIENTATION: u16 = 0x0112;
const TAG_ARTIST: u16 = 0x013b;
const TAG_COPYRIGHT: u16 = 0x8298;
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_GPS_IFD: u16 = 0x8825;

/// Which entries survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// IFD0's Artist and Copyright only.
    Copyright,
    /// Everything but what no longer holds for the new image (see
    /// [`dropped_in_all`]); the GPS IFD only when `gps`.
    All { gps: bool },
}

/// Tags `all` leaves out: they point into the source file (strips, tiles,
/// the thumbnail, sub-IFDs not followed, the maker note whose private
/// offsets do not survive a move) or describe pixels that were changed
/// (dimensions, compression, samples). Orientation is written as 1.
fn dropped_in_all(tag: u16) -> bool {
    matches!(
        tag,
        0x0100..=0x0103 // ImageWidth, ImageLength, BitsPerSample, Compression
            | 0x0106 // PhotometricInterpretation
            | 0x0111 // StripOffsets
            | 0x0115..=0x0117 // SamplesPerPixel, RowsPerStrip, StripByteCounts
            | 0x011c // PlanarConfiguration
            | 0x0144..=0x0145 // TileOffsets, TileByteCounts
            | 0x014a // SubIFDs
            | 0x0201..=0x0202 // JPEGInterchangeFormat(Length): thumbnail
            | 0x0211..=0x0213 // YCbCr coefficients, subsampling, positioning
            | 0x927c // MakerNote
            | 0xa002..=0xa003 // PixelXDimension, PixelYDimension
            | 0xa005 // Interoperability IFD pointer
    )
}

/// One entry, its value already little-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    tag: u16,
    ty: u16,
    count: u32,
    value: Vec<u8>,
}

/// Bytes per element of a TIFF type, and the size of the unit swapped for
/// byte order (RATIONAL is two LONGs). `None` for unknown types.
fn type_size(ty: u16) -> Option<(usize, usize)> {
    Some(match ty {
        1 | 2 | 6 | 7 => (1, 1),
        3 | 8 => (2, 2),
        4 | 9 | 11 | 13 => (4, 4),
        5 | 10 => (8, 4),
        12 => (8, 8),
        _ => return None,
    })
}

struct Reader<'a> {
    t: &'a [u8],
    le: bool,
    /// Value bytes still allowed to be copied: entries pointing at the
    /// same large value cannot multiply it past this.
    budget: std::cell::Cell<usize>,
}

impl Reader<'_> {
    fn u16_at(&self, i: usize) -> Option<u16> {
        let b: [u8; 2] = self.t.get(i..i.checked_add(2)?)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32_at(&self, i: usize) -> Option<u32> {
        let b: [u8; 4] = self.t.get(i..i.checked_add(4)?)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The entries of the IFD at `off`; entries whose value lies outside
    /// the data or whose type is unknown are skipped. `None` when the IFD
    /// itself does not fit.
    fn ifd(&self, off: usize) -> Option<Vec<Entry>> {
        let n = usize::from(self.u16_at(off)?);
        // The whole directory must be inside the data: bounds the loop.
        self.t.get(off + 2..off + 2 + 12 * n)?;
        let mut out = Vec::new();
        for k in 0..n {
            let e = off + 2 + 12 * k;
            let (Some(tag), Some(ty), Some(count)) =
                (self.u16_at(e), self.u16_at(e + 2), self.u32_at(e + 4))
            else {
                continue;
            };
            let Some((size, unit)) = type_size(ty) else {
                continue;
            };
            let Some(len) = usize::try_from(count)
                .ok()
                .and_then(|c| c.checked_mul(size))
                .filter(|&l| l <= self.t.len())
            else {
                continue;
            };
            let raw = if len <= 4 {
                self.t.get(e + 8..e + 8 + len)
            } else {
                self.u32_at(e + 8)
                    .and_then(|o| usize::try_from(o).ok())
                    .and_then(|o| self.t.get(o..o.checked_add(len)?))
            };
            let Some(raw) = raw else { continue };
            let Some(left) = self.budget.get().checked_sub(raw.len()) else {
                continue;
            };
            self.budget.set(left);
            let mut value = raw.to_vec();
            if !self.le && unit > 1 {
                value.chunks_exact_mut(unit).for_each(|c| c.reverse());
            }
            out.push(Entry {
                tag,
                ty,
                count,
                value,
            });
        }
        Some(out)
    }

    /// The offset a pointer entry (LONG or IFD, count 1) holds.
    fn pointer(&self, e: &Entry) -> Option<usize> {
        if !matches!(e.ty, 4 | 13) || e.count != 1 {
            return None;
        }
        let v: [u8; 4] = e.value.as_slice().try_into().ok()?;
        usize::try_from(u32::from_le_bytes(v)).ok()
    }
}

/// The EXIF kept from `tiff` (a TIFF structure: `II*\0` or `MM\0*`) under
/// `filter`, as a new little-endian TIFF structure; `None` when nothing is
/// kept, the input is malformed or larger than [`MAX_EXIF`], or the result
/// would be.
pub fn filter(tiff: &[u8], filter: Filter) -> Option<Vec<u8>> {
    if tiff.len() > MAX_EXIF {
        return None;
    }
    let le = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let r = Reader {
        t: tiff,
        le,
        budget: std::cell::Cell::new(2 * MAX_EXIF),
    };
    let ifd0_off = usize::try_from(r.u32_at(4)?).ok()?;
    let ifd0 = r.ifd(ifd0_off)?;
    let mut keep0 = Vec::new();
    let mut subs: Vec<(u16, Vec<Entry>)> = Vec::new();
    for e in ifd0 {
        match filter {
            Filter::Copyright => {
                if matches!(e.tag, TAG_ARTIST | TAG_COPYRIGHT) {
                    keep0.push(e);
                }
            }
            Filter::All { gps } => match e.tag {
                TAG_ORIENTATION => keep0.push(Entry {
                    tag: TAG_ORIENTATION,
                    ty: 3,
                    count: 1,
                    value: vec![1, 0],
                }),
                TAG_EXIF_IFD | TAG_GPS_IFD => {
                    if e.tag == TAG_GPS_IFD && !gps {
                        continue;
                    }
                    // One level only, never the IFD that points to it.
                    let Some(off) = r.pointer(&e).filter(|&o| o != ifd0_off) else {
                        continue;
                    };
                    let Some(entries) = r.ifd(off) else { continue };
                    let entries: Vec<Entry> = entries
                        .into_iter()
                        .filter(|s| {
                            !matches!(s.tag, TAG_EXIF_IFD | TAG_GPS_IFD)
                                && (e.tag == TAG_GPS_IFD || !dropped_in_all(s.tag))
                        })
                        .collect();
                    if !entries.is_empty() && !subs.iter().any(|(t, _)| *t == e.tag) {
                        subs.push((e.tag, entries));
                    }
                }
                t if dropped_in_all(t) => {}
                _ => keep0.push(e),
            },
        }
    }
    // Pointers to the sub-IFDs, filled in once the layout is known.
    for (tag, _) in &subs {
        keep0.push(Entry {
            tag: *tag,
            ty: 4,
            count: 1,
            value: vec![0; 4],
        });
    }
    if keep0.is_empty() {
        return None;
    }
    let out = write(keep0, subs);
    (out.len() <= MAX_EXIF).then_some(out)
}

/// Size of an IFD with its out-of-line values (each padded to even).
fn ifd_size(entries: &[Entry]) -> usize {
    2 + 12 * entries.len()
        + 4
        + entries
            .iter()
            .filter(|e| e.value.len() > 4)
            .map(|e| e.value.len() + (e.value.len() & 1))
            .sum::<usize>()
}

/// Writes the header, IFD0 at 8, then each sub-IFD; entries sorted by tag
/// (TIFF requires it), no IFD1.
fn write(mut ifd0: Vec<Entry>, mut subs: Vec<(u16, Vec<Entry>)>) -> Vec<u8> {
    let mut at = 8 + ifd_size(&ifd0);
    for (tag, entries) in &subs {
        if let Some(p) = ifd0.iter_mut().find(|e| e.tag == *tag) {
            p.value = (at as u32).to_le_bytes().to_vec();
        }
        at += ifd_size(entries);
    }
    let mut out = Vec::with_capacity(at);
    out.extend_from_slice(b"II*\0");
    out.extend_from_slice(&8u32.to_le_bytes());
    write_ifd(&mut out, &mut ifd0);
    for (_, entries) in &mut subs {
        write_ifd(&mut out, entries);
    }
    out
}

fn write_ifd(out: &mut Vec<u8>, entries: &mut [Entry]) {
    entries.sort_by_key(|e| e.tag);
    let start = out.len();
    let mut data = start + 2 + 12 * entries.len() + 4;
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries.iter() {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.ty.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        if e.value.len() <= 4 {
            let mut v = [0u8; 4];
            v[..e.value.len()].copy_from_slice(&e.value);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&(data as u32).to_le_bytes());
            data += e.value.len() + (e.value.len() & 1);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    for e in entries.iter().filter(|e| e.value.len() > 4) {
        out.extend_from_slice(&e.value);
        if e.value.len() & 1 == 1 {
            out.push(0);
        }
    }
}

/// (tag, type, count, value bytes) of a test entry.
#[cfg(any(test, feature = "gen"))]
pub type RawEntry = (u16, u16, u32, Vec<u8>);

/// A TIFF structure from IFD0 entries (tag, type, count, value bytes in
/// the given byte order, inline when 4 bytes or less) and an optional IFD1,
/// for the tests: values placed after the directories as given.
#[cfg(any(test, feature = "gen"))]
pub fn build(big_endian: bool, ifds: &[&[RawEntry]]) -> Vec<u8> {
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut t: Vec<u8> = if big_endian {
        b"MM\0*".to_vec()
    } else {
        b"II*\0".to_vec()
    };
    t.extend_from_slice(&w32(8));
    let mut at = 8usize;
    let sizes: Vec<usize> = ifds
        .iter()
        .map(|es| {
            2 + 12 * es.len()
                + 4
                + es.iter()
                    .filter(|e| e.3.len() > 4)
                    .map(|e| e.3.len() + (e.3.len() & 1))
                    .sum::<usize>()
        })
        .collect();
    for (i, es) in ifds.iter().enumerate() {
        let mut data = at + 2 + 12 * es.len() + 4;
        t.extend_from_slice(&w16(es.len() as u16));
        for (tag, ty, count, v) in es.iter() {
            t.extend_from_slice(&w16(*tag));
            t.extend_from_slice(&w16(*ty));
            t.extend_from_slice(&w32(*count));
            if v.len() <= 4 {
                let mut b = [0u8; 4];
                b[..v.len()].copy_from_slice(v);
                t.extend_from_slice(&b);
            } else {
                t.extend_from_slice(&w32(data as u32));
                data += v.len() + (v.len() & 1);
            }
        }
        let next = if i + 1 < ifds.len() {
            (at + sizes[i]) as u32
        } else {
            0
        };
        t.extend_from_slice(&w32(next));
        for (_, _, _, v) in es.iter().filter(|e| e.3.len() > 4) {
            t.extend_from_slice(v);
            if v.len() & 1 == 1 {
                t.push(0);
            }
        }
        at += sizes[i];
    }
    t
}

/// The entries of IFD0 of `tiff` as (tag, type, count, little-endian
/// value), and those of its Exif and GPS sub-IFDs, for the tests.
#[cfg(test)]
pub(crate) fn dump(tiff: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
    let le = tiff.starts_with(b"II");
    let r = Reader {
        t: tiff,
        le,
        budget: std::cell::Cell::new(usize::MAX),
    };
    let Some(off) = r.u32_at(4) else {
        return Vec::new();
    };
    let mut all: Vec<(u16, u16, u32, Vec<u8>)> = Vec::new();
    let ifd0 = r.ifd(off as usize).unwrap_or_default();
    for e in &ifd0 {
        if matches!(e.tag, TAG_EXIF_IFD | TAG_GPS_IFD) {
            if let Some(o) = r.pointer(e) {
                for s in r.ifd(o).unwrap_or_default() {
                    all.push((s.tag, s.ty, s.count, s.value));
                }
            }
        }
        all.push((e.tag, e.ty, e.count, e.value.clone()));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii(s: &str) -> (u32, Vec<u8>) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        (v.len() as u32, v)
    }

    /// IFD0: Make, Orientation 6, Artist, Copyright, ImageWidth, Exif and
    /// GPS pointers; an Exif IFD (ExposureTime, PixelXDimension, a
    /// UserComment); a GPS IFD; an IFD1 with a thumbnail pointer.
    fn camera(big_endian: bool) -> Vec<u8> {
        // Laid out by hand: the sub-IFDs go after IFD0 and IFD1, whose
        // pointers are patched below once their offsets are known.
        let s16 = |v: u16| {
            if big_endian {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        };
        let s32 = |v: u32| {
            if big_endian {
                v.to_be_bytes().to_vec()
            } else {
                v.to_le_bytes().to_vec()
            }
        };
        let (mc, make) = ascii("IRS Camera Co");
        let (ac, artist) = ascii("Jane Artist");
        let (cc, copy) = ascii("(c) 2026 Jane Artist");
        let exif_ifd: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x829a, 5, 1, [s32(1), s32(250)].concat()),
            (0x9286, 7, 12, b"ASCII\0\0\0hey!".to_vec()),
            (0xa002, 4, 1, s32(4000)),
        ];
        let gps_ifd: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x0001, 2, 2, b"N\0".to_vec()),
            (
                0x0002,
                5,
                3,
                [s32(48), s32(1), s32(51), s32(1), s32(29), s32(1)].concat(),
            ),
        ];
        let ifd1: Vec<(u16, u16, u32, Vec<u8>)> =
            vec![(0x0201, 4, 1, s32(0)), (0x0202, 4, 1, s32(0))];
        let mut ifd0: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x010f, 2, mc, make),
            (0x0100, 4, 1, s32(4000)),
            (0x0112, 3, 1, s16(6)),
            (0x013b, 2, ac, artist),
            (0x8298, 2, cc, copy),
            (0x8769, 4, 1, s32(0)),
            (0x8825, 4, 1, s32(0)),
        ];
        // First pass to learn where the sub-IFDs land (after IFD0, IFD1).
        let t = build(big_endian, &[&ifd0, &ifd1]);
        let exif_at = t.len() as u32;
        let exif_len = build(big_endian, &[&exif_ifd]).len() as u32 - 8;
        let gps_at = exif_at + exif_len;
        ifd0[5].3 = s32(exif_at);
        ifd0[6].3 = s32(gps_at);
        let mut t = build(big_endian, &[&ifd0, &ifd1]);
        // Sub-IFDs written at their place: rebuild each one standalone
        // then shift its out-of-line offsets.
        for (ifd, at) in [(&exif_ifd, exif_at), (&gps_ifd, gps_at)] {
            let sub = build(big_endian, &[ifd]);
            let mut body = sub[8..].to_vec();
            let n = ifd.len();
            for k in 0..n {
                let e = 2 + 12 * k;
                if ifd[k].3.len() > 4 {
                    let b: [u8; 4] = body[e + 8..e + 12].try_into().unwrap();
                    let o = if big_endian {
                        u32::from_be_bytes(b)
                    } else {
                        u32::from_le_bytes(b)
                    };
                    body[e + 8..e + 12].copy_from_slice(&s32(o - 8 + at));
                }
            }
            assert_eq!(t.len() as u32, at);
            t.extend_from_slice(&body);
        }
        t
    }

    fn tags(t: &[u8]) -> Vec<u16> {
        let mut v: Vec<u16> = dump(t).iter().map(|e| e.0).collect();
        v.sort();
        v
    }

    #[test]
    fn copyright_keeps_artist_and_copyright_only() {
        for be in [false, true] {
            let out = filter(&camera(be), Filter::Copyright).unwrap();
            assert!(out.starts_with(b"II*\0"));
            let d = dump(&out);
            assert_eq!(tags(&out), vec![0x013b, 0x8298]);
            assert_eq!(d[0].3, b"Jane Artist\0");
            assert_eq!(d[1].3, b"(c) 2026 Jane Artist\0");
        }
    }

    #[test]
    fn all_drops_gps_thumbnail_dimensions_and_resets_orientation() {
        for be in [false, true] {
            let src = camera(be);
            let out = filter(&src, Filter::All { gps: false }).unwrap();
            assert_eq!(
                tags(&out),
                vec![0x010f, 0x0112, 0x013b, 0x8298, 0x829a, 0x8769, 0x9286]
            );
            let d = dump(&out);
            let get = |tag| d.iter().find(|e| e.0 == tag).unwrap().3.clone();
            assert_eq!(get(0x0112), vec![1, 0]);
            // RATIONAL 1/250, now little-endian.
            assert_eq!(
                get(0x829a),
                [1u32.to_le_bytes(), 250u32.to_le_bytes()].concat()
            );
            assert_eq!(get(0x9286), b"ASCII\0\0\0hey!");
            // No IFD1: the next-IFD link of IFD0 is 0.
            let n = u16::from_le_bytes([out[8], out[9]]) as usize;
            assert_eq!(&out[10 + 12 * n..14 + 12 * n], &[0, 0, 0, 0]);
            // Orientation from the result is 1.
            assert_eq!(super::super::meta::tiff_orientation(&out), Some(1));
            let with_gps = filter(&src, Filter::All { gps: true }).unwrap();
            let t = tags(&with_gps);
            assert!(t.contains(&0x8825) && t.contains(&0x0001) && t.contains(&0x0002));
            let d = dump(&with_gps);
            let lat = &d.iter().find(|e| e.0 == 0x0002).unwrap().3;
            assert_eq!(&lat[..4], &48u32.to_le_bytes());
        }
    }

    #[test]
    fn nothing_kept_is_none() {
        let t = build(false, &[&[(0x0112, 3, 1, vec![6, 0])]]);
        assert_eq!(filter(&t, Filter::Copyright), None);
        assert!(filter(&t, Filter::All { gps: false }).is_some());
        assert_eq!(filter(b"", Filter::Copyright), None);
        assert_eq!(filter(b"II*\0", Filter::Copyright), None);
        assert_eq!(filter(&vec![0u8; MAX_EXIF + 1], Filter::Copyright), None);
    }

    #[test]
    fn hostile_offsets_and_counts() {
        // A huge count, an offset past the end, a pointer to IFD0 itself,
        // an IFD count beyond the data, an unknown type.
        let t = build(
            false,
            &[&[
                (0x8298, 2, 0xffff_ffff, 100u32.to_le_bytes().to_vec()),
                (0x013b, 2, 8, 0xffff_fff0u32.to_le_bytes().to_vec()),
                (0x8769, 4, 1, 8u32.to_le_bytes().to_vec()),
                (0x8825, 4, 1, 0xffff_ffffu32.to_le_bytes().to_vec()),
                (0x010f, 99, 1, vec![1, 2, 3, 4]),
            ]],
        );
        assert_eq!(filter(&t, Filter::Copyright), None);
        let all = filter(&t, Filter::All { gps: true });
        assert!(all.is_none_or(|o| !tags(&o).contains(&0x8769)));
        let mut bad = b"II*\0".to_vec();
        bad.extend_from_slice(&8u32.to_le_bytes());
        bad.extend_from_slice(&0xffffu16.to_le_bytes());
        assert_eq!(filter(&bad, Filter::All { gps: true }), None);
        // Every truncation and every single-byte corruption of a real one.
        let src = camera(true);
        for n in 0..src.len() {
            let _ = filter(&src[..n], Filter::All { gps: true });
        }
        for i in 0..src.len() {
            for v in [0u8, 0x7f, 0xff] {
                let mut c = src.clone();
                c[i] = v;
                for f in [Filter::Copyright, Filter::All { gps: true }] {
                    if let Some(o) = filter(&c, f) {
                        assert!(o.len() <= MAX_EXIF);
                        // What we write, we read back the same way.
                        assert_eq!(filter(&o, f).map(|x| tags(&x)), Some(tags(&o)));
                    }
                }
            }
        }
    }
}
