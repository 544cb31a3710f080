//! The metrics zone in nginx shared memory, and `image_resize_rs_metrics`'s
//! content handler. The counting and the text are [`crate::metrics`]'s;
//! this is the glue:
//! - postconfiguration adds the zone (`ngx_shared_memory_add`, tagged with
//!   the module, as limit_req tags its zones); its init callback takes the
//!   old cycle's zone on reload (same size and tag: nginx keeps the
//!   mapping), else stamps a zeroed one from the zone's slab pool. Workers
//!   inherit the pointer across fork(), so a replaced worker (a crash) and
//!   a reload both keep the counts;
//! - each worker takes a gauge slot at init_process, gives it back at
//!   exit_process, and publishes its queue there ([`publish`]);
//! - the filter counts each request at its context's end ([`reply`]) and
//!   origin failures at the response header ([`origin_failure`]).

use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use ngx::allocator::Allocator;
use ngx::core::Buffer;
use ngx::core::{SlabPool, Status};
use ngx::ffi::{
    ngx_chain_t, ngx_conf_t, ngx_cycle_t, ngx_http_request_t, ngx_int_t, ngx_shared_memory_add,
    ngx_shm_zone_t, ngx_str_t, NGX_ERROR, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NOT_ALLOWED,
    NGX_HTTP_OK, NGX_OK,
};
use ngx::http::{HTTPStatus, Method, Request};
use ngx::ngx_string;

use super::reply;
use super::Module;
use crate::metrics::{self, OriginFailure, Zone};
use ngx::http::HttpModule;

/// The zone, once its init callback ran (in the master; workers inherit it).
static ZONE: AtomicPtr<Zone> = AtomicPtr::new(ptr::null_mut());

/// This worker's gauge slot, `usize::MAX` for none.
static SLOT: AtomicUsize = AtomicUsize::new(usize::MAX);

fn zone() -> Option<&'static Zone> {
    let p = ZONE.load(Ordering::Acquire);
    // SAFETY: set by init_zone to a Zone in shared memory that stays mapped
    // for the life of every process that can read this pointer (the master
    // until the next cycle's init replaces it, each worker until it exits).
    unsafe { p.as_ref() }
}

/// Postconfiguration: the zone, `size_of::<Zone>()` plus its slab pool's
/// own pages.
pub(crate) fn add_zone(cf: &mut ngx_conf_t) -> Result<(), ()> {
    let mut name: ngx_str_t = ngx_string!("image_resize_rs_metrics");
    let size = (core::mem::size_of::<Zone>() + 8 * 4096).next_multiple_of(4096);
    let tag = Module::module() as *const _ as *mut c_void;
    // SAFETY: the configuration being finished, a static name (nginx keeps
    // the ngx_str_t, whose bytes are static) and the module as the tag.
    let shm = unsafe { ngx_shared_memory_add(cf, &mut name, size, tag).as_mut() };
    let shm = shm.ok_or(())?;
    shm.init = Some(init_zone);
    Ok(())
}

unsafe extern "C" fn init_zone(shm: *mut ngx_shm_zone_t, data: *mut c_void) -> ngx_int_t {
    // SAFETY: nginx calls a zone's init in the master, before any worker,
    // with the zone (its slab pool set up at shm.addr) and, on reload, the
    // old cycle's zone data (null at start); zeroed memory of Zone's
    // layout is a valid Zone, stamped before anyone reads it.
    let zone = unsafe {
        let shm = &mut *shm;
        let zone = match (data as *const Zone).as_ref().filter(|z| z.is_ours()) {
            Some(old) => old as *const Zone as *mut Zone,
            None => {
                let Some(pool) = SlabPool::from_shm_zone(shm) else {
                    return NGX_ERROR as ngx_int_t;
                };
                let Ok(p) = pool.allocate_zeroed(Layout::new::<Zone>()) else {
                    return NGX_ERROR as ngx_int_t;
                };
                let zone = p.as_ptr() as *mut Zone;
                (*zone).init();
                zone
            }
        };
        shm.data = zone.cast();
        zone
    };
    ZONE.store(zone, Ordering::Release);
    NGX_OK as ngx_int_t
}

/// A live process: its /proc entry (a SIGKILLed worker's goes when the
/// master reaps it).
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// init_process: this worker's gauge slot.
pub(crate) fn init_worker() {
    if let Some(slot) = zone().and_then(|z| z.claim(std::process::id(), alive)) {
        SLOT.store(slot, Ordering::Relaxed);
    }
}

pub(crate) unsafe extern "C" fn exit_process(_cycle: *mut ngx_cycle_t) {
    if let Some(z) = zone() {
        z.release(SLOT.load(Ordering::Relaxed), std::process::id());
    }
}

/// The worker's queue changed.
pub(crate) fn publish(queued: usize, running: usize, queued_bytes: usize) {
    if let Some(z) = zone() {
        z.publish(SLOT.load(Ordering::Relaxed), queued, running, queued_bytes);
    }
}

/// A request the filter took has ended.
pub(crate) fn reply(r: &metrics::Reply<'_>) {
    if let Some(z) = zone() {
        z.reply(r);
    }
}

pub(crate) fn origin_failure(kind: OriginFailure) {
    if let Some(z) = zone() {
        z.origin_failure(kind);
    }
}

/// A URL `image_resize_rs_sign` refused.
pub(crate) fn signature_refused(reason: &str) {
    if let Some(z) = zone() {
        z.signature_refused(reason);
    }
}

// `image_resize_rs_metrics;`: the Prometheus text (or `?format=json`).
ngx::http_request_handler!(metrics_handler, |r: &mut Request| {
    let rc = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve(r)));
    Status(rc.unwrap_or(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t))
});

/// The location's content handler, for the directive to install.
pub(crate) const HANDLER: extern "C" fn(*mut ngx_http_request_t) -> ngx_int_t = metrics_handler;

fn serve(r: &mut Request) -> ngx_int_t {
    if !matches!(r.method(), Method::GET | Method::HEAD) {
        return NGX_HTTP_NOT_ALLOWED as ngx_int_t;
    }
    let rc = r.discard_request_body();
    if rc != Status::NGX_OK {
        return rc.0;
    }
    let Some(z) = zone() else {
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    };
    let snap = z.snapshot(alive);
    let (body, ty) = if metrics::wants_json(r.as_ref().args.as_bytes()) {
        (snap.json(), "application/json")
    } else {
        (
            snap.prometheus(),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    };
    r.set_status(HTTPStatus(NGX_HTTP_OK as usize));
    reply::set_content_type(r, ty);
    r.set_content_length_n(body.len());
    let rc = r.send_header();
    if rc == Status::NGX_ERROR || rc.0 > NGX_OK as ngx_int_t || r.header_only() {
        return rc.0;
    }
    let Some(mut b) = r.pool().create_buffer_from_str(&body) else {
        return NGX_ERROR as ngx_int_t;
    };
    b.set_last_buf(r.is_main());
    b.set_last_in_chain(true);
    let mut cl = ngx_chain_t {
        buf: b.as_ngx_buf_mut(),
        next: ptr::null_mut(),
    };
    r.output_filter(&mut cl).0
}
