//! The header and body filters: image_filter's state machine, minus its
//! first-buffer sniffing, with the image work on an nginx thread pool.
//!
//! One path per request (as in `ngx_http_image_filter_module.c`):
//! - header filter: decide early (pass what is not ours, refuse encoded or
//!   over-size bodies from Content-Length) and **hold the headers**;
//! - [`State::Reading`]: accumulate the whole body (memory or file buffers),
//!   bounded by `image_resize_rs_buffer`; an upstream that fails after its
//!   headers is answered 502/504 at once;
//! - [`State::Running`]: [`crate::pipeline::run`] works on a pool thread
//!   ([`super::threads`]), the request blocked like the copy filter's
//!   `aio threads`; `test`, `size` and the no-thread fallback run inline;
//! - [`State::Done`]: the writer calls us again and we send the reply;
//! - [`State::Sent`]: the reply's bytes live here until the pool goes.
//!
//! Every failure goes through [`fail`]: one error-log line, then an error
//! status through nginx's error page (415 for a bad image, as image_filter).
//!
//! No `&mut Ctx` is held across a call into nginx: the header filter is
//! re-entered by our own error page.

use core::ptr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;

use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_current_msec, ngx_http_clean_header,
    ngx_http_filter_finalize_request, ngx_http_output_body_filter_pt,
    ngx_http_output_header_filter_pt, ngx_http_request_t, ngx_http_top_body_filter,
    ngx_http_top_header_filter, ngx_http_weak_etag, ngx_int_t, ngx_list_push, ngx_module_t,
    ngx_msec_t, ngx_pcalloc, ngx_pnalloc, ngx_pool_cleanup_add, ngx_read_file, ngx_table_elt_t,
    NGX_AGAIN, NGX_ERROR, NGX_HTTP_BAD_GATEWAY, NGX_HTTP_GATEWAY_TIME_OUT, NGX_HTTP_HEAD,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_MODIFIED, NGX_HTTP_OK, NGX_HTTP_PARTIAL_CONTENT,
    NGX_HTTP_SERVICE_UNAVAILABLE, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, Request};

use super::conf::LocConf;
use super::fault::{self, Fault};
use super::log::{request_debug, request_error};
use super::threads::{self, Failure, Finished, ThreadFaults};
use super::Module;
use crate::admission::{Overload, Shed};
use crate::negotiate::{self, Token};
use crate::pipeline::{self, Reply, Settings};
use crate::value::Mode;

static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

/// Our bit in `r->buffered` while we hold the body or wait for a thread:
/// image_filter's value (it uses it in `c->buffered`). `r->buffered` rather
/// than the connection's, so a subrequest is not finalized under us either.
const BUFFERED: u8 = 0x08;

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

fn next_header(r: &mut Request) -> ngx_int_t {
    // SAFETY: set in install() before any request; never null after nginx's own filters.
    unsafe { NEXT_HEADER_FILTER.expect("next header filter")(raw(r)) }
}

fn next_body(r: &mut Request, cl: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: as above.
    unsafe { NEXT_BODY_FILTER.expect("next body filter")(raw(r), cl) }
}

fn raw(r: &mut Request) -> *mut ngx_http_request_t {
    (r as *mut Request).cast()
}

fn module() -> &'static ngx_module_t {
    // SAFETY: the module static is written by nginx only while loading config.
    unsafe { &*ptr::addr_of!(super::ngx_http_image_resize_rs_module) }
}

/// Where a request is; each state carries its data.
pub(crate) enum State {
    /// Accumulating the body; `last_data` is when bytes last arrived.
    Reading {
        body: Vec<u8>,
        last_data: ngx_msec_t,
    },
    /// A pool thread owns the body.
    Running,
    /// The thread is back: the next body-filter call sends this.
    Done(Finished),
    /// Handed to the next filters; the bytes must outlive their buffers.
    Sent { _out: Vec<u8> },
    /// Passing through (after a failure, or not ours).
    Pass,
}

/// Per-request state, in the request pool (dropped by a pool cleanup).
pub(crate) struct Ctx {
    state: State,
    /// Settings read from the configuration when the body completed.
    settings: Settings,
    /// `image_resize_rs_buffer`.
    limit: usize,
    /// The response status is 200: a body that is not an image is refused
    /// (415). Any other status (an error page that is an image, e.g.
    /// `error_page 404 /placeholder.jpg`) is transformed if it is an image
    /// and otherwise sent as it came.
    strict: bool,
    /// What happened, for `$image_resize_rs_*` and Server-Timing.
    pub(crate) stats: Stats,
    /// This request's place in the worker's job scheduling.
    slot: threads::Slot,
    /// Refused for overload: the error page gets `Retry-After`.
    shed: bool,
}

impl Stats {
    /// `$image_resize_rs_status`: the outcome, `refused:<reason>` if refused.
    pub fn status(&self) -> String {
        if self.reason.is_empty() {
            self.outcome.to_string()
        } else {
            format!("{}:{}", self.outcome, self.reason)
        }
    }
}

/// What the filter did with a request (the log variables).
#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    /// "resized", "asis", "json", "passed", "head" or "refused".
    pub outcome: &'static str,
    /// Why, when refused (a short code).
    pub reason: &'static str,
    /// Time in the pipeline, microseconds.
    pub us: u64,
    /// Its stages and the source's displayed dimensions.
    pub stages: pipeline::Stages,
    pub bytes_in: usize,
    pub bytes_out: usize,
}

