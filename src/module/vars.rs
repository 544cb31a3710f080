//! The module's variables: one table, registered by one loop at
//! preconfiguration (the shape of nginx-acme's `src/variables.rs`), one
//! `extern "C"` get handler that looks the getter up by its table index,
//! and safe getters.
//!
//! - `$image_resize_rs_status`, `_time`, `_in`, `_out`, `_source`: what the
//!   filter did with this request, for `log_format`. Read from the request's
//!   own context (reset by internal redirects, separate for each subrequest).
//! - `$image_resize_rs_format`: the output-format token this request
//!   negotiates (`avif`, `webp`, `orig`, or the forced `jpeg`/`png`/...),
//!   from the request alone where the filter has not evaluated it — a front
//!   `proxy_cache_key` including it keeps one entry per format, not one per
//!   Accept string.
//! - `$image_resize_rs_key`: that token and the box the request is
//!   answered with (after the DPR, the client's width and the ladder):
//!   the rest of a front cache key that no URL size or hint header splits.
//! - `$image_resize_rs_s3_*`: what `proxy_pass` and `proxy_set_header` need
//!   to fetch a private object with SigV4 ([`super::s3vars`]), and the
//!   hidden slot that memoises the signature.
//!
//! None is cacheable: `r->variables` survives internal redirects and is
//! shared with subrequests, whose location may configure other values.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicIsize, Ordering};

use ngx::collections::Vec as PoolVec;
use ngx::core::Pool;
use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_get_variable_index, ngx_http_request_t, ngx_int_t,
    ngx_str_t, ngx_uint_t, ngx_variable_value_t, NGX_ERROR, NGX_HTTP_VAR_NOCACHEABLE,
    NGX_HTTP_VAR_NOHASH, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, Request};

use super::filter::{self, Stats};
use super::{eval, s3vars, Module};

/// What a getter found.
pub(crate) enum Found<'a> {
    /// Not set for this request (an empty string in logs, `-` in access logs).
    Not,
    /// A static string.
    Static(&'static str),
    /// Bytes already in the request pool.
    InPool(&'a [u8]),
    /// A value to copy into the request pool.
    Text(String),
}

/// A getter failed (already logged); nginx fails the request's use of it.
pub(crate) struct Failed;

type Getter = for<'a> fn(&'a mut Request, usize) -> Result<Found<'a>, Failed>;

struct Variable {
    name: &'static str,
    flags: u32,
    get: Getter,
    /// Passed to `get`.
    data: usize,
    /// Where to keep the variable's index in `r->variables`, if it needs one.
    index: Option<&'static AtomicIsize>,
}

const fn var(name: &'static str, get: Getter, data: usize) -> Variable {
    Variable {
        name,
        flags: NGX_HTTP_VAR_NOCACHEABLE,
        get,
        data,
        index: None,
    }
}

const STATUS: usize = 0;
const TIME: usize = 1;
const IN: usize = 2;
const OUT: usize = 3;
const SOURCE: usize = 4;

static VARIABLES: [Variable; 15] = [
    var("image_resize_rs_s3_url", s3_field, s3vars::URL),
    var(
        "image_resize_rs_s3_authorization",
        s3_field,
        s3vars::AUTHORIZATION,
    ),
    var("image_resize_rs_s3_date", s3_field, s3vars::DATE),
    var(
        "image_resize_rs_s3_content_sha256",
        s3_field,
        s3vars::CONTENT_SHA256,
    ),
    var(
        "image_resize_rs_s3_security_token",
        s3_field,
        s3vars::SECURITY_TOKEN,
    ),
    var("image_resize_rs_s3_host", s3_field, s3vars::HOST),
    var("image_resize_rs_s3_path", s3_field, s3vars::PATH),
    // The memo's slot in r->variables. ':' cannot appear in a variable
    // reference, so no configuration (log_format included) can name it.
    Variable {
        name: "image_resize_rs_s3_signed:memo",
        flags: NGX_HTTP_VAR_NOHASH,
        get: nothing,
        data: 0,
        index: Some(&s3vars::MEMO_INDEX),
    },
    var("image_resize_rs_status", stats, STATUS),
    var("image_resize_rs_time", stats, TIME),
    var("image_resize_rs_in", stats, IN),
    var("image_resize_rs_out", stats, OUT),
    var("image_resize_rs_source", stats, SOURCE),
    var("image_resize_rs_format", format, 0),
    var("image_resize_rs_key", key, 0),
];

