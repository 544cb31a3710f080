//! One still picture through libaom's all-intra encoder (`AOM_USAGE_ALL_INTRA`,
//! one thread, constant quality): 8-bit 4:2:0 Y′CbCr or a monochrome plane
//! in, the AV1 OBUs an AVIF item holds (sequence header and frame, without
//! the temporal delimiter) out.
//!
//! All `unsafe` is here, at the C boundary; the function is safe to call
//! from any thread, each call with its own encoder context.

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
    // One contiguous I420 buffer, as aom_img_wrap describes it; a
    // monochrome picture gets neutral chroma the encoder does not code.
    let mut buf = Vec::new();
    buf.try_reserve_exact(wu * hu + 2 * cw * ch)
        .map_err(|e| e.to_string())?;
    let mono = match planes {
        Planes::Yuv420 { y, cb, cr } => {
            if y.len() != wu * hu || cb.len() != cw * ch || cr.len() != cw * ch {
                return Err("plane sizes do not match the picture".into());
            }
            buf.extend_from_slice(y);
            buf.extend_from_slice(cb);
            buf.extend_from_slice(cr);
            false
        }
        Planes::Mono(y) => {
            if y.len() != wu * hu {
                return Err("plane size does not match the picture".into());
            }
            buf.extend_from_slice(y);
            buf.resize(wu * hu + 2 * cw * ch, 128);
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
}
