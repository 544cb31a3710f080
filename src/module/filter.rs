//! The header and body filters: image_filter's state machine, minus its
//! first-buffer sniffing.
//!
//! Phases (as in `ngx_http_image_filter_module.c`):
//! - header filter: decide early (pass non-200s, refuse encoded or over-size
//!   bodies from Content-Length) and **hold the headers**;
//! - `Read`: accumulate the whole body (memory or file buffers), bounded by
//!   `image_resize_rs_buffer`;
//! - process: sniff, then test / size / transform via [`crate::pipeline`];
//! - send: release the (rewritten) headers and the new body, then `Pass`.
//!
//! Every failure goes through [`fail`]: one error-log line, then 415.

use core::ffi::c_void;
use core::ptr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::core::Pool;
use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_http_clean_header,
    ngx_http_filter_finalize_request, ngx_http_output_body_filter_pt,
    ngx_http_output_header_filter_pt, ngx_http_request_t, ngx_http_top_body_filter,
    ngx_http_top_header_filter, ngx_http_weak_etag, ngx_int_t, ngx_module_t, ngx_pcalloc,
    ngx_read_file, NGX_ERROR, NGX_HTTP_NOT_MODIFIED, NGX_HTTP_OK, NGX_HTTP_PARTIAL_CONTENT,
    NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, NGX_OK,
};
use ngx::http::HttpModuleLocationConf;

use super::conf::LocConf;
use super::log::{request_debug, request_error};
use super::Module;
use crate::pipeline::{self, ImageType, Job, Operation, Outcome};
use crate::value::{Mode, UNLIMITED};

static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

/// `r->connection->buffered` bit while we hold body data (image_filter's value:
/// the two modules are never active in the same request).
const BUFFERED: u32 = 0x08;

/// Called from postconfiguration: push our filters on top of the chain, which
/// the module order places where image_filter sits.
pub(crate) fn install() {
    // SAFETY: postconfiguration runs single-threaded in the master process.
    unsafe {
        NEXT_HEADER_FILTER = ngx_http_top_header_filter;
        ngx_http_top_header_filter = Some(header_filter);
        NEXT_BODY_FILTER = ngx_http_top_body_filter;
        ngx_http_top_body_filter = Some(body_filter);
    }
}

fn next_header(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: set in install() before any request; never null after nginx's own filters.
    unsafe { NEXT_HEADER_FILTER.expect("next header filter")(r) }
}

fn next_body(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: as above.
    unsafe { NEXT_BODY_FILTER.expect("next body filter")(r, cl) }
}

fn module() -> *mut ngx_module_t {
    ptr::addr_of!(super::ngx_http_image_resize_rs_module) as *mut ngx_module_t
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Read,
    Pass,
}

/// Per-request state, allocated in the request pool (dropped with it).
struct Ctx {
    phase: Phase,
    /// The upstream body; capacity reserved from Content-Length when known.
    body: Vec<u8>,
    /// `image_resize_rs_buffer`.
    limit: usize,
    /// What we send; must outlive the buffers handed to the next filters,
    /// so it lives here until the request pool goes.
    out: Vec<u8>,
}

fn get_ctx<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut Ctx> {
    // SAFETY: r->ctx has ngx_http_max_module slots; ours holds a *mut Ctx or null.
    unsafe {
        let p = *(*r).ctx.add((*module()).ctx_index) as *mut Ctx;
        p.as_mut()
    }
}

fn set_ctx(r: *mut ngx_http_request_t, ctx: *mut Ctx) {
    // SAFETY: as above.
    unsafe { *(*r).ctx.add((*module()).ctx_index) = ctx as *mut c_void };
}

/// Never let a panic unwind into nginx: a bug costs one request, not a worker.
fn guard(r: *mut ngx_http_request_t, f: impl FnOnce() -> ngx_int_t) -> ngx_int_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(_) => {
            request_error(r, format_args!("internal error (panic) while filtering"));
            NGX_ERROR as ngx_int_t
        }
    }
}

unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard(r, || header_filter_impl(r))
}

unsafe extern "C" fn body_filter(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    guard(r, || body_filter_impl(r, cl))
}