pub(crate) fn get_ctx(r: &Request) -> *mut Ctx {
    // The slot holds null or the Ctx this module stored for this request.
    r.get_module_ctx::<Ctx>(module())
        .map_or(ptr::null_mut(), |c| c as *const Ctx as *mut Ctx)
}

/// Never let a panic unwind into nginx: a bug costs one request (a 500 and
/// one log line), not a worker.
unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls filters with a live request on its own thread.
    let run = || header_filter_impl(unsafe { Request::from_ngx_http_request(r) });
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        request_error(r, format_args!("internal error (panic) while filtering"));
        // A status: nginx finalizes the request with it (an error page).
        NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t
    })
}

unsafe extern "C" fn body_filter(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: as above.
    let run = || body_filter_impl(unsafe { Request::from_ngx_http_request(r) }, cl);
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        const WHY: &str = "internal error (panic) while filtering";
        // SAFETY: r is live; a panic leaves no borrow of the Ctx behind.
        let req = unsafe { Request::from_ngx_http_request(r) };
        let ctx = get_ctx(req);
        // SAFETY: reading a bitfield of a live request.
        if ctx.is_null() || unsafe { (*r).header_sent() } != 0 {
            request_error(r, format_args!("{WHY}"));
            return NGX_ERROR as ngx_int_t;
        }
        // Headers still held: answer 500 instead of closing the connection.
        catch_unwind(AssertUnwindSafe(|| {
            fail(req, ctx, Refusal::Internal("panic"), format_args!("{WHY}"))
        }))
        .unwrap_or(NGX_ERROR as ngx_int_t)
    })
}

fn header_filter_impl(r: &mut Request) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: r is live; its headers are ours to read until sent.
    let ho = unsafe { &mut (*rp).headers_out };

    if ho.status == NGX_HTTP_NOT_MODIFIED as usize {
        // The origin's own 304 (a client's validators reached it): the
        // representation is still this request's format.
        if Module::location_conf(r).is_some_and(|c| c.mode() != Mode::Off) {
            vary_by_format(r);
        }
        return next_header(r);
    }

    let ctx = get_ctx(r);
    if !ctx.is_null() {
        // Our own error page after ngx_http_filter_finalize_request: let it
        // through (the Ctx stays, in Pass, for the log variables).
        // SAFETY: a short read of our own state.
        if unsafe { (*ctx).shed } && ho.status == NGX_HTTP_SERVICE_UNAVAILABLE as usize {
            push_header(rp, "Retry-After", "1".into());
        }
        return next_header(r);
    }

    let Some(conf) = Module::location_conf(r) else {
        return next_header(r);
    };
    if conf.mode() == Mode::Off {
        return next_header(r);
    }

    let status = ho.status;
    // SAFETY: reading fields of a live request.
    if unsafe { (*rp).http_version } == 9 && r.upstream().is_some() {
        // The origin answered garbage instead of a status line (nginx logged
        // "upstream sent no valid HTTP/1.0 header") and proxy fell back to
        // passing it as HTTP/0.9, without headers. Answer 502 in the
        // client's own protocol instead.
        // SAFETY: as above; the request line was parsed into these fields.
        unsafe {
            let proto = (*rp).http_protocol.as_bytes();
            let h2 = is_http2(rp);
            if !h2 && proto.is_empty() {
                return next_header(r); // a real HTTP/0.9 client
            }
            (*rp).http_version = if h2 {
                2000
            } else if proto.eq_ignore_ascii_case(b"HTTP/1.0") {
                1000
            } else {
                1001
            };
        }
        return NGX_HTTP_BAD_GATEWAY as ngx_int_t;
    }
    let strict = status == NGX_HTTP_OK as usize;
    if !strict && status != NGX_HTTP_PARTIAL_CONTENT as usize && !is_image_type(ho) {
        // Errors and redirects from the origin (S3's 403/404 XML, 5xx) reach
        // the client as they are; an image with another status (an
        // error_page placeholder) is transformed below, keeping its status.
        return next_header(r);
    }
    let big = ho.content_length_n > conf.buffer_size as i64;
    if !strict && (big || has_encoding(ho)) {
        return next_header(r);
    }

    let Some(ctx) = new_ctx(r, conf, strict) else {
        request_error(rp, format_args!("cannot allocate the request context"));
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    };
    r.set_module_ctx(ctx.cast(), module());

    if status == NGX_HTTP_PARTIAL_CONTENT as usize {
        request_error(
            rp,
            format_args!(
                "origin answered 206 Partial Content; a part of an image cannot be \
                 processed (do not forward Range: proxy_set_header Range \"\")"
            ),
        );
        return refuse(
            r,
            ctx,
            "partial",
            NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t,
        );
    }

    let ct = ho.content_type.as_bytes();
    if ct.len() >= 25 && ct[..25].eq_ignore_ascii_case(b"multipart/x-mixed-replace") {
        request_error(rp, format_args!("multipart/x-mixed-replace response"));
        return refuse(r, ctx, "multipart", NGX_ERROR as ngx_int_t);
    }

    if has_encoding(ho) {
        // SAFETY: has_encoding checked the entry is live.
        let v = unsafe { (*ho.content_encoding).value.as_bytes() };
        request_error(
            rp,
            format_args!(
                "response has \"Content-Encoding: {}\", not an image",
                String::from_utf8_lossy(v)
            ),
        );
        return refuse(
            r,
            ctx,
            "encoded",
            NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t,
        );
    }

    let len = ho.content_length_n;
    if big {
        request_error(
            rp,
            format_args!(
                "too big response: Content-Length {} exceeds image_resize_rs_buffer {}",
                len, conf.buffer_size
            ),
        );
        return refuse(
            r,
            ctx,
            "too_big",
            NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t,
        );
    }
    if len > 0 {
        // SAFETY: ctx was just stored; this borrow ends before any call out.
        let reserved = match unsafe { &mut (*ctx).state } {
            State::Reading { body, .. } => body.try_reserve_exact(len as usize).is_ok(),
            _ => true,
        };
        if !reserved {
            request_error(rp, format_args!("cannot allocate {len} bytes for the body"));
            return refuse(
                r,
                ctx,
                "no_memory",
                NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t,
            );
        }
    }

    if conf.thread_pool().is_some() && !pipeline::is_cheap(conf.mode()) {
        // SAFETY: ctx was just stored; this borrow ends before any call out.
        let slot = unsafe { &mut (*ctx).slot };
        if let Err(why) = threads::hold(slot, len.max(0) as usize, &conf.limits()) {
            request_error(rp, format_args!("{}: 503", why.describe()));
            // SAFETY: short write to our own state.
            unsafe { (*ctx).shed = true };
            return refuse(
                r,
                ctx,
                why.code(),
                NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t,
            );
        }
    }

    // The format's own conditional check (nginx's not-modified filter,
    // which runs before this one, compares the origin's ETag and is off
    // here: see precontent()).
    if conf.negotiates() && not_modified(r) {
        // SAFETY: short write to our own state.
        unsafe {
            (*ctx).state = State::Pass;
            (*ctx).stats.outcome = "not_modified";
        }
        return send_not_modified(r);
    }

    // SAFETY: a non-null refresh points at a live header entry.
    if let Some(refresh) = unsafe { ho.refresh.as_mut() } {
        refresh.hash = 0;
    }
    // SAFETY: bitfield setters on a live request.
    unsafe {
        (*rp).set_main_filter_need_in_memory(1);
        (*rp).set_allow_ranges(0);
    }
    // Headers are held until the body's outcome is known.
    NGX_OK as ngx_int_t
}

