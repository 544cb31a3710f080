//! A progressive JPEG at 1/8 scale from its DC scans (and, for 4:2:0,
//! its chroma AC scans) without libjpeg's whole-image coefficient buffer.
//!
//! At 1/8 libjpeg gives a component whose IDCT is 1×1 (luma, every
//! full-resolution component, the chroma of 4:2:2, 4:4:0 and 4:1:1) one
//! pixel per block, the block's DC coefficient, and upsamples by
//! replication (`jinit_upsampler`: no fancy upsampling at a 1×1 IDCT).
//! Chroma subsampled both ways (4:2:0) gets a 2×2 IDCT (`jpeg_idct_2x2`),
//! which reads AC coefficients too. So this decoder Huffman-decodes every
//! DC scan (first and refinement passes, interleaved or not, restart
//! intervals included), the AC scans of 2×2 components only (first and
//! refinement, end-of-band runs), and skips the other AC scans' bytes
//! without looking at them: luma's, most of a file.
//!
//! Memory is one `i16` per block of a 1×1 component and 64 per block of a
//! 2×2 one, plus the output: for 4:4:4 1/32 of a full decode's pixels, for
//! 4:2:0 about a third of libjpeg's coefficient buffer (which covers every
//! component, 64 coefficients per block, allocated and zeroed).
//!
//! The arithmetic is libjpeg-turbo's: `jpeg_idct_1x1` and `jpeg_idct_2x2`
//! (dequantise, its fixed-point constants, its range-limit table),
//! replication, and `ycc_rgb_convert` with its fixed-point tables. The unit
//! tests compare every layout with libjpeg-turbo's own 1/8 decode of the
//! same file.
//!
//! `None` for anything outside that case (a component needing a larger
//! IDCT, subsampled luma, arithmetic coding, 12-bit, odd sampling ratios),
//! and for any anomaly in the stream: a missing restart marker, a bad
//! Huffman code, a run past the band, a marker where entropy data should
//! be, truncation. The caller then decodes with libjpeg-turbo, whose
//! lenient recovery and error reports stay the only ones.

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
    /// Its quantisation table in natural order, latched at the component's
    /// first scan (libjpeg's `latch_quant_tables`).
    q: Option<[i32; 64]>,
    /// The IDCT's size at 1/8: 1 (DC only) or 2 (4:2:0 chroma: AC too).
    idct: usize,
    /// libjpeg's `coef_bits`: the point transform each coefficient was last
    /// coded at, -1 before its first scan.
    coef_bits: [i8; 64],
    /// Blocks per row, MCU-padded.
    bw: usize,
    /// Blocks of the component proper (a non-interleaved scan's grid).
    cw: usize,
    ch: usize,
    /// Per block, the DC coefficient (`idct` 1) or all 64 in natural order.
    coef: Vec<i16>,
}

impl Component {
    fn stride(&self) -> usize {
        if self.idct == 1 {
            1
        } else {
            64
        }
    }
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
                // libjpeg's rule (jpeg_make_d_derived_tbl): every code fits
                // its length and none is all ones. Checked before the code
                // is used, so an over-full table never indexes past `fast`.
                if code + 1 >= 1 << len {
                    return None;
                }
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

    /// A DC difference (`decode_mcu_DC_first`): a Huffman-coded size, then
    /// that many bits, `HUFF_EXTEND`ed. With 32 bits at hand (a code of at
    /// most 9 bits, then at most 15) nothing needs checking.
    #[inline(always)]
    fn dc_diff(&mut self, t: &Huffman) -> Option<i32> {
        if self.n < 32 {
            self.refill();
        }
        if self.n >= 32 {
            let i = (self.acc >> (self.n - FAST_BITS)) as usize & ((1 << FAST_BITS) - 1);
            let (len, sym) = t.fast[i];
            if len > 0 {
                self.n -= u32::from(len);
                let s = u32::from(sym);
                if s == 0 {
                    return Some(0);
                }
                self.n -= s;
                return Some(extend((self.acc >> self.n) as u32 & ((1 << s) - 1), s));
            }
        }
        let s = u32::from(self.decode(t)?);
        if s == 0 {
            return Some(0);
        }
        Some(extend(self.bits(s)?, s))
    }

