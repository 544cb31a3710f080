//! A progressive JPEG at 1/8 scale from its DC scans alone.
//!
//! At 1/8 libjpeg gives a component whose IDCT is 1×1 (luma, every
//! full-resolution component, the chroma of 4:2:2, 4:4:0 and 4:1:1) one
//! pixel per block, the block's DC coefficient, and upsamples by
//! replication (`jinit_upsampler`: no fancy upsampling at a 1×1 IDCT). So
//! when every component is decoded that way, the image is fully determined
//! by the DC scans: this decoder Huffman-decodes those (first and
//! refinement passes, interleaved or not, restart intervals included) and
//! skips the AC scans' bytes without looking at them.
//!
//! Memory is one `i16` per block and component plus the output: 1/32 of a
//! full decode's pixels, where libjpeg would also allocate and zero a
//! coefficient buffer for the whole image (64 coefficients per block).
//!
//! The arithmetic is libjpeg-turbo's: `jpeg_idct_1x1` (dequantise,
//! descale by 3, its range-limit table), replication, and `ycc_rgb_convert`
//! with its fixed-point tables. The unit tests compare every layout with
//! libjpeg-turbo's own 1/8 decode of the same file.
//!
//! `None` for anything outside that case (a component needing AC, 4:2:0
//! chroma, arithmetic coding, 12-bit, odd sampling ratios), and for any
//! anomaly in the stream: a missing restart marker, a bad Huffman code, a
//! marker where entropy data should be, truncation. The caller then decodes
//! with libjpeg-turbo, whose lenient recovery and error reports stay the
//! only ones.

use crate::pipeline::container::jpeg::jpeg_segments;
use crate::pipeline::ops::Bitmap;

/// How the components become pixels (libjpeg's `jpeg_color_space`, as
/// turbojpeg reports it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Color {
    Gray,
    YCbCr,
    Rgb,
}

/// libjpeg's limit on progressive scans, which the libjpeg path sets too.
const MAX_SCANS: usize = 500;

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// The quantisation table's DC entry, latched at the component's first
    /// scan (libjpeg's `latch_quant_tables`).
    q0: Option<i32>,
    /// Blocks per row, MCU-padded.
    bw: usize,
    /// Blocks of the component proper (a non-interleaved scan's grid).
    cw: usize,
    ch: usize,
    dc: Vec<i16>,
}

/// A Huffman table as libjpeg decodes it: a 9-bit lookahead for short
/// codes, `maxcode`/`valptr` for the rest.
struct Huffman {
    /// (code length, symbol) by the next 9 bits; length 0: longer code.
    fast: Vec<(u8, u8)>,
    maxcode: [i32; 18],
    valoffset: [i32; 17],
    vals: Vec<u8>,
}

const FAST_BITS: u32 = 9;

impl Huffman {
    fn new(counts: &[u8], vals: &[u8]) -> Option<Huffman> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 || vals.len() < total {
            return None;
        }
        let mut fast = vec![(0u8, 0u8); 1 << FAST_BITS];
        let mut maxcode = [-1i32; 18];
        let mut valoffset = [0i32; 17];
        let mut code: i32 = 0;
        let mut k = 0usize;
        for len in 1..=16usize {
            let n = usize::from(counts[len - 1]);
            valoffset[len] = k as i32 - code;
            for _ in 0..n {
                if len as u32 <= FAST_BITS {
                    let shift = FAST_BITS - len as u32;
                    let base = (code as usize) << shift;
                    for e in &mut fast[base..base + (1 << shift)] {
                        *e = (len as u8, vals[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[len] = code - 1;
            }
            // A code longer than its length allows: the table is invalid.
            if code > 1 << len {
                return None;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        Some(Huffman {
            fast,
            maxcode,
            valoffset,
            vals: vals[..total].to_vec(),
        })
    }
}

/// The entropy-coded bytes of one scan, read MSB first, 0xFF00 unstuffed.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            pos: 0,
            acc: 0,
            n: 0,
        }
    }

    /// At least `need` (≤ 32) bits in `acc`, or `None` at a marker or the
    /// end: valid data never needs bits past either.
    #[inline]
    fn fill(&mut self, need: u32) -> Option<()> {
        if self.n < need {
            self.refill();
            if self.n < need {
                return None;
            }
        }
        Some(())
    }

    /// As many whole bytes as `acc` holds, stopping at a marker.
    fn refill(&mut self) {
        while self.n <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                return;
            };
            if b == 0xff {
                if self.data.get(self.pos + 1) != Some(&0) {
                    return;
                }
                self.pos += 2;
            } else {
                self.pos += 1;
            }
            self.acc = self.acc << 8 | u64::from(b);
            self.n += 8;
        }
    }

