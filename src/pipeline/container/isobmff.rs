//! The HEIF/AVIF container (ISOBMFF, ISO/IEC 14496-12 and 23008-12): the
//! primary item of a still image, its alpha auxiliary item, and the
//! properties that describe them (`ispe`, `pixi`, `colr`, `irot`, `imir`,
//! `auxC`). Pure and bounds-checked: every length is checked against the
//! bytes it claims before use, nothing recurses, and an item's data is
//! borrowed (one extent) or copied within the file's own size.

use std::borrow::Cow;

/// The AVIF ftyp brands: still image and image sequence (whose primary
/// item is still a still).
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// `auxC` types that mark an alpha plane (MIAF, and HEVC's older one).
const ALPHA_URNS: [&[u8]; 2] = [
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    b"urn:mpeg:hevc:2015:auxid:1",
];

/// Most items and properties looked at; a file listing more is refused.
const MAX_ENTRIES: usize = 4096;

/// `colr nclx`: CICP colour description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nclx {
    pub primaries: u16,
    pub transfer: u16,
    pub matrix: u16,
    pub full_range: bool,
}

/// What a still HEIF/AVIF file says about its primary image.
#[derive(Debug)]
pub struct Still<'a> {
    /// The primary item's type (`av01`, `hvc1`, ...).
    pub item_type: [u8; 4],
    /// `ispe`: the coded image's size.
    pub width: u32,
    pub height: u32,
    /// The primary item's coded data (`av1C`'s stream: OBUs).
    pub data: Cow<'a, [u8]>,
    /// The alpha auxiliary item's coded data, if any.
    pub alpha: Option<Cow<'a, [u8]>>,
    pub nclx: Option<Nclx>,
    /// `colr prof`/`rICC`: an ICC profile.
    pub icc: Option<&'a [u8]>,
    /// `irot`: anticlockwise quarter turns, 0..=3.
    pub rotation: u8,
    /// `imir`: 0 mirrors about a vertical axis (left ↔ right), 1 about a
    /// horizontal one (top ↔ bottom).
    pub mirror: Option<u8>,
}

impl Still<'_> {
    /// `irot` then `imir` (the order HEIF applies them in) as an EXIF
    /// orientation value (1..=8).
    pub fn exif_orientation(&self) -> u16 {
        match (self.rotation & 3, self.mirror) {
            (0, None) => 1,
            (0, Some(0)) => 2,
            (0, Some(_)) => 4,
            (1, None) => 8,
            (1, Some(0)) => 7,
            (1, Some(_)) => 5,
            (2, None) => 3,
            (2, Some(0)) => 4,
            (2, Some(_)) => 2,
            (_, None) => 6,
            (_, Some(0)) => 5,
            (_, Some(_)) => 7,
        }
    }
}

/// Is `data` an ISOBMFF file whose `ftyp` names one of `brands` (as its
/// major brand or a compatible one)?
pub fn has_brand(data: &[u8], brands: &[&[u8; 4]]) -> bool {
    if data.get(4..8) != Some(b"ftyp") {
        return false;
    }
    let Some(size) = data.get(0..4).map(|b| be32(b) as usize) else {
        return false;
    };
    if size < 16 {
        return false;
    }
    let ftyp = &data[..size.min(data.len())];
    let is = |b: &[u8]| brands.iter().any(|x| &x[..] == b);
    if ftyp.get(8..12).is_some_and(is) {
        return true;
    }
    ftyp.get(16..).unwrap_or(&[]).chunks_exact(4).any(is)
}

/// An AVIF file (ftyp brand `avif` or `avis`).
pub fn is_avif(data: &[u8]) -> bool {
    has_brand(data, &AVIF_BRANDS)
}

/// HEVC-coded HEIF brands (ISO/IEC 23008-12 Annex B): still images,
/// sequences, and their multi-layer variants.
const HEIC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"];

