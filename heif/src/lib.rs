//! HEIC input through the system's libheif (1.15 in Debian 12): the primary
//! image's displayed size, alpha and colour description without decoding
//! ([`probe`]), and its pixels as 8-bit interleaved RGB or RGBA with the
//! file's transformations (`irot`, `imir`, `clap`) applied ([`decode`]).
//! The only `unsafe` for libheif lives here.

#![allow(non_camel_case_types, non_upper_case_globals, dead_code)]

mod sys {
    #![allow(
        non_camel_case_types,
        non_upper_case_globals,
        non_snake_case,
        dead_code
    )]
    #![allow(clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/heif.rs"));
}

use std::ffi::CStr;
use std::ptr;

/// What the file says about its primary image, without decoding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// As displayed (after `irot`), as libheif reports them.
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    /// A `colr prof`/`rICC` ICC profile.
    pub icc: Option<Vec<u8>>,
    /// A `colr nclx`: colour primaries and transfer characteristics.
    pub nclx: Option<(u16, u16)>,
}

/// Decoded pixels: `width * height * channels` bytes, row-major.
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    /// 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    pub data: Vec<u8>,
}

struct Context(*mut sys::heif_context);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once.
        unsafe { sys::heif_context_free(self.0) }
    }
}

struct Handle(*mut sys::heif_image_handle);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle from heif_context_get_primary_image_handle, released once.
        unsafe { sys::heif_image_handle_release(self.0) }
    }
}

struct Image(*mut sys::heif_image);

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: an image from heif_decode_image, released once.
        unsafe { sys::heif_image_release(self.0) }
    }
}

fn check(e: sys::heif_error) -> Result<(), String> {
    if e.code == sys::heif_error_Ok {
        return Ok(());
    }
    // SAFETY: libheif's message is always a valid C string (static or owned by the context).
    let msg = unsafe { CStr::from_ptr(e.message) };
    Err(msg.to_string_lossy().into_owned())
}

/// Parses `data` (which the context borrows: both live in this call's
/// caller) and opens the primary image.
fn open(data: &[u8]) -> Result<(Context, Handle), String> {
    // SAFETY: plain constructor; NULL checked.
    let ctx = Context(unsafe { sys::heif_context_alloc() });
    if ctx.0.is_null() {
        return Err("out of memory".into());
    }
    // SAFETY: ctx is valid; `data` outlives ctx (both dropped before the
    // caller's borrow ends). libheif keeps its own size limit (32768 a side).
    unsafe {
        check(sys::heif_context_read_from_memory_without_copy(
            ctx.0,
            data.as_ptr().cast(),
            data.len(),
            ptr::null(),
        ))?;
    }
    let mut h = ptr::null_mut();
    // SAFETY: ctx is valid and read; h receives a handle we release.
    check(unsafe { sys::heif_context_get_primary_image_handle(ctx.0, &mut h) })?;
    Ok((ctx, Handle(h)))
}

fn info_of(h: &Handle) -> Result<Info, String> {
    // SAFETY: h is a valid handle for all these reads.
    unsafe {
        let (w, ht) = (
            sys::heif_image_handle_get_width(h.0),
            sys::heif_image_handle_get_height(h.0),
        );
        let (Ok(width), Ok(height)) = (u32::try_from(w), u32::try_from(ht)) else {
            return Err(format!("invalid size {w}x{ht}"));
        };
        let alpha = sys::heif_image_handle_has_alpha_channel(h.0) != 0;
        let n = sys::heif_image_handle_get_raw_color_profile_size(h.0);
        let icc = if n > 0 && n <= 4 << 20 {
            let mut v = vec![0u8; n];
            check(sys::heif_image_handle_get_raw_color_profile(
                h.0,
                v.as_mut_ptr().cast(),
            ))
            .ok()
            .map(|()| v)
        } else {
            None
        };
        let mut nclx = ptr::null_mut();
        let nclx = if check(sys::heif_image_handle_get_nclx_color_profile(
            h.0, &mut nclx,
        ))
        .is_ok()
            && !nclx.is_null()
        {
            let p = &*nclx;
            let v = (p.color_primaries as u16, p.transfer_characteristics as u16);
            sys::heif_nclx_color_profile_free(nclx);
            Some(v)
        } else {
            None
        };
        Ok(Info {
            width,
            height,
            alpha,
            icc,
            nclx,
        })
    }
}

/// The primary image's size, alpha and colour description; nothing decoded.
pub fn probe(data: &[u8]) -> Result<Info, String> {
    let (_ctx, h) = open(data)?;
    info_of(&h)
}

/// Decodes the primary image after `accept` agreed to its displayed size
/// (the caller's pixel limit): 8 bits a sample (HDR converted down),
/// transformations applied.
pub fn decode<E>(
    data: &[u8],
    accept: impl FnOnce(&Info) -> Result<(), E>,
    err: impl Fn(String) -> E,
) -> Result<(Pixels, Info), E> {
    let (_ctx, h) = open(data).map_err(&err)?;
    let info = info_of(&h).map_err(&err)?;
    accept(&info)?;
    let channels = if info.alpha { 4 } else { 3 };
    let chroma = if info.alpha {
        sys::heif_chroma_interleaved_RGBA
    } else {
        sys::heif_chroma_interleaved_RGB
    };
    // SAFETY: options allocated by libheif, written within its version-2
    // fields (convert_hdr_to_8bit), freed after the decode.
    let img = unsafe {
        let opts = sys::heif_decoding_options_alloc();
        if opts.is_null() {
            return Err(err("out of memory".into()));
        }
        (*opts).convert_hdr_to_8bit = 1;
        let mut img = ptr::null_mut();
        let r = check(sys::heif_decode_image(
            h.0,
            &mut img,
            sys::heif_colorspace_RGB,
            chroma,
            opts,
        ));
        sys::heif_decoding_options_free(opts);
        let img = Image(img);
        r.map_err(&err)?;
        if img.0.is_null() {
            return Err(err("no image decoded".into()));
        }
        img
    };
    let mut stride = 0i32;
    // SAFETY: img is valid; the plane lives as long as img.
    let (plane, w, ht) = unsafe {
        (
            sys::heif_image_get_plane_readonly(img.0, sys::heif_channel_interleaved, &mut stride),
            sys::heif_image_get_width(img.0, sys::heif_channel_interleaved),
            sys::heif_image_get_height(img.0, sys::heif_channel_interleaved),
        )
    };
    let (Ok(width), Ok(height), Ok(stride)) =
        (u32::try_from(w), u32::try_from(ht), usize::try_from(stride))
    else {
        return Err(err(format!("decoded plane {w}x{ht}")));
    };
    let row = width as usize * channels;
    if plane.is_null() || stride < row {
        return Err(err("no interleaved plane".into()));
    }
    let mut out = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        // SAFETY: libheif's plane holds `height` rows of `stride` bytes.
        let line = unsafe { std::slice::from_raw_parts(plane.add(y * stride), row) };
        out.extend_from_slice(line);
    }
    drop(img);
    Ok((
        Pixels {
            width,
            height,
            channels,
            data: out,
        },
        info,
    ))
}
