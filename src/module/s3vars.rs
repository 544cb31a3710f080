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
//! proxy_pass sends are exactly the ones signed.
//!
//! One signature serves all the variables of a request, so all headers carry
//! the same timestamp. It is memoised in the request's slot of a hidden
//! variable, tagged with the request, the location configuration and the
//! evaluated key: nginx keeps `r->variables` across internal redirects
//! (`error_page 404 = @placeholder` with another key) and shares it with
//! subrequests (SSI `include virtual`), so a memo whose tag does not match is
//! signed again. The public variables are not cacheable for the same reason.
//! The hidden variable's name cannot be written in a configuration (`:` is
//! not a variable-name character), so `log_format` cannot name it.

use core::ptr;
use std::time::{Duration, SystemTime};

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_complex_value, ngx_http_complex_value_t,
    ngx_http_get_variable_index, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t,
    ngx_pnalloc, ngx_str_t, ngx_time, NGX_ERROR, NGX_HTTP_VAR_NOCACHEABLE, NGX_HTTP_VAR_NOHASH,
    NGX_OK,
};
use ngx::http::HttpModuleLocationConf;
use ngx::ngx_string;
use zeroize::Zeroizing;

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
        // Not cacheable: r->variables outlives the location and key it was
        // computed for (see the module comment).
        // SAFETY: cf is the configuration being parsed; name is static.
        let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOCACHEABLE as _) };
        if v.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        // SAFETY: v was just returned by nginx.
        unsafe {
            (*v).get_handler = Some(field_variable);
            (*v).data = field;
        }
    }
    // The memo's slot in r->variables. ':' cannot appear in a variable
    // reference, so no configuration (log_format included) can name it.
    let mut name = ngx_string!("image_resize_rs_s3_signed:memo");
    // SAFETY: as above.
    let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOHASH as _) };
    if v.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: as above; the index is read only at request time.
    unsafe {
        (*v).get_handler = Some(memo_variable);
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
    let run = || match signed(r) {
        Ok(Some(all)) => match all.split(|&b| b == b'\n').nth(data) {
            Some(f) => {
                set_value(v, f.as_ptr(), f.len());
                NGX_OK as ngx_int_t
            }
            None => not_found(v),
        },
        // No bucket or no key here: nothing to sign, and nothing to log.
        Ok(None) => not_found(v),
        Err(msg) => {
            // Fails the proxied request with 500; the reason never holds a secret.
            // SAFETY: nginx calls variable handlers with a live request.
            request_error(
                unsafe { &*(r as *const ngx::http::Request) },
                format_args!("{msg}"),
            );
            NGX_ERROR as ngx_int_t
        }
    };
    std::panic::catch_unwind(run).unwrap_or(NGX_ERROR as ngx_int_t)
}

/// The hidden variable itself gives nothing: only [`signed`] reads its slot.
unsafe extern "C" fn memo_variable(
    _r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    not_found(v)
}

fn eval(r: *mut ngx_http_request_t, cv: *mut ngx_http_complex_value_t) -> Option<Vec<u8>> {
    let mut s = ngx_str_t::empty();
    // SAFETY: cv was compiled for this configuration; r is live.
    if unsafe { ngx_http_complex_value(r, cv, &mut s) } != NGX_OK as isize {
        return None;
    }
    Some(s.as_bytes().to_vec())
}