/// A refusal from the header filter: the origin's headers are dropped (as
/// `ngx_http_filter_finalize_request` does for the body filter's refusals),
/// and the error page that follows passes.
fn refuse(r: &mut Request, ctx: *mut Ctx, code: &'static str, rc: ngx_int_t) -> ngx_int_t {
    // SAFETY: short write to our own state; the headers are not sent yet.
    unsafe {
        (*ctx).state = State::Pass;
        (*ctx).stats.outcome = "refused";
        (*ctx).stats.reason = code;
        ngx_http_clean_header(raw(r));
    }
    rc
}

fn is_image_type(ho: &ngx::ffi::ngx_http_headers_out_t) -> bool {
    let ct = ho.content_type.as_bytes();
    ct.len() > 6 && ct[..6].eq_ignore_ascii_case(b"image/")
}

fn has_encoding(ho: &ngx::ffi::ngx_http_headers_out_t) -> bool {
    // SAFETY: a non-null content_encoding points at a live header entry.
    match unsafe { ho.content_encoding.as_ref() } {
        Some(ce) => {
            let v = ce.value.as_bytes();
            ce.hash != 0 && !v.is_empty() && !v.eq_ignore_ascii_case(b"identity")
        }
        None => false,
    }
}

/// Allocates the Ctx in the request pool and registers its Drop, checking
/// every allocation (ngx 0.5.1's `Pool::allocate` writes before its check).
fn new_ctx(r: &mut Request, conf: &LocConf, strict: bool) -> Option<*mut Ctx> {
    if super::fault::inject(r, super::fault::Fault::Alloc) {
        return None;
    }
    let pool = r.pool().as_ptr();
    // SAFETY: plain pool allocations; each result is checked before use.
    unsafe {
        let cln = ngx_pool_cleanup_add(pool, 0);
        if cln.is_null() {
            return None;
        }
        let p = ngx_pcalloc(pool, core::mem::size_of::<Ctx>()) as *mut Ctx;
        if p.is_null() {
            return None;
        }
        ptr::write(
            p,
            Ctx {
                state: State::Reading {
                    body: Vec::new(),
                    last_data: ngx_current_msec,
                },
                settings: Settings::default(),
                limit: conf.buffer_size,
                strict,
                stats: Stats::default(),
                slot: threads::Slot::default(),
                shed: false,
            },
        );
        (*cln).handler = Some(drop_ctx);
        (*cln).data = p.cast();
        Some(p)
    }
}

unsafe extern "C" fn drop_ctx(data: *mut core::ffi::c_void) {
    // SAFETY: data is the Ctx written by new_ctx; the pool is going away.
    unsafe { ptr::drop_in_place(data as *mut Ctx) };
}

