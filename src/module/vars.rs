//! `$image_resize_rs_status`, `_time`, `_in`, `_out`, `_source`: what the filter did
//! with this request, for `log_format`. Read from the request's own context
//! (reset by internal redirects, separate for each subrequest) and never
//! cached, so they cannot go stale.

use core::ptr;

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t,
    ngx_pnalloc, ngx_str_t, NGX_ERROR, NGX_HTTP_VAR_NOCACHEABLE, NGX_OK,
};
use ngx::http::Request;
use ngx::ngx_string;

use super::filter::{ctx, Stats};

const STATUS: usize = 0;
const TIME: usize = 1;
const IN: usize = 2;
const OUT: usize = 3;
const SOURCE: usize = 4;

/// preconfiguration: declare the variables.
pub(crate) unsafe fn add_variables(cf: *mut ngx_conf_t) -> ngx_int_t {
    let vars: [(ngx_str_t, usize); 5] = [
        (ngx_string!("image_resize_rs_status"), STATUS),
        (ngx_string!("image_resize_rs_time"), TIME),
        (ngx_string!("image_resize_rs_in"), IN),
        (ngx_string!("image_resize_rs_out"), OUT),
        (ngx_string!("image_resize_rs_source"), SOURCE),
    ];
    for (mut name, field) in vars {
        // SAFETY: cf is the configuration being parsed; name is static.
        let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOCACHEABLE as _) };
        if v.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        // SAFETY: v was just returned by nginx.
        unsafe {
            (*v).get_handler = Some(get);
            (*v).data = field;
        }
    }
    NGX_OK as ngx_int_t
}

fn text(st: &Stats, field: usize) -> Option<String> {
    if st.outcome.is_empty() {
        return None;
    }
    Some(match field {
        STATUS => st.status(),
        TIME => format!("{}.{:03}", st.us / 1000, st.us % 1000),
        IN => st.bytes_in.to_string(),
        OUT => st.bytes_out.to_string(),
        _ => match st.stages.source {
            (0, _) | (_, 0) => return None,
            (w, h) => format!("{w}x{h}"),
        },
    })
}

unsafe extern "C" fn get(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    let run = || {
        // SAFETY: nginx calls variable handlers with a live request.
        let req = unsafe { Request::from_ngx_http_request(r) };
        let stats = ctx(req).map(|c| c.stats());
        let value = stats.and_then(|st| text(&st, data));
        // SAFETY: v is the slot nginx gave us; the value goes to the request pool.
        unsafe {
            let Some(value) = value else {
                (*v).set_not_found(1);
                return NGX_OK as ngx_int_t;
            };
            let p = ngx_pnalloc((*r).pool, value.len()) as *mut u8;
            if p.is_null() {
                return NGX_ERROR as ngx_int_t;
            }
            ptr::copy_nonoverlapping(value.as_ptr(), p, value.len());
            (*v).set_len(value.len() as u32);
            (*v).data = p;
            (*v).set_valid(1);
            (*v).set_no_cacheable(1);
            (*v).set_not_found(0);
        }
        NGX_OK as ngx_int_t
    };
    std::panic::catch_unwind(run).unwrap_or(NGX_ERROR as ngx_int_t)
}
