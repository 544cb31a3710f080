//! The SigV4 signing key: HMAC-SHA256 and the key derivation chain. Shared by
//! `sign` (which signs with it) and `credentials` (which caches it per day and
//! region), so that neither has to import the other.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The AWS service name in the credential scope.
pub(crate) const SERVICE: &str = "s3";

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`; the result is zeroed on drop.
pub(crate) fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The SigV4 signing key for one day, region and the S3 service:
/// HMAC chain from `AWS4` + secret. Every intermediate is zeroed on drop.
pub(crate) fn derive_signing_key(secret: &str, date: &str, region: &str) -> Zeroizing<[u8; 32]> {
    let mut k_secret = Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date[..], region.as_bytes());
    let k_service = hmac(&k_region[..], SERVICE.as_bytes());
    hmac(&k_service[..], b"aws4_request")
}
