//! `$image_resize_rs_s3_*` variables (SigV4 signing for proxy_pass to S3).

use ngx::ffi::{ngx_conf_t, ngx_int_t, NGX_OK};

pub(crate) unsafe fn add_variables(_cf: *mut ngx_conf_t) -> ngx_int_t {
    NGX_OK as ngx_int_t
}
