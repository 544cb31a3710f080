//! One request's settings as the directives give them, and their checks:
//! the same functions the directive parsers use on static arguments.

use super::animation::Policy as AnimationPolicy;
use super::{Operation, OutputSettings, Placement, Plan};
use crate::negotiate::Token;
use crate::pipeline::container::embed::MetadataPolicy;
use crate::pipeline::Error;
use crate::value::{self, Mode, UNLIMITED};

/// One request's settings, as the directives give them: numbers that may come
/// from variables are still raw ([`value::filter_value`]: 0 = unusable,
/// [`UNLIMITED`] = "-") and are checked here, by the same functions the
/// directive parsers use on static arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Never [`Mode::Off`] (the glue passes such responses through).
    pub mode: Mode,
    pub width: u64,
    pub height: u64,
    pub angle: u64,
    pub jpeg_quality: u64,
    pub webp_quality: u64,
    pub sharpen: u64,
    pub transparency: bool,
    pub interlace: bool,
    /// Refuse `width * height > max_pixels` before decoding any pixel.
    pub max_pixels: u64,
    /// The request's `$image_resize_rs_format` ([`crate::negotiate::token`]);
    /// `None` when `image_resize_rs_output`'s variables gave an unusable value.
    pub format: Option<Token>,
    /// `format` was negotiated from `Accept` rather than forced by
    /// `image_resize_rs_output` (GIF, WebP and animated input then keep
    /// their format).
    pub negotiated: bool,
    /// `image_resize_rs_auto_orient`.
    pub auto_orient: bool,
    /// `image_resize_rs_avif_quality` (1..=100) and `_speed` (1..=10).
    pub avif_quality: u32,
    pub avif_speed: u32,
    /// `image_resize_rs_never_larger`.
    pub never_larger: bool,
    /// `image_resize_rs_metadata`, `_metadata_gps`.
    pub metadata: MetadataPolicy,
    /// `image_resize_rs_gravity`, `_focus` (evaluated), `_pad_color`.
    pub placement: Placement,
    /// `image_resize_rs_animation`, `_max_frames`, `_max_frame_pixels`.
    pub animation: AnimationPolicy,
}

impl Default for Settings {
    /// image_filter's defaults with `resize - -` (nothing to do).
    fn default() -> Self {
        Settings {
            mode: Mode::Resize,
            width: UNLIMITED,
            height: UNLIMITED,
            angle: 0,
            jpeg_quality: u64::from(value::DEFAULT_JPEG_QUALITY),
            webp_quality: u64::from(value::DEFAULT_WEBP_QUALITY),
            sharpen: 0,
            transparency: true,
            interlace: false,
            max_pixels: value::DEFAULT_MAX_PIXELS,
            format: Some(Token::Orig),
            negotiated: false,
            auto_orient: true,
            avif_quality: value::DEFAULT_AVIF_QUALITY,
            avif_speed: value::DEFAULT_AVIF_SPEED,
            never_larger: true,
            metadata: MetadataPolicy::default(),
            placement: Placement::default(),
            animation: AnimationPolicy::default(),
        }
    }
}

impl Settings {
    /// The checked [`Plan`] and [`OutputSettings`] of a transforming mode
    /// (`resize`, `crop`, `rotate`); `test`, `size` and `off` have none.
    pub(crate) fn plan(&self) -> Result<(Plan, OutputSettings), Error> {
        let (op, max_width, max_height) = match self.mode {
            Mode::Rotate => (Operation::Rotate, UNLIMITED, UNLIMITED),
            Mode::Pad => {
                let bad = |_| {
                    Error::InvalidParameter("pad width and height must be positive numbers".into())
                };
                let w = value::check_pad_dimension(self.width).map_err(bad)?;
                let h = value::check_pad_dimension(self.height).map_err(bad)?;
                // The canvas is made whatever the source: bound it first.
                if u128::from(w) * u128::from(h) > u128::from(self.max_pixels) {
                    return Err(Error::TooManyPixels {
                        width: w,
                        height: h,
                        max: self.max_pixels,
                    });
                }
                (Operation::Pad, w, h)
            }
            Mode::Resize | Mode::Crop => {
                let bad = |_| {
                    Error::InvalidParameter(
                        "width and height must be positive numbers or \"-\"".into(),
                    )
                };
                let w = value::check_dimension(self.width).map_err(bad)?;
                let h = value::check_dimension(self.height).map_err(bad)?;
                let op = if self.mode == Mode::Crop {
                    Operation::Crop
                } else {
                    Operation::Resize
                };
                (op, w, h)
            }
            Mode::Off | Mode::Test | Mode::Size | Mode::Placeholder => {
                return Err(Error::InvalidParameter(format!(
                    "{:?} does not transform",
                    self.mode
                )))
            }
        };
        // rotate needs a valid angle; with resize/crop a bad one means "no rotation".
        let angle = match value::check_angle(self.angle) {
            Ok(a) => a,
            Err(_) if op == Operation::Rotate => {
                return Err(Error::InvalidParameter(format!(
                    "rotate angle {} is not 90, 180 or 270",
                    self.angle
                )))
            }
            Err(_) => 0,
        };
        let plan = Plan {
            op,
            max_width,
            max_height,
            angle,
            // 0 = invalid, reported only if that codec is used (after "as is").
            jpeg_quality: value::check_quality(self.jpeg_quality).unwrap_or(0),
            webp_quality: value::check_quality(self.webp_quality).unwrap_or(0),
            sharpen: value::check_sharpen(self.sharpen),
            transparency: self.transparency,
            interlace: self.interlace,
            max_pixels: self.max_pixels,
            placement: self.placement,
        };
        let token = self.format.ok_or_else(|| {
            Error::InvalidParameter(
                "image_resize_rs_output is not original, jpeg, png, webp or avif".into(),
            )
        })?;
        let out = OutputSettings {
            token,
            negotiated: self.negotiated,
            auto_orient: self.auto_orient,
            avif_quality: value::clamp_quality(self.avif_quality),
            avif_speed: value::clamp_avif_speed(self.avif_speed),
            never_larger: self.never_larger,
            animation: self.animation,
            metadata: self.metadata,
        };
        Ok((plan, out))
    }
}
