//! Logging helpers: every line this module writes starts with
//! "image_resize_rs: " so operators can grep for it.

use core::fmt;

use ngx::ffi::{ngx_http_request_t, NGX_LOG_ERR};

/// One error-log line for a request, with nginx's usual client/request suffix.
pub(crate) fn request_error(r: *mut ngx_http_request_t, args: fmt::Arguments<'_>) {
    // SAFETY: r is a live request owned by nginx for the duration of the call.
    let log = unsafe { (*(*r).connection).log };
    ngx::ngx_log_error!(NGX_LOG_ERR, log, "image_resize_rs: {}", args);
}

/// Debug-level line (compiled in always; shown with `error_log ... debug`).
pub(crate) fn request_debug(r: *mut ngx_http_request_t, args: fmt::Arguments<'_>) {
    // SAFETY: as above.
    let log = unsafe { (*(*r).connection).log };
    ngx::ngx_log_debug!(mask: ngx::log::DebugMask::Http, log, "image_resize_rs: {}", args);
}