fn header_filter_impl(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: r is a live request; nginx calls filters on its own thread.
    let ho = unsafe { &mut (*r).headers_out };

    if ho.status == NGX_HTTP_NOT_MODIFIED as usize {
        return next_header(r);
    }

    if get_ctx(r).is_some() {
        // Our own error page after ngx_http_filter_finalize_request: let it through.
        set_ctx(r, ptr::null_mut());
        return next_header(r);
    }

    // SAFETY: r is live, and the loc conf of a live request is set.
    let conf = unsafe { Module::location_conf(&*(r as *const ngx::http::Request)) };
    let Some(conf) = conf else {
        return next_header(r);
    };
    if conf.mode() == Mode::Off {
        return next_header(r);
    }

    // Unlike image_filter, errors and redirects from the origin (S3's 403/404,
    // 5xx) reach the client as they are.
    if ho.status != NGX_HTTP_OK as usize && ho.status != NGX_HTTP_PARTIAL_CONTENT as usize {
        return next_header(r);
    }

    // SAFETY: the request pool outlives every use of ctx; allocate() registers Drop.
    let ctx = unsafe { Pool::from_ngx_pool((*r).pool) }.allocate(Ctx {
        phase: Phase::Read,
        body: Vec::new(),
        limit: conf.buffer_size,
        out: Vec::new(),
    });
    if ctx.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    set_ctx(r, ctx);

    if ho.status == NGX_HTTP_PARTIAL_CONTENT as usize {
        request_error(
            r,
            format_args!(
                "origin answered 206 Partial Content; a part of an image cannot be \
                 processed (do not forward Range: proxy_set_header Range \"\")"
            ),
        );
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t;
    }

    let ct = ho.content_type.as_bytes();
    if ct.len() >= 25 && ct[..25].eq_ignore_ascii_case(b"multipart/x-mixed-replace") {
        request_error(r, format_args!("multipart/x-mixed-replace response"));
        return NGX_ERROR as ngx_int_t;
    }

    // SAFETY: a non-null content_encoding points at a live header entry.
    if let Some(ce) = unsafe { ho.content_encoding.as_ref() } {
        let v = ce.value.as_bytes();
        if ce.hash != 0 && !v.is_empty() && !v.eq_ignore_ascii_case(b"identity") {
            request_error(
                r,
                format_args!(
                    "response has \"Content-Encoding: {}\", not an image",
                    String::from_utf8_lossy(v)
                ),
            );
            return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t;
        }
    }

    let len = ho.content_length_n;
    if len > conf.buffer_size as i64 {
        request_error(
            r,
            format_args!(
                "too big response: Content-Length {} exceeds image_resize_rs_buffer {}",
                len, conf.buffer_size
            ),
        );
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t;
    }
    // SAFETY: ctx was just allocated above.
    let ctx = unsafe { &mut *ctx };
    if len > 0 && ctx.body.try_reserve_exact(len as usize).is_err() {
        request_error(
            r,
            format_args!("cannot allocate {} bytes for the body", len),
        );
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t;
    }

    // SAFETY: a non-null refresh points at a live header entry.
    if let Some(refresh) = unsafe { ho.refresh.as_mut() } {
        refresh.hash = 0;
    }
    // SAFETY: bitfield setters on a live request.
    unsafe {
        (*r).set_main_filter_need_in_memory(1);
        (*r).set_allow_ranges(0);
    }
    // Headers are held until the body's outcome is known.
    NGX_OK as ngx_int_t
}

fn body_filter_impl(r: *mut ngx_http_request_t, mut cl: *mut ngx_chain_t) -> ngx_int_t {
    if cl.is_null() {
        return next_body(r, cl);
    }
    let Some(ctx) = get_ctx(r) else {
        return next_body(r, cl);
    };
    if ctx.phase == Phase::Pass {
        return next_body(r, cl);
    }

    // Phase::Read: take everything, whatever the buffer sizes.
    let is_main = unsafe { (*r).main == r };
    let mut last = false;
    while !cl.is_null() {
        // SAFETY: a chain handed to a body filter is a valid list of valid buffers.
        let b = unsafe { &mut *(*cl).buf };
        if let Err(reason) = take_buffer(ctx, b) {
            return fail(r, ctx, format_args!("{reason}"));
        }
        if b.last_buf() != 0 || (!is_main && b.last_in_chain() != 0) {
            last = true;
        }
        cl = unsafe { (*cl).next };
    }

    // SAFETY: r->connection is live.
    let c = unsafe { &mut *(*r).connection };
    if !last {
        c.set_buffered(c.buffered() | BUFFERED);
        return NGX_OK as ngx_int_t;
    }
    c.set_buffered(c.buffered() & !BUFFERED);

    process(r, ctx)
}

