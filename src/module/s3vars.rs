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
//!
//! The variables themselves are declared in [`super::vars`]' table; this
//! file signs and memoises.

use core::ptr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, SystemTime};

use ngx::collections::Vec as PoolVec;
use ngx::ffi::{ngx_time, ngx_variable_value_t};
use ngx::http::{HttpModuleLocationConf, Request};
use zeroize::Zeroizing;

use super::conf::{Complex, CredentialSource, LocConf};
use super::log::{request_debug, request_error};
use super::Module;
use crate::s3::{self, Credentials};

/// Fields of the signed value, in order; the data of each public variable.
pub(crate) const URL: usize = 0;
pub(crate) const AUTHORIZATION: usize = 1;
pub(crate) const DATE: usize = 2;
pub(crate) const CONTENT_SHA256: usize = 3;
pub(crate) const SECURITY_TOKEN: usize = 4;
pub(crate) const HOST: usize = 5;
pub(crate) const PATH: usize = 6;

/// The memo variable's index in `r->variables` (set at preconfiguration).
pub(crate) static MEMO_INDEX: AtomicIsize = AtomicIsize::new(-1);

/// Field `field` of this request's signature; `Ok(None)` where no bucket or
/// no key applies; `Err` once logged (the proxied request then fails with
/// 500; the reason never holds a secret).
pub(crate) fn field(r: &mut Request, field: usize) -> Result<Option<&[u8]>, ()> {
    let skip = match signed(r) {
        Ok(Some(skip)) => skip,
        Ok(None) => return Ok(None),
        Err(msg) => {
            request_error(r, format_args!("{msg}"));
            return Err(());
        }
    };
    let all = memo_slot(r).map_or(&[][..], |slot| slot.as_bytes());
    Ok(all
        .get(skip..)
        .and_then(|all| all.split(|&b| b == b'\n').nth(field)))
}

fn eval(r: &Request, cv: Complex) -> Option<Vec<u8>> {
    cv.get(r).map(|s| s.as_bytes().to_vec())
}

/// A secret evaluated from variables: the copy is zeroed when dropped.
fn eval_secret(r: &Request, cv: Complex) -> Zeroizing<String> {
    Zeroizing::new(
        cv.get(r)
            .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned())
            .unwrap_or_default(),
    )
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// The memo's tag: which request, location and key its signature is for.
fn tag(r: &Request, conf: &LocConf, key: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(24 + key.len());
    t.extend_from_slice(&(ptr::from_ref(r) as usize).to_ne_bytes());
    t.extend_from_slice(&(ptr::from_ref(conf) as usize).to_ne_bytes());
    t.extend_from_slice(&key.len().to_ne_bytes());
    t.extend_from_slice(key);
    t
}

/// The memo's slot in this request's `r->variables`.
fn memo_slot(r: &mut Request) -> Option<&mut ngx_variable_value_t> {
    let index = usize::try_from(MEMO_INDEX.load(Ordering::Relaxed)).ok()?;
    // SAFETY: index is the memo variable's, which nginx counted when it
    // allocated r->variables; no one else reads or writes this slot (its
    // name cannot be referenced), and the borrow of r keeps it unique here.
    unsafe { r.as_mut().variables.add(index).as_mut() }
}

fn memo_hit(slot: &ngx_variable_value_t, tag: &[u8]) -> bool {
    slot.valid() != 0 && slot.not_found() == 0 && slot.as_bytes().starts_with(tag)
}

/// Makes sure the memo holds this request's signed fields
/// (`url\nauthorization\n...`, after the tag): kept when its tag matches,
/// else signed now and memoised. `Ok(Some(n))`: the fields start at byte
/// `n` of the memo; `Ok(None)` where no bucket or no key applies.
fn signed(r: &mut Request) -> Result<Option<usize>, String> {
    let Some(conf) = Module::location_conf(r) else {
        return Ok(None);
    };
    let (Some(bucket), Some(cv)) = (conf.s3.as_ref(), conf.s3_key) else {
        return Ok(None);
    };
    let key = eval(r, cv).ok_or("cannot evaluate \"image_resize_rs_s3_key\"")?;
    let tag = tag(r, conf, &key);

    if memo_slot(r).is_some_and(|slot| memo_hit(slot, &tag)) {
        return Ok(Some(tag.len()));
    }

    let value = sign(r, conf, bucket, key)?;
    let len = tag.len() + value.len();
    if len >= 1 << 28 {
        return Err("signed value too long".into());
    }
    // The request pool is shared with subrequests and lives as long as the
    // main request.
    let mut memo = PoolVec::new_in(r.pool());
    memo.try_reserve_exact(len)
        .map_err(|_| "out of memory".to_string())?;
    memo.extend_from_slice(&tag);
    memo.extend_from_slice(value.as_bytes());
    let memo: &[u8] = memo.leak();
    let slot = memo_slot(r).ok_or("no memo slot")?;
    slot.set_len(len as u32);
    slot.data = memo.as_ptr().cast_mut();
    slot.set_valid(1);
    slot.set_no_cacheable(0);
    slot.set_not_found(0);
    Ok(Some(tag.len()))
}

fn sign(
    r: &mut Request,
    conf: &LocConf,
    bucket: &s3::Bucket,
    key: Vec<u8>,
) -> Result<String, String> {
    let key = String::from_utf8(key).map_err(|_| "object key is not valid UTF-8")?;
    s3::Bucket::check_key(&key)
        .map_err(|why| format!("\"image_resize_rs_s3_key\" for this request: {why}"))?;

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
