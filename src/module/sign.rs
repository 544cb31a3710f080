//! `image_resize_rs_sign`'s access-phase handler: a request whose URL is
//! not signed (or is forged, or has expired) is refused with 403 before
//! anything is proxied, fetched or looked up in a cache. The decision is
//! [`crate::sign::verify`]'s; this reads the request's path and values,
//! and logs the one line.
//!
//! As `ngx_http_auth_basic_module`'s handler: `NGX_DECLINED` where signing
//! is off, `NGX_OK` for a good signature, `NGX_HTTP_FORBIDDEN` otherwise
//! (so `satisfy any` lets another access module overrule it).

use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::core::Status;
use ngx::ffi::{
    ngx_int_t, NGX_DECLINED, NGX_HTTP_FORBIDDEN, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, Request};

use super::conf::SignValue;
use super::filter::Handler;
use super::log::request_error;
use super::metrics;
use super::Module;
use crate::sign::{self, Signed};

ngx::http_request_handler!(access_handler, |r: &mut Request| {
    Status(
        catch_unwind(AssertUnwindSafe(|| access(r))).unwrap_or_else(|_| {
            request_error(
                r,
                format_args!("internal error (panic) while checking the signature"),
            );
            NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t
        }),
    )
});

/// The entry, for postconfiguration to install.
pub(crate) const ACCESS_HANDLER: Handler = access_handler;

fn access(r: &mut Request) -> ngx_int_t {
    // Subrequests pass (nginx skips their access phase anyway); so does an
    // error_page redirect (of this refusal, or of another error).
    if !r.is_main() || r.as_ref().error_page() != 0 {
        return NGX_DECLINED as ngx_int_t;
    }
    let Some(conf) = Module::location_conf(r) else {
        return NGX_DECLINED as ngx_int_t;
    };
    let Some(SignValue::On { signature, expires }) = conf.sign else {
        return NGX_DECLINED as ngx_int_t;
    };
    let keys = conf.sign_keys.as_deref().unwrap_or_default();
    let value = |v: super::conf::Complex| v.get(r).map(|s| s.as_bytes()).unwrap_or_default();
    let signed = Signed {
        path: sign::path_of(r.unparsed_uri().as_bytes()),
        signature: value(signature),
        expires: expires.map(value),
    };
    // nginx's cached time when the request began (ngx_time() then).
    let now = u64::try_from(r.as_ref().start_sec).unwrap_or(0);
    match sign::verify(keys, &signed, now) {
        Ok(()) => NGX_OK as ngx_int_t,
        Err(why) => {
            request_error(r, format_args!("{why}"));
            metrics::signature_refused(why.code());
            NGX_HTTP_FORBIDDEN as ngx_int_t
        }
    }
}
