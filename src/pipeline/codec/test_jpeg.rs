//! A small JPEG encoder for tests only: any sampling factors per component,
//! baseline or progressive (spectral selection, no successive
//! approximation). libjpeg-turbo's compressor offers only the usual layouts;
//! this one writes the odd ones (sampling `2x1,1x2,1x1`) that real cameras
//! and editors sometimes produce.
//!
//! Plain float DCT, flat quantisation tables (4 for the first component, 6
//! for the others), and fixed-length Huffman codes: 4 bits for DC sizes,
//! 8 bits for AC symbols. Valid, not small.

/// Encodes packed RGB (`samp.len() == 3`) or the luma of it
/// (`samp.len() == 1`) with the given (H, V) sampling factors.
pub fn encode(rgb: &[u8], w: usize, h: usize, samp: &[(u8, u8)], progressive: bool) -> Vec<u8> {
    encode_with(
        rgb,
        w,
        h,
        samp,
        Options {
            progressive,
            ..Options::default()
        },
    )
}

/// How [`encode_with`] lays out the file.
#[derive(Default, Clone, Copy)]
pub struct Options {
    pub progressive: bool,
    /// A DRI segment and a restart marker every this many MCUs (0: none).
    pub restart: usize,
    /// Progressive: one DC scan per component (non-interleaved), as some
    /// encoders write them, instead of one interleaved DC scan.
    pub separate_dc: bool,
}

