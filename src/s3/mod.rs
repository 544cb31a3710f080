//! S3 addressing and SigV4 request signing. Pure Rust, no nginx, no clock:
//! the signing time is passed in.
//!
//! Typical use from the nginx glue:
//!
//! ```
//! use image_resize_rs::s3::{sign, Addressing, Bucket, Credentials, Endpoint, validate_region};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! // Configuration time.
//! let endpoint = Endpoint::parse("http://127.0.0.1:9000")?;
//! let bucket = Bucket::new(endpoint, "photos", Addressing::parse("path")?)?;
//! validate_region("us-east-1")?;
//! let creds = Credentials::new("minioadmin", "minioadmin", None)?;
//!
//! // Request time.
//! let key = "holiday/beach 1.jpg";
//! let url = bucket.url(key);             // for proxy_pass
//! assert_eq!(url, "http://127.0.0.1:9000/photos/holiday/beach%201.jpg");
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let h = sign("GET", &bucket.host_header(), &bucket.path(key), "", "us-east-1", &creds, now)?;
//! assert_eq!(h.x_amz_date, "20231114T221320Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod credentials;
mod encode;
mod endpoint;
mod error;
mod sign;

pub use credentials::Credentials;
pub use encode::uri_encode_key;
pub use endpoint::{validate_region, Addressing, Bucket, Endpoint, MAX_KEY_LEN};
pub use error::{ConfigError, SignError};
pub use sign::{sign, SignedHeaders, EMPTY_PAYLOAD_SHA256};