/// An HEIC file: `ftyp` with an HEVC brand as major or compatible brand
/// (a `mif1` file that also names `heic`, as phones write it). AVIF wins
/// where a file names both: [`is_avif`] is asked first.
pub fn is_heic(data: &[u8]) -> bool {
    has_brand(data, &HEIC_BRANDS)
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A bounds-checked reader over one box's payload.
struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, &'static str>;

const SHORT: &str = "truncated HEIF box";

impl<'a> Reader<'a> {
    fn new(d: &'a [u8]) -> Self {
        Reader { d, pos: 0 }
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(SHORT)?;
        let s = self.d.get(self.pos..end).ok_or(SHORT)?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        self.take(2).map(be16)
    }
    fn u32(&mut self) -> R<u32> {
        self.take(4).map(be32)
    }
    /// An unsigned integer of 0, 4 or 8 bytes (iloc's field sizes).
    fn uint(&mut self, size: u8) -> R<u64> {
        match size {
            0 => Ok(0),
            4 => self.u32().map(u64::from),
            8 => {
                let b = self.take(8)?;
                Ok(u64::from_be_bytes(b.try_into().unwrap()))
            }
            _ => Err("bad iloc field size"),
        }
    }
    /// `version` and `flags` of a FullBox.
    fn full(&mut self) -> R<(u8, u32)> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.d[self.pos.min(self.d.len())..];
        self.pos = self.d.len();
        s
    }
}

/// The boxes directly inside `d`: (type, payload).
fn boxes(d: &[u8]) -> impl Iterator<Item = R<([u8; 4], &[u8])>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= d.len() {
            return None;
        }
        let r = (|| {
            let h = d.get(pos..pos + 8).ok_or(SHORT)?;
            let ty: [u8; 4] = h[4..8].try_into().unwrap();
            let (hdr, size) = match be32(h) {
                0 => (8, d.len() - pos),
                1 => {
                    let l = d.get(pos + 8..pos + 16).ok_or(SHORT)?;
                    let l = u64::from_be_bytes(l.try_into().unwrap());
                    (16, usize::try_from(l).map_err(|_| SHORT)?)
                }
                n => (8, n as usize),
            };
            if size < hdr {
                return Err("bad HEIF box size");
            }
            let end = pos.checked_add(size).ok_or(SHORT)?;
            let payload = d.get(pos + hdr..end).ok_or(SHORT)?;
            pos = end;
            Ok((ty, payload))
        })();
        failed = r.is_err();
        Some(r)
    })
}

fn find<'a>(d: &'a [u8], ty: &[u8; 4]) -> R<Option<&'a [u8]>> {
    for b in boxes(d) {
        let (t, p) = b?;
        if &t == ty {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// One iloc entry: where an item's bytes are.
struct Location {
    id: u32,
    method: u8,
    base: u64,
    extents: Vec<(u64, u64)>,
}

fn parse_iloc(p: &[u8]) -> R<Vec<Location>> {
    let mut r = Reader::new(p);
    let (v, _) = r.full()?;
    if v > 2 {
        return Err("unknown iloc version");
    }
    let a = r.u8()?;
    let b = r.u8()?;
    let (off_size, len_size, base_size) = (a >> 4, a & 15, b >> 4);
    let idx_size = if v >= 1 { b & 15 } else { 0 };
    let count = if v < 2 { u32::from(r.u16()?) } else { r.u32()? } as usize;
    if count > MAX_ENTRIES {
        return Err("too many HEIF items");
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let id = if v < 2 { u32::from(r.u16()?) } else { r.u32()? };
        let method = if v >= 1 { (r.u16()? & 15) as u8 } else { 0 };
        r.u16()?; // data_reference_index
        let base = r.uint(base_size)?;
        let n = usize::from(r.u16()?);
        let mut extents = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            if idx_size > 0 {
                r.uint(idx_size)?;
            }
            let off = r.uint(off_size)?;
            let len = r.uint(len_size)?;
            extents.push((off, len));
        }
        out.push(Location {
            id,
            method,
            base,
            extents,
        });
    }
    Ok(out)
}

/// The bytes of item `id`: its extents, from the file (construction
/// method 0) or from `idat` (1), joined.
fn item_data<'a>(file: &'a [u8], idat: &'a [u8], locs: &[Location], id: u32) -> R<Cow<'a, [u8]>> {
    let loc = locs
        .iter()
        .find(|l| l.id == id)
        .ok_or("HEIF item without location")?;
    let src = match loc.method {
        0 => file,
        1 => idat,
        _ => return Err("unsupported HEIF item construction"),
    };
    let slice = |&(off, len): &(u64, u64)| -> R<&'a [u8]> {
        let start = loc.base.checked_add(off).ok_or(SHORT)?;
        let start = usize::try_from(start).map_err(|_| SHORT)?;
        // Length 0: to the end of the source.
        let end = if len == 0 {
            src.len()
        } else {
            start
                .checked_add(usize::try_from(len).map_err(|_| SHORT)?)
                .ok_or(SHORT)?
        };
        src.get(start..end).ok_or("truncated HEIF item data")
    };
    match loc.extents.as_slice() {
        [] => Err("HEIF item without data"),
        [one] => Ok(Cow::Borrowed(slice(one)?)),
        many => {
            let mut v = Vec::new();
            for e in many {
                let s = slice(e)?;
                if v.len() + s.len() > src.len() {
                    return Err("HEIF item data larger than the file");
                }
                v.extend_from_slice(s);
            }
            Ok(Cow::Owned(v))
        }
    }
}

