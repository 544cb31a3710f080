//! Signed URLs: `image_resize_rs_sign_key` and `image_resize_rs_sign`.
//!
//! A URL is signed with HMAC-SHA256 over its path (the raw path as sent,
//! up to `?`), or over `path "\n" expires` when the location configures an
//! expiry; the signature travels base64url-encoded without padding (usually
//! as `?sig=`). Pure: the directive arguments are parsed here, and
//! [`verify`] decides a request with the clock passed in; the access-phase
//! glue is `src/module/sign.rs`.
//!
//! The same signature from a shell (`scripts/sign-url` does this):
//! `printf '%s' "$path" | openssl dgst -sha256 -hmac "$KEY" -binary | basenc --base64url | tr -d =`

use core::fmt;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::value::{self, ValueError};

/// The length of a base64url HMAC-SHA256 without padding (32 bytes).
pub const SIGNATURE_LEN: usize = 43;

/// A signing key: the raw bytes of the directive's string (or of the
/// file's contents), zeroed when dropped and never printed.
#[derive(Clone)]
pub struct Key(Zeroizing<Vec<u8>>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length (a long one is hashed first).
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }
}

/// What is wrong with an `image_resize_rs_sign_key` argument. Never holds
/// the key itself.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("key is empty")]
    Empty,
    #[error("has an empty \"file=\"")]
    NoFile,
    #[error("cannot read key file \"{0}\": {1}")]
    Read(String, String),
    #[error("key file \"{0}\" is empty")]
    EmptyFile(String),
}

/// `image_resize_rs_sign_key key | file=path;`: the key's bytes, or those
/// of the file (read now, at configuration load; its trailing newline
/// trimmed). `resolve` makes the file's name a path (nginx's
/// `ngx_conf_full_name`: a relative one is relative to the configuration
/// prefix); the errors name that path.
pub fn parse_key(arg: &[u8], resolve: impl FnOnce(&Path) -> PathBuf) -> Result<Key, KeyError> {
    let Some(name) = key_file(arg) else {
        if arg.is_empty() {
            return Err(KeyError::Empty);
        }
        return Ok(Key(Zeroizing::new(arg.to_vec())));
    };
    if name.is_empty() {
        return Err(KeyError::NoFile);
    }
    let path = resolve(Path::new(OsStr::from_bytes(name)));
    let shown = || path.display().to_string();
    let read = std::fs::read(&path).map_err(|e| KeyError::Read(shown(), e.to_string()))?;
    let mut bytes = Zeroizing::new(read);
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(KeyError::EmptyFile(shown()));
    }
    Ok(Key(bytes))
}

/// The path of a `file=path` argument, as written; `None` for an inline key.
fn key_file(arg: &[u8]) -> Option<&[u8]> {
    arg.strip_prefix(b"file=")
}

/// One `image_resize_rs_sign ...;` line, values still raw (they usually
/// hold variables).
#[derive(Debug, PartialEq, Eq)]
pub enum SignArgs<'a> {
    Off,
    On {
        signature: &'a [u8],
        expires: Option<&'a [u8]>,
    },
}

/// `image_resize_rs_sign off | value [expires=value];`
pub fn parse_sign_args<'a>(args: &[&'a [u8]]) -> Result<SignArgs<'a>, ValueError> {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match args {
        [b"off"] => Ok(SignArgs::Off),
        [b"off", extra] => Err(ValueError::InvalidParameter(lossy(extra))),
        [signature] | [signature, _] if signature.is_empty() => {
            Err(ValueError::InvalidValue(String::new()))
        }
        [signature] => Ok(SignArgs::On {
            signature,
            expires: None,
        }),
        [signature, param] => match param.strip_prefix(b"expires=") {
            Some(b"") => Err(ValueError::InvalidValue(lossy(param))),
            Some(expires) => Ok(SignArgs::On {
                signature,
                expires: Some(expires),
            }),
            None => Err(ValueError::InvalidParameter(lossy(param))),
        },
        _ => Err(ValueError::Arity),
    }
}

/// Why a request is refused (403): the text after `image_resize_rs: ` in
/// its one error-log line. Never holds a key or the expected signature.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("signature missing")]
    Missing,
    #[error("signature invalid")]
    Invalid,
    #[error("expires value missing")]
    ExpiresMissing,
    #[error("expires value invalid")]
    ExpiresInvalid,
    #[error("URL expired at {0}")]
    Expired(u64),
}

impl Refusal {
    /// Its `reason` in the metrics (`crate::metrics::SIGNATURE_REASONS`).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Invalid => "invalid",
            Refusal::ExpiresMissing => "expires_missing",
            Refusal::ExpiresInvalid => "expires_invalid",
            Refusal::Expired(_) => "expired",
        }
    }
}

/// What a request brings to be checked.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    /// The raw path as sent ([`path_of`]).
    pub path: &'a [u8],
    /// The signature's value (`$arg_sig`); empty when absent.
    pub signature: &'a [u8],
    /// The expiry's value (`$arg_expires`) when `expires=` is configured
    /// (`Some(b"")` when the request has none); `None` when it is not.
    pub expires: Option<&'a [u8]>,
}

