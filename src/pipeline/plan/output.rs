//! Output-format choice: which format a request's token produces for a
//! given input ([`output_type`]), and the settings beyond image_filter's
//! ([`OutputSettings`]) that the transform step honours.

use crate::negotiate::Token;
use crate::pipeline::container::embed::MetadataPolicy;
use crate::pipeline::ImageType;
use crate::value::{DEFAULT_AVIF_QUALITY, DEFAULT_AVIF_SPEED};

/// Per-request settings beyond image_filter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSettings {
    /// `$image_resize_rs_format`: [`crate::negotiate::token`] of the request.
    pub token: Token,
    /// The token came from `Accept` (`image_resize_rs_formats`), not from
    /// `image_resize_rs_output`: GIF, WebP and animated input keep their format.
    pub negotiated: bool,
    /// `image_resize_rs_auto_orient` (default on).
    pub auto_orient: bool,
    /// `image_resize_rs_avif_quality`, 1..=100.
    pub avif_quality: u32,
    /// `image_resize_rs_avif_speed`, 1..=10.
    pub avif_speed: u32,
    /// `image_resize_rs_never_larger` (default on): an image that only
    /// re-encodes the original and came out bigger gives way to it
    /// ([`super::never_larger`]).
    pub never_larger: bool,
    /// `image_resize_rs_animation`, `_max_frames`, `_max_frame_pixels`.
    pub animation: super::animation::Policy,
    /// `image_resize_rs_metadata` and `_metadata_gps` (default: none kept).
    pub metadata: MetadataPolicy,
}

impl Default for OutputSettings {
    /// image_filter's behaviour plus auto-orientation: keep the format.
    fn default() -> Self {
        OutputSettings {
            token: Token::Orig,
            negotiated: false,
            auto_orient: true,
            avif_quality: DEFAULT_AVIF_QUALITY,
            avif_speed: DEFAULT_AVIF_SPEED,
            never_larger: true,
            animation: super::animation::Policy::default(),
            metadata: MetadataPolicy::default(),
        }
    }
}

/// The format written for an `input` image under `token`.
///
/// - `orig`: the input's own format;
/// - negotiated `avif`/`webp`: JPEG, PNG and AVIF convert; GIF and WebP keep
///   their format (animation, palette graphics), and so does anything
///   animated;
/// - forced `jpeg`/`png`/`webp`/`avif` (`image_resize_rs_output`): every
///   input, animated ones as their first frame (as image_filter does).
///
/// The token is all a cache key needs: for one URL the input is fixed, so
/// each token always yields the same output.
pub fn output_type(token: Token, input: ImageType, negotiated: bool, animated: bool) -> ImageType {
    let target = match token {
        Token::Orig => return input,
        Token::Jpeg => ImageType::Jpeg,
        Token::Png => ImageType::Png,
        Token::Webp => ImageType::Webp,
        Token::Avif => ImageType::Avif,
    };
    if negotiated && (animated || matches!(input, ImageType::Gif | ImageType::Webp)) {
        return input;
    }
    target
}

/// `ty` if every client takes it ([`ImageType::web_safe`]), else what an
/// image that is to keep its "original" format is written as instead:
/// PNG when it has alpha, else JPEG.
pub fn web_safe_type(ty: ImageType, has_alpha: bool) -> ImageType {
    match ty {
        _ if ty.web_safe() => ty,
        _ if has_alpha => ImageType::Png,
        _ => ImageType::Jpeg,
    }
}
