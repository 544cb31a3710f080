//! Planning, before any pixel is touched: one request's [`Settings`] checked
//! into a [`Plan`] (image_filter's parameter checks), the geometry of the
//! resize, crop or rotation ([`geometry`], ngx_http_image_resize's integer
//! math), the format written ([`output`]) and whether a bigger re-encode
//! gives way to the original ([`never_larger`]).

pub mod animation;
pub mod geometry;
pub mod never_larger;
pub mod output;
mod settings;

pub use output::{output_type, web_safe_type, OutputSettings};
pub use settings::Settings;

use crate::value::{Focus, Gravity, DEFAULT_PAD_COLOR};

/// The geometry of the transforming modes of [`crate::value::Mode`] (`test`,
/// `size` and `off` never reach the transform step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Rotate,
    Resize,
    Crop,
    /// Fit inside the box as `Resize` does, then letterbox to exactly the box.
    Pad,
}

/// Where `crop`'s window and `pad`'s image sit, and what fills a pad:
/// `image_resize_rs_gravity`, `_focus` and `_pad_color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub gravity: Gravity,
    /// When set, `crop` centres its window here (clamped inside the image)
    /// whatever the gravity.
    pub focus: Option<Focus>,
    /// RGBA; the alpha is kept only where the output format has alpha.
    pub pad_color: [u8; 4],
}

impl Placement {
    /// The crop window is chosen from the pixels (`smart`, no focus point).
    pub fn is_smart(&self) -> bool {
        self.gravity == Gravity::Smart && self.focus.is_none()
    }
}

impl Default for Placement {
    /// image_filter's centre, white padding.
    fn default() -> Self {
        Placement {
            gravity: Gravity::Center,
            focus: None,
            pad_color: DEFAULT_PAD_COLOR,
        }
    }
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
    /// Gravity, focus point, pad colour.
    pub placement: Placement,
}
