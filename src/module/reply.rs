//! The reply: header surgery on the held response headers (nginx's
//! `ngx_http_clear_*` idioms, as the gunzip filter uses them), the format's
//! own conditional check, and handing headers and body to the next filters.

use core::ptr;

use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_http_output_body_filter_pt,
    ngx_http_output_header_filter_pt, ngx_int_t, ngx_pcalloc, NGX_ERROR, NGX_HTTP_NOT_MODIFIED,
};
use ngx::http::Request;

use super::eval::Evaluated;
use super::request::{find_header, hide_header, push_header, request_header};
use crate::httpdate;
use crate::negotiate;

/// The next filters in nginx's chain: written once by postconfiguration
/// (which puts ours on top of the chain, where the module order places
/// image_filter), read only afterwards.
pub(super) static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
pub(super) static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

pub(crate) fn next_header(r: &mut Request) -> ngx_int_t {
    next(r, None)
}

pub(crate) fn next_body(r: &mut Request, cl: *mut ngx_chain_t) -> ngx_int_t {
    next(r, Some(cl))
}

/// The headers (`None`) or a body chain to the filter after ours.
fn next(r: &mut Request, body: Option<*mut ngx_chain_t>) -> ngx_int_t {
    // SAFETY: postconfiguration set both before any request, to nginx's
    // next filters, which get the live request they gave us and, for the
    // body, null or a chain built for them.
    unsafe {
        match body {
            None => NEXT_HEADER_FILTER.expect("next header filter")(r.into()),
            Some(cl) => NEXT_BODY_FILTER.expect("next body filter")(r.into(), cl),
        }
    }
}

/// The reply's length (-1: unknown), as `ngx_http_clear_content_length`
/// then a new value; and no `Accept-Ranges`: ranges are off for our replies
/// (allow_ranges = 0), whatever the origin advertised (S3 sends
/// "Accept-Ranges: bytes"), as `ngx_http_clear_accept_ranges`.
pub(crate) fn set_length(r: &mut Request, len: i64) {
    let ho = &mut r.as_mut().headers_out;
    ho.content_length_n = len;
    ho.content_length = ptr::null_mut();
    hide_header(&mut ho.headers, b"content-length");
    hide_header(&mut ho.headers, b"accept-ranges");
}

pub(crate) fn set_content_type(r: &mut Request, mime: &'static str) {
    let ho = &mut r.as_mut().headers_out;
    ho.content_type.len = mime.len();
    ho.content_type.data = mime.as_ptr() as *mut u8;
    ho.content_type_len = mime.len();
    ho.content_type_lowcase = ptr::null_mut();
}

/// `Content-Encoding`, if the response has one that is not `identity`.
pub(crate) fn encoding(r: &mut Request) -> Option<Vec<u8>> {
    let ho = &mut r.as_mut().headers_out;
    if ho.content_encoding.is_null() {
        return None;
    }
    let v = find_header(&mut ho.headers, b"content-encoding")?
        .value
        .as_bytes();
    (!v.is_empty() && !v.eq_ignore_ascii_case(b"identity")).then(|| v.to_vec())
}

/// The response's ETag value, if it has one.
fn etag(r: &mut Request) -> Option<Vec<u8>> {
    let ho = &mut r.as_mut().headers_out;
    if ho.etag.is_null() {
        return None;
    }
    find_header(&mut ho.headers, b"etag").map(|h| h.value.as_bytes().to_vec())
}

/// Replaces the ETag (`None`: no validator), keeping `headers_out.etag`
/// pointing at the live entry as nginx's later filters expect.
fn set_etag(r: &mut Request, value: Option<Vec<u8>>) {
    {
        let ho = &mut r.as_mut().headers_out;
        hide_header(&mut ho.headers, b"etag");
        ho.etag = ptr::null_mut();
    }
    if let Some(v) = value {
        if let Some(h) = push_header(r, "ETag", &v) {
            let h: *mut _ = h;
            r.as_mut().headers_out.etag = h;
        }
    }
}

