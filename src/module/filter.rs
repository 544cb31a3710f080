//! The header and body filters: image_filter's state machine, minus its
//! first-buffer sniffing, with the image work on an nginx thread pool.
//!
//! One path per request (as in `ngx_http_image_filter_module.c`):
//! - header filter: decide early (pass what is not ours, refuse encoded or
//!   over-size bodies from Content-Length), evaluate the request's settings
//!   once into the [`Ctx`], and **hold the headers**;
//! - [`State::Reading`]: accumulate the whole body (memory or file buffers),
//!   bounded by `image_resize_rs_buffer`; an upstream that fails after its
//!   headers is answered 502/504 at once;
//! - [`State::Running`]: the pipeline works on a pool thread ([`super::job`]),
//!   the request blocked like the copy filter's `aio threads`; `test` and
//!   `size` (and `image_resize_rs_thread_pool off`) run inline;
//! - [`State::Done`]: the writer calls us again and we send the reply;
//! - [`State::Sent`]: the reply's bytes live here until the pool goes.
//!
//! Every failure goes through [`fail`]: one error-log line, then an error
//! status (415 for a bad image, as image_filter).
//!
//! The [`Ctx`] is shared, never `&mut`: the header filter is re-entered by
//! our own error page, the job and the log variables read it too. Its
//! changing parts are `Cell`/`RefCell`, and no borrow is held across a call
//! into nginx.

use core::cell::{Cell, RefCell};
use core::ptr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use bytes::Bytes;
use ngx::core::Status;
use ngx::ffi::{
    ngx_buf_t, ngx_chain_t, ngx_http_clean_header, ngx_http_filter_finalize_request,
    ngx_http_request_t, ngx_int_t, ngx_pcalloc, ngx_pool_cleanup_add, ngx_read_file, NGX_AGAIN,
    NGX_DECLINED, NGX_ERROR, NGX_HTTP_BAD_GATEWAY, NGX_HTTP_GATEWAY_TIME_OUT,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_MODIFIED, NGX_HTTP_OK, NGX_HTTP_PARTIAL_CONTENT,
    NGX_HTTP_SERVICE_UNAVAILABLE, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, NGX_OK,
};
use ngx::http::{HttpModule, HttpModuleLocationConf, Request};

use super::conf::LocConf;
use super::eval::{self, Evaluated};
use super::fault::{self, Fault};
use super::job::{self, Failure, Finished, ThreadFaults};
use super::log::{request_debug, request_error};
use super::metrics;
use super::reply::{self, next_body, next_header};
use super::request::{hide_header, is_head, is_http2, push_header, set_buffered};
use super::Module;
use crate::admission::{Overload, Shed};
use crate::metrics::OriginFailure;
use crate::negotiate::Token;
use crate::pipeline::{self, Reply};
use crate::value::Mode;

/// Where a request is; each state carries its data.
pub(crate) enum State {
    /// Accumulating the body; `last_data` is when bytes last arrived.
    Reading { body: Vec<u8>, last_data: Instant },
    /// The body is whole and frozen; a pool thread reads it through a
    /// handle of its own.
    Running { body: Bytes },
    /// The thread is back: the next body-filter call sends this.
    Done { done: Finished, body: Bytes },
    /// Handed to the next filters (the original's bytes or new ones); they
    /// must outlive their buffers.
    Sent { _out: Bytes },
    /// Passing through (after a failure, or not ours).
    Pass,
}

/// Per-request state, in the request pool (dropped by a pool cleanup).
pub(crate) struct Ctx {
    state: RefCell<State>,
    /// The request's settings, format and Vary, evaluated once when the
    /// response header arrived; headers, variables and logs read them here.
    eval: Evaluated,
    /// `image_resize_rs_buffer`.
    limit: usize,
    /// The response status is 200: a body that is not an image is refused
    /// (415). Any other status (an error page that is an image, e.g.
    /// `error_page 404 /placeholder.jpg`) is transformed if it is an image
    /// and otherwise sent as it came.
    strict: bool,
    /// What happened, for `$image_resize_rs_*` and Server-Timing.
    stats: Cell<Stats>,
    /// This request's place in the worker's job scheduling.
    job: job::Slot,
    /// Refused for overload: the error page gets `Retry-After`.
    shed: Cell<bool>,
}