fn body_filter_impl(r: &mut Request, mut cl: *mut ngx_chain_t) -> ngx_int_t {
    let ctx = get_ctx(r);
    if ctx.is_null() {
        return next_body(r, cl);
    }
    let rp = raw(r);
    // SAFETY: the Ctx lives in the request pool; this borrow ends before any
    // call into nginx below.
    let state = unsafe { &mut (*ctx).state };
    match state {
        State::Pass | State::Sent { .. } => return next_body(r, cl),
        // Nothing to do until the thread is back (the writer does not call
        // us while r->aio is set, but other paths may flush).
        State::Running => return NGX_AGAIN as ngx_int_t,
        State::Done(_) => {
            let State::Done(done) = core::mem::replace(state, State::Pass) else {
                unreachable!()
            };
            set_buffered(raw(r), false);
            return finish(r, ctx, done);
        }
        State::Reading { .. } => {}
    }

    if fault::inject(r, Fault::Panic) {
        panic!("image_resize_rs fault injection: panic");
    }
    // SAFETY: as above, a short borrow.
    let limit = unsafe { (*ctx).limit };
    let is_main = r.is_main();
    let (mut last, mut flush, mut got) = (false, false, false);
    while !cl.is_null() {
        // SAFETY: a chain handed to a body filter is a valid list of valid buffers.
        let b = unsafe { &mut *(*cl).buf };
        let State::Reading { body, .. } = (unsafe { &mut (*ctx).state }) else {
            unreachable!()
        };
        let before = body.len();
        if let Err(reason) = take_buffer(body, limit, b) {
            return fail(r, ctx, Refusal::Image("too_big"), format_args!("{reason}"));
        }
        got |= body.len() > before;
        flush |= b.flush() != 0;
        if b.last_buf() != 0 || (!is_main && b.last_in_chain() != 0) {
            last = true;
        }
        // SAFETY: as above.
        cl = unsafe { (*cl).next };
    }
    if got {
        if let State::Reading { last_data, .. } = unsafe { &mut (*ctx).state } {
            // SAFETY: reading nginx's cached clock on its own thread.
            *last_data = unsafe { ngx_current_msec };
        }
    }

    if !last {
        if flush {
            if let Some(status) = upstream_failed(r, ctx) {
                return fail(r, ctx, status, format_args!(""));
            }
        }
        set_buffered(rp, true);
        return NGX_OK as ngx_int_t;
    }
    start(r, ctx)
}

/// An upstream that failed after sending its headers: nginx finalizes it
/// (`ngx_http_upstream_finalize_request` clears `u->cleanup`) and sends a
/// flush instead of the last buffer. 504 when nothing arrived for
/// `proxy_read_timeout`, else 502.
fn upstream_failed(r: &mut Request, ctx: *mut Ctx) -> Option<Refusal> {
    let u = r.upstream()?;
    // SAFETY: r->upstream of a live request is live until the request is freed.
    let u = unsafe { &*u };
    if !u.cleanup.is_null() {
        return None; // still reading: a flush of proxy_buffering off
    }
    // SAFETY: a short read of our own state.
    let last_data = match unsafe { &(*ctx).state } {
        State::Reading { last_data, .. } => *last_data,
        _ => return None,
    };
    // SAFETY: u->conf is set for every upstream; the clock is nginx's.
    let (timeout, now) = unsafe { ((*u.conf).read_timeout, ngx_current_msec) };
    // nginx may leave a read timer up to NGX_TIMER_LAZY_DELAY (300 ms)
    // earlier than the last read + timeout instead of re-arming it.
    if timeout > 0 && now.wrapping_sub(last_data) + 300 >= timeout {
        Some(Refusal::OriginTimeout)
    } else {
        Some(Refusal::Origin)
    }
}

fn set_buffered(r: *mut ngx_http_request_t, on: bool) {
    // SAFETY: a bitfield of a live request.
    unsafe {
        let b = (*r).buffered() as u8;
        let b = if on { b | BUFFERED } else { b & !BUFFERED };
        (*r).set_buffered(b.into());
    }
}

/// Copies one buffer's bytes into the body and marks the buffer consumed.
fn take_buffer(body: &mut Vec<u8>, limit: usize, b: &mut ngx_buf_t) -> Result<(), String> {
    let in_memory = b.temporary() != 0 || b.memory() != 0 || b.mmap() != 0;
    if in_memory {
        // SAFETY: pos..last is the readable part of an in-memory buffer.
        let len = unsafe { b.last.offset_from(b.pos) } as usize;
        if len > 0 {
            reserve(body, limit, len)?;
            // SAFETY: as above.
            body.extend_from_slice(unsafe { core::slice::from_raw_parts(b.pos, len) });
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
            reserve(body, limit, len)?;
            let start = body.len();
            body.resize(start + len, 0);
            // SAFETY: b->file is valid for in_file buffers; the destination has len bytes.
            let n = unsafe { ngx_read_file(b.file, body.as_mut_ptr().add(start), len, b.file_pos) };
            if n != len as isize {
                return Err(format!("reading {len} bytes of a file buffer returned {n}"));
            }
        }
        b.file_pos = b.file_last;
    }
    Ok(())
}

fn reserve(body: &mut Vec<u8>, limit: usize, more: usize) -> Result<(), String> {
    let need = body.len() + more;
    if need > limit {
        return Err(format!(
            "too big response: more than image_resize_rs_buffer {limit} bytes"
        ));
    }
    if need > body.capacity() {
        // Grow geometrically but never past the limit.
        let target = need.max(body.capacity() * 2).min(limit);
        body.try_reserve_exact(target - body.len())
            .map_err(|_| format!("cannot allocate {target} bytes for the body"))?;
    }
    Ok(())
}

