//! Request helpers: small safe views of the request's own structures, so the
//! filter, the reply and the job read as plain Rust. What needs a raw
//! pointer is here once: a response header list's parts and a connection's
//! write event.

use core::ptr;

use ngx::ffi::{
    ngx_event_t, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_pnalloc, ngx_table_elt_t,
    NGX_HTTP_HEAD,
};
use ngx::http::Request;

/// Every entry of a header list (`headers_in` or `headers_out`), hidden
/// ones included (`hash == 0`).
pub(crate) fn headers_mut(list: &mut ngx_list_t) -> Vec<&mut ngx_table_elt_t> {
    let mut out = Vec::new();
    let mut part: *mut ngx_list_part_t = &mut list.part;
    // SAFETY: an ngx_list_t is a chain of parts, each holding `nelts`
    // initialised ngx_table_elt_t at `elts` (ngx_list_push); the list is the
    // request's and lives in its pool, borrowed mutably here.
    unsafe {
        while let Some(p) = part.as_mut() {
            if p.nelts > 0 {
                let elts = p.elts as *mut ngx_table_elt_t;
                out.extend(core::slice::from_raw_parts_mut(elts, p.nelts));
            }
            part = p.next;
        }
    }
    out
}

/// The live entry named `name` (any case).
pub(crate) fn find_header<'a>(
    list: &'a mut ngx_list_t,
    name: &[u8],
) -> Option<&'a mut ngx_table_elt_t> {
    headers_mut(list)
        .into_iter()
        .find(|h| h.hash != 0 && h.key.as_bytes().eq_ignore_ascii_case(name))
}

/// Hides every response header named `name` (`ngx_http_clear_*`: hash 0).
pub(crate) fn hide_header(list: &mut ngx_list_t, name: &[u8]) {
    for h in headers_mut(list) {
        if h.key.as_bytes().eq_ignore_ascii_case(name) {
            h.hash = 0;
        }
    }
}

/// Appends a response header, its value copied into the request pool;
/// `None` (nothing added) when an allocation fails.
pub(crate) fn push_header<'a>(
    r: &'a mut Request,
    key: &'static str,
    value: &[u8],
) -> Option<&'a mut ngx_table_elt_t> {
    let r = r.as_mut();
    // SAFETY: the value's block from the live request's pool (checked) gets
    // the bytes; ngx_list_push returns NULL or an uninitialised element of
    // the response's header list, which is zeroed before it is filled (the
    // key is static).
    unsafe {
        let v = ngx_pnalloc(r.pool, value.len().max(1)) as *mut u8;
        if v.is_null() {
            return None;
        }
        ptr::copy_nonoverlapping(value.as_ptr(), v, value.len());
        let h = (ngx_list_push(&mut r.headers_out.headers) as *mut ngx_table_elt_t).as_mut()?;
        ptr::write_bytes(h as *mut ngx_table_elt_t, 0, 1);
        h.hash = 1;
        h.key.len = key.len();
        h.key.data = key.as_ptr() as *mut u8;
        h.value.len = value.len();
        h.value.data = v;
        Some(h)
    }
}

/// A request header's value (the first of its name).
pub(crate) fn request_header<'a>(r: &'a Request, name: &[u8]) -> Option<&'a [u8]> {
    r.headers_in_iterator()
        .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_bytes())
}

pub(crate) fn is_head(r: &Request) -> bool {
    r.as_ref().method == NGX_HTTP_HEAD as usize
}

/// Is this request an HTTP/2 stream?
pub(crate) fn is_http2(r: &Request) -> bool {
    #[cfg(ngx_feature = "http_v2")]
    return !r.as_ref().stream.is_null();
    #[cfg(not(ngx_feature = "http_v2"))]
    {
        let _ = r;
        false
    }
}

/// Our bit in `r->buffered` while we hold the body or wait for a thread:
/// image_filter's value (it uses it in `c->buffered`). `r->buffered` rather
/// than the connection's, so a subrequest is not finalized under us either.
const BUFFERED: u32 = 0x08;

pub(crate) fn set_buffered(r: &mut Request, on: bool) {
    let r = r.as_mut();
    let b = r.buffered();
    r.set_buffered(if on { b | BUFFERED } else { b & !BUFFERED });
}

/// The request's connection's write event.
pub(crate) fn write_event<'a>(r: &Request) -> &'a mut ngx_event_t {
    // SAFETY: a live request's connection and its write event are allocated
    // with the connection and outlive the request; nginx runs everything on
    // this thread, so no other reference is in use while ours is.
    unsafe { &mut *(*r.connection()).write }
}
