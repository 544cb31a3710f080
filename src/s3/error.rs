//! Error types for the S3 part.
//!
//! Messages are written to read well after a directive name in `nginx -t`
//! output, e.g. `image_resize_rs_s3_endpoint: invalid endpoint "ftp://x":
//! scheme must be http or https`. No message ever contains a secret: the
//! credential variants carry only a static reason.

/// A bad configuration value (endpoint, bucket, addressing, region or
/// credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The `image_resize_rs_s3_endpoint` value.
    #[error("invalid endpoint {value:?}: {reason}")]
    Endpoint { value: String, reason: &'static str },
    /// The `image_resize_rs_s3_bucket` value.
    #[error("invalid bucket name {value:?}: {reason}")]
    Bucket { value: String, reason: &'static str },
    /// The `image_resize_rs_s3_addressing` value.
    #[error("invalid addressing {value:?}: must be \"path\" or \"virtual\"")]
    Addressing { value: String },
    /// The `image_resize_rs_s3_region` value.
    #[error("invalid region {value:?}: {reason}")]
    Region { value: String, reason: &'static str },
    /// Credentials. Never carries the offending value.
    #[error("invalid credentials: {reason}")]
    Credentials { reason: &'static str },
}

/// Signing failed. The inputs are not echoed back (they may be attacker
/// controlled and long); only a static reason or aws-sigv4's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// An argument to [`sign`](super::sign) is not signable as given.
    #[error("cannot sign request: invalid {what}: {reason}")]
    InvalidInput {
        what: &'static str,
        reason: &'static str,
    },
    /// The clock is before 1970 or after 9999-12-31.
    #[error("cannot sign request: time is outside 1970..=9999")]
    TimeOutOfRange,
    /// aws-sigv4 refused to sign.
    #[error("SigV4 signing failed: {0}")]
    Signer(String),
}