/// The body is complete: read the settings, then run the pipeline on a pool
/// thread, or inline (`test`, `size`, no pool, or a full queue).
fn start(r: &mut Request, ctx: *mut Ctx) -> ngx_int_t {
    let rp = raw(r);
    set_buffered(rp, false);
    let Some(conf) = Module::location_conf(r) else {
        return fail(
            r,
            ctx,
            Refusal::Internal("internal"),
            format_args!("no configuration"),
        );
    };
    let settings = conf.settings(r);
    let faults = ThreadFaults {
        panic: fault::inject(r, Fault::ThreadPanic),
        sleep_ms: fault::sleep_ms(r),
    };
    // SAFETY: short borrow; nothing else references the Ctx now.
    let body = unsafe {
        (*ctx).settings = settings;
        match core::mem::replace(&mut (*ctx).state, State::Running) {
            State::Reading { body, .. } => body,
            _ => unreachable!(),
        }
    };
    request_debug(rp, format_args!("body complete, {} bytes", body.len()));
    if body.is_empty() && is_head(r) {
        // A proxied HEAD (no `proxy_method GET`): the origin sent no body,
        // so there is nothing to resize and no length to announce.
        return send_head(r, ctx);
    }

    let body = if pipeline::is_cheap(settings.mode) {
        body
    } else {
        match conf.thread_pool() {
            None => body,
            Some(pool) => {
                // SAFETY: the slot lives in our Ctx; threads keeps it only
                // while the request is blocked.
                let slot = unsafe { ptr::addr_of_mut!((*ctx).slot) };
                let limits = conf.limits();
                return match threads::post(r, slot, pool, &limits, body, settings, faults) {
                    Ok(()) => {
                        set_buffered(rp, true);
                        NGX_AGAIN as ngx_int_t
                    }
                    Err((body, why)) => overloaded(r, ctx, conf.overload, body, why),
                };
            }
        }
    };
    let done = threads::run_job(body, &settings, faults, &AtomicBool::new(false));
    // SAFETY: short write; the state was Running.
    unsafe { (*ctx).state = State::Pass };
    finish(r, ctx, done)
}

/// No job for this request now (queue full, waited too long, ...): one
/// log line, then 503 with `Retry-After`, or the original bytes if the
/// location says so and they are small enough. Never processed inline.
fn overloaded(
    r: &mut Request,
    ctx: *mut Ctx,
    overload: Option<Overload>,
    body: Vec<u8>,
    why: Shed,
) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: short write to our own state.
    unsafe { (*ctx).state = State::Pass };
    if let Some(Overload::Original { max_size, max_age }) = overload {
        if body.len() <= max_size && pipeline::ImageType::sniff(&body).is_some() {
            request_error(
                rp,
                format_args!(
                    "{}: sending the original, max-age={max_age}",
                    why.describe()
                ),
            );
            // SAFETY: short write to our own state; the headers are held.
            unsafe {
                (*ctx).stats.outcome = "shed";
                (*ctx).stats.reason = why.code();
                let ho = &mut (*rp).headers_out;
                hide_header(&mut ho.headers, b"cache-control");
                hide_header(&mut ho.headers, b"expires");
                // (headers_out.cache_control is an array before nginx 1.23
                // and a list after: hiding the entries is what both write.)
                ho.expires = ptr::null_mut();
            }
            push_header(rp, "Cache-Control", format!("max-age={max_age}"));
            return release(r, ctx, body);
        }
    }
    drop(body);
    // SAFETY: short write to our own state.
    unsafe { (*ctx).shed = true };
    fail(
        r,
        ctx,
        Refusal::Overloaded(why.code()),
        format_args!("{}: 503", why.describe()),
    )
}

/// Called on the event loop by [`threads`] when the job is back: store the
/// result, then the caller resumes the request (the writer calls us again).
pub(crate) fn job_done(r: &mut Request, done: Finished) {
    let ctx = get_ctx(r);
    if ctx.is_null() {
        return; // the request went another way (e.g. terminated); drop it
    }
    // SAFETY: short write to our own state.
    unsafe {
        if let Err(Failure::Pipeline(pipeline::Error::Cancelled)) = done.result {
            // The request is gone (nginx finalizes it, not our body
            // filter): only the log variables learn of it.
            (*ctx).state = State::Pass;
            (*ctx).stats.outcome = "cancelled";
            (*ctx).stats.us = done.elapsed_us;
            (*ctx).stats.bytes_in = done.body.len();
            let rp = raw(r);
            request_debug(rp, format_args!("the request is gone: job cancelled"));
            return;
        }
        if matches!((*ctx).state, State::Running) {
            (*ctx).state = State::Done(done);
        }
    }
}

