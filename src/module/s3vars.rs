//! `$image_resize_rs_s3_*` variables: what `proxy_pass` and
//! `proxy_set_header` need to fetch a private object with SigV4.
//!
//! ```nginx
//! proxy_pass        $image_resize_rs_s3_url;
//! proxy_set_header  Authorization        $image_resize_rs_s3_authorization;
//! proxy_set_header  x-amz-date           $image_resize_rs_s3_date;
//! proxy_set_header  x-amz-content-sha256 $image_resize_rs_s3_content_sha256;
//! proxy_set_header  x-amz-security-token $image_resize_rs_s3_security_token;
//! ```
//!
//! Or, to keep connections to the bucket alive through an `upstream` block:
//! `proxy_pass http://<upstream>$image_resize_rs_s3_path;` with
//! `proxy_set_header Host $image_resize_rs_s3_host;`.
//!
//! The URL is built from the bucket and the key, so the Host and the path
//! proxy_pass sends are exactly the ones signed. Everything is computed once
//! per request into the hidden `$image_resize_rs_s3_signed` (nginx caches
//! indexed variables per request), so all headers carry the same timestamp.

use core::ptr;
use std::time::{Duration, SystemTime};

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_complex_value, ngx_http_complex_value_t,
    ngx_http_get_indexed_variable, ngx_http_get_variable_index, ngx_http_request_t,
    ngx_http_variable_value_t, ngx_int_t, ngx_pnalloc, ngx_str_t, ngx_time, NGX_ERROR,
    NGX_HTTP_VAR_NOHASH, NGX_OK,
};
use ngx::http::HttpModuleLocationConf;
use ngx::ngx_string;

use super::conf::{CredentialSource, LocConf};
use super::log::{request_debug, request_error};
use super::Module;
use crate::s3::{self, Credentials};

/// Fields of the signed value, in order; the data of each public variable.
const URL: usize = 0;
const AUTHORIZATION: usize = 1;
const DATE: usize = 2;
const CONTENT_SHA256: usize = 3;
const SECURITY_TOKEN: usize = 4;
const HOST: usize = 5;
const PATH: usize = 6;

static mut SIGNED_INDEX: ngx_int_t = -1;

/// preconfiguration: declare the variables.
pub(crate) unsafe fn add_variables(cf: *mut ngx_conf_t) -> ngx_int_t {
    let vars: [(ngx_str_t, usize); 7] = [
        (ngx_string!("image_resize_rs_s3_url"), URL),
        (
            ngx_string!("image_resize_rs_s3_authorization"),
            AUTHORIZATION,
        ),
        (ngx_string!("image_resize_rs_s3_date"), DATE),
        (
            ngx_string!("image_resize_rs_s3_content_sha256"),
            CONTENT_SHA256,
        ),
        (
            ngx_string!("image_resize_rs_s3_security_token"),
            SECURITY_TOKEN,
        ),
        (ngx_string!("image_resize_rs_s3_host"), HOST),
        (ngx_string!("image_resize_rs_s3_path"), PATH),
    ];
    for (mut name, field) in vars {
        // SAFETY: cf is the configuration being parsed; name is static.
        let v = unsafe { ngx_http_add_variable(cf, &mut name, 0) };
        if v.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        // SAFETY: v was just returned by nginx.
        unsafe {
            (*v).get_handler = Some(field_variable);
            (*v).data = field;
        }
    }
    let mut name = ngx_string!("image_resize_rs_s3_signed");
    // SAFETY: as above.
    let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOHASH as _) };
    if v.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: as above; the index is read only at request time.
    unsafe {
        (*v).get_handler = Some(signed_variable);
        SIGNED_INDEX = ngx_http_get_variable_index(cf, &mut name);
        if SIGNED_INDEX == NGX_ERROR as ngx_int_t {
            return NGX_ERROR as ngx_int_t;
        }
    }
    NGX_OK as ngx_int_t
}

fn set_value(v: *mut ngx_http_variable_value_t, data: *const u8, len: usize) {
    // SAFETY: v is the slot nginx gave us; data lives in the request pool.
    unsafe {
        (*v).set_len(len as u32);
        (*v).data = data as *mut u8;
        (*v).set_valid(1);
        (*v).set_no_cacheable(0);
        (*v).set_not_found(0);
    }
}

fn not_found(v: *mut ngx_http_variable_value_t) -> ngx_int_t {
    // SAFETY: v is the slot nginx gave us.
    unsafe { (*v).set_not_found(1) };
    NGX_OK as ngx_int_t
}