/// `ngx_http_weak_etag`: a strong entity tag becomes weak; what is not an
/// entity tag is dropped.
pub(crate) fn weak_etag(r: &mut Request) {
    let Some(v) = etag(r) else { return };
    if v.len() > 2 && v.starts_with(b"W/") {
        return;
    }
    if v.first() != Some(&b'"') {
        return set_etag(r, None);
    }
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(&v);
    set_etag(r, Some(weak));
}

/// Format negotiation: `Vary: Accept` where the format depends on it, and
/// the format in the ETag so that no conditional request gets a 304 for
/// another format's body.
pub(crate) fn vary_by_format(r: &mut Request, eval: &Evaluated) {
    if !eval.vary.is_empty() {
        let _ = push_header(r, "Vary", eval.vary.as_bytes());
    }
    let Some(suffix) = eval.etag_suffix() else {
        return;
    };
    if let Some(v) = etag(r) {
        set_etag(r, Some(negotiate::etag_with(&v, &suffix)));
    }
}

/// `ngx_http_not_modified_header_filter` for this request's format: the
/// client's validators against the ETag this reply will carry (the
/// origin's, weak, with the format in it) and its Last-Modified.
pub(crate) fn not_modified(r: &mut Request, eval: &Evaluated) -> bool {
    let inm = request_header(r, b"if-none-match").map(<[u8]>::to_vec);
    let ims = request_header(r, b"if-modified-since").map(<[u8]>::to_vec);
    if inm.is_none() && ims.is_none() {
        return false;
    }
    if let Some(inm) = inm {
        // If-None-Match decides alone when present (RFC 9110 13.2.2).
        let Some(etag) = etag(r) else { return false };
        let ours = match eval.etag_suffix() {
            Some(suffix) => negotiate::etag_with(&etag, &suffix),
            None => etag,
        };
        return negotiate::if_none_match(&inm, &ours);
    }
    // nginx's default `if_modified_since exact`.
    let Some(ims) = ims else { return false };
    let last_modified = r.as_ref().headers_out.last_modified_time;
    last_modified != -1 && httpdate::parse(&ims) == Some(last_modified as i64)
}

/// A 304 for a negotiated format, with its `Vary` and ETag (what
/// `ngx_http_not_modified_header_filter` writes).
pub(crate) fn send_not_modified(r: &mut Request, eval: &Evaluated) -> ngx_int_t {
    {
        let ho = &mut r.as_mut().headers_out;
        ho.status = NGX_HTTP_NOT_MODIFIED as usize;
        ho.status_line.len = 0;
        ho.content_type.len = 0;
        ho.content_encoding = ptr::null_mut();
        hide_header(&mut ho.headers, b"content-encoding");
    }
    set_length(r, -1);
    weak_etag(r);
    vary_by_format(r, eval);
    next_header(r)
}

/// Sends the held headers, then `bytes` as the whole body. The bytes are
/// not copied: the caller keeps them alive until the request's pool goes.
pub(crate) fn send(r: &mut Request, bytes: core::ops::Range<*mut u8>) -> ngx_int_t {
    set_length(r, (bytes.end as usize - bytes.start as usize) as i64);
    let rc = next_header(r);
    if rc == NGX_ERROR as ngx_int_t || rc > 0 || r.header_only() {
        return if rc > 0 || rc == NGX_ERROR as ngx_int_t {
            rc
        } else {
            0
        };
    }
    let last_buf = r.is_main();
    let pool = r.as_ref().pool;
    let range = bytes;
    // SAFETY: one buffer and one chain link from the request pool, both
    // checked; the buffer points at bytes the caller keeps alive as long as
    // the pool (nginx's later filters may hold it that long).
    let cl = unsafe {
        let b = ngx_pcalloc(pool, core::mem::size_of::<ngx_buf_t>()) as *mut ngx_buf_t;
        let cl = ngx_alloc_chain_link(pool);
        let (Some(b), Some(link)) = (b.as_mut(), cl.as_mut()) else {
            return NGX_ERROR as ngx_int_t;
        };
        b.pos = range.start;
        b.last = range.end;
        b.start = range.start;
        b.end = range.end;
        b.set_memory(1);
        b.set_last_buf(last_buf as u32);
        b.set_last_in_chain(1);
        link.buf = b;
        link.next = ptr::null_mut();
        cl
    };
    next_body(r, cl)
}