/// Why the filter answers an error instead of the image.
#[derive(Clone, Copy)]
enum Refusal {
    /// A bad or unsupported image, or a bad parameter: 415, as image_filter.
    Image(&'static str),
    /// The origin failed after its headers: 502.
    Origin,
    /// The origin stopped sending for proxy_read_timeout: 504.
    OriginTimeout,
    /// Our bug or an allocation failure: 500.
    Internal(&'static str),
    /// No job for it now: 503.
    Overloaded(&'static str),
}

/// Turns the job's outcome into the response.
fn finish(r: &mut Request, ctx: *mut Ctx, done: Finished) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: short access to our own state.
    let strict = unsafe {
        (*ctx).stats.us = done.elapsed_us;
        (*ctx).stats.stages = done.stages;
        (*ctx).stats.bytes_in = done.body.len();
        (*ctx).strict
    };
    match done.result {
        Ok(reply) => {
            if let Reply::Image {
                ty, width, height, ..
            } = &reply
            {
                request_debug(
                    rp,
                    format_args!(
                        "{} {}x{} in {} us",
                        ty.name(),
                        width,
                        height,
                        done.elapsed_us
                    ),
                );
            }
            send(r, ctx, reply, done.body)
        }
        Err(Failure::Shed(why)) => {
            let overload = Module::location_conf(r).and_then(|c| c.overload);
            overloaded(r, ctx, overload, done.body, why)
        }
        Err(Failure::Pipeline(e)) if !strict => {
            // Not an image we can work on, with a non-200 status: as it came.
            request_debug(rp, format_args!("{e}; sending the original"));
            send_original(r, ctx, done.body)
        }
        Err(Failure::Pipeline(e)) => fail(r, ctx, Refusal::Image(e.code()), format_args!("{e}")),
        Err(Failure::Panic) => fail(
            r,
            ctx,
            Refusal::Internal("panic"),
            format_args!("internal error (panic) while processing the image"),
        ),
    }
}

/// The one failure exit: one log line, then the error status through nginx's
/// error page.
fn fail(r: &mut Request, ctx: *mut Ctx, why: Refusal, args: core::fmt::Arguments<'_>) -> ngx_int_t {
    let rp = raw(r);
    let (status, code) = match why {
        Refusal::Image(code) => (NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, code),
        Refusal::Origin => {
            request_error(
                rp,
                format_args!("origin failed after sending its headers: 502, nothing cached"),
            );
            (NGX_HTTP_BAD_GATEWAY, "origin")
        }
        Refusal::OriginTimeout => {
            request_error(
                rp,
                format_args!("origin timed out after sending its headers: 504, nothing cached"),
            );
            (NGX_HTTP_GATEWAY_TIME_OUT, "origin_timeout")
        }
        Refusal::Internal(code) => (NGX_HTTP_INTERNAL_SERVER_ERROR, code),
        Refusal::Overloaded(code) => (NGX_HTTP_SERVICE_UNAVAILABLE, code),
    };
    if !matches!(why, Refusal::Origin | Refusal::OriginTimeout) {
        request_error(rp, args);
    }
    // SAFETY: short write; the body is freed now rather than with the pool.
    unsafe {
        (*ctx).state = State::Pass;
        (*ctx).stats.outcome = "refused";
        (*ctx).stats.reason = code;
    }
    set_buffered(rp, false);
    // SAFETY: r is live; nginx sends the error page and finalizes.
    unsafe { ngx_http_filter_finalize_request(rp, module() as *const _ as *mut _, status as _) }
}

fn send_original(r: &mut Request, ctx: *mut Ctx, body: Vec<u8>) -> ngx_int_t {
    // SAFETY: short write to our own state.
    unsafe { (*ctx).stats.outcome = "passed" };
    release(r, ctx, body)
}

/// Rewrites the held headers for the reply, then releases them and the body.
fn send(r: &mut Request, ctx: *mut Ctx, reply: Reply, body: Vec<u8>) -> ngx_int_t {
    let rp = raw(r);
    let outcome = match &reply {
        Reply::Json(_) => "json",
        Reply::Original(_) => "asis",
        Reply::Image { .. } => "resized",
    };
    // SAFETY: short write to our own state.
    unsafe { (*ctx).stats.outcome = outcome };
    let out = match reply {
        Reply::Json(json) => {
            // SAFETY: as image_filter's json reply.
            unsafe {
                ngx_http_clean_header(rp);
                (*rp).headers_out.status = NGX_HTTP_OK as usize;
            }
            set_content_type(rp, "application/json");
            json
        }
        Reply::Original(ty) => {
            set_content_type(rp, ty.mime());
            vary_by_format(r);
            body
        }
        Reply::Image { ty, bytes, .. } => {
            drop(body);
            set_content_type(rp, ty.mime());
            // SAFETY: a different representation gets a weak validator.
            unsafe { ngx_http_weak_etag(rp) };
            vary_by_format(r);
            bytes
        }
    };
    release(r, ctx, out)
}

/// Format negotiation: `Vary: Accept` where the format depends on it, and
/// the format in the ETag so that no conditional request gets a 304 for
/// another format's body.
fn vary_by_format(r: &mut Request) {
    let Some(conf) = Module::location_conf(r) else {
        return;
    };
    let (negotiates, token) = (conf.negotiates(), conf.format_token(r));
    if negotiates {
        let _ = r.add_header_out("Vary", "Accept");
    }
    let Some(token) = token.filter(|&t| t != Token::Orig) else {
        return;
    };
    let rp = raw(r);
    // SAFETY: r is live; the ETag element (if any) is in the headers list,
    // its new value is allocated from the request pool.
    unsafe {
        let Some(etag) = (*rp).headers_out.etag.as_mut() else {
            return;
        };
        let new = negotiate::etag_for(etag.value.as_bytes(), token);
        let p = ngx::ffi::ngx_pnalloc((*rp).pool, new.len()) as *mut u8;
        if p.is_null() {
            return;
        }
        ptr::copy_nonoverlapping(new.as_ptr(), p, new.len());
        etag.value.data = p;
        etag.value.len = new.len();
    }
}

fn release(r: &mut Request, ctx: *mut Ctx, mut out: Vec<u8>) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: r is live; header fields are ours to rewrite until sent.
    unsafe {
        set_length(&mut (*rp).headers_out, out.len() as i64);
    }
    let (start, end) = {
        let range = out.as_mut_ptr_range();
        (range.start, range.end)
    };
    // SAFETY: short access to our own state.
    let timing = unsafe {
        (*ctx).stats.bytes_out = out.len();
        (*ctx).stats
    };
    if let Some(conf) = Module::location_conf(r) {
        if conf.server_timing == 1 && timing.outcome != "passed" {
            add_server_timing(rp, &timing);
        }
    }
    // SAFETY: the bytes move into the Ctx, which lives as long as the pool.
    unsafe { (*ctx).state = State::Sent { _out: out } };

    let rc = next_header(r);
    // SAFETY: reading a bitfield of a live request.
    if rc == NGX_ERROR as ngx_int_t
        || rc > NGX_OK as ngx_int_t
        || unsafe { (*rp).header_only() } != 0
    {
        return if rc > NGX_OK as ngx_int_t || rc == NGX_ERROR as ngx_int_t {
            rc
        } else {
            NGX_OK as ngx_int_t
        };
    }

    // SAFETY: pool allocations for one buffer and one chain link, both checked.
    unsafe {
        let pool = (*rp).pool;
        let b = ngx_pcalloc(pool, core::mem::size_of::<ngx_buf_t>()) as *mut ngx_buf_t;
        let cl = ngx_alloc_chain_link(pool);
        if b.is_null() || cl.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        (*b).pos = start;
        (*b).last = end;
        (*b).start = start;
        (*b).end = end;
        (*b).set_memory(1);
        if (*rp).main == rp {
            (*b).set_last_buf(1);
        }
        (*b).set_last_in_chain(1);
        (*cl).buf = b;
        (*cl).next = ptr::null_mut();
        next_body(r, cl)
    }
}

/// `Server-Timing: irs;dur=<ms>;desc="<outcome>"`, then the stages that
/// ran: `irs-decode;dur=<ms>, irs-resize;dur=<ms>, irs-encode;dur=<ms>`.
fn add_server_timing(r: *mut ngx_http_request_t, st: &Stats) {
    let ms = |us: u64| format!("{}.{:03}", us / 1000, us % 1000);
    let mut value = format!("irs;dur={};desc=\"{}\"", ms(st.us), st.status());
    let s = &st.stages;
    for (name, us) in [
        ("decode", s.decode_us),
        ("resize", s.resize_us),
        ("encode", s.encode_us),
    ] {
        if us > 0 {
            value.push_str(&format!(", irs-{name};dur={}", ms(us)));
        }
    }
    push_header(r, "Server-Timing", value);
}

/// The reply's length (-1: unknown), as `ngx_http_clear_content_length`
/// then a new value; and no `Accept-Ranges`: ranges are off for our replies
/// (allow_ranges = 0), whatever the origin advertised (S3 sends
/// "Accept-Ranges: bytes"), as `ngx_http_clear_accept_ranges`.
fn set_length(ho: &mut ngx::ffi::ngx_http_headers_out_t, len: i64) {
    ho.content_length_n = len;
    // SAFETY: a non-null content_length points at a live header entry.
    if let Some(h) = unsafe { ho.content_length.as_mut() } {
        h.hash = 0;
    }
    ho.content_length = ptr::null_mut();
    // SAFETY: the response's own header list.
    unsafe { hide_header(&mut ho.headers, b"accept-ranges") };
}

/// Hides every response header named `name` (lower case).
///
/// SAFETY: `list` is a live `ngx_list_t` of `ngx_table_elt_t`.
unsafe fn hide_header(list: &mut ngx::ffi::ngx_list_t, name: &[u8]) {
    let mut part: *mut ngx::ffi::ngx_list_part_t = &mut list.part;
    while !part.is_null() {
        // SAFETY: each part holds nelts elements of ngx_table_elt_t.
        let elts = unsafe {
            core::slice::from_raw_parts_mut((*part).elts as *mut ngx_table_elt_t, (*part).nelts)
        };
        for h in elts {
            if h.hash != 0 && h.key.as_bytes().eq_ignore_ascii_case(name) {
                h.hash = 0;
            }
        }
        // SAFETY: as above.
        part = unsafe { (*part).next };
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

/// Is this a HEAD request?
fn is_head(r: &Request) -> bool {
    // SAFETY: reading the method of a live request.
    unsafe {
        (*(r as *const Request as *const ngx_http_request_t)).method == NGX_HTTP_HEAD as usize
    }
}

/// The headers of a proxied HEAD, without a length we cannot know.
fn send_head(r: &mut Request, ctx: *mut Ctx) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: r is live; header fields are ours to rewrite until sent.
    unsafe {
        set_length(&mut (*rp).headers_out, -1);
        ngx_http_weak_etag(rp);
        (*ctx).state = State::Pass;
        (*ctx).stats.outcome = "head";
    }
    vary_by_format(r);
    next_header(r)
}

/// Is this request an HTTP/2 stream?
pub(crate) fn is_http2(r: *mut ngx_http_request_t) -> bool {
    #[cfg(ngx_feature = "http_v2")]
    // SAFETY: reading a field of a live request.
    return unsafe { !(*r).stream.is_null() };
    #[cfg(not(ngx_feature = "http_v2"))]
    {
        let _ = r;
        false
    }
}

/// Appends a response header (value copied into the request pool).
fn push_header(r: *mut ngx_http_request_t, key: &'static str, value: String) {
    // SAFETY: a header entry pushed onto the live response list and filled
    // from request-pool memory; every allocation checked.
    unsafe {
        let h = ngx_list_push(&mut (*r).headers_out.headers) as *mut ngx_table_elt_t;
        let v = ngx_pnalloc((*r).pool, value.len()) as *mut u8;
        if h.is_null() || v.is_null() {
            return;
        }
        ptr::copy_nonoverlapping(value.as_ptr(), v, value.len());
        ptr::write_bytes(h, 0, 1);
        (*h).hash = 1;
        (*h).key.len = key.len();
        (*h).key.data = key.as_ptr() as *mut u8;
        (*h).value.len = value.len();
        (*h).value.data = v;
    }
}

/// `ngx_http_not_modified_header_filter` for this request's format: the
/// client's validators against the ETag this reply will carry (the
/// origin's, weak, with the format in it) and its Last-Modified.
fn not_modified(r: &mut Request) -> bool {
    let Some(conf) = Module::location_conf(r) else {
        return false;
    };
    let find = |name: &[u8]| {
        r.headers_in_iterator()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_bytes().to_vec())
    };
    let inm = find(b"if-none-match");
    let ims = find(b"if-modified-since");
    if inm.is_none() && ims.is_none() {
        return false;
    }
    let rp = raw(r);
    // SAFETY: reading the held response headers of a live request.
    let (etag, last_modified) = unsafe {
        let ho = &(*rp).headers_out;
        let etag = ho
            .etag
            .as_ref()
            .filter(|e| e.hash != 0)
            .map(|e| e.value.as_bytes().to_vec());
        (etag, ho.last_modified_time)
    };
    if let Some(inm) = inm {
        // If-None-Match decides alone when present (RFC 9110 13.2.2).
        let Some(etag) = etag else { return false };
        let ours = match conf.format_token(r) {
            Some(t) if t != Token::Orig => negotiate::etag_for(&etag, t),
            _ => etag,
        };
        return negotiate::if_none_match(&inm, &ours);
    }
    // nginx's default `if_modified_since exact`.
    let Some(ims) = ims else { return false };
    // SAFETY: a parser over a local buffer.
    let t = unsafe { ngx::ffi::ngx_parse_http_time(ims.as_ptr() as *mut u8, ims.len()) };
    last_modified != -1 && t != -1 && t == last_modified
}

/// A 304 for a negotiated format, with its `Vary` and ETag.
fn send_not_modified(r: &mut Request) -> ngx_int_t {
    let rp = raw(r);
    // SAFETY: r is live; header fields are ours to rewrite until sent
    // (what ngx_http_not_modified_header_filter does).
    unsafe {
        let ho = &mut (*rp).headers_out;
        ho.status = NGX_HTTP_NOT_MODIFIED as usize;
        ho.status_line.len = 0;
        ho.content_type.len = 0;
        set_length(ho, -1);
        if let Some(h) = ho.content_encoding.as_mut() {
            h.hash = 0;
        }
        ho.content_encoding = ptr::null_mut();
        ngx_http_weak_etag(rp);
    }
    vary_by_format(r);
    next_header(r)
}

/// Precontent phase, before the origin is asked:
/// - a worker that would shed this request anyway answers 503 now, so an
///   overload costs no origin requests (unless the location's overload
///   answer is the original, which needs the body);
/// - nginx's not-modified filter would compare the client's validators
///   with the origin's ETag, which is not the ETag of a negotiated format;
///   [`not_modified`] does it instead.
///
/// Returns the status to finalize with, if any.
pub(crate) fn precontent(r: &mut Request) -> Option<ngx_int_t> {
    let conf = Module::location_conf(r)?;
    if conf.mode() == Mode::Off {
        return None;
    }
    if conf.thread_pool().is_some()
        && !pipeline::is_cheap(conf.mode())
        && !matches!(conf.overload, Some(Overload::Original { .. }))
    {
        if let Some(why) = threads::saturated(&conf.limits()) {
            let rp = raw(r);
            request_error(rp, format_args!("{}: 503", why.describe()));
            // A context in Pass: the error page passes our header filter,
            // which adds Retry-After, and the log variables say why.
            if let Some(ctx) = new_ctx(r, conf, false) {
                r.set_module_ctx(ctx.cast(), module());
                // SAFETY: the fresh context of ours.
                unsafe {
                    (*ctx).state = State::Pass;
                    (*ctx).stats.outcome = "refused";
                    (*ctx).stats.reason = why.code();
                    (*ctx).shed = true;
                }
            }
            return Some(NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t);
        }
    }
    if conf.negotiates() {
        // SAFETY: a bitfield of a live request.
        unsafe { (*raw(r)).set_disable_not_modified(1) };
    }
    None
}
