//! One still picture through libaom's all-intra encoder (`AOM_USAGE_ALL_INTRA`,
//! one thread, constant quality): 8-bit 4:2:0 Y′CbCr or a monochrome plane
//! in, the AV1 OBUs an AVIF item holds (sequence header and frame, without
//! the temporal delimiter) out.
//!
//! And the reverse, for AVIF input: [`decode_still`] runs libaom's AV1
//! decoder (`aom_codec_av1_dx`, one thread) over an item's OBUs and copies
//! the first frame's planes out.
//!
//! All `unsafe` is here, at the C boundary; the functions are safe to call
//! from any thread, each call with its own codec context.

mod sys {
    #![allow(
        non_upper_case_globals,
        non_camel_case_types,
        non_snake_case,
        dead_code
    )]
    #![allow(clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/aom.rs"));
}

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr;

/// The planes of one picture, 8 bits per sample, rows packed (stride =
/// width), chroma `(w + 1) / 2` × `(h + 1) / 2`.
pub enum Planes<'a> {
    Yuv420 {
        y: &'a [u8],
        cb: &'a [u8],
        cr: &'a [u8],
    },
    /// Luma only (an alpha plane): a monochrome AV1 stream.
    Mono(&'a [u8]),
}

/// CICP colour description written in the sequence header.
#[derive(Clone, Copy, Debug)]
pub struct Cicp {
    pub primaries: u8,
    pub transfer: u8,
    pub matrix: u8,
}

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// libaom's `cq-level`, 0 (best) ..= 63.
    pub cq_level: u32,
    /// libaom's `cpu-used`, 0 (slowest) ..= 9.
    pub speed: u32,
    /// Tune for SSIM (`true`) or PSNR.
    pub tune_ssim: bool,
    /// Colour description for a colour picture; ignored for `Mono`.
    pub cicp: Cicp,
    pub full_range: bool,
}

/// The context, destroyed however the encode ends.
struct Encoder(sys::aom_codec_ctx_t);

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised by aom_codec_enc_init_ver.
        unsafe { sys::aom_codec_destroy(&mut self.0) };
    }
}

fn err_text(e: sys::aom_codec_err_t) -> String {
    // SAFETY: libaom returns a static NUL-terminated string for any value.
    let s = unsafe { CStr::from_ptr(sys::aom_codec_err_to_string(e)) };
    s.to_string_lossy().into_owned()
}

impl Encoder {
    fn check(&mut self, e: sys::aom_codec_err_t, what: &str) -> Result<(), String> {
        if e == sys::AOM_CODEC_OK {
            return Ok(());
        }
        // SAFETY: the context is initialised; the detail, when set, is a
        // NUL-terminated string owned by the context.
        let detail = unsafe {
            let d = sys::aom_codec_error_detail(&mut self.0);
            (!d.is_null()).then(|| CStr::from_ptr(d).to_string_lossy().into_owned())
        };
        Err(match detail {
            Some(d) => format!("libaom {what}: {} ({d})", err_text(e)),
            None => format!("libaom {what}: {}", err_text(e)),
        })
    }

    fn control(&mut self, id: sys::aome_enc_control_id, value: c_int) -> Result<(), String> {
        // SAFETY: every control used here takes one int (or unsigned int).
        let e = unsafe { sys::aom_codec_control(&mut self.0, id as c_int, value) };
        self.check(e, "control")
    }

    /// The frame packets encoded so far, appended to `out`.
    fn drain(&mut self, out: &mut Vec<u8>) {
        let mut iter: sys::aom_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialised; a returned packet stays
            // valid until the next call on the context.
            unsafe {
                let pkt = sys::aom_codec_get_cx_data(&mut self.0, &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind == sys::AOM_CODEC_CX_FRAME_PKT {
                    let f = (*pkt).data.frame;
                    if !f.buf.is_null() && f.sz > 0 {
                        out.extend_from_slice(std::slice::from_raw_parts(f.buf as *const u8, f.sz));
                    }
                }
            }
        }
    }
}