/// The part of a raw request URI (`r->unparsed_uri`) that is signed: the
/// path, up to the query.
pub fn path_of(unparsed_uri: &[u8]) -> &[u8] {
    match memchr::memchr(b'?', unparsed_uri) {
        Some(q) => &unparsed_uri[..q],
        None => unparsed_uri,
    }
}

/// Feeds the signed message: `path`, or `path "\n" expires`.
fn message(mut mac: Hmac<Sha256>, path: &[u8], expires: Option<&[u8]>) -> Hmac<Sha256> {
    mac.update(path);
    if let Some(e) = expires {
        mac.update(b"\n");
        mac.update(e);
    }
    mac
}

/// The signature of `path` (and `expires`) with `key`: base64url, no padding.
pub fn sign(key: &Key, path: &[u8], expires: Option<&[u8]>) -> String {
    let tag = message(key.mac(), path, expires).finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(tag)
}

/// Accepts the request when its signature is one of `keys`' over its path
/// (and expiry), and the expiry, if configured, is not past `now` (Unix
/// seconds). The tags are compared in constant time.
pub fn verify(keys: &[Key], req: &Signed<'_>, now: u64) -> Result<(), Refusal> {
    if req.signature.is_empty() {
        return Err(Refusal::Missing);
    }
    let expires = match req.expires {
        None => None,
        Some(b"") => return Err(Refusal::ExpiresMissing),
        Some(e) => Some((e, value::parse_decimal(e).ok_or(Refusal::ExpiresInvalid)?)),
    };
    if req.signature.len() != SIGNATURE_LEN {
        return Err(Refusal::Invalid);
    }
    // Strict base64url: no padding, no other alphabet, canonical last bits.
    let tag = URL_SAFE_NO_PAD
        .decode(req.signature)
        .map_err(|_| Refusal::Invalid)?;
    let raw_expires = expires.map(|(raw, _)| raw);
    let good = keys.iter().any(|k| {
        message(k.mac(), req.path, raw_expires)
            .verify_slice(&tag)
            .is_ok()
    });
    if !good {
        return Err(Refusal::Invalid);
    }
    match expires {
        Some((_, at)) if now > at => Err(Refusal::Expired(at)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Key {
        parse_key(k.as_bytes(), |_| unreachable!()).unwrap()
    }

    const PATH: &[u8] = b"/img/300x200/photo.jpg";
    // printf '%s' '/img/300x200/photo.jpg' | openssl dgst -sha256 -hmac 'secret-key' -binary | basenc --base64url | tr -d =
    const SIG: &str = "WXYZYDNqLuB9K8GdysliK6rbwyRhivK5uvlEAzc06Dc";
    // printf '%s\n%s' '/img/300x200/photo.jpg' 1700000000 | openssl dgst -sha256 -hmac 'secret-key' -binary | basenc --base64url | tr -d =
    const SIG_EXPIRES: &str = "INXkDvZ-l7a9Sgva55W3iMxIZUrB7Kj5MrS40TDVdTw";

    fn signed<'a>(sig: &'a str, expires: Option<&'a str>) -> Signed<'a> {
        Signed {
            path: PATH,
            signature: sig.as_bytes(),
            expires: expires.map(str::as_bytes),
        }
    }

    #[test]
    fn openssl_vectors() {
        let keys = [key("secret-key")];
        assert_eq!(sign(&keys[0], PATH, None), SIG);
        assert_eq!(sign(&keys[0], PATH, Some(b"1700000000")), SIG_EXPIRES);
        assert_eq!(verify(&keys, &signed(SIG, None), 0), Ok(()));
        let e = signed(SIG_EXPIRES, Some("1700000000"));
        assert_eq!(verify(&keys, &e, 1_700_000_000), Ok(()));
        assert_eq!(
            verify(&keys, &e, 1_700_000_001),
            Err(Refusal::Expired(1_700_000_000))
        );
    }

    #[test]
    fn refusals() {
        let keys = [key("secret-key")];
        let check = |sig: &str, exp: Option<&str>| verify(&keys, &signed(sig, exp), 0);
        assert_eq!(check("", None), Err(Refusal::Missing));
        assert_eq!(check(&SIG[..42], None), Err(Refusal::Invalid));
        assert_eq!(check(&format!("{SIG}="), None), Err(Refusal::Invalid));
        assert_eq!(check(&format!("{SIG}A"), None), Err(Refusal::Invalid));
        // '+' and '/' are base64, not base64url.
        let std_alphabet = SIG_EXPIRES.replace('-', "+");
        assert_ne!(std_alphabet, SIG_EXPIRES);
        let e = Some("1700000000");
        assert_eq!(check(SIG_EXPIRES, e), Ok(()));
        assert_eq!(check(&std_alphabet, e), Err(Refusal::Invalid));
        assert_eq!(check(&"!".repeat(43), None), Err(Refusal::Invalid));
        // the last character carries 4 bits: a non-canonical one is refused
        let mut noncanonical = SIG[..42].to_string();
        noncanonical.push('d');
        assert_eq!(check(&noncanonical, None), Err(Refusal::Invalid));
        // a valid signature of another path, or with an expiry it lacks
        assert_eq!(check(SIG_EXPIRES, None), Err(Refusal::Invalid));
        assert_eq!(check(SIG, Some("1700000000")), Err(Refusal::Invalid));
        // the expiry is required, decimal, and signed
        assert_eq!(check(SIG_EXPIRES, Some("")), Err(Refusal::ExpiresMissing));
        assert_eq!(check(SIG_EXPIRES, Some("-1")), Err(Refusal::ExpiresInvalid));
        assert_eq!(
            check(SIG_EXPIRES, Some("17e8")),
            Err(Refusal::ExpiresInvalid)
        );
        assert_eq!(
            check(SIG_EXPIRES, Some("99999999999999999999")),
            Err(Refusal::ExpiresInvalid)
        );
        assert_eq!(
            check(SIG_EXPIRES, Some("1700000001")),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            check(SIG_EXPIRES, Some("01700000000")),
            Err(Refusal::Invalid)
        );
        // no keys: nothing verifies
        assert_eq!(verify(&[], &signed(SIG, None), 0), Err(Refusal::Invalid));
    }

    #[test]
    fn any_key_of_the_list() {
        let keys = [key("new-key"), key("secret-key")];
        assert_eq!(verify(&keys, &signed(SIG, None), 0), Ok(()));
        assert_eq!(
            verify(&keys[..1], &signed(SIG, None), 0),
            Err(Refusal::Invalid)
        );
    }

    #[test]
    fn messages() {
        assert_eq!(Refusal::Missing.to_string(), "signature missing");
        assert_eq!(Refusal::Invalid.to_string(), "signature invalid");
        assert_eq!(Refusal::ExpiresInvalid.to_string(), "expires value invalid");
        assert_eq!(Refusal::Expired(5).to_string(), "URL expired at 5");
        for r in [
            Refusal::Missing,
            Refusal::Invalid,
            Refusal::ExpiresMissing,
            Refusal::ExpiresInvalid,
            Refusal::Expired(1),
        ] {
            assert!(crate::metrics::SIGNATURE_REASONS.contains(&r.code()), "{r}");
        }
    }

    #[test]
    fn path() {
        assert_eq!(path_of(b"/a/b.jpg?sig=x&expires=1"), b"/a/b.jpg");
        assert_eq!(path_of(b"/a/b%20c.jpg"), b"/a/b%20c.jpg");
        assert_eq!(path_of(b"/?"), b"/");
    }

    #[test]
    fn keys() {
        assert_eq!(
            parse_key(b"", |_| unreachable!()).unwrap_err(),
            KeyError::Empty
        );
        assert_eq!(
            parse_key(b"file=", |_| unreachable!()).unwrap_err(),
            KeyError::NoFile
        );
        let dir = std::env::temp_dir().join(format!("irs-sign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let in_dir = |p: &Path| dir.join(p);
        std::fs::write(dir.join("k"), b"secret-key\r\n").unwrap();
        std::fs::write(dir.join("empty"), b"\n").unwrap();
        let k = parse_key(b"file=k", in_dir).unwrap();
        assert_eq!(sign(&k, PATH, None), SIG);
        let shown = |name: &str| dir.join(name).display().to_string();
        assert_eq!(
            parse_key(b"file=empty", in_dir).unwrap_err(),
            KeyError::EmptyFile(shown("empty"))
        );
        let err = parse_key(b"file=nope", in_dir).unwrap_err().to_string();
        let want = format!("cannot read key file \"{}\": ", shown("nope"));
        assert!(err.starts_with(&want), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        // the key never shows
        assert_eq!(format!("{:?}", key("secret-key")), "Key(..)");
        assert_eq!(key_file(b"file=k"), Some(&b"k"[..]));
        assert_eq!(key_file(b"k"), None);
    }

    #[test]
    fn sign_args() {
        assert_eq!(parse_sign_args(&[b"off"]), Ok(SignArgs::Off));
        assert_eq!(
            parse_sign_args(&[b"$arg_sig"]),
            Ok(SignArgs::On {
                signature: b"$arg_sig",
                expires: None
            })
        );
        assert_eq!(
            parse_sign_args(&[b"$arg_sig", b"expires=$arg_e"]),
            Ok(SignArgs::On {
                signature: b"$arg_sig",
                expires: Some(b"$arg_e")
            })
        );
        assert_eq!(
            parse_sign_args(&[b"$arg_sig", b"expires="]),
            Err(ValueError::InvalidValue("expires=".into()))
        );
        assert_eq!(
            parse_sign_args(&[b"$arg_sig", b"expiry=$arg_e"]),
            Err(ValueError::InvalidParameter("expiry=$arg_e".into()))
        );
        assert_eq!(
            parse_sign_args(&[b"off", b"expires=$arg_e"]),
            Err(ValueError::InvalidParameter("expires=$arg_e".into()))
        );
        assert_eq!(
            parse_sign_args(&[b""]),
            Err(ValueError::InvalidValue(String::new()))
        );
        assert_eq!(parse_sign_args(&[]), Err(ValueError::Arity));
    }
}