    /// One bit.
    #[inline(always)]
    fn bit(&mut self) -> Option<bool> {
        if self.n == 0 {
            self.refill();
            if self.n == 0 {
                return None;
            }
        }
        self.n -= 1;
        Some(self.acc >> self.n & 1 != 0)
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

/// `DESCALE`: a rounded arithmetic right shift.
#[inline]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// `jpeg_idct_2x2` (jidctred.c, 8-bit: `CONST_BITS` 13, `PASS1_BITS` 2):
/// rows then columns 0, 1, 3, 5 and 7 of a block in natural order give its
/// 2×2 pixels, row by row.
fn idct_2x2(c: &[i16], q: &[i32; 64]) -> [u8; 4] {
    const CONST_BITS: u32 = 13;
    const PASS1_BITS: u32 = 2;
    let odd = |x: [i64; 4]| x[3] * -5906 + x[2] * 6967 + x[1] * -10426 + x[0] * 29692;
    let mut ws = [[0i64; 8]; 2];
    for col in [0, 1, 3, 5, 7] {
        let x = |row: usize| i64::from(i32::from(c[row * 8 + col]) * q[row * 8 + col]);
        if [1, 3, 5, 7].iter().all(|&r| c[r * 8 + col] == 0) {
            let dc = x(0) << PASS1_BITS;
            ws[0][col] = dc;
            ws[1][col] = dc;
            continue;
        }
        let tmp10 = x(0) << (CONST_BITS + 2);
        let tmp0 = odd([x(1), x(3), x(5), x(7)]);
        // The work array is int.
        ws[0][col] = descale(tmp10 + tmp0, CONST_BITS - PASS1_BITS + 2) as i32 as i64;
        ws[1][col] = descale(tmp10 - tmp0, CONST_BITS - PASS1_BITS + 2) as i32 as i64;
    }
    let mut out = [0u8; 4];
    for (r, w) in ws.iter().enumerate() {
        if w[1] == 0 && w[3] == 0 && w[5] == 0 && w[7] == 0 {
            let v = range_limit(descale(w[0], PASS1_BITS + 3) as i32);
            out[2 * r] = v;
            out[2 * r + 1] = v;
            continue;
        }
        let tmp10 = w[0] << (CONST_BITS + 2);
        let tmp0 = odd([w[1], w[3], w[5], w[7]]);
        let n = CONST_BITS + PASS1_BITS + 3 + 2;
        out[2 * r] = range_limit(descale(tmp10 + tmp0, n) as i32);
        out[2 * r + 1] = range_limit(descale(tmp10 - tmp0, n) as i32);
    }
    out
}

/// The natural (row-major) index of each zigzag position.
const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

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
/// decodes with a 1×1 or 2×2 IDCT at 1/8; `None` otherwise (see the
/// module's documentation).
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
    // 1×1 or 2×2 IDCT at 1/8 for every component ([`idct_size`]).
    if factors[0] != (max_h, max_v)
        || factors
            .iter()
            .any(|&(h, v)| max_h % h != 0 || max_v % v != 0)
        || factors
            .iter()
            .any(|&(h, v)| idct_size(1, h, v, max_h, max_v) > 2)
    {
        return None;
    }
    let (mcux, mcuy) = (sx.div_ceil(8 * max_h), sy.div_ceil(8 * max_v));
    let mut comps = Vec::with_capacity(nf);
    for (c, &(h, v)) in raw.chunks(3).zip(&factors) {
        let (bw, bh) = (mcux * h, mcuy * v);
        let idct = idct_size(1, h, v, max_h, max_v);
        let stride = if idct == 1 { 1 } else { 64 };
        comps.push(Component {
            id: c[0],
            h,
            v,
            tq: usize::from(c[2]),
            q: None,
            idct,
            coef_bits: [-1; 64],
            bw,
            cw: (sx * h).div_ceil(max_h).div_ceil(8),
            ch: (sy * v).div_ceil(max_v).div_ceil(8),
            coef: zeros(bw.checked_mul(bh)?.checked_mul(stride)?)?,
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

    let mut quant: [Option<[i32; 64]>; 4] = [None; 4];
    let mut dc_tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut ac_tables: [Option<Huffman>; 4] = [None, None, None, None];
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
                    // Zigzag order in the file; libjpeg keeps 16-bit
                    // entries as (signed) short.
                    let mut t = [0i32; 64];
                    for (i, &n) in NATURAL.iter().enumerate() {
                        t[n] = if pq == 0 {
                            i32::from(seg[k + 1 + i])
                        } else {
                            i32::from(i16::from_be_bytes([seg[k + 1 + 2 * i], seg[k + 2 + 2 * i]]))
                        };
                    }
                    quant[tq] = Some(t);
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
                    } else {
                        ac_tables[th] = Some(Huffman::new(counts, vals)?);
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
                // libjpeg's JERR_BAD_PROGRESSION checks.
                if (ss == 0 && se != 0)
                    || (ss != 0 && (ss > se || se > 63 || ns != 1))
                    || (ah != 0 && u32::from(ah) != al + 1)
                    || al > 13
                {
                    return None;
                }
                let mut members = Vec::with_capacity(ns);
                let mut ac_table = 0;
                for j in 0..ns {
                    let cs = seg[5 + 2 * j];
                    let (td, ta) = (
                        usize::from(seg[6 + 2 * j] >> 4),
                        usize::from(seg[6 + 2 * j] & 15),
                    );
                    let ci = comps.iter().position(|c| c.id == cs)?;
                    if members.iter().any(|&(m, _)| m == ci) || td > 3 || ta > 3 {
                        return None;
                    }
                    let c = &mut comps[ci];
                    if c.q.is_none() {
                        c.q = Some(quant[c.tq]?);
                    }
                    // libjpeg warns (and turbojpeg fails) on an AC scan before
                    // DC and on successive approximation out of sequence.
                    if ss != 0 && c.coef_bits[0] < 0 {
                        return None;
                    }
                    for k in usize::from(ss)..=usize::from(se) {
                        if ah as i8 != c.coef_bits[k].max(0) {
                            return None;
                        }
                        c.coef_bits[k] = al as i8;
                    }
                    members.push((ci, td));
                    ac_table = ta;
                }
                let entropy = &seg[hdr..];
                if ss != 0 {
                    let c = &mut comps[members[0].0];
                    if c.idct == 1 {
                        continue; // an AC scan of a DC-only component: never read
                    }
                    let band = (usize::from(ss), usize::from(se));
                    if ah == 0 {
                        let t = ac_tables[ac_table].as_ref()?;
                        ac_first(entropy, c, t, band, al, restart)?;
                    } else {
                        let t = ac_tables[ac_table].as_ref()?;
                        ac_refine(entropy, c, t, band, al, restart)?;
                    }
                    continue;
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
                if ah == 0 {
                    let tables: Vec<&Huffman> = members
                        .iter()
                        .map(|&(_, td)| dc_tables[td].as_ref())
                        .collect::<Option<_>>()?;
                    let mut pass = DcFirst {
                        bits: Bits::new(entropy),
                        tables: &tables,
                        pred: [0; 4],
                        rst: 0,
                        al,
                    };
                    walk(&mut comps, &members, restart, mcux, mcuy, &mut pass)?;
                } else {
                    let mut pass = DcRefine {
                        bits: Bits::new(entropy),
                        rst: 0,
                        p1: 1 << al,
                    };
                    walk(&mut comps, &members, restart, mcux, mcuy, &mut pass)?;
                }
            }
            _ => {}
        }
    }
    // A component no DC scan reached has no quantisation table latched:
    // leave such files to libjpeg.
    if comps.iter().any(|c| c.q.is_none()) {
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

/// What a DC scan does at each block, and at a restart marker.
trait DcPass {
    fn restart(&mut self) -> Option<()>;
    fn block(&mut self, slot: usize, coef: &mut i16) -> Option<()>;
}

/// Runs `pass` over every block of one DC scan in stream order, with a
/// restart after every `restart` MCUs. A scan of one component walks that
/// component's own block grid, one block per MCU; an interleaved scan walks
/// the MCUs.
fn walk<P: DcPass>(
    comps: &mut [Component],
    members: &[(usize, usize)],
    restart: usize,
    mcux: usize,
    mcuy: usize,
    pass: &mut P,
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
        let stride = c.stride();
        for row in c.coef.chunks_exact_mut(c.bw * stride).take(c.ch) {
            for block in row[..c.cw * stride].chunks_exact_mut(stride) {
                if next_mcu() {
                    pass.restart()?;
                }
                pass.block(0, &mut block[0])?;
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
            if next_mcu() {
                pass.restart()?;
            }
            for &(slot, ci, dx, dy) in units {
                let c = &mut comps[ci];
                let at = (my * c.v + dy) * c.bw + mx * c.h + dx;
                let stride = c.stride();
                pass.block(slot, &mut c.coef[at * stride])?;
            }
        }
    }
    Some(())
}

/// A DC first scan (`decode_mcu_DC_first`): a Huffman-coded difference
/// per block, predicted from the previous block of the same component.
struct DcFirst<'a> {
    bits: Bits<'a>,
    tables: &'a [&'a Huffman],
    pred: [i32; 4],
    rst: u8,
    al: u32,
}

impl DcPass for DcFirst<'_> {
    fn restart(&mut self) -> Option<()> {
        self.bits.restart(self.rst)?;
        self.rst = (self.rst + 1) & 7;
        self.pred = [0; 4];
        Some(())
    }

    #[inline(always)]
    fn block(&mut self, slot: usize, coef: &mut i16) -> Option<()> {
        let diff = self.bits.dc_diff(self.tables[slot])?;
        // libjpeg stops at a DC value beyond int (JERR_BAD_DCT_COEF).
        let p = self.pred[slot].checked_add(diff)?;
        self.pred[slot] = p;
        *coef = (p << self.al) as i16;
        Some(())
    }
}

/// A DC refinement scan (`decode_mcu_DC_refine`): one raw bit per block.
struct DcRefine<'a> {
    bits: Bits<'a>,
    rst: u8,
    p1: i16,
}

