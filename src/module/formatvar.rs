//! `$image_resize_rs_format`: the output-format token this request
//! negotiates (`avif`, `webp`, `orig`, or the forced `jpeg`/`png`/...),
//! computed from the request alone — a front `proxy_cache_key` including it
//! keeps one entry per format, not one per Accept string.
//!
//! Not cacheable: `r->variables` survives internal redirects and is shared
//! with subrequests, whose location may configure other formats. Computing
//! it is a scan of the Accept header.

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t,
    NGX_ERROR, NGX_HTTP_VAR_NOCACHEABLE, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, Request};
use ngx::ngx_string;

use super::Module;

/// preconfiguration: declare the variable.
pub(crate) unsafe fn add_variable(cf: *mut ngx_conf_t) -> ngx_int_t {
    let mut name = ngx_string!("image_resize_rs_format");
    // SAFETY: cf is the configuration being parsed; name is static.
    let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOCACHEABLE as _) };
    if v.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: v was just returned by nginx.
    unsafe { (*v).get_handler = Some(format_variable) };
    NGX_OK as ngx_int_t
}

unsafe extern "C" fn format_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    let run = || {
        // SAFETY: nginx calls variable handlers with a live request.
        let req = unsafe { Request::from_ngx_http_request(r) };
        // The request's own evaluation if the filter made one, else the
        // location's (a front location without the filter).
        let token = match super::filter::ctx(req).and_then(|c| c.token()) {
            Some(t) => t,
            None => Module::location_conf(req).and_then(|c| c.format_token(req)),
        };
        // SAFETY: v is the slot nginx gave us; the token strings are static.
        unsafe {
            match token {
                Some(t) => {
                    let s = t.as_str();
                    (*v).set_len(s.len() as u32);
                    (*v).data = s.as_ptr() as *mut u8;
                    (*v).set_valid(1);
                    (*v).set_no_cacheable(1);
                    (*v).set_not_found(0);
                }
                None => (*v).set_not_found(1),
            }
        }
        NGX_OK as ngx_int_t
    };
    std::panic::catch_unwind(run).unwrap_or(NGX_ERROR as ngx_int_t)
}