/// Encodes one `w`×`h` picture; the result is the OBUs of its temporal
/// unit minus the temporal delimiter.
pub fn encode_still(w: u32, h: u32, planes: Planes<'_>, s: &Settings) -> Result<Vec<u8>, String> {
    let (wu, hu) = (w as usize, h as usize);
    let (cw, ch) = (wu.div_ceil(2), hu.div_ceil(2));
    if w == 0 || h == 0 || w > 65536 || h > 65536 {
        return Err(format!("{w}x{h}: no AV1 picture of that size"));
    }
    // One contiguous I420 buffer, as aom_img_wrap describes it: the luma
    // plane's width and height rounded up to even (libaom aligns them to
    // the chroma subsampling; the extra column and row, repeated from the
    // last, are not coded); a monochrome picture gets neutral chroma the
    // encoder does not code.
    let (aw, ah) = (cw * 2, ch * 2);
    let mut buf = Vec::new();
    buf.try_reserve_exact(aw * ah + 2 * cw * ch)
        .map_err(|e| e.to_string())?;
    let put_luma = |buf: &mut Vec<u8>, y: &[u8]| {
        for r in 0..ah {
            let row = &y[r.min(hu - 1) * wu..][..wu];
            buf.extend_from_slice(row);
            if aw > wu {
                buf.push(row[wu - 1]);
            }
        }
    };
    let mono = match planes {
        Planes::Yuv420 { y, cb, cr } => {
            if y.len() != wu * hu || cb.len() != cw * ch || cr.len() != cw * ch {
                return Err("plane sizes do not match the picture".into());
            }
            put_luma(&mut buf, y);
            buf.extend_from_slice(cb);
            buf.extend_from_slice(cr);
            false
        }
        Planes::Mono(y) => {
            if y.len() != wu * hu {
                return Err("plane size does not match the picture".into());
            }
            put_luma(&mut buf, y);
            buf.resize(aw * ah + 2 * cw * ch, 128);
            true
        }
    };

    // SAFETY: plain C calls on values this function owns: `cfg` is filled
    // by libaom before use, `ctx` is destroyed by `Encoder`'s drop, and
    // `img` only points into `buf`, which outlives every use of it.
    let mut enc = unsafe {
        let iface = sys::aom_codec_av1_cx();
        let mut cfg = MaybeUninit::<sys::aom_codec_enc_cfg_t>::zeroed();
        let e =
            sys::aom_codec_enc_config_default(iface, cfg.as_mut_ptr(), sys::AOM_USAGE_ALL_INTRA);
        if e != sys::AOM_CODEC_OK {
            return Err(format!("libaom config: {}", err_text(e)));
        }
        let mut cfg = cfg.assume_init();
        cfg.g_w = w;
        cfg.g_h = h;
        cfg.g_threads = 1;
        cfg.g_limit = 1;
        cfg.g_lag_in_frames = 0;
        cfg.g_profile = 0;
        cfg.g_bit_depth = sys::AOM_BITS_8;
        cfg.g_input_bit_depth = 8;
        cfg.rc_end_usage = sys::AOM_Q;
        cfg.monochrome = u32::from(mono);
        let mut ctx = MaybeUninit::<sys::aom_codec_ctx_t>::zeroed();
        let e = sys::aom_codec_enc_init_ver(
            ctx.as_mut_ptr(),
            iface,
            &cfg,
            0,
            sys::AOM_ENCODER_ABI_VERSION as c_int,
        );
        if e != sys::AOM_CODEC_OK {
            return Err(format!("libaom init: {}", err_text(e)));
        }
        Encoder(ctx.assume_init())
    };
    enc.control(sys::AOME_SET_CPUUSED, s.speed.min(9) as c_int)?;
    enc.control(sys::AOME_SET_CQ_LEVEL, s.cq_level.min(63) as c_int)?;
    let tune = if s.tune_ssim {
        sys::AOM_TUNE_SSIM
    } else {
        sys::AOM_TUNE_PSNR
    };
    enc.control(sys::AOME_SET_TUNING, tune as c_int)?;
    enc.control(sys::AV1E_SET_COLOR_RANGE, c_int::from(s.full_range))?;
    if !mono {
        enc.control(sys::AV1E_SET_COLOR_PRIMARIES, c_int::from(s.cicp.primaries))?;
        enc.control(
            sys::AV1E_SET_TRANSFER_CHARACTERISTICS,
            c_int::from(s.cicp.transfer),
        )?;
        enc.control(
            sys::AV1E_SET_MATRIX_COEFFICIENTS,
            c_int::from(s.cicp.matrix),
        )?;
    }

    let mut out = Vec::new();
    // SAFETY: see above; `img` describes `buf` and is used only below.
    unsafe {
        let mut img = MaybeUninit::<sys::aom_image_t>::zeroed();
        let img = sys::aom_img_wrap(
            img.as_mut_ptr(),
            sys::AOM_IMG_FMT_I420,
            w,
            h,
            1,
            buf.as_mut_ptr(),
        );
        if img.is_null() {
            return Err("libaom: cannot describe the picture".into());
        }
        (*img).monochrome = c_int::from(mono);
        (*img).range = if s.full_range {
            sys::AOM_CR_FULL_RANGE
        } else {
            sys::AOM_CR_STUDIO_RANGE
        };
        let e = sys::aom_codec_encode(&mut enc.0, img, 0, 1, 0);
        enc.check(e, "encode")?;
        enc.drain(&mut out);
        let e = sys::aom_codec_encode(&mut enc.0, ptr::null(), 0, 0, 0);
        enc.check(e, "flush")?;
        enc.drain(&mut out);
    }
    drop(enc);
    strip_temporal_delimiters(&out)
}