/// A secret evaluated from variables: the copy is zeroed when dropped.
fn eval_secret(r: *mut ngx_http_request_t, cv: *mut ngx_http_complex_value_t) -> Zeroizing<String> {
    let mut s = ngx_str_t::empty();
    // SAFETY: as in eval.
    if unsafe { ngx_http_complex_value(r, cv, &mut s) } != NGX_OK as isize {
        return Zeroizing::new(String::new());
    }
    Zeroizing::new(String::from_utf8_lossy(s.as_bytes()).into_owned())
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// The memo's tag: which request, location and key its signature is for.
fn tag(r: *mut ngx_http_request_t, conf: &LocConf, key: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(24 + key.len());
    t.extend_from_slice(&(r as usize).to_ne_bytes());
    t.extend_from_slice(&(conf as *const LocConf as usize).to_ne_bytes());
    t.extend_from_slice(&key.len().to_ne_bytes());
    t.extend_from_slice(key);
    t
}

/// The signed fields (`url\nauthorization\n...`) for this request, from the
/// memo when its tag matches, else signed now and memoised. `Ok(None)` where
/// no bucket or no key applies.
fn signed<'a>(r: *mut ngx_http_request_t) -> Result<Option<&'a [u8]>, String> {
    // SAFETY: r is live and has location configuration.
    let conf: Option<&LocConf> =
        unsafe { Module::location_conf(&*(r as *const ngx::http::Request)) };
    let Some(conf) = conf else {
        return Ok(None);
    };
    let (Some(bucket), Some(cv)) = (conf.s3.as_ref(), conf.s3_key) else {
        return Ok(None);
    };
    let key = eval(r, cv).ok_or("cannot evaluate \"image_resize_rs_s3_key\"")?;
    let tag = tag(r, conf, &key);

    // SAFETY: SIGNED_INDEX is an index into r->variables (set at
    // preconfiguration, nginx sized the array for every indexed variable).
    let slot = unsafe { &mut *(*r).variables.add(SIGNED_INDEX as usize) };
    if slot.valid() != 0 && slot.not_found() == 0 && slot.len() as usize >= tag.len() {
        // SAFETY: a valid slot holds the pool block written below.
        let memo = unsafe { core::slice::from_raw_parts(slot.data, slot.len() as usize) };
        if memo.starts_with(&tag) {
            return Ok(Some(&memo[tag.len()..]));
        }
    }

    let value = sign(r, conf, bucket, key)?;
    let len = tag.len() + value.len();
    if len >= 1 << 28 {
        return Err("signed value too long".into());
    }
    // SAFETY: request pool allocation of len bytes (the pool is shared with
    // subrequests and lives as long as the main request).
    let p = unsafe { ngx_pnalloc((*r).pool, len) } as *mut u8;
    if p.is_null() {
        return Err("out of memory".into());
    }
    // SAFETY: p has room for tag and value.
    unsafe {
        ptr::copy_nonoverlapping(tag.as_ptr(), p, tag.len());
        ptr::copy_nonoverlapping(value.as_ptr(), p.add(tag.len()), value.len());
    }
    set_value(slot, p, len);
    // SAFETY: p..p+len was just written.
    let all = unsafe { core::slice::from_raw_parts(p, len) };
    Ok(Some(&all[tag.len()..]))
}

fn sign(
    r: *mut ngx_http_request_t,
    conf: &LocConf,
    bucket: &s3::Bucket,
    key: Vec<u8>,
) -> Result<String, String> {
    let key = String::from_utf8(key).map_err(|_| "object key is not valid UTF-8")?;
    if key.is_empty() {
        return Err("\"image_resize_rs_s3_key\" is empty for this request".into());
    }

    let dynamic;
    let creds = match conf.s3_credentials.as_ref() {
        Some(CredentialSource::Static(c)) => c,
        Some(CredentialSource::Variables(id, secret, token)) => {
            let id = eval(r, *id).map(text).unwrap_or_default();
            let secret = eval_secret(r, *secret);
            let token = token
                .and_then(|t| eval(r, t))
                .map(text)
                .filter(|t| !t.is_empty());
            dynamic = Credentials::new(id, secret.as_str(), token)
                .map_err(|e| format!("\"image_resize_rs_s3_credentials\" at request time: {e}"))?;
            &dynamic
        }
        None => return Err("no S3 credentials configured".into()),
    };

    let host = bucket.host_header();
    let path = bucket.path(&key);
    let region = conf.s3_region.as_deref().unwrap_or("us-east-1");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(ngx_time().max(0) as u64);
    // Always GET: the filter needs the body even for a client's HEAD
    // (configure `proxy_method GET;`, as conf/nginx.conf does).
    let signed = s3::sign("GET", &host, &path, "", region, creds, now)
        .map_err(|e| format!("S3 request signing failed: {e}"))?;
    // SAFETY: r is the live request being signed for.
    let req = unsafe { &*(r as *const ngx::http::Request) };
    request_debug(req, format_args!("signed GET {host}{path} for {region}"));

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