impl Ctx {
    /// What the filter did so far (the log variables).
    pub(crate) fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// The format token evaluated for this request (`None`: an unusable
    /// output value), for `$image_resize_rs_format`.
    pub(crate) fn token(&self) -> Option<Token> {
        self.eval.token
    }

    /// `$image_resize_rs_key` as evaluated for this request.
    pub(crate) fn key(&self) -> Option<String> {
        Some(self.eval.answer?.key(self.eval.token?.as_str()))
    }

    fn update(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    fn outcome(&self, outcome: &'static str, reason: &'static str) {
        self.update(|s| {
            s.outcome = outcome;
            s.reason = reason;
        });
    }

    fn set_state(&self, state: State) -> State {
        self.state.replace(state)
    }

    /// This request in the shared counters.
    fn count(&self) {
        let s = self.stats.get();
        let st = s.stages;
        metrics::reply(&crate::metrics::Reply {
            outcome: s.outcome,
            reason: s.reason,
            received: s.bytes_in as u64,
            sent: s.bytes_out as u64,
            shed_503: self.shed.get(),
            stages_us: [st.decode_us, st.resize_us, st.encode_us],
            job_us: s.job.then_some(s.us),
        });
    }
}

/// What the filter did with a request (the log variables).
#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    /// "resized", "asis", "asis-smaller", "json", "passed", "head",
    /// "refused", ...
    pub outcome: &'static str,
    /// Why, when refused (a short code).
    pub reason: &'static str,
    /// Time in the pipeline, microseconds.
    pub us: u64,
    /// Its stages and the source's displayed dimensions.
    pub stages: pipeline::Stages,
    pub bytes_in: usize,
    pub bytes_out: usize,
    /// A job ran (`us` is its time, which may be 0).
    pub job: bool,
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

/// This request's context, if the filter made one.
pub(crate) fn ctx<'a>(r: &Request) -> Option<&'a Ctx> {
    let p: *const Ctx = r.get_module_ctx::<Ctx>(Module::module())?;
    // SAFETY: the slot holds the Ctx new_ctx() wrote into the request pool,
    // which outlives every call nginx makes for this request; it is only
    // ever shared (interior mutability), so the reference may outlive the
    // borrow of `r`.
    Some(unsafe { &*p })
}

/// Allocates the Ctx in the request pool and registers its Drop, checking
/// every allocation (ngx 0.5.1's `Pool::allocate` writes before its check).
fn new_ctx<'a>(r: &mut Request, conf: &LocConf, eval: Evaluated, strict: bool) -> Option<&'a Ctx> {
    if fault::inject(r, Fault::Alloc) {
        return None;
    }
    let ctx = Ctx {
        state: RefCell::new(State::Reading {
            body: Vec::new(),
            last_data: Instant::now(),
        }),
        eval,
        limit: conf.buffer_size,
        strict,
        stats: Cell::new(Stats::default()),
        job: job::Slot::default(),
        shed: Cell::new(false),
    };
    let pool = r.as_ref().pool;
    // SAFETY: a pool cleanup and a block for the Ctx, both from the live
    // request's pool and checked; the Ctx is written before the cleanup that
    // drops it can run, and it is stored in the module's ctx slot.
    let ctx = unsafe {
        let cln = ngx_pool_cleanup_add(pool, 0).as_mut()?;
        let p = ngx_pcalloc(pool, core::mem::size_of::<Ctx>()) as *mut Ctx;
        if p.is_null() {
            return None;
        }
        ptr::write(p, ctx);
        cln.handler = Some(drop_ctx);
        cln.data = p.cast();
        &*p
    };
    r.set_module_ctx(ctx as *const Ctx as *mut _, Module::module());
    Some(ctx)
}

/// The request's end (its pool's cleanup): the shared counters learn what
/// the filter did, then the Ctx goes.
unsafe extern "C" fn drop_ctx(data: *mut core::ffi::c_void) {
    // SAFETY: data is the Ctx written by new_ctx; the pool is going away,
    // and nothing else uses the Ctx once it is counted.
    unsafe {
        let ctx = &*(data as *const Ctx);
        let _ = catch_unwind(AssertUnwindSafe(|| ctx.count()));
        ptr::drop_in_place(data as *mut Ctx);
    }
}

// Never let a panic unwind into nginx: a bug costs one request (a 500 and
// one log line), not a worker. (ngx's handler macro turns the pointer nginx
// calls filters with, a live request on its own thread, into a reference.)
ngx::http_request_handler!(header_filter, |r: &mut Request| {
    Status(
        catch_unwind(AssertUnwindSafe(|| header_filter_impl(r))).unwrap_or_else(|_| {
            request_error(r, format_args!("internal error (panic) while filtering"));
            // A status: nginx finalizes the request with it (an error page).
            NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t
        }),
    )
});

pub(crate) unsafe extern "C" fn body_filter(
    r: *mut ngx_http_request_t,
    cl: *mut ngx_chain_t,
) -> ngx_int_t {
    // SAFETY: nginx calls a body filter with a live request, on the thread
    // that owns it; `cl` (the chain it hands us) is read in take_chain().
    let r = unsafe { Request::from_ngx_http_request(r) };
    catch_unwind(AssertUnwindSafe(|| body_filter_impl(r, cl))).unwrap_or_else(|_| {
        const WHY: &str = "internal error (panic) while filtering";
        match ctx(r) {
            // Headers still held: answer 500 instead of closing the connection.
            Some(ctx) if r.as_ref().header_sent() == 0 => catch_unwind(AssertUnwindSafe(|| {
                fail(
                    r,
                    ctx,
                    Exit::Body,
                    Refusal::Internal("panic"),
                    format_args!("{WHY}"),
                )
            }))
            .unwrap_or(NGX_ERROR as ngx_int_t),
            _ => {
                request_error(r, format_args!("{WHY}"));
                NGX_ERROR as ngx_int_t
            }
        }
    })
}

// Precontent phase, before the origin is asked:
// - a worker that would shed this request anyway answers 503 now, so an
//   overload costs no origin requests (unless the location's overload
//   answer is the original, which needs the body);
// - nginx's not-modified filter would compare the client's validators
//   with the origin's ETag, which is not the ETag of a negotiated format;
//   [`reply::not_modified`] does it instead.
ngx::http_request_handler!(precontent_handler, |r: &mut Request| {
    let rc = catch_unwind(AssertUnwindSafe(|| precontent(r)))
        .ok()
        .flatten();
    Status(rc.unwrap_or(NGX_DECLINED as ngx_int_t))
});

/// The filter's entries, for postconfiguration to install.
pub(crate) type Handler = extern "C" fn(*mut ngx_http_request_t) -> ngx_int_t;
pub(crate) const HEADER_FILTER: Handler = header_filter;
pub(crate) const PRECONTENT_HANDLER: Handler = precontent_handler;

fn precontent(r: &mut Request) -> Option<ngx_int_t> {
    let conf = Module::location_conf(r)?;
    if conf.mode() == Mode::Off {
        return None;
    }
    if offloads(conf) && !matches!(conf.overload, Some(Overload::Original { .. })) {
        if let Some(why) = job::saturated(&conf.limits()) {
            // A context in Pass: the error page passes our header filter,
            // which adds Retry-After, and the log variables say why.
            let eval = eval::evaluate(conf, r);
            let code = Refusal::Overloaded(why.code());
            let rc = match new_ctx(r, conf, eval, false) {
                Some(ctx) => fail(
                    r,
                    ctx,
                    Exit::Phase,
                    code,
                    format_args!("{}: 503", why.describe()),
                ),
                None => {
                    request_error(r, format_args!("{}: 503", why.describe()));
                    NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t
                }
            };
            return Some(rc);
        }
    }
    if conf.may_vary() {
        r.as_mut().set_disable_not_modified(1);
    }
    None
}

/// Runs the image work on a pool: a pool configured, and not `test`/`size`
/// (before the response, for shedding; [`Evaluated::offload`] after).
fn offloads(conf: &LocConf) -> bool {
    conf.thread_pool().is_some() && !pipeline::is_cheap(conf.mode())
}

fn header_filter_impl(r: &mut Request) -> ngx_int_t {
    let status = r.as_ref().headers_out.status;
    if status == NGX_HTTP_NOT_MODIFIED as usize {
        // The origin's own 304 (a client's validators reached it): the
        // representation is still this request's format.
        if let Some(conf) = Module::location_conf(r).filter(|c| c.mode() != Mode::Off) {
            let eval = eval::evaluate(conf, r);
            reply::vary_by_format(r, &eval);
        }
        return next_header(r);
    }

    if let Some(ctx) = ctx(r) {
        // Our own error page after a refusal: let it through (the Ctx stays,
        // in Pass, for the log variables).
        if ctx.shed.get() && status == NGX_HTTP_SERVICE_UNAVAILABLE as usize {
            let _ = push_header(r, "Retry-After", b"1");
        }
        return next_header(r);
    }

    let Some(conf) = Module::location_conf(r) else {
        return next_header(r);
    };
    if conf.mode() == Mode::Off {
        return next_header(r);
    }

    if r.as_ref().http_version == 9 && r.upstream().is_some() {
        // The origin answered garbage instead of a status line (nginx logged
        // "upstream sent no valid HTTP/1.0 header") and proxy fell back to
        // passing it as HTTP/0.9, without headers. Answer 502 in the
        // client's own protocol instead.
        let h2 = is_http2(r);
        let rr = r.as_mut();
        let proto = rr.http_protocol.as_bytes();
        if !h2 && proto.is_empty() {
            return next_header(r); // a real HTTP/0.9 client
        }
        metrics::origin_failure(OriginFailure::Invalid);
        rr.http_version = if h2 {
            2000
        } else if proto.eq_ignore_ascii_case(b"HTTP/1.0") {
            1000
        } else {
            1001
        };
        return NGX_HTTP_BAD_GATEWAY as ngx_int_t;
    }
    let strict = status == NGX_HTTP_OK as usize;
    let encoding = reply::encoding(r);
    let len = r.as_ref().headers_out.content_length_n;
    let big = len > conf.buffer_size as i64;
    if !strict {
        // Errors and redirects from the origin (S3's 403/404 XML, 5xx) reach
        // the client as they are; an image with another status (an
        // error_page placeholder) is transformed below, keeping its status.
        let image = r.as_ref().headers_out.content_type.as_bytes();
        let image = image.len() > 6 && image[..6].eq_ignore_ascii_case(b"image/");
        if status != NGX_HTTP_PARTIAL_CONTENT as usize && !image {
            if let Some(kind) =
                crate::metrics::origin_status(status).filter(|_| r.upstream().is_some())
            {
                metrics::origin_failure(kind);
            }
            return next_header(r);
        }
        if big || encoding.is_some() {
            return next_header(r);
        }
    }

    let eval = eval::evaluate(conf, r);
    let Some(ctx) = new_ctx(r, conf, eval, strict) else {
        request_error(r, format_args!("cannot allocate the request context"));
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    };

    let header = Exit::Header;
    if status == NGX_HTTP_PARTIAL_CONTENT as usize {
        let why = "origin answered 206 Partial Content; a part of an image cannot be \
                   processed (do not forward Range: proxy_set_header Range \"\")";
        return fail(
            r,
            ctx,
            header,
            Refusal::Image("partial"),
            format_args!("{why}"),
        );
    }
    let ct = r.as_ref().headers_out.content_type.as_bytes();
    if ct.len() >= 25 && ct[..25].eq_ignore_ascii_case(b"multipart/x-mixed-replace") {
        let why = "multipart/x-mixed-replace response";
        return fail(r, ctx, header, Refusal::Multipart, format_args!("{why}"));
    }
    if let Some(v) = encoding {
        let v = String::from_utf8_lossy(&v);
        let why = format!("response has \"Content-Encoding: {v}\", not an image");
        return fail(
            r,
            ctx,
            header,
            Refusal::Image("encoded"),
            format_args!("{why}"),
        );
    }
    if big {
        let limit = conf.buffer_size;
        let why = format!(
            "too big response: Content-Length {len} exceeds image_resize_rs_buffer {limit}"
        );
        return fail(
            r,
            ctx,
            header,
            Refusal::Image("too_big"),
            format_args!("{why}"),
        );
    }
    if len > 0 {
        let reserved = match &mut *ctx.state.borrow_mut() {
            State::Reading { body, .. } => body.try_reserve_exact(len as usize).is_ok(),
            _ => true,
        };
        if !reserved {
            let why = format!("cannot allocate {len} bytes for the body");
            return fail(
                r,
                ctx,
                header,
                Refusal::Image("no_memory"),
                format_args!("{why}"),
            );
        }
    }

    if ctx.eval.offload.is_some() {
        if let Err(why) = job::hold(&ctx.job, len.max(0) as usize, &ctx.eval.limits) {
            let code = Refusal::Overloaded(why.code());
            return fail(
                r,
                ctx,
                header,
                code,
                format_args!("{}: 503", why.describe()),
            );
        }
    }

    // The format's own conditional check (nginx's not-modified filter,
    // which runs before this one, compares the origin's ETag and is off
    // here: see precontent()).
    if ctx.eval.checks_validators && reply::not_modified(r, &ctx.eval) {
        ctx.set_state(State::Pass);
        ctx.outcome("not_modified", "");
        return reply::send_not_modified(r, &ctx.eval);
    }

    let rr = r.as_mut();
    hide_header(&mut rr.headers_out.headers, b"refresh");
    rr.set_main_filter_need_in_memory(1);
    rr.set_allow_ranges(0);
    // Headers are held until the body's outcome is known.
    NGX_OK as ngx_int_t
}

fn body_filter_impl(r: &mut Request, cl: *mut ngx_chain_t) -> ngx_int_t {
    let Some(ctx) = ctx(r) else {
        return next_body(r, cl);
    };
    let done = match &*ctx.state.borrow() {
        State::Pass | State::Sent { .. } => None,
        // Nothing to do until the thread is back (the writer does not call
        // us while r->aio is set, but other paths may flush).
        State::Running { .. } => return NGX_AGAIN as ngx_int_t,
        State::Done { .. } => Some(true),
        State::Reading { .. } => Some(false),
    };
    match done {
        None => return next_body(r, cl),
        Some(true) => {
            let State::Done { done, body } = ctx.set_state(State::Pass) else {
                unreachable!()
            };
            set_buffered(r, false);
            return finish(r, ctx, done, body);
        }
        Some(false) => {}
    }

    if fault::inject(r, Fault::Panic) {
        panic!("image_resize_rs fault injection: panic");
    }
    let is_main = r.is_main();
    let read = {
        let mut state = ctx.state.borrow_mut();
        let State::Reading { body, last_data } = &mut *state else {
            unreachable!()
        };
        let read = take_chain(body, ctx.limit, cl, is_main);
        if matches!(read, Ok(Chain { got: true, .. })) {
            *last_data = Instant::now();
        }
        read
    };
    match read {
        Err(reason) => fail(
            r,
            ctx,
            Exit::Body,
            Refusal::Image("too_big"),
            format_args!("{reason}"),
        ),
        Ok(Chain { last: true, .. }) => start(r, ctx),
        Ok(Chain { flush, .. }) => {
            if flush {
                if let Some(why) = upstream_failed(r, ctx) {
                    return fail(r, ctx, Exit::Body, why, format_args!(""));
                }
            }
            set_buffered(r, true);
            NGX_OK as ngx_int_t
        }
    }
}

/// What one body-filter call brought.
struct Chain {
    /// The body's last buffer (a subrequest's: the last in its chain).
    last: bool,
    flush: bool,
    /// Bytes arrived.
    got: bool,
}

/// Moves a chain's bytes into the body (memory or file buffers, as the
/// copy filter would have read them) and marks each buffer consumed.
fn take_chain(
    body: &mut Vec<u8>,
    limit: usize,
    mut cl: *mut ngx_chain_t,
    is_main: bool,
) -> Result<Chain, String> {
    let mut out = Chain {
        last: false,
        flush: false,
        got: false,
    };
    let before = body.len();
    // SAFETY: a chain handed to a body filter is a list of valid links to
    // valid buffers: pos..last is readable for in-memory ones, and a
    // file-backed one (static files, proxy temp files that reached us
    // without the copy filter reading them) has a live b->file; each
    // destination range is reserved and sized before it is written.
    unsafe {
        while let Some(link) = cl.as_ref() {
            let b: &mut ngx_buf_t = &mut *link.buf;
            if b.temporary() != 0 || b.memory() != 0 || b.mmap() != 0 {
                let len = b.last.offset_from(b.pos) as usize;
                if len > 0 {
                    reserve(body, limit, len)?;
                    body.extend_from_slice(core::slice::from_raw_parts(b.pos, len));
                }
                b.pos = b.last;
                if b.in_file() != 0 {
                    b.file_pos = b.file_last;
                }
            } else if b.in_file() != 0 {
                let len = (b.file_last - b.file_pos) as usize;
                if len > 0 {
                    reserve(body, limit, len)?;
                    let start = body.len();
                    body.resize(start + len, 0);
                    let dst = body.as_mut_ptr().add(start);
                    let n = ngx_read_file(b.file, dst, len, b.file_pos);
                    if n != len as isize {
                        return Err(format!("reading {len} bytes of a file buffer returned {n}"));
                    }
                }
                b.file_pos = b.file_last;
            }
            out.flush |= b.flush() != 0;
            out.last |= b.last_buf() != 0 || (!is_main && b.last_in_chain() != 0);
            cl = link.next;
        }
    }
    out.got = body.len() > before;
    Ok(out)
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

/// An upstream that failed after sending its headers: nginx finalizes it
/// (`ngx_http_upstream_finalize_request` clears `u->cleanup`) and sends a
/// flush instead of the last buffer. 504 when nothing arrived for
/// `proxy_read_timeout`, else 502.
fn upstream_failed(r: &Request, ctx: &Ctx) -> Option<Refusal> {
    let u = r.upstream()?;
    // SAFETY: r->upstream of a live request is live until the request is
    // freed, and u->conf is set for every upstream (its location's conf).
    let (cleanup, timeout) = unsafe { ((*u).cleanup, (*(*u).conf).read_timeout) };
    if !cleanup.is_null() {
        return None; // still reading: a flush of proxy_buffering off
    }
    let quiet = match &*ctx.state.borrow() {
        State::Reading { last_data, .. } => last_data.elapsed().as_millis() as u64,
        _ => return None,
    };
    // nginx may leave a read timer up to NGX_TIMER_LAZY_DELAY (300 ms)
    // earlier than the last read + timeout instead of re-arming it.
    if timeout > 0 && quiet + 300 >= timeout as u64 {
        Some(Refusal::OriginTimeout)
    } else {
        Some(Refusal::Origin)
    }
}

/// The body is complete: run the pipeline on a pool thread, or inline
/// (`test`, `size`, `image_resize_rs_thread_pool off`).
fn start(r: &mut Request, ctx: &Ctx) -> ngx_int_t {
    set_buffered(r, false);
    let settings = ctx.eval.settings;
    let faults = ThreadFaults {
        panic: fault::inject(r, Fault::ThreadPanic),
        sleep_ms: fault::sleep_ms(r),
    };
    let State::Reading { body, .. } = ctx.set_state(State::Pass) else {
        unreachable!()
    };
    // Frozen, not copied: the Vec's block becomes the Bytes'.
    let body = Bytes::from(body);
    request_debug(r, format_args!("body complete, {} bytes", body.len()));
    if body.is_empty() && is_head(r) {
        // A proxied HEAD (no `proxy_method GET`): the origin sent no body,
        // so there is nothing to resize and no length to announce.
        reply::set_length(r, -1);
        reply::weak_etag(r);
        ctx.set_state(State::Pass);
        ctx.outcome("head", "");
        reply::vary_by_format(r, &ctx.eval);
        return next_header(r);
    }

    if let Some(pool) = ctx.eval.offload {
        let limits = &ctx.eval.limits;
        ctx.set_state(State::Running { body: body.clone() });
        let job = body.clone();
        return match job::post(r, &ctx.job, pool, limits, job, settings, faults, job_done) {
            Ok(()) => {
                set_buffered(r, true);
                NGX_AGAIN as ngx_int_t
            }
            Err(why) => overloaded(r, ctx, body, why),
        };
    }
    let done = job::run_job(&body, &settings, faults, &AtomicBool::new(false));
    finish(r, ctx, done, body)
}

/// No job for this request now (queue full, waited too long, ...): one
/// log line, then 503 with `Retry-After`, or the original bytes if the
/// location says so and they are small enough. Never processed inline.
fn overloaded(r: &mut Request, ctx: &Ctx, body: Bytes, why: Shed) -> ngx_int_t {
    ctx.set_state(State::Pass);
    if let Some(Overload::Original { max_size, max_age }) = ctx.eval.overload {
        if body.len() <= max_size && pipeline::ImageType::sniff(&body).is_some_and(|t| t.web_safe())
        {
            let d = why.describe();
            request_error(
                r,
                format_args!("{d}: sending the original, max-age={max_age}"),
            );
            ctx.outcome("shed", why.code());
            let ho = &mut r.as_mut().headers_out;
            hide_header(&mut ho.headers, b"cache-control");
            hide_header(&mut ho.headers, b"expires");
            // (headers_out.cache_control is an array before nginx 1.23
            // and a list after: hiding the entries is what both write.)
            ho.expires = ptr::null_mut();
            let cc = format!("max-age={max_age}");
            let _ = push_header(r, "Cache-Control", cc.as_bytes());
            return release(r, ctx, body);
        }
    }
    drop(body);
    let code = Refusal::Overloaded(why.code());
    fail(
        r,
        ctx,
        Exit::Body,
        code,
        format_args!("{}: 503", why.describe()),
    )
}

/// [`job::OnDone`]: called on the event loop when the job is back; stores
/// the result, then the job resumes the request (the writer calls us again).
fn job_done(r: &mut Request, done: Finished) {
    let Some(ctx) = ctx(r) else {
        return; // the request went another way (e.g. terminated); drop it
    };
    let body = match ctx.set_state(State::Pass) {
        State::Running { body } => body,
        other => {
            ctx.set_state(other);
            return;
        }
    };
    if let Err(Failure::Pipeline(pipeline::Error::Cancelled)) = done.result {
        // The request is gone (nginx finalizes it, not our body filter):
        // only the log variables learn of it.
        ctx.update(|s| {
            s.outcome = "cancelled";
            s.job = true;
            s.us = done.elapsed_us;
            s.bytes_in = body.len();
        });
        request_debug(r, format_args!("the request is gone: job cancelled"));
        return;
    }
    ctx.set_state(State::Done { done, body });
}

/// Why the filter answers an error instead of the image.
#[derive(Clone, Copy)]
enum Refusal {
    /// A bad or unsupported image, or a bad parameter: 415, as image_filter.
    Image(&'static str),
    /// A multipart/x-mixed-replace response: the connection is closed, as
    /// image_filter does.
    Multipart,
    /// The origin failed after its headers: 502.
    Origin,
    /// The origin stopped sending for proxy_read_timeout: 504.
    OriginTimeout,
    /// Our bug or an allocation failure: 500.
    Internal(&'static str),
    /// No job for it now: 503.
    Overloaded(&'static str),
}

/// Where a refusal leaves the filter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// The precontent phase: nginx finalizes with the status.
    Phase,
    /// The header filter, headers held: they are cleaned, and the status
    /// returned makes nginx send its error page.
    Header,
    /// The body filter: `ngx_http_filter_finalize_request`.
    Body,
}

/// The one failure exit: one log line, the origin's headers dropped, then
/// the error status through nginx's error page.
fn fail(
    r: &mut Request,
    ctx: &Ctx,
    at: Exit,
    why: Refusal,
    args: core::fmt::Arguments<'_>,
) -> ngx_int_t {
    let (status, code) = match why {
        Refusal::Image(code) => (NGX_HTTP_UNSUPPORTED_MEDIA_TYPE as ngx_int_t, code),
        Refusal::Multipart => (NGX_ERROR as ngx_int_t, "multipart"),
        Refusal::Origin => (NGX_HTTP_BAD_GATEWAY as ngx_int_t, "origin"),
        Refusal::OriginTimeout => (NGX_HTTP_GATEWAY_TIME_OUT as ngx_int_t, "origin_timeout"),
        Refusal::Internal(code) => (NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t, code),
        Refusal::Overloaded(code) => (NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t, code),
    };
    match why {
        Refusal::Origin => metrics::origin_failure(OriginFailure::Broken),
        Refusal::OriginTimeout => metrics::origin_failure(OriginFailure::Timeout),
        _ => {}
    }
    match why {
        Refusal::Origin => request_error(
            r,
            format_args!("origin failed after sending its headers: 502, nothing cached"),
        ),
        Refusal::OriginTimeout => request_error(
            r,
            format_args!("origin timed out after sending its headers: 504, nothing cached"),
        ),
        _ => request_error(r, args),
    }
    // The body, if any, is freed now rather than with the pool.
    ctx.set_state(State::Pass);
    ctx.outcome("refused", code);
    ctx.shed.set(matches!(why, Refusal::Overloaded(_)));
    if at == Exit::Body {
        set_buffered(r, false);
    }
    let rp: *mut ngx_http_request_t = r.into();
    // SAFETY: r is live and its headers are not sent. In the header filter
    // they are dropped as ngx_http_filter_finalize_request drops them for
    // the body filter's refusals; then nginx sends the error page.
    unsafe {
        match at {
            Exit::Phase => status,
            Exit::Header => {
                ngx_http_clean_header(rp);
                status
            }
            Exit::Body => {
                let m = Module::module() as *const _ as *mut _;
                ngx_http_filter_finalize_request(rp, m, status)
            }
        }
    }
}

/// Turns the job's outcome into the response.
fn finish(r: &mut Request, ctx: &Ctx, done: Finished, body: Bytes) -> ngx_int_t {
    ctx.update(|s| {
        s.job = !matches!(done.result, Err(Failure::Shed(_)));
        s.us = done.elapsed_us;
        s.stages = done.stages;
        s.bytes_in = body.len();
    });
    match done.result {
        Ok(reply) => {
            let us = done.elapsed_us;
            match &reply {
                Reply::Image {
                    ty, width, height, ..
                } => {
                    let name = ty.name();
                    request_debug(r, format_args!("{name} {width}x{height} in {us} us"));
                }
                Reply::OriginalSmaller { ty, made, made_len } => {
                    let (made, len) = (made.name(), body.len());
                    request_debug(
                        r,
                        format_args!(
                            "{made} of {made_len} bytes in {us} us is larger than the \
                             original {ty} of {len}: sending the original"
                        ),
                    );
                }
                _ => {}
            }
            send(r, ctx, reply, body)
        }
        Err(Failure::Shed(why)) => overloaded(r, ctx, body, why),
        Err(Failure::Pipeline(e)) if !ctx.strict => {
            // Not an image we can work on, with a non-200 status: as it came.
            request_debug(r, format_args!("{e}; sending the original"));
            ctx.outcome("passed", "");
            release(r, ctx, body)
        }
        Err(Failure::Pipeline(e)) => fail(
            r,
            ctx,
            Exit::Body,
            Refusal::Image(e.code()),
            format_args!("{e}"),
        ),
        Err(Failure::Panic) => {
            let why = "internal error (panic) while processing the image";
            fail(
                r,
                ctx,
                Exit::Body,
                Refusal::Internal("panic"),
                format_args!("{why}"),
            )
        }
    }
}

/// Rewrites the held headers for the reply, then releases them and the body.
fn send(r: &mut Request, ctx: &Ctx, reply: Reply, body: Bytes) -> ngx_int_t {
    let (outcome, out) = match reply {
        Reply::Json(json) => {
            let rp: *mut ngx_http_request_t = r.into();
            // SAFETY: a live request whose headers are held, not sent; as
            // image_filter's json reply does, the origin's headers go.
            unsafe { ngx_http_clean_header(rp) };
            r.as_mut().headers_out.status = NGX_HTTP_OK as usize;
            reply::set_content_type(r, "application/json");
            ("json", Bytes::from(json))
        }
        // The origin's bytes and validator (the format's ETag where the
        // format varies, as for every reply under that token).
        Reply::Original(ty) => {
            reply::set_content_type(r, ty.mime());
            reply::vary_by_format(r, &ctx.eval);
            ("asis", body)
        }
        Reply::OriginalSmaller { ty, .. } => {
            reply::set_content_type(r, ty.mime());
            reply::vary_by_format(r, &ctx.eval);
            ("asis-smaller", body)
        }
        Reply::Image { ty, bytes, .. } => {
            drop(body);
            reply::set_content_type(r, ty.mime());
            // A different representation gets a weak validator.
            reply::weak_etag(r);
            reply::vary_by_format(r, &ctx.eval);
            ("resized", Bytes::from(bytes))
        }
    };
    ctx.outcome(outcome, "");
    release(r, ctx, out)
}

/// Server-Timing, then the held headers and the body go to the next filters.
fn release(r: &mut Request, ctx: &Ctx, out: Bytes) -> ngx_int_t {
    ctx.update(|s| s.bytes_out = out.len());
    let stats = ctx.stats();
    if ctx.eval.server_timing && stats.outcome != "passed" {
        let _ = push_header(r, "Server-Timing", server_timing(&stats).as_bytes());
    }
    // nginx's buffer is `memory` (read-only): the pointers are `*mut` only
    // by ngx_buf_t's type. The handle moves into the Ctx (the bytes stay
    // where they are), which lives as long as the pool.
    let range = out.as_ptr_range();
    let bytes = range.start as *mut u8..range.end as *mut u8;
    ctx.set_state(State::Sent { _out: out });
    reply::send(r, bytes)
}

/// `Server-Timing: irs;dur=<ms>;desc="<outcome>"`, then the stages that
/// ran: `irs-decode;dur=<ms>, irs-resize;dur=<ms>, irs-encode;dur=<ms>`.
fn server_timing(st: &Stats) -> String {
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
    value
}
