//! The image pipeline: sniff → header/limits → decode → transform → encode.
//!
//! Mirrors nginx 1.28's `ngx_http_image_filter_module` (ngx_http_image_test,
//! ngx_http_image_size, ngx_http_image_process, ngx_http_image_resize) with
//! pure-Rust / bundled codecs instead of libgd. Pure: no `ngx`, no `unsafe`,
//! no clock or environment, every failure is an [`Error`] value.
//!
//! Layout, by kind:
//! - `engine.rs`: the entry, [`run`], and the order of the steps;
//! - `container/`: sniffing, header dimensions, EXIF/ICC/animation, the JPEG
//!   segment walker;
//! - `plan/`: settings checks, resize/crop/rotate geometry, output format;
//! - `codec/`: decoders and encoders (AVIF, palette PNG/GIF, Adam7);
//! - `ops/`: pixel operations (resample, orient, rotate, crop, sRGB, sharpen);
//! - `tests/`: the end-to-end tests.

mod animate;
mod codec;
mod container;
mod engine;
mod error;
#[cfg(any(test, feature = "gen"))]
pub mod gen;
mod json;
mod ops;
mod plan;
mod reply;
mod shape;

#[cfg(test)]
mod tests;

// What the nginx glue uses: one entry, [`run`], and its types.
pub use container::embed::{Metadata, MetadataPolicy};
pub use engine::{is_cheap, run};
pub use error::Error;
pub use plan::animation::{
    parse_mode as parse_animation, Mode as AnimationMode, Policy as AnimationPolicy,
};
pub use plan::{Placement, Settings};
pub use reply::{Reply, Stages};

// The steps one by one, for the tests, the test-image generator and
// irs-tool (feature `gen`), never in the module.
#[cfg(any(test, feature = "gen"))]
pub use codec::avif;
#[cfg(any(test, feature = "gen"))]
pub use codec::encode::{encode, encode_avif_with, encode_webp_with, EncodeOptions};
#[cfg(any(test, feature = "gen"))]
pub use container::anim::{probe as probe_animation, Animation};
#[cfg(any(test, feature = "gen"))]
pub use container::meta;
#[cfg(any(test, feature = "gen"))]
pub use container::{read_header, sniff, Header};
#[cfg(any(test, feature = "gen"))]
pub use engine::{process, process_lossless};
#[cfg(any(test, feature = "gen"))]
pub use json::size_json;
#[cfg(any(test, feature = "gen"))]
pub use ops::Bitmap;
#[cfg(any(test, feature = "gen"))]
pub use plan::{Operation, Plan};

/// The four formats image_filter understands, AVIF (read and written) and
/// JPEG XL (read). AVIF and JPEG XL are inputs that not every client takes:
/// see [`ImageType::web_safe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Gif,
    Png,
    Webp,
    Avif,
    /// Input only: never written.
    Jxl,
    /// Input only: never written.
    Heic,
}

impl ImageType {
    /// The format of a body, by its first bytes (ngx_http_image_test); `None`
    /// for anything else. What [`run`] checks first, for callers that must
    /// know before (or without) running it.
    pub fn sniff(body: &[u8]) -> Option<ImageType> {
        container::sniff(body)
    }

    /// Does every client take this format as it is? Not AVIF or JPEG XL:
    /// such an original asked for as `original` goes out as JPEG, or PNG
    /// when it has alpha ([`crate::pipeline::plan`]'s output rules).
    pub fn web_safe(self) -> bool {
        !matches!(self, ImageType::Avif | ImageType::Jxl | ImageType::Heic)
    }

    /// MIME type for Content-Type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Gif => "image/gif",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
            ImageType::Avif => "image/avif",
            ImageType::Jxl => "image/jxl",
            ImageType::Heic => "image/heic",
        }
    }

    /// Short name, as in the `size` JSON.
    pub fn name(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpeg",
            ImageType::Gif => "gif",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
            ImageType::Avif => "avif",
            ImageType::Jxl => "jxl",
            ImageType::Heic => "heic",
        }
    }
}

impl std::fmt::Display for ImageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