/// One decoded AV1 frame: its planes as samples of `bit_depth` bits (8, 10
/// or 12), rows packed. Chroma planes are `ceil(w >> x_shift)` ×
/// `ceil(h >> y_shift)`; empty for a monochrome frame.
#[derive(Debug)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u32,
    pub mono: bool,
    pub x_shift: u32,
    pub y_shift: u32,
    /// Y, Cb, Cr.
    pub planes: [Vec<u16>; 3],
    /// The sequence header's colour description (CICP) and range.
    pub primaries: u8,
    pub transfer: u8,
    pub matrix: u8,
    pub full_range: bool,
}

/// libaom's flag for 16-bit sample buffers (`AOM_IMG_FMT_HIGHBITDEPTH`).
const IMG_FMT_HIGHBITDEPTH: u32 = 0x800;

/// The decoder context, destroyed however the decode ends.
struct Decoder(sys::aom_codec_ctx_t);

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised by aom_codec_dec_init_ver.
        unsafe { sys::aom_codec_destroy(&mut self.0) };
    }
}

/// Decodes the first frame of `obus` (an AVIF item: a sequence header and
/// a frame). `max_pixels` bounds the frame accepted; the caller checks the
/// sequence header's maximum before calling, which bounds what libaom
/// allocates.
pub fn decode_still(obus: &[u8], max_pixels: u64) -> Result<Frame, String> {
    if obus.is_empty() {
        return Err("libaom: no AV1 data".into());
    }
    // SAFETY: `cfg` is plain data; `ctx` is initialised by libaom before
    // `Decoder` owns it, and destroyed by its drop.
    let mut dec = unsafe {
        let iface = sys::aom_codec_av1_dx();
        let mut cfg = MaybeUninit::<sys::aom_codec_dec_cfg_t>::zeroed().assume_init();
        cfg.threads = 1;
        cfg.allow_lowbitdepth = 1;
        let mut ctx = MaybeUninit::<sys::aom_codec_ctx_t>::zeroed();
        let e = sys::aom_codec_dec_init_ver(
            ctx.as_mut_ptr(),
            iface,
            &cfg,
            0,
            sys::AOM_DECODER_ABI_VERSION as c_int,
        );
        if e != sys::AOM_CODEC_OK {
            return Err(format!("libaom decoder init: {}", err_text(e)));
        }
        Decoder(ctx.assume_init())
    };
    // SAFETY: `obus` outlives the call; a returned image stays valid until
    // the next call on the context, and is only read (within its planes'
    // rows and strides, as libaom describes them) before `dec` drops.
    unsafe {
        let e = sys::aom_codec_decode(&mut dec.0, obus.as_ptr(), obus.len(), ptr::null_mut());
        if e != sys::AOM_CODEC_OK {
            let d = sys::aom_codec_error_detail(&mut dec.0);
            let detail = (!d.is_null()).then(|| CStr::from_ptr(d).to_string_lossy().into_owned());
            return Err(match detail {
                Some(d) => format!("libaom decode: {} ({d})", err_text(e)),
                None => format!("libaom decode: {}", err_text(e)),
            });
        }
        let mut iter: sys::aom_codec_iter_t = ptr::null();
        let img = sys::aom_codec_get_frame(&mut dec.0, &mut iter);
        if img.is_null() {
            return Err("libaom decode: no frame".into());
        }
        let img = &*img;
        let (w, h) = (img.d_w, img.d_h);
        if w == 0 || h == 0 || u64::from(w) * u64::from(h) > max_pixels {
            return Err(format!("libaom decode: a {w}x{h} frame"));
        }
        let high = (img.fmt as u32) & IMG_FMT_HIGHBITDEPTH != 0;
        let mono = img.monochrome != 0;
        let (xs, ys) = (img.x_chroma_shift, img.y_chroma_shift);
        if xs > 1 || ys > 1 || img.bit_depth > 12 {
            return Err("libaom decode: unsupported picture layout".into());
        }
        let mut planes: [Vec<u16>; 3] = Default::default();
        let nplanes = if mono { 1 } else { 3 };
        for (p, out) in planes.iter_mut().enumerate().take(nplanes) {
            let (pw, ph) = if p == 0 {
                (w as usize, h as usize)
            } else {
                (((w + xs) >> xs) as usize, ((h + ys) >> ys) as usize)
            };
            let base = img.planes[p];
            let stride = img.stride[p] as isize;
            if base.is_null() || stride <= 0 {
                return Err("libaom decode: missing plane".into());
            }
            out.try_reserve_exact(pw * ph).map_err(|e| e.to_string())?;
            for row in 0..ph {
                let r = base.offset(stride * row as isize);
                if high {
                    let r = std::slice::from_raw_parts(r as *const u16, pw);
                    out.extend_from_slice(r);
                } else {
                    let r = std::slice::from_raw_parts(r as *const u8, pw);
                    out.extend(r.iter().map(|&v| u16::from(v)));
                }
            }
        }
        Ok(Frame {
            width: w,
            height: h,
            bit_depth: img.bit_depth,
            mono,
            x_shift: xs,
            y_shift: ys,
            planes,
            primaries: img.cp as u8,
            transfer: img.tc as u8,
            matrix: img.mc as u8,
            full_range: img.range == sys::AOM_CR_FULL_RANGE,
        })
    }
}