    #[inline]
    fn bits(&mut self, k: u32) -> Option<u32> {
        if k == 0 {
            return Some(0);
        }
        self.fill(k)?;
        self.n -= k;
        Some((self.acc >> self.n) as u32 & ((1u32 << k) - 1))
    }

    #[inline]
    fn peek(&mut self, k: u32) -> u32 {
        // Near the end, fewer bits may be left: pad with zeros for the
        // lookup; `bits` then refuses what is not there.
        let _ = self.fill(k);
        if self.n >= k {
            (self.acc >> (self.n - k)) as u32 & ((1u32 << k) - 1)
        } else {
            (self.acc << (k - self.n)) as u32 & ((1u32 << k) - 1)
        }
    }

    #[inline]
    fn decode(&mut self, t: &Huffman) -> Option<u8> {
        let (len, sym) = t.fast[self.peek(FAST_BITS) as usize];
        if len > 0 {
            self.bits(u32::from(len))?;
            return Some(sym);
        }
        let mut code = self.bits(FAST_BITS + 1)? as i32;
        let mut len = FAST_BITS as usize + 1;
        while code > t.maxcode[len] {
            if len == 16 {
                return None;
            }
            code = code << 1 | self.bits(1)? as i32;
            len += 1;
        }
        t.vals
            .get(usize::try_from(code + t.valoffset[len]).ok()?)
            .copied()
    }

    /// A restart: drop the partial byte and read RSTn.
    fn restart(&mut self, n: u8) -> Option<()> {
        self.acc = 0;
        self.n = 0;
        if self.data.get(self.pos..self.pos + 2)? != [0xff, 0xd0 + n] {
            return None;
        }
        self.pos += 2;
        Some(())
    }
}

/// libjpeg-turbo's post-IDCT range limit (`prepare_range_limit_table`),
/// indexed as `jpeg_idct_1x1` does, by the value masked to 10 bits.
#[inline]
fn range_limit(v: i32) -> u8 {
    let i = (v & 1023) as usize;
    match i {
        0..=127 => (i + 128) as u8,
        128..=511 => 255,
        512..=895 => 0,
        _ => (i - 896) as u8,
    }
}

/// `jpeg_idct_1x1`.
#[inline]
fn idct_1x1(coef: i16, q0: i32) -> u8 {
    let v = i32::from(coef).wrapping_mul(q0);
    range_limit((v + 4) >> 3)
}

/// `ycc_rgb_convert`'s tables (jdcolor.c, `build_ycc_rgb_table`).
struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