impl DcPass for DcRefine<'_> {
    fn restart(&mut self) -> Option<()> {
        self.bits.restart(self.rst)?;
        self.rst = (self.rst + 1) & 7;
        Some(())
    }

    #[inline(always)]
    fn block(&mut self, _: usize, coef: &mut i16) -> Option<()> {
        if self.bits.bit()? {
            *coef |= self.p1;
        }
        Some(())
    }
}

/// Runs `f(block, bits, eobrun)` over every block of a one-component (AC)
/// scan of `entropy`, for a component that keeps all 64 coefficients: the
/// scan's bit reader and end-of-band run, both reset (and RSTn read) after
/// every `restart` blocks.
fn walk_blocks(
    c: &mut Component,
    entropy: &[u8],
    restart: usize,
    mut f: impl FnMut(&mut [i16], &mut Bits<'_>, &mut u32) -> Option<()>,
) -> Option<()> {
    let mut bits = Bits::new(entropy);
    let (mut rst, mut eobrun, mut left) = (0u8, 0u32, restart);
    for row in c.coef.chunks_exact_mut(c.bw * 64).take(c.ch) {
        for block in row[..c.cw * 64].chunks_exact_mut(64) {
            if restart > 0 {
                if left == 0 {
                    bits.restart(rst)?;
                    rst = (rst + 1) & 7;
                    eobrun = 0;
                    left = restart;
                }
                left -= 1;
            }
            f(block, &mut bits, &mut eobrun)?;
        }
    }
    Some(())
}

/// `HUFF_EXTEND`.
#[inline(always)]
fn extend(r: u32, s: u32) -> i32 {
    let r = r as i32;
    if r < 1 << (s - 1) {
        r - (1 << s) + 1
    } else {
        r
    }
}

/// An AC first scan (`decode_mcu_AC_first`): coefficients `band` of one
/// component, at `1 << al`, with end-of-band runs.
fn ac_first(
    entropy: &[u8],
    c: &mut Component,
    t: &Huffman,
    (ss, se): (usize, usize),
    al: u32,
    restart: usize,
) -> Option<()> {
    walk_blocks(c, entropy, restart, |block, bits, eobrun| {
        if *eobrun > 0 {
            *eobrun -= 1;
            return Some(());
        }
        let mut k = ss;
        while k <= se {
            let sym = bits.decode(t)?;
            let (r, s) = (usize::from(sym >> 4), u32::from(sym & 15));
            if s != 0 {
                k += r;
                if k > se {
                    return None;
                }
                let v = extend(bits.bits(s)?, s);
                block[NATURAL[k]] = (v << al) as i16;
            } else if r == 15 {
                k += 15;
            } else {
                *eobrun = 1 << r;
                if r > 0 {
                    *eobrun += bits.bits(r as u32)?;
                }
                *eobrun -= 1;
                break;
            }
            k += 1;
        }
        Some(())
    })
}

/// An AC refinement scan (`decode_mcu_AC_refine`): one more bit of
/// coefficients `band`, newly nonzero ones at ±`1 << al`, and a correction
/// bit for each one already nonzero.
fn ac_refine(
    entropy: &[u8],
    c: &mut Component,
    t: &Huffman,
    (ss, se): (usize, usize),
    al: u32,
    restart: usize,
) -> Option<()> {
    let p1 = 1i16 << al;
    walk_blocks(c, entropy, restart, |block, bits, eobrun| {
        // A correction bit for an already nonzero coefficient.
        let correct = |bits: &mut Bits, coef: &mut i16| -> Option<()> {
            if bits.bits(1)? != 0 && *coef & p1 == 0 {
                *coef = coef.wrapping_add(if *coef >= 0 { p1 } else { -p1 }); // JCOEF arithmetic
            }
            Some(())
        };
        let mut k = ss;
        if *eobrun == 0 {
            while k <= se {
                let sym = bits.decode(t)?;
                let (mut r, s) = (i32::from(sym >> 4), sym & 15);
                let mut new = 0i16;
                if s != 0 {
                    // libjpeg only warns about other sizes: leave those to it.
                    if s != 1 {
                        return None;
                    }
                    new = if bits.bits(1)? != 0 { p1 } else { -p1 };
                } else if r != 15 {
                    *eobrun = 1 << r;
                    if r > 0 {
                        *eobrun += bits.bits(r as u32)?;
                    }
                    break;
                }
                // Skip the already nonzero ones (correcting them) and r
                // zero ones; the new coefficient goes in the next zero.
                while k <= se {
                    let coef = &mut block[NATURAL[k]];
                    if *coef != 0 {
                        correct(bits, coef)?;
                    } else {
                        r -= 1;
                        if r < 0 {
                            break;
                        }
                    }
                    k += 1;
                }
                if new != 0 {
                    if k > se {
                        return None;
                    }
                    block[NATURAL[k]] = new;
                }
                k += 1;
            }
        }
        if *eobrun > 0 {
            while k <= se {
                let coef = &mut block[NATURAL[k]];
                if *coef != 0 {
                    correct(bits, coef)?;
                }
                k += 1;
            }
            *eobrun -= 1;
        }
        Some(())
    })
}

/// Each component's samples at 1/8: its 1×1 or 2×2 IDCTs, replicated up
/// to the luma grid (no fancy upsampling at a 1×1 luma IDCT), then
/// converted as libjpeg does.
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
    // The 2×2-IDCT components' sample planes (2 per block each way).
    let planes: Vec<Option<Vec<u8>>> = comps
        .iter()
        .map(|c| {
            if c.idct == 1 {
                return Some(None);
            }
            let q = c.q.as_ref()?;
            let pw = 2 * c.bw;
            let mut plane = Vec::new();
            plane.try_reserve_exact(c.coef.len() / 16).ok()?;
            plane.resize(c.coef.len() / 16, 0);
            for (b, block) in c.coef.chunks_exact(64).enumerate() {
                let (bx, by) = (b % c.bw, b / c.bw);
                let px = idct_2x2(block, q);
                let at = 2 * by * pw + 2 * bx;
                plane[at..at + 2].copy_from_slice(&px[..2]);
                plane[at + pw..at + pw + 2].copy_from_slice(&px[2..]);
            }
            Some(Some(plane))
        })
        .collect::<Option<_>>()?;
    // Per component: its samples for one output row.
    let mut rows: Vec<Vec<u8>> = comps.iter().map(|_| vec![0u8; w]).collect();
    let ycc = (color == Color::YCbCr).then(YccTables::new);
    for y in 0..h {
        for ((c, row), plane) in comps.iter().zip(rows.iter_mut()).zip(&planes) {
            let (fx, fy) = (max_h / (c.h * c.idct), max_v / (c.v * c.idct));
            match plane {
                Some(plane) => {
                    let src = &plane[(y / fy) * 2 * c.bw..];
                    for (out, &v) in row.chunks_mut(fx).zip(src) {
                        out.fill(v);
                    }
                }
                None => {
                    let q0 = c.q.as_ref().map_or(0, |q| q[0]);
                    let src = &c.coef[(y / fy) * c.bw..];
                    if fx == 1 {
                        for (out, &coef) in row.iter_mut().zip(src) {
                            *out = idct_1x1(coef, q0);
                        }
                    } else {
                        for (out, &coef) in row.chunks_mut(fx).zip(src) {
                            out.fill(idct_1x1(coef, q0));
                        }
                    }
                }
            }
        }
        match (&ycc, &rows[..]) {
            (Some(t), [y, cb, cr]) => {
                for ((&y, &cb), &cr) in y.iter().zip(cb).zip(cr) {
                    data.extend_from_slice(&t.rgb(y, cb, cr));
                }
            }
            (_, [g]) => data.extend_from_slice(g),
            _ => {
                for x in 0..w {
                    data.extend(rows.iter().map(|row| row[x]));
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

#[cfg(test)]
mod tests {
    use super::Huffman;

    #[test]
    fn over_full_and_all_ones_huffman_tables_are_refused() {
        let mut counts = [0u8; 16];
        let vals: Vec<u8> = (0..12).collect();
        // 12 codes of 4 bits: fine.
        counts[3] = 12;
        assert!(Huffman::new(&counts, &vals).is_some());
        // 3 codes of 1 bit (a fuzz finding: it indexed past the lookup
        // table), 2 of 1 bit (the second all ones), 16 of 4 bits.
        for (len, n) in [(1, 3), (1, 2), (4, 16)] {
            let mut c = [0u8; 16];
            c[len - 1] = n;
            let v: Vec<u8> = (0..n).collect();
            assert!(Huffman::new(&c, &v).is_none(), "{n} codes of {len} bits");
        }
        // 15 of 4 bits is the most a length holds.
        let mut c = [0u8; 16];
        c[3] = 15;
        assert!(Huffman::new(&c, &(0..15).collect::<Vec<u8>>()).is_some());
    }
}