/// The OBUs of `data` without temporal delimiters (type 2), which an AVIF
/// item does not carry; `Err` when the OBU sizes do not add up.
fn strip_temporal_delimiters(data: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "libaom: malformed OBU stream".to_string();
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let start = i;
        let hdr = data[i];
        let ty = (hdr >> 3) & 0x0f;
        let ext = hdr & 0x04 != 0;
        if hdr & 0x02 == 0 {
            return Err(bad()); // libaom always writes sizes
        }
        i += 1 + usize::from(ext);
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let b = *data.get(i).ok_or_else(bad)?;
            i += 1;
            size |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return Err(bad());
            }
        }
        let end = i
            .checked_add(size)
            .filter(|&e| e <= data.len())
            .ok_or_else(bad)?;
        if ty != 2 {
            out.extend_from_slice(&data[start..end]);
        }
        i = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            cq_level: 30,
            speed: 9,
            tune_ssim: true,
            cicp: Cicp {
                primaries: 1,
                transfer: 13,
                matrix: 6,
            },
            full_range: true,
        }
    }

    #[test]
    fn encodes_a_still_without_temporal_delimiter() {
        let (w, h) = (33usize, 17usize);
        let y: Vec<u8> = (0..w * h).map(|i| (i * 7 % 256) as u8).collect();
        let c = vec![128u8; w.div_ceil(2) * h.div_ceil(2)];
        let obus = encode_still(
            w as u32,
            h as u32,
            Planes::Yuv420 {
                y: &y,
                cb: &c,
                cr: &c,
            },
            &settings(),
        )
        .unwrap();
        // First OBU: the sequence header (type 1), then a frame (type 6).
        assert_eq!((obus[0] >> 3) & 0x0f, 1, "{:02x?}", &obus[..4]);
        let mono = encode_still(w as u32, h as u32, Planes::Mono(&y), &settings()).unwrap();
        assert_eq!((mono[0] >> 3) & 0x0f, 1);
    }

    #[test]
    fn refuses_mismatched_planes() {
        let y = vec![0u8; 10];
        assert!(encode_still(4, 4, Planes::Mono(&y), &settings()).is_err());
        assert!(encode_still(0, 4, Planes::Mono(&[]), &settings()).is_err());
    }

    #[test]
    fn strips_only_temporal_delimiters() {
        let td = [0x12, 0x00];
        let seq = [0x0a, 0x02, 0xaa, 0xbb];
        let data = [&td[..], &seq[..]].concat();
        assert_eq!(strip_temporal_delimiters(&data).unwrap(), seq);
        assert!(strip_temporal_delimiters(&[0x0a, 0x05, 0x00]).is_err());
    }

    #[test]
    fn decodes_what_it_encodes() {
        let (w, h) = (33usize, 17usize);
        let y: Vec<u8> = (0..w * h)
            .map(|i| (i % w * 4 + i / w * 2) as u8 + 20)
            .collect();
        let c = vec![100u8; w.div_ceil(2) * h.div_ceil(2)];
        let mut s = settings();
        s.cq_level = 0;
        let obus = encode_still(
            w as u32,
            h as u32,
            Planes::Yuv420 {
                y: &y,
                cb: &c,
                cr: &c,
            },
            &s,
        )
        .unwrap();
        let f = decode_still(&obus, 1 << 20).unwrap();
        assert_eq!((f.width, f.height, f.bit_depth, f.mono), (33, 17, 8, false));
        assert_eq!(
            (f.x_shift, f.y_shift, f.matrix, f.full_range),
            (1, 1, 6, true)
        );
        assert_eq!(f.planes[1].len(), 17 * 9);
        let err: i32 = f.planes[0]
            .iter()
            .zip(&y)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .max()
            .unwrap();
        assert!(err < 12, "{err} {:?} {:?}", &f.planes[0][..40], &y[..40]);
        assert!(decode_still(&obus, 100).is_err());
        let mono = encode_still(w as u32, h as u32, Planes::Mono(&y), &s).unwrap();
        let f = decode_still(&mono, 1 << 20).unwrap();
        assert!(f.mono && f.planes[1].is_empty());
        assert!(decode_still(&obus[..obus.len() / 2], 1 << 20).is_err());
        assert!(decode_still(&[0x0a, 0x01, 0xff], 1 << 20).is_err());
        assert!(decode_still(&[], 1 << 20).is_err());
    }
}
