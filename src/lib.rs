//! image_resize_rs: an nginx body filter that resizes images (a drop-in
//! replacement for `ngx_http_image_filter_module`) plus SigV4 signing for
//! private S3 buckets.
//!
//! Layout:
//! - [`pipeline`]: sniff → header/limits → decode → transform → encode. Pure Rust.
//! - [`s3`]: S3 addressing and SigV4 signing. Pure Rust, the clock passed in.
//! - [`negotiate`]: Accept + configuration → the output-format token. Pure Rust.
//! - [`metrics`]: the counters all workers share, and their Prometheus/JSON text. Pure Rust.
//! - [`sign`]: signed URLs (HMAC-SHA256 over the path), the clock passed in. Pure Rust.
//! - [`value`]: parsing of directive values shared by config and request time.
//! - `module` (feature `module`): the thin nginx glue; the only place with `unsafe`
//!   and the only code that touches `ngx`/`nginx-sys`.

pub mod admission;
pub mod delivery;
pub mod httpdate;
pub mod metrics;
pub mod negotiate;
pub mod pipeline;
pub mod s3;
pub mod sign;
pub mod value;

#[cfg(feature = "module")]
mod module;
