//! Logging helpers: every line this module writes starts with
//! "image_resize_rs: " so operators can grep for it.

use core::fmt;

use ngx::ffi::NGX_LOG_ERR;
use ngx::http::Request;

/// One error-log line for a request, with nginx's usual client/request suffix.
pub(crate) fn request_error(r: &Request, args: fmt::Arguments<'_>) {
    ngx::ngx_log_error!(NGX_LOG_ERR, r.log(), "image_resize_rs: {}", args);
}

/// Debug-level line (compiled in always; shown with `error_log ... debug`).
pub(crate) fn request_debug(r: &Request, args: fmt::Arguments<'_>) {
    ngx::ngx_log_debug!(mask: ngx::log::DebugMask::Http, r.log(), "image_resize_rs: {}", args);
}