/// The still picture of a HEIF file: its primary item (`pitm`) with its
/// properties, and the alpha item that references it (`auxl`).
pub fn parse_still(data: &[u8]) -> R<Still<'_>> {
    let meta = find(data, b"meta")?.ok_or("HEIF file without meta")?;
    let meta = meta.get(4..).ok_or(SHORT)?; // FullBox header
    let (mut pitm, mut iinf, mut iloc, mut iprp, mut iref, mut idat) =
        (None, None, None, None, None, None);
    for b in boxes(meta) {
        let (t, p) = b?;
        match &t {
            b"pitm" => pitm = Some(p),
            b"iinf" => iinf = Some(p),
            b"iloc" => iloc = Some(p),
            b"iprp" => iprp = Some(p),
            b"iref" => iref = Some(p),
            b"idat" => idat = Some(p),
            _ => {}
        }
    }
    let primary = {
        let mut r = Reader::new(pitm.ok_or("HEIF file without primary item")?);
        let (v, _) = r.full()?;
        if v == 0 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        }
    };

    // iinf: item types.
    let mut types: Vec<(u32, [u8; 4])> = Vec::new();
    {
        let mut r = Reader::new(iinf.ok_or("HEIF file without iinf")?);
        let (v, _) = r.full()?;
        if v == 0 {
            r.u16()?;
        } else {
            r.u32()?;
        }
        for b in boxes(r.rest()) {
            let (t, p) = b?;
            if &t != b"infe" || types.len() >= MAX_ENTRIES {
                continue;
            }
            let mut r = Reader::new(p);
            let (v, _) = r.full()?;
            if v < 2 {
                continue; // no item_type before version 2
            }
            let id = if v == 2 {
                u32::from(r.u16()?)
            } else {
                r.u32()?
            };
            r.u16()?; // protection index
            let ty: [u8; 4] = r.take(4)?.try_into().unwrap();
            types.push((id, ty));
        }
    }
    let type_of = |id: u32| types.iter().find(|t| t.0 == id).map(|t| t.1);
    let item_type = type_of(primary).ok_or("HEIF primary item not in iinf")?;

    // iprp: ipco (properties, 1-based) and ipma (which item has which).
    let iprp = iprp.ok_or("HEIF file without iprp")?;
    let ipco = find(iprp, b"ipco")?.ok_or("HEIF file without ipco")?;
    let mut props: Vec<([u8; 4], &[u8])> = Vec::new();
    for b in boxes(ipco) {
        if props.len() >= MAX_ENTRIES {
            return Err("too many HEIF properties");
        }
        props.push(b?);
    }
    let mut assoc: Vec<(u32, Vec<u16>)> = Vec::new();
    for b in boxes(iprp) {
        let (t, p) = b?;
        if &t != b"ipma" {
            continue;
        }
        let mut r = Reader::new(p);
        let (v, flags) = r.full()?;
        let n = r.u32()? as usize;
        if n > MAX_ENTRIES {
            return Err("too many HEIF items");
        }
        for _ in 0..n {
            let id = if v < 1 { u32::from(r.u16()?) } else { r.u32()? };
            let k = usize::from(r.u8()?);
            let mut list = Vec::with_capacity(k);
            for _ in 0..k {
                let ix = if flags & 1 != 0 {
                    r.u16()? & 0x7fff
                } else {
                    u16::from(r.u8()? & 0x7f)
                };
                list.push(ix);
            }
            assoc.push((id, list));
        }
    }
    let props_of = |id: u32| -> Vec<([u8; 4], &[u8])> {
        assoc
            .iter()
            .filter(|a| a.0 == id)
            .flat_map(|a| a.1.iter())
            .filter_map(|&ix| props.get(usize::from(ix).checked_sub(1)?).copied())
            .collect()
    };

    let mut still = Still {
        item_type,
        width: 0,
        height: 0,
        data: Cow::Borrowed(&[]),
        alpha: None,
        nclx: None,
        icc: None,
        rotation: 0,
        mirror: None,
    };
    for (t, p) in props_of(primary) {
        let mut r = Reader::new(p);
        match &t {
            b"ispe" => {
                r.full()?;
                still.width = r.u32()?;
                still.height = r.u32()?;
            }
            b"colr" => match r.take(4)? {
                b"nclx" if still.nclx.is_none() => {
                    still.nclx = Some(Nclx {
                        primaries: r.u16()?,
                        transfer: r.u16()?,
                        matrix: r.u16()?,
                        full_range: r.u8()? & 0x80 != 0,
                    })
                }
                b"prof" | b"rICC" if still.icc.is_none() => still.icc = Some(r.rest()),
                _ => {}
            },
            b"irot" => still.rotation = r.u8()? & 3,
            b"imir" => still.mirror = Some(r.u8()? & 1),
            _ => {}
        }
    }
    if still.width == 0 || still.height == 0 {
        return Err("HEIF primary item without ispe");
    }

    // The alpha item: an auxl reference to the primary, with an alpha auxC.
    let mut alpha_id = None;
    if let Some(iref) = iref {
        let mut r = Reader::new(iref);
        let (v, _) = r.full()?;
        for b in boxes(r.rest()) {
            let (t, p) = b?;
            if &t != b"auxl" {
                continue;
            }
            let mut r = Reader::new(p);
            let id = |r: &mut Reader| -> R<u32> {
                if v == 0 {
                    r.u16().map(u32::from)
                } else {
                    r.u32()
                }
            };
            let from = id(&mut r)?;
            let n = r.u16()?;
            let mut to_primary = false;
            for _ in 0..n {
                to_primary |= id(&mut r)? == primary;
            }
            let is_alpha = props_of(from).iter().any(|(t, p)| {
                t == b"auxC"
                    && p.get(4..).is_some_and(|urn| {
                        let urn = urn.split(|&c| c == 0).next().unwrap_or(&[]);
                        ALPHA_URNS.contains(&urn)
                    })
            });
            if to_primary && is_alpha && type_of(from) == Some(item_type) {
                alpha_id = Some(from);
                break;
            }
        }
    }

    let locs = parse_iloc(iloc.ok_or("HEIF file without iloc")?)?;
    let idat = idat.unwrap_or(&[]);
    still.data = item_data(data, idat, &locs, primary)?;
    if let Some(a) = alpha_id {
        still.alpha = Some(item_data(data, idat, &locs, a)?);
    }
    Ok(still)
}