pub fn encode_with(rgb: &[u8], w: usize, h: usize, samp: &[(u8, u8)], o: Options) -> Vec<u8> {
    let progressive = o.progressive;
    assert_eq!(rgb.len(), w * h * 3);
    assert!(samp.len() == 1 || samp.len() == 3);
    let hmax = samp.iter().map(|s| s.0).max().unwrap() as usize;
    let vmax = samp.iter().map(|s| s.1).max().unwrap() as usize;
    let planes: Vec<Vec<f32>> = (0..samp.len())
        .map(|c| {
            rgb.chunks(3)
                .map(|p| {
                    let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                    match c {
                        0 => 0.299 * r + 0.587 * g + 0.114 * b,
                        1 => -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0,
                        _ => 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0,
                    }
                })
                .collect()
        })
        .collect();
    let comps: Vec<Component> = samp
        .iter()
        .zip(&planes)
        .enumerate()
        .map(|(i, (&(hc, vc), full))| {
            let (hc, vc) = (hc as usize, vc as usize);
            assert!(hmax % hc == 0 && vmax % vc == 0, "factors must divide");
            Component::new(full, w, h, hc, vc, hmax / hc, vmax / vc, i)
        })
        .collect();
    let mcux = w.div_ceil(8 * hmax);
    let mcuy = h.div_ceil(8 * vmax);

    let mut out = vec![0xff, 0xd8];
    // DQT: table 0 flat 4, table 1 flat 6.
    for (tq, q) in [(0u8, 4u8), (1, 6)] {
        segment(&mut out, 0xdb, &[&[tq], &[q; 64][..]].concat());
    }
    // SOF0 / SOF2
    let mut sof = vec![8];
    sof.extend_from_slice(&(h as u16).to_be_bytes());
    sof.extend_from_slice(&(w as u16).to_be_bytes());
    sof.push(comps.len() as u8);
    for (i, c) in comps.iter().enumerate() {
        sof.extend_from_slice(&[i as u8 + 1, (c.h << 4 | c.v) as u8, c.tq]);
    }
    segment(&mut out, if progressive { 0xc2 } else { 0xc0 }, &sof);
    // DHT: DC table 0 (sizes 0..=11, 4 bits), AC table 0 (162 symbols, 8 bits).
    let mut dht = vec![0x00];
    dht.extend_from_slice(&bits_at(4, 12));
    dht.extend(0..12u8);
    dht.push(0x10);
    let ac = ac_symbols();
    dht.extend_from_slice(&bits_at(8, ac.len()));
    dht.extend_from_slice(&ac);
    segment(&mut out, 0xc4, &dht);

    if o.restart > 0 {
        segment(&mut out, 0xdd, &(o.restart as u16).to_be_bytes());
    }
    let all: Vec<usize> = (0..comps.len()).collect();
    let geo = Geometry {
        mcux,
        mcuy,
        restart: o.restart,
    };
    if progressive {
        if o.separate_dc {
            for c in 0..comps.len() {
                scan(&mut out, &comps, &[c], 0, 0, geo);
            }
        } else {
            scan(&mut out, &comps, &all, 0, 0, geo);
        }
        for c in 0..comps.len() {
            scan(&mut out, &comps, &[c], 1, 63, geo);
        }
    } else {
        scan(&mut out, &comps, &all, 0, 63, geo);
    }
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

struct Component {
    h: usize,
    v: usize,
    tq: u8,
    /// Component-resolution samples, `cw × ch`.
    data: Vec<f32>,
    cw: usize,
    ch: usize,
}

impl Component {
    #[allow(clippy::too_many_arguments)]
    fn new(
        full: &[f32],
        w: usize,
        h: usize,
        hc: usize,
        vc: usize,
        fx: usize,
        fy: usize,
        i: usize,
    ) -> Component {
        let (cw, ch) = (w.div_ceil(fx), h.div_ceil(fy));
        let mut data = vec![0f32; cw * ch];
        for y in 0..ch {
            for x in 0..cw {
                let mut s = 0f32;
                for j in 0..fy {
                    for i in 0..fx {
                        let (sx, sy) = ((x * fx + i).min(w - 1), (y * fy + j).min(h - 1));
                        s += full[sy * w + sx];
                    }
                }
                data[y * cw + x] = s / (fx * fy) as f32;
            }
        }
        Component {
            h: hc,
            v: vc,
            tq: if i == 0 { 0 } else { 1 },
            data,
            cw,
            ch,
        }
    }

    /// Quantised coefficients of block (bx, by), zigzag order.
    fn block(&self, bx: usize, by: usize) -> [i32; 64] {
        let mut f = [0f32; 64];
        for y in 0..8 {
            for x in 0..8 {
                let (sx, sy) = ((bx * 8 + x).min(self.cw - 1), (by * 8 + y).min(self.ch - 1));
                f[y * 8 + x] = self.data[sy * self.cw + sx] - 128.0;
            }
        }
        let q = if self.tq == 0 { 4.0 } else { 6.0 };
        let zz = zigzag();
        let mut out = [0i32; 64];
        for (k, &n) in zz.iter().enumerate() {
            let (v, u) = (n / 8, n % 8);
            let cu = if u == 0 { 1.0 / 2f32.sqrt() } else { 1.0 };
            let cv = if v == 0 { 1.0 / 2f32.sqrt() } else { 1.0 };
            let mut s = 0f32;
            for y in 0..8 {
                for x in 0..8 {
                    s += f[y * 8 + x]
                        * (((2 * x + 1) * u) as f32 * std::f32::consts::PI / 16.0).cos()
                        * (((2 * y + 1) * v) as f32 * std::f32::consts::PI / 16.0).cos();
                }
            }
            out[k] = (0.25 * cu * cv * s / q).round() as i32;
        }
        out
    }
}

/// Natural index of each zigzag position.
fn zigzag() -> [usize; 64] {
    let mut zz = [0usize; 64];
    let mut k = 0;
    for s in 0..15usize {
        let rows: Vec<usize> = (s.saturating_sub(7)..=s.min(7)).collect();
        let rows: Vec<usize> = if s % 2 == 1 {
            rows
        } else {
            rows.into_iter().rev().collect()
        };
        for r in rows {
            zz[k] = r * 8 + (s - r);
            k += 1;
        }
    }
    zz
}

fn ac_symbols() -> Vec<u8> {
    let mut v = vec![0x00, 0xf0];
    for run in 0..16u8 {
        for size in 1..=10u8 {
            v.push(run << 4 | size);
        }
    }
    v
}

/// A DHT BITS array with `n` codes of length `len`.
fn bits_at(len: usize, n: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[len - 1] = n as u8;
    b
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xff, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = self.acc << 1 | (code >> i & 1);
            self.n += 1;
            if self.n == 8 {
                let b = self.acc as u8;
                self.out.push(b);
                if b == 0xff {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// Pads the last byte with 1 bits.
    fn flush(&mut self) {
        while self.n != 0 {
            self.put(1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }
}

fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v >= 0 { v } else { v - 1 } as u32 & ((1u32 << size) - 1);
    (size, bits)
}

/// One scan over `ids` for coefficients `ss..=se` (0..=0 DC, 1..=63 AC,
/// 0..=63 baseline).
#[derive(Clone, Copy)]
struct Geometry {
    mcux: usize,
    mcuy: usize,
    restart: usize,
}

fn scan(out: &mut Vec<u8>, comps: &[Component], ids: &[usize], ss: u8, se: u8, g: Geometry) {
    let Geometry {
        mcux,
        mcuy,
        restart,
    } = g;
    let mut sos = vec![ids.len() as u8];
    for &c in ids {
        sos.extend_from_slice(&[c as u8 + 1, 0x00]);
    }
    sos.extend_from_slice(&[ss, se, 0]);
    segment(out, 0xda, &sos);

    let ac = ac_symbols();
    let ac_code = |sym: u8| ac.iter().position(|&s| s == sym).unwrap() as u32;
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let mut pred = vec![0i32; comps.len()];
    let mut mcu = 0usize;
    // Before each MCU: a restart marker after every `restart` of them.
    let mut next_mcu = |bits: &mut Bits, pred: &mut Vec<i32>| {
        if restart > 0 && mcu > 0 && mcu % restart == 0 {
            bits.flush();
            let k = (mcu / restart - 1) % 8;
            bits.out.extend_from_slice(&[0xff, 0xd0 + k as u8]);
            pred.iter_mut().for_each(|p| *p = 0);
        }
        mcu += 1;
    };
    let block = |bits: &mut Bits, pred: &mut Vec<i32>, c: usize, bx: usize, by: usize| {
        let coef = comps[c].block(bx, by);
        if ss == 0 {
            let diff = coef[0] - pred[c];
            pred[c] = coef[0];
            let (size, v) = magnitude(diff);
            bits.put(size, 4);
            bits.put(v, size);
        }
        if se > 0 {
            let mut run = 0;
            for &v in &coef[1..] {
                if v == 0 {
                    run += 1;
                    continue;
                }
                while run > 15 {
                    bits.put(ac_code(0xf0), 8);
                    run -= 16;
                }
                let (size, m) = magnitude(v);
                bits.put(ac_code((run << 4 | size) as u8), 8);
                bits.put(m, size);
                run = 0;
            }
            if run > 0 {
                bits.put(ac_code(0x00), 8);
            }
        }
    };
    if ids.len() == 1 {
        // Non-interleaved: the component's own block grid.
        let c = &comps[ids[0]];
        for by in 0..c.ch.div_ceil(8) {
            for bx in 0..c.cw.div_ceil(8) {
                next_mcu(&mut bits, &mut pred);
                block(&mut bits, &mut pred, ids[0], bx, by);
            }
        }
    } else {
        for my in 0..mcuy {
            for mx in 0..mcux {
                next_mcu(&mut bits, &mut pred);
                for &c in ids {
                    let (hc, vc) = (comps[c].h, comps[c].v);
                    for v in 0..vc {
                        for h in 0..hc {
                            block(&mut bits, &mut pred, c, mx * hc + h, my * vc + v);
                        }
                    }
                }
            }
        }
    }
    out.extend_from_slice(&bits.finish());
}