/// Copies one buffer's bytes into the body and marks the buffer consumed.
fn take_buffer(ctx: &mut Ctx, b: &mut ngx_buf_t) -> Result<(), String> {
    let in_memory = b.temporary() != 0 || b.memory() != 0 || b.mmap() != 0;
    if in_memory {
        // SAFETY: pos..last is the readable part of an in-memory buffer.
        let len = unsafe { b.last.offset_from(b.pos) } as usize;
        if len > 0 {
            reserve(ctx, len)?;
            ctx.body
                .extend_from_slice(unsafe { core::slice::from_raw_parts(b.pos, len) });
        }
        b.pos = b.last;
        if b.in_file() != 0 {
            b.file_pos = b.file_last;
        }
    } else if b.in_file() != 0 {
        // A file-backed buffer (static files, proxy temp files) reached us
        // without the copy filter reading it: read it ourselves.
        let len = (b.file_last - b.file_pos) as usize;
        if len > 0 {
            reserve(ctx, len)?;
            let start = ctx.body.len();
            ctx.body.resize(start + len, 0);
            // SAFETY: b->file is valid for in_file buffers; the destination has len bytes.
            let n =
                unsafe { ngx_read_file(b.file, ctx.body.as_mut_ptr().add(start), len, b.file_pos) };
            if n != len as isize {
                return Err(format!("reading {len} bytes of a file buffer returned {n}"));
            }
        }
        b.file_pos = b.file_last;
    }
    Ok(())
}

fn reserve(ctx: &mut Ctx, more: usize) -> Result<(), String> {
    let need = ctx.body.len() + more;
    if need > ctx.limit {
        return Err(format!(
            "too big response: more than image_resize_rs_buffer {} bytes",
            ctx.limit
        ));
    }
    if need > ctx.body.capacity() {
        // Grow geometrically but never past the limit.
        let target = need.max(ctx.body.capacity() * 2).min(ctx.limit);
        ctx.body
            .try_reserve_exact(target - ctx.body.len())
            .map_err(|_| format!("cannot allocate {target} bytes for the body"))?;
    }
    Ok(())
}

/// The one failure exit: a log line, then 415 through nginx's error page.
fn fail(r: *mut ngx_http_request_t, ctx: &mut Ctx, args: core::fmt::Arguments<'_>) -> ngx_int_t {
    request_error(r, args);
    ctx.body = Vec::new();
    ctx.phase = Phase::Pass;
    // SAFETY: clearing our buffered bit on a live connection.
    unsafe {
        let c = &mut *(*r).connection;
        c.set_buffered(c.buffered() & !BUFFERED);
        ngx_http_filter_finalize_request(r, module(), NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t)
    }
}

enum Reply {
    /// The original bytes (image_filter's "asis"), with their detected type.
    Original(ImageType),
    /// A new image of this type.
    Image(ImageType),
    /// `size` answer.
    Json,
}

fn process(r: *mut ngx_http_request_t, ctx: &mut Ctx) -> ngx_int_t {
    // SAFETY: r is live, its loc conf set (the header filter checked).
    let conf: &LocConf =
        unsafe { Module::location_conf(&*(r as *const ngx::http::Request)) }.expect("loc conf");
    let mode = conf.mode();

    let Some(ty) = pipeline::sniff(&ctx.body) else {
        if mode == Mode::Size {
            ctx.out = pipeline::size_json(None);
            return send(r, ctx, Reply::Json);
        }
        return if ctx.body.is_empty() {
            fail(r, ctx, format_args!("empty response body, not an image"))
        } else {
            let head: Vec<String> = ctx
                .body
                .iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect();
            fail(
                r,
                ctx,
                format_args!(
                    "not a JPEG, GIF, PNG or WebP image ({} bytes starting with {})",
                    ctx.body.len(),
                    head.join(" ")
                ),
            )
        };
    };
    request_debug(
        r,
        format_args!("{} image, {} bytes", ty.name(), ctx.body.len()),
    );

    match mode {
        Mode::Test => return send(r, ctx, Reply::Original(ty)),
        Mode::Size => {
            let info = pipeline::read_header(ty, &ctx.body).map(|h| (ty, h.width, h.height));
            ctx.out = pipeline::size_json(info);
            return send(r, ctx, Reply::Json);
        }
        _ => {}
    }

    let angle = match conf.angle.get(r) {
        a @ (90 | 180 | 270) => a as u32,
        a => {
            if mode == Mode::Rotate {
                return fail(
                    r,
                    ctx,
                    format_args!("rotate angle {a} is not 90, 180 or 270"),
                );
            }
            0
        }
    };
    let (op, max_width, max_height) = match mode {
        Mode::Rotate => (Operation::Rotate, UNLIMITED, UNLIMITED),
        _ => {
            let w = conf.width.get(r);
            let h = conf.height.get(r);
            if w == 0 || h == 0 {
                return fail(
                    r,
                    ctx,
                    format_args!("width and height must be positive numbers or \"-\""),
                );
            }
            let op = if mode == Mode::Crop {
                Operation::Crop
            } else {
                Operation::Resize
            };
            (op, w, h)
        }
    };
    let quality = |v: Option<super::conf::Value>| v.map(|v| v.get(r)).unwrap_or(0);
    let jpeg_quality = quality(conf.jpeg_quality);
    let webp_quality = quality(conf.webp_quality);
    if (ty == ImageType::Jpeg && (jpeg_quality == 0 || jpeg_quality == UNLIMITED))
        || (ty == ImageType::Webp && (webp_quality == 0 || webp_quality == UNLIMITED))
    {
        return fail(r, ctx, format_args!("invalid {} quality", ty.name()));
    }
    let sharpen = match conf.sharpen.map(|v| v.get(r)).unwrap_or(0) {
        UNLIMITED => 0,
        s => s.min(1000) as u32,
    };

    let job = Job {
        op,
        max_width,
        max_height,
        angle,
        jpeg_quality: jpeg_quality.min(100) as u32,
        webp_quality: webp_quality.min(100) as u32,
        sharpen,
        transparency: conf.transparency != 0,
        interlace: conf.interlace != 0,
        max_pixels: conf.max_pixels.unwrap_or(crate::value::DEFAULT_MAX_PIXELS),
    };

    let outcome = catch_unwind(AssertUnwindSafe(|| pipeline::process(&ctx.body, &job)));
    match outcome {
        Ok(Ok(Outcome::AsIs)) => send(r, ctx, Reply::Original(ty)),
        Ok(Ok(Outcome::Encoded {
            ty,
            bytes,
            width,
            height,
        })) => {
            request_debug(
                r,
                format_args!("{} {}x{}, {} bytes", ty.name(), width, height, bytes.len()),
            );
            ctx.out = bytes;
            ctx.body = Vec::new();
            send(r, ctx, Reply::Image(ty))
        }
        Ok(Err(e)) => fail(r, ctx, format_args!("{e}")),
        Err(_) => fail(
            r,
            ctx,
            format_args!("internal error (panic) while processing the image"),
        ),
    }
}