/// The largest frame an AV1 sequence header allows (max_frame_width and
/// max_frame_height): what libaom allocates for, known before decoding.
/// `None` when `obus` does not start with a readable sequence header.
pub fn av1_max_frame(obus: &[u8]) -> Option<(u32, u32)> {
    // Find the sequence header OBU (type 1) among the first few.
    let mut i = 0usize;
    for _ in 0..8 {
        let hdr = *obus.get(i)?;
        let ty = (hdr >> 3) & 15;
        let ext = hdr & 4 != 0;
        let has_size = hdr & 2 != 0;
        i += 1 + usize::from(ext);
        let size = if has_size {
            let (mut v, mut shift) = (0usize, 0u32);
            loop {
                let b = *obus.get(i)?;
                i += 1;
                v |= usize::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
                if shift > 49 {
                    return None;
                }
            }
            v
        } else {
            obus.len() - i
        };
        let payload = obus.get(i..i.checked_add(size)?)?;
        if ty == 1 {
            return seq_max_frame(payload);
        }
        i += size;
    }
    None
}

struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn f(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.d.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }
    fn uvlc(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.f(1)? == 0 {
            zeros += 1;
            if zeros >= 32 {
                return None;
            }
        }
        self.f(zeros)
    }
}

fn seq_max_frame(p: &[u8]) -> Option<(u32, u32)> {
    let mut b = Bits { d: p, pos: 0 };
    b.f(3)?; // seq_profile
    b.f(1)?; // still_picture
    let reduced = b.f(1)? == 1;
    if reduced {
        b.f(5)?;
    } else {
        let timing = b.f(1)? == 1;
        let mut decoder_model = false;
        let mut delay_len = 0;
        if timing {
            b.f(32)?;
            b.f(32)?;
            if b.f(1)? == 1 {
                b.uvlc()?;
            }
            decoder_model = b.f(1)? == 1;
            if decoder_model {
                delay_len = b.f(5)? + 1;
                b.f(32)?;
                b.f(5)?;
                b.f(5)?;
            }
        }
        let initial_delay = b.f(1)? == 1;
        let ops = b.f(5)? + 1;
        for _ in 0..ops {
            b.f(12)?;
            if b.f(5)? > 7 {
                b.f(1)?;
            }
            if decoder_model && b.f(1)? == 1 {
                b.f(delay_len)?;
                b.f(delay_len)?;
                b.f(1)?;
            }
            if initial_delay && b.f(1)? == 1 {
                b.f(4)?;
            }
        }
    }
    let wb = b.f(4)? + 1;
    let hb = b.f(4)? + 1;
    let w = b.f(wb)? + 1;
    let h = b.f(hb)? + 1;
    Some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(ty: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(ty);
        v.extend_from_slice(payload);
        v
    }

    fn full(ty: &[u8; 4], v: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = (u32::from(v) << 24 | flags).to_be_bytes().to_vec();
        p.extend_from_slice(payload);
        bx(ty, &p)
    }

    /// A minimal AVIF: item 1 (`av01`, `data`), optionally item 2 (alpha),
    /// with extra primary properties `extra`.
    pub fn avif(data: &[u8], alpha: Option<&[u8]>, extra: &[Vec<u8>]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"avif\0\0\0\0mif1avif");
        let hdlr = full(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full(b"pitm", 0, 0, &[0, 1]);
        let mut infes = Vec::new();
        let n_items = if alpha.is_some() { 2u16 } else { 1 };
        for id in 1..=n_items {
            infes.extend(full(
                b"infe",
                2,
                0,
                &[&id.to_be_bytes()[..], b"\0\0av01\0"].concat(),
            ));
        }
        let iinf = full(
            b"iinf",
            0,
            0,
            &[&n_items.to_be_bytes()[..], &infes].concat(),
        );
        let ispe = full(
            b"ispe",
            0,
            0,
            &[&3u32.to_be_bytes()[..], &2u32.to_be_bytes()].concat(),
        );
        let auxc = full(
            b"auxC",
            0,
            0,
            b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0",
        );
        let mut ipco = ispe.clone();
        ipco.extend(&auxc);
        for e in extra {
            ipco.extend(e);
        }
        let ipco = bx(b"ipco", &ipco);
        // item 1: ispe (1), extras (3..); item 2: ispe, auxC (2).
        let mut a1 = vec![0x81u8];
        for k in 0..extra.len() {
            a1.push(3 + k as u8);
        }
        let mut ipma = Vec::new();
        ipma.extend(u32::from(n_items).to_be_bytes());
        ipma.extend([0, 1, a1.len() as u8]);
        ipma.extend(&a1);
        if alpha.is_some() {
            ipma.extend([0, 2, 2, 0x81, 0x02]);
        }
        let ipma = full(b"ipma", 0, 0, &ipma);
        let iprp = bx(b"iprp", &[ipco, ipma].concat());
        let iref = if alpha.is_some() {
            full(b"iref", 0, 0, &bx(b"auxl", &[0, 2, 0, 1, 0, 1]))
        } else {
            Vec::new()
        };
        // iloc v0, offset 4 bytes, length 4 bytes; offsets patched below.
        let items: Vec<&[u8]> = std::iter::once(data).chain(alpha).collect();
        let iloc_len = 16 + items.len() * 14;
        let meta_len =
            12 + hdlr.len() + pitm.len() + iinf.len() + iprp.len() + iref.len() + iloc_len;
        let mut off = (ftyp.len() + meta_len + 8) as u32;
        let mut iloc = vec![0x44, 0x00];
        iloc.extend((items.len() as u16).to_be_bytes());
        for (i, it) in items.iter().enumerate() {
            iloc.extend((i as u16 + 1).to_be_bytes());
            iloc.extend([0, 0, 0, 1]);
            iloc.extend(off.to_be_bytes());
            iloc.extend((it.len() as u32).to_be_bytes());
            off += it.len() as u32;
        }
        let iloc = full(b"iloc", 0, 0, &iloc);
        let meta = full(
            b"meta",
            0,
            0,
            &[hdlr, pitm, iinf, iprp, iref, iloc].concat(),
        );
        assert_eq!(meta.len(), meta_len);
        let mdat = bx(b"mdat", &items.concat());
        [ftyp, meta, mdat].concat()
    }

    #[test]
    fn parses_a_minimal_still() {
        let irot = bx(b"irot", &[1]);
        let imir = bx(b"imir", &[0]);
        let mut nclx = b"nclx".to_vec();
        nclx.extend([0, 1, 0, 13, 0, 6, 0x80]);
        let colr = bx(b"colr", &nclx);
        let prof = bx(b"colr", b"profICCDATA");
        let f = avif(b"PRIMARY", Some(b"ALPHA"), &[irot, imir, colr, prof]);
        assert!(is_avif(&f));
        let s = parse_still(&f).unwrap();
        assert_eq!(&s.item_type, b"av01");
        assert_eq!((s.width, s.height), (3, 2));
        assert_eq!(&*s.data, b"PRIMARY");
        assert_eq!(s.alpha.as_deref(), Some(&b"ALPHA"[..]));
        assert_eq!(
            s.nclx,
            Some(Nclx {
                primaries: 1,
                transfer: 13,
                matrix: 6,
                full_range: true
            })
        );
        assert_eq!(s.icc, Some(&b"ICCDATA"[..]));
        assert_eq!((s.rotation, s.mirror), (1, Some(0)));
        assert_eq!(s.exif_orientation(), 7);

        let plain = avif(b"X", None, &[]);
        let s = parse_still(&plain).unwrap();
        assert!(s.alpha.is_none() && s.nclx.is_none() && s.icc.is_none());
        assert_eq!(s.exif_orientation(), 1);
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let f = avif(b"PRIMARYDATA", Some(b"ALPHA"), &[bx(b"irot", &[2])]);
        for n in 0..f.len() {
            assert!(parse_still(&f[..n]).is_err(), "{n}");
        }
        // Flipped bytes never panic.
        for i in 0..f.len() {
            for x in [0x00u8, 0xff, 0x80] {
                let mut g = f.clone();
                g[i] = x;
                let _ = parse_still(&g);
            }
        }
    }

    #[test]
    fn brands() {
        assert!(!is_avif(b"\0\0\0\x14ftypheic\0\0\0\0mif1heic"));
        assert!(has_brand(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic", &[b"heic"]));
        assert!(is_avif(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avis"));
        assert!(!is_avif(b"\0\0\0\x08ftyp"));
        assert!(!is_avif(b"RIFF\0\0\0\0WEBPVP8 "));
    }

    #[test]
    fn sequence_header_dimensions() {
        // reduced_still_picture_header, 16-bit width/height fields.
        // profile 0, still 1, reduced 1, level 5 bits, wb-1=15, hb-1=15,
        // w-1 = 0x0fff, h-1 = 0x07ff.
        let mut bits = String::from("000" /* profile */);
        bits += "1"; // still
        bits += "1"; // reduced
        bits += "00000"; // level
        bits += "1111";
        bits += "1111";
        bits += &format!("{:016b}", 0x0fff);
        bits += &format!("{:016b}", 0x07ff);
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let payload: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        let mut obu = vec![0x0a, payload.len() as u8];
        obu.extend(&payload);
        assert_eq!(av1_max_frame(&obu), Some((0x1000, 0x800)));
        assert_eq!(av1_max_frame(&obu[..4]), None);
        assert_eq!(av1_max_frame(&[]), None);
    }
}