/// preconfiguration: declare the variables (`Err` is logged by nginx).
pub(crate) fn add_variables(cf: &mut ngx_conf_t) -> Result<(), Failed> {
    for (i, var) in VARIABLES.iter().enumerate() {
        let mut name = ngx_str_t {
            len: var.name.len(),
            data: var.name.as_ptr().cast_mut(),
        };
        // SAFETY: cf is the configuration being parsed; nginx copies the
        // name (it only reads the static bytes), returns its variable and,
        // for an indexed one, sizes every request's r->variables to hold it.
        let (v, index) = unsafe {
            let v = ngx_http_add_variable(cf, &mut name, var.flags as ngx_uint_t).as_mut();
            let index = match var.index {
                Some(_) if v.is_some() => ngx_http_get_variable_index(cf, &mut name),
                _ => 0,
            };
            (v, index)
        };
        let v = v.ok_or(Failed)?;
        v.get_handler = Some(get_variable);
        v.data = i;
        if let Some(slot) = var.index {
            if index == NGX_ERROR as ngx_int_t {
                return Err(Failed);
            }
            slot.store(index, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// The get handler of every variable in [`VARIABLES`]; `data` is its index.
unsafe extern "C" fn get_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_variable_value_t,
    data: usize,
) -> ngx_int_t {
    let run = || {
        // SAFETY: nginx calls a get handler with a live request and the value
        // to fill (the request's slot or a fresh one), not aliased by `r`.
        let (r, v) = unsafe { (Request::from_ngx_http_request(r), &mut *v) };
        let var = VARIABLES.get(data).ok_or(Failed)?;
        let pool = r.pool();
        let found = (var.get)(r, var.data)?;
        set_value(&pool, v, found, var.flags & NGX_HTTP_VAR_NOCACHEABLE != 0)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(())) => NGX_OK as ngx_int_t,
        _ => NGX_ERROR as ngx_int_t,
    }
}

/// Fills a variable's value: a static string as it is, anything else from
/// the request pool.
fn set_value(
    pool: &Pool,
    v: &mut ngx_variable_value_t,
    found: Found<'_>,
    no_cacheable: bool,
) -> Result<(), Failed> {
    let bytes: &[u8] = match found {
        Found::Not => {
            v.set_not_found(1);
            return Ok(());
        }
        Found::Static(s) => s.as_bytes(),
        Found::InPool(b) => b,
        Found::Text(s) => pool_copy(pool, s.as_bytes())?,
    };
    // nginx keeps a value's length in 28 bits.
    if bytes.len() >= 1 << 28 {
        return Err(Failed);
    }
    v.set_len(bytes.len() as u32);
    v.data = bytes.as_ptr().cast_mut();
    v.set_valid(1);
    v.set_no_cacheable(no_cacheable.into());
    v.set_not_found(0);
    Ok(())
}

/// A copy of `bytes` in the request pool, freed with it.
fn pool_copy<'a>(pool: &'a Pool, bytes: &[u8]) -> Result<&'a [u8], Failed> {
    let mut copy = PoolVec::new_in(pool.clone());
    copy.try_reserve_exact(bytes.len()).map_err(|_| Failed)?;
    copy.extend_from_slice(bytes);
    Ok(copy.leak())
}

/// `$image_resize_rs_status`, `_time`, `_in`, `_out`, `_source`.
fn stats(r: &mut Request, field: usize) -> Result<Found<'_>, Failed> {
    let text = filter::ctx(r).and_then(|ctx| stats_text(&ctx.stats(), field));
    Ok(text.map_or(Found::Not, Found::Text))
}

fn stats_text(st: &Stats, field: usize) -> Option<String> {
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

/// `$image_resize_rs_format`: the token the filter evaluated for this
/// request, else computed from the request and its location now.
fn format(r: &mut Request, _: usize) -> Result<Found<'_>, Failed> {
    let token = match filter::ctx(r) {
        Some(ctx) => ctx.token(),
        None => Module::location_conf(r).and_then(|conf| eval::format_token(conf, r)),
    };
    Ok(token.map_or(Found::Not, |t| Found::Static(t.as_str())))
}

/// `$image_resize_rs_key`: the format and box this request is answered
/// with ([`crate::delivery::Answer::key`]), as the filter evaluated it, else
/// computed from the request and its location now.
fn key(r: &mut Request, _: usize) -> Result<Found<'_>, Failed> {
    let key = match filter::ctx(r) {
        Some(ctx) => ctx.key(),
        None => Module::location_conf(r).and_then(|conf| eval::key(conf, r)),
    };
    Ok(key.map_or(Found::Not, Found::Text))
}

/// `$image_resize_rs_s3_*`: a field of the request's signature.
fn s3_field(r: &mut Request, field: usize) -> Result<Found<'_>, Failed> {
    match s3vars::field(r, field) {
        Ok(Some(value)) => Ok(Found::InPool(value)),
        // No bucket or no key here: nothing to sign, and nothing to log.
        Ok(None) => Ok(Found::Not),
        Err(()) => Err(Failed),
    }
}

/// The hidden memo variable itself gives nothing: only
/// [`s3vars::field`] reads its slot.
fn nothing(_: &mut Request, _: usize) -> Result<Found<'_>, Failed> {
    Ok(Found::Not)
}