/// Releases the held headers (rewritten for the reply) and the reply body.
fn send(r: *mut ngx_http_request_t, ctx: &mut Ctx, reply: Reply) -> ngx_int_t {
    ctx.phase = Phase::Pass;
    // SAFETY: r is live; header fields are ours to rewrite until sent.
    let ho = unsafe { &mut (*r).headers_out };
    match reply {
        Reply::Json => {
            // SAFETY: as image_filter's json reply.
            unsafe { ngx_http_clean_header(r) };
            ho.status = NGX_HTTP_OK as usize;
            set_content_type(r, "application/json");
            ctx.body = Vec::new();
        }
        Reply::Original(ty) => {
            set_content_type(r, ty.mime());
            ctx.out = core::mem::take(&mut ctx.body);
        }
        Reply::Image(ty) => {
            set_content_type(r, ty.mime());
            // SAFETY: a different representation gets a weak validator.
            unsafe { ngx_http_weak_etag(r) };
        }
    }
    let ho = unsafe { &mut (*r).headers_out };
    ho.content_length_n = ctx.out.len() as i64;
    // SAFETY: a non-null content_length points at a live header entry.
    if let Some(h) = unsafe { ho.content_length.as_mut() } {
        h.hash = 0;
    }
    ho.content_length = ptr::null_mut();

    let rc = next_header(r);
    // SAFETY: reading a bitfield of a live request.
    if rc == NGX_ERROR as ngx_int_t
        || rc > NGX_OK as ngx_int_t
        || unsafe { (*r).header_only() } != 0
    {
        ctx.out = Vec::new();
        return if rc > NGX_OK as ngx_int_t || rc == NGX_ERROR as ngx_int_t {
            rc
        } else {
            NGX_OK as ngx_int_t
        };
    }

    // SAFETY: pool allocations for one buffer and one chain link.
    unsafe {
        let pool = (*r).pool;
        let b = ngx_pcalloc(pool, core::mem::size_of::<ngx_buf_t>()) as *mut ngx_buf_t;
        let out = ngx_alloc_chain_link(pool);
        if b.is_null() || out.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        let range = ctx.out.as_mut_ptr_range();
        (*b).pos = range.start;
        (*b).last = range.end;
        (*b).start = range.start;
        (*b).end = range.end;
        (*b).set_memory(1);
        if (*r).main == r {
            (*b).set_last_buf(1);
        }
        (*b).set_last_in_chain(1);
        (*out).buf = b;
        (*out).next = ptr::null_mut();
        next_body(r, out)
    }
}

fn set_content_type(r: *mut ngx_http_request_t, mime: &'static str) {
    // SAFETY: r is live; the string is static.
    unsafe {
        let ho = &mut (*r).headers_out;
        ho.content_type.len = mime.len();
        ho.content_type.data = mime.as_ptr() as *mut u8;
        ho.content_type_len = mime.len();
        ho.content_type_lowcase = ptr::null_mut();
    }
}