unsafe extern "C" fn field_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    let run = || {
        // SAFETY: index set at preconfiguration; r is live.
        let signed = unsafe { ngx_http_get_indexed_variable(r, SIGNED_INDEX as _) };
        // SAFETY: null or a valid cached value.
        let Some(signed) = (unsafe { signed.as_ref() }) else {
            return NGX_ERROR as ngx_int_t;
        };
        if signed.not_found() != 0 || signed.len() == 0 {
            return not_found(v);
        }
        // SAFETY: data..len is the pool string written by signed_variable.
        let all = unsafe { core::slice::from_raw_parts(signed.data, signed.len() as usize) };
        match all.split(|&b| b == b'\n').nth(data) {
            Some(f) => {
                set_value(v, f.as_ptr(), f.len());
                NGX_OK as ngx_int_t
            }
            None => not_found(v),
        }
    };
    std::panic::catch_unwind(run).unwrap_or(NGX_ERROR as ngx_int_t)
}

fn eval(r: *mut ngx_http_request_t, cv: *mut ngx_http_complex_value_t) -> Option<Vec<u8>> {
    let mut s = ngx_str_t::empty();
    // SAFETY: cv was compiled for this configuration; r is live.
    if unsafe { ngx_http_complex_value(r, cv, &mut s) } != NGX_OK as isize {
        return None;
    }
    Some(s.as_bytes().to_vec())
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

unsafe extern "C" fn signed_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    let run = || {
        // SAFETY: r is live and has location configuration.
        let conf: Option<&LocConf> =
            unsafe { Module::location_conf(&*(r as *const ngx::http::Request)) };
        let Some(conf) = conf else {
            return not_found(v);
        };
        let Some(bucket) = conf.s3.as_ref() else {
            return not_found(v);
        };
        match sign(r, conf, bucket) {
            Ok(value) => {
                // SAFETY: request pool allocation of value.len() bytes.
                let p = unsafe { ngx_pnalloc((*r).pool, value.len().max(1)) } as *mut u8;
                if p.is_null() {
                    return NGX_ERROR as ngx_int_t;
                }
                // SAFETY: p has room for value.
                unsafe { ptr::copy_nonoverlapping(value.as_ptr(), p, value.len()) };
                set_value(v, p, value.len());
                NGX_OK as ngx_int_t
            }
            Err(msg) => {
                // Fails the proxied request with 500; the reason never holds a secret.
                request_error(r, format_args!("{msg}"));
                NGX_ERROR as ngx_int_t
            }
        }
    };
    std::panic::catch_unwind(run).unwrap_or(NGX_ERROR as ngx_int_t)
}

fn sign(r: *mut ngx_http_request_t, conf: &LocConf, bucket: &s3::Bucket) -> Result<String, String> {
    let cv = conf
        .s3_key
        .ok_or("\"image_resize_rs_s3_bucket\" is set but \"image_resize_rs_s3_key\" is not")?;
    let key = eval(r, cv).ok_or("cannot evaluate \"image_resize_rs_s3_key\"")?;
    let key = String::from_utf8(key).map_err(|_| "object key is not valid UTF-8")?;
    if key.is_empty() {
        return Err("\"image_resize_rs_s3_key\" is empty for this request".into());
    }

    let creds = match conf.s3_credentials.as_ref() {
        Some(CredentialSource::Static(c)) => c.clone(),
        Some(CredentialSource::Variables(id, secret, token)) => {
            let id = eval(r, *id).map(text).unwrap_or_default();
            let secret = eval(r, *secret).map(text).unwrap_or_default();
            let token = token
                .and_then(|t| eval(r, t))
                .map(text)
                .filter(|t| !t.is_empty());
            Credentials::new(id, secret, token)
                .map_err(|e| format!("\"image_resize_rs_s3_credentials\" at request time: {e}"))?
        }
        None => return Err("no S3 credentials configured".into()),
    };

    let host = bucket.host_header();
    let path = bucket.path(&key);
    let region = conf.s3_region.as_deref().unwrap_or("us-east-1");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(ngx_time().max(0) as u64);
    // Always GET: the filter needs the body even for a client's HEAD
    // (configure `proxy_method GET;`, as conf/nginx.conf does).
    let signed = s3::sign("GET", &host, &path, "", region, &creds, now)
        .map_err(|e| format!("S3 request signing failed: {e}"))?;
    request_debug(r, format_args!("signed GET {host}{path} for {region}"));

    let mut out = String::with_capacity(512);
    out.push_str(&bucket.url(&key));
    for field in [
        signed.authorization.as_str(),
        signed.x_amz_date.as_str(),
        signed.x_amz_content_sha256.as_str(),
        signed.x_amz_security_token.as_deref().unwrap_or(""),
        host.as_str(),
        path.as_str(),
    ] {
        out.push('\n');
        out.push_str(field);
    }
    Ok(out)
}