impl YccTables {
    fn new() -> YccTables {
        const SCALEBITS: i32 = 16;
        const ONE_HALF: i64 = 1 << (SCALEBITS - 1);
        let fix = |x: f64| (x * 65536.0 + 0.5) as i64;
        let mut t = YccTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256usize {
            let x = i as i64 - 128;
            t.cr_r[i] = ((fix(1.40200) * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cb_b[i] = ((fix(1.77200) * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cr_g[i] = (-fix(0.71414) * x) as i32;
            t.cb_g[i] = (-fix(0.34414) * x + ONE_HALF) as i32;
        }
        t
    }

    #[inline]
    fn rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let y = i32::from(y);
        let (cb, cr) = (usize::from(cb), usize::from(cr));
        let clamp = |v: i32| v.clamp(0, 255) as u8;
        [
            clamp(y + self.cr_r[cr]),
            clamp(y + ((self.cb_g[cb] + self.cr_g[cr]) >> 16)),
            clamp(y + self.cb_b[cb]),
        ]
    }
}

fn be16(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

fn zeros(n: usize) -> Option<Vec<i16>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, 0);
    Some(v)
}

/// The 1/8-scale image of a progressive JPEG whose every component libjpeg
/// decodes with a 1×1 IDCT at 1/8, from its DC scans; `None` otherwise (see
/// the module's documentation).
pub fn decode(data: &[u8], color: Color) -> Option<Bitmap> {
    let segs = jpeg_segments(data)?;
    // Huffman, progressive, 8-bit only.
    let &(_, sof, _) = segs.iter().find(|s| s.0 == 0xc2)?;
    if segs
        .iter()
        .any(|s| matches!(s.0, 0xc0 | 0xc1 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf))
        || segs.iter().filter(|s| s.0 == 0xda).count() > MAX_SCANS
        || *data.get(sof + 4)? != 8
    {
        return None;
    }
    let sy = be16(data, sof + 5)?;
    let sx = be16(data, sof + 7)?;
    let nf = usize::from(*data.get(sof + 9)?);
    let want = match color {
        Color::Gray => 1,
        Color::YCbCr | Color::Rgb => 3,
    };
    if sx == 0 || sy == 0 || nf != want {
        return None;
    }
    let raw = data.get(sof + 10..sof + 10 + 3 * nf)?;
    let factors: Vec<(usize, usize)> = raw
        .chunks(3)
        .map(|c| (usize::from(c[1] >> 4), usize::from(c[1] & 0x0f)))
        .collect();
    if factors
        .iter()
        .any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return None;
    }
    let max_h = factors.iter().map(|f| f.0).max()?;
    let max_v = factors.iter().map(|f| f.1).max()?;
    // Luma full resolution (as for the rewrite), integral ratios, and a
    // 1×1 IDCT at 1/8 for every component ([`idct_size`]).
    if factors[0] != (max_h, max_v)
        || factors
            .iter()
            .any(|&(h, v)| max_h % h != 0 || max_v % v != 0)
        || factors
            .iter()
            .any(|&(h, v)| idct_size(1, h, v, max_h, max_v) != 1)
    {
        return None;
    }
    let (mcux, mcuy) = (sx.div_ceil(8 * max_h), sy.div_ceil(8 * max_v));
    let mut comps = Vec::with_capacity(nf);
    for (c, &(h, v)) in raw.chunks(3).zip(&factors) {
        let (bw, bh) = (mcux * h, mcuy * v);
        comps.push(Component {
            id: c[0],
            h,
            v,
            tq: usize::from(c[2]),
            q0: None,
            bw,
            cw: (sx * h).div_ceil(max_h).div_ceil(8),
            ch: (sy * v).div_ceil(max_v).div_ceil(8),
            dc: zeros(bw.checked_mul(bh)?)?,
        });
        if comps.last()?.tq > 3 {
            return None;
        }
    }
    if comps
        .iter()
        .enumerate()
        .any(|(i, c)| comps[..i].iter().any(|d| d.id == c.id))
    {
        return None;
    }

    let mut q0: [Option<i32>; 4] = [None; 4];
    let mut dc_tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut restart = 0usize;
    for &(marker, start, end) in &segs {
        let seg = &data[start..end];
        match marker {
            0xdb => {
                let len = be16(seg, 2)? + 2;
                let mut k = 4;
                while k < len {
                    let (pq, tq) = (seg[k] >> 4, usize::from(seg[k] & 0x0f));
                    let size = if pq == 0 { 1 } else { 2 };
                    if tq > 3 || pq > 1 || k + 1 + 64 * size > len {
                        return None;
                    }
                    q0[tq] = Some(if pq == 0 {
                        i32::from(seg[k + 1])
                    } else {
                        i32::from(u16::from_be_bytes([seg[k + 1], seg[k + 2]]))
                    });
                    k += 1 + 64 * size;
                }
            }
            0xc4 => {
                let len = be16(seg, 2)? + 2;
                let mut k = 4;
                while k < len {
                    let (tc, th) = (seg[k] >> 4, usize::from(seg[k] & 0x0f));
                    let counts = seg.get(k + 1..k + 17)?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let vals = seg.get(k + 17..k + 17 + n)?;
                    if th > 3 || tc > 1 {
                        return None;
                    }
                    if tc == 0 {
                        // libjpeg refuses DC symbols above 15.
                        if vals.iter().any(|&s| s > 15) {
                            return None;
                        }
                        dc_tables[th] = Some(Huffman::new(counts, vals)?);
                    }
                    k += 17 + n;
                }
            }
            0xdd => restart = be16(seg, 4)?,
            0xda => {
                let hdr = be16(seg, 2)? + 2;
                let ns = usize::from(*seg.get(4)?);
                if ns == 0 || ns > 4 || hdr != 8 + 2 * ns {
                    return None;
                }
                let ss = *seg.get(5 + 2 * ns)?;
                let se = *seg.get(6 + 2 * ns)?;
                let a = *seg.get(7 + 2 * ns)?;
                let (ah, al) = (a >> 4, u32::from(a & 0x0f));
                if ss != 0 {
                    continue; // an AC scan: its bytes are never read
                }
                if se != 0 || al > 13 {
                    return None;
                }
                let mut members = Vec::with_capacity(ns);
                for j in 0..ns {
                    let cs = seg[5 + 2 * j];
                    let td = usize::from(seg[6 + 2 * j] >> 4);
                    let ci = comps.iter().position(|c| c.id == cs)?;
                    if members.iter().any(|&(m, _)| m == ci) || td > 3 {
                        return None;
                    }
                    let c = &mut comps[ci];
                    if c.q0.is_none() {
                        c.q0 = Some(q0[c.tq]?);
                    }
                    members.push((ci, td));
                }
                // libjpeg's limit on blocks per MCU (JERR_BAD_MCU_SIZE).
                if ns > 1
                    && members
                        .iter()
                        .map(|&(ci, _)| comps[ci].h * comps[ci].v)
                        .sum::<usize>()
                        > 10
                {
                    return None;
                }
                let entropy = &seg[hdr..];
                if ah == 0 {
                    let tables: Vec<&Huffman> = members
                        .iter()
                        .map(|&(_, td)| dc_tables[td].as_ref())
                        .collect::<Option<_>>()?;
                    dc_first(
                        entropy, &mut comps, &members, &tables, al, restart, mcux, mcuy,
                    )?;
                } else {
                    if ah != al as u8 + 1 {
                        return None;
                    }
                    dc_refine(entropy, &mut comps, &members, al, restart, mcux, mcuy)?;
                }
            }
            _ => {}
        }
    }
    // A component no DC scan reached has no quantisation table latched:
    // leave such files to libjpeg.
    if comps.iter().any(|c| c.q0.is_none()) {
        return None;
    }
    pixels(&comps, sx.div_ceil(8), sy.div_ceil(8), max_h, max_v, color)
}

/// libjpeg-turbo's IDCT output size for one component at `m`/8 scale
/// (`jpeg_core_output_dimensions` in jdmaster.c): a subsampled component is
/// scaled up by a larger IDCT instead of upsampled, as far as the sampling
/// ratios allow.
pub(super) fn idct_size(m: usize, h: usize, v: usize, max_h: usize, max_v: usize) -> usize {
    let mut s = m;
    while s < 8 && (max_h * m) % (h * s * 2) == 0 && (max_v * m) % (v * s * 2) == 0 {
        s *= 2;
    }
    s
}

/// Calls `f(slot, coefficient, restart)` for every block of one scan in
/// stream order, `restart` being true when a restart marker precedes the
/// block's MCU. A scan of one component walks that component's own block
/// grid, one block per MCU; an interleaved scan walks the MCUs.
#[inline(always)]
fn walk(
    comps: &mut [Component],
    members: &[(usize, usize)],
    restart: usize,
    mcux: usize,
    mcuy: usize,
    mut f: impl FnMut(usize, &mut i16, bool) -> Option<()>,
) -> Option<()> {
    // MCUs left before the next restart marker.
    let mut left = restart;
    let mut next_mcu = move || {
        if restart == 0 {
            return false;
        }
        if left == 0 {
            left = restart - 1;
            return true;
        }
        left -= 1;
        false
    };
    if let [(ci, _)] = *members {
        let c = &mut comps[ci];
        for row in c.dc.chunks_exact_mut(c.bw).take(c.ch) {
            for coef in &mut row[..c.cw] {
                let rs = next_mcu();
                f(0, coef, rs)?;
            }
        }
        return Some(());
    }
    // The block units of one MCU: (slot, component, dx, dy).
    let mut units = [(0usize, 0usize, 0usize, 0usize); 10];
    let mut n = 0;
    for (slot, &(ci, _)) in members.iter().enumerate() {
        for dy in 0..comps[ci].v {
            for dx in 0..comps[ci].h {
                *units.get_mut(n)? = (slot, ci, dx, dy);
                n += 1;
            }
        }
    }
    let units = &units[..n];
    for my in 0..mcuy {
        for mx in 0..mcux {
            let mut rs = next_mcu();
            for &(slot, ci, dx, dy) in units {
                let c = &mut comps[ci];
                let at = (my * c.v + dy) * c.bw + mx * c.h + dx;
                f(slot, &mut c.dc[at], rs)?;
                rs = false;
            }
        }
    }
    Some(())
}

/// A DC first scan (`decode_mcu_DC_first`): a Huffman-coded difference
/// per block, predicted from the previous block of the same component.
#[allow(clippy::too_many_arguments)]
fn dc_first(
    entropy: &[u8],
    comps: &mut [Component],
    members: &[(usize, usize)],
    tables: &[&Huffman],
    al: u32,
    restart: usize,
    mcux: usize,
    mcuy: usize,
) -> Option<()> {
    let mut bits = Bits::new(entropy);
    let mut pred = [0i32; 4];
    let mut rst = 0u8;
    walk(comps, members, restart, mcux, mcuy, |slot, coef, rs| {
        if rs {
            bits.restart(rst)?;
            rst = (rst + 1) & 7;
            pred = [0; 4];
        }
        let s = u32::from(bits.decode(tables[slot])?);
        let diff = if s == 0 {
            0
        } else {
            let r = bits.bits(s)? as i32;
            // HUFF_EXTEND
            if r < 1 << (s - 1) {
                r - (1 << s) + 1
            } else {
                r
            }
        };
        // libjpeg stops at a DC value beyond int (JERR_BAD_DCT_COEF).
        pred[slot] = pred[slot].checked_add(diff)?;
        *coef = (pred[slot] << al) as i16;
        Some(())
    })
}

/// A DC refinement scan (`decode_mcu_DC_refine`): one raw bit per block.
fn dc_refine(
    entropy: &[u8],
    comps: &mut [Component],
    members: &[(usize, usize)],
    al: u32,
    restart: usize,
    mcux: usize,
    mcuy: usize,
) -> Option<()> {
    let mut bits = Bits::new(entropy);
    let mut rst = 0u8;
    let p1 = 1i16 << al;
    walk(comps, members, restart, mcux, mcuy, |_, coef, rs| {
        if rs {
            bits.restart(rst)?;
            rst = (rst + 1) & 7;
        }
        if bits.bits(1)? != 0 {
            *coef |= p1;
        }
        Some(())
    })
}

/// One pixel per luma block: each component's 1×1 IDCT, replicated up to
/// the luma grid, then converted as libjpeg does.
fn pixels(
    comps: &[Component],
    w: usize,
    h: usize,
    max_h: usize,
    max_v: usize,
    color: Color,
) -> Option<Bitmap> {
    let ch = comps.len();
    let mut data = Vec::new();
    data.try_reserve_exact(w.checked_mul(h)?.checked_mul(ch)?)
        .ok()?;
    data.resize(w * h * ch, 0);
    // Per component: its samples for one output row.
    let mut rows: Vec<Vec<u8>> = comps.iter().map(|_| vec![0u8; w]).collect();
    let ycc = (color == Color::YCbCr).then(YccTables::new);
    for (y, dst) in data.chunks_exact_mut(w * ch).enumerate() {
        for (c, row) in comps.iter().zip(rows.iter_mut()) {
            let q0 = c.q0.unwrap_or(0);
            let (fx, fy) = (max_h / c.h, max_v / c.v);
            let src = &c.dc[(y / fy) * c.bw..];
            for (out, &coef) in row.chunks_mut(fx).zip(src) {
                out.fill(idct_1x1(coef, q0));
            }
        }
        match (&ycc, &rows[..]) {
            (Some(t), [y, cb, cr]) => {
                for (((px, &y), &cb), &cr) in dst.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
                    px.copy_from_slice(&t.rgb(y, cb, cr));
                }
            }
            (_, [g]) => dst.copy_from_slice(g),
            _ => {
                for (x, px) in dst.chunks_exact_mut(ch).enumerate() {
                    for (p, row) in px.iter_mut().zip(&rows) {
                        *p = row[x];
                    }
                }
            }
        }
    }
    Some(Bitmap {
        width: u32::try_from(w).ok()?,
        height: u32::try_from(h).ok()?,
        ch,
        data,
    })
}
