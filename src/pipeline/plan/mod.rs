//! Planning, before any pixel is touched: one request's [`Settings`] checked
//! into a [`Plan`] (image_filter's parameter checks), the geometry of the
//! resize, crop or rotation ([`geometry`], ngx_http_image_resize's integer
//! math), the format written ([`output`]) and whether a bigger re-encode
//! gives way to the original ([`never_larger`]).

pub mod geometry;
pub mod never_larger;
pub mod output;
mod settings;

pub use output::{output_type, OutputSettings};
pub use settings::Settings;

/// The geometry of the transforming modes of [`crate::value::Mode`] (`test`,
/// `size` and `off` never reach the transform step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Rotate,
    Resize,
    Crop,
}

/// Validated transform parameters (built from [`Settings`] by
/// [`Settings::plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub op: Operation,
    /// `u64::MAX` means "-" (unlimited); never 0.
    pub max_width: u64,
    pub max_height: u64,
    /// 0, 90, 180 or 270, counter-clockwise. Other values are treated as 0.
    pub angle: u32,
    /// 1..=100 (values above 100 are clamped); 0 = invalid, an error only
    /// when a JPEG is actually encoded (image_filter checks it that late).
    pub jpeg_quality: u32,
    /// As `jpeg_quality`, for WebP.
    pub webp_quality: u32,
    /// Percent, 0 = off.
    pub sharpen: u32,
    pub transparency: bool,
    pub interlace: bool,
    /// Refuse `width * height > max_pixels` before decoding any pixel.
    pub max_pixels: u64,
}
