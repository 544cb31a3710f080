//! Pipeline errors. `Display` is written to follow "image_resize_rs: " in an
//! nginx error-log line.

use super::ImageType;

/// Every failure of the pipeline is a value of this type; nothing panics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not a JPEG, GIF, PNG or WebP image (or is shorter than 16 bytes).
    #[error("not a JPEG, GIF, PNG or WebP image")]
    NotAnImage,
    /// Neither the header shortcut nor the decoder could find the dimensions.
    #[error("cannot read {0} dimensions")]
    UnreadableHeader(ImageType),
    /// `width * height` is above the configured pixel limit (checked before decoding).
    #[error("image {width}x{height} exceeds image_resize_rs_max_pixels {max}")]
    TooManyPixels { width: u64, height: u64, max: u64 },
    /// Truncated or corrupt data, or a decoder limit was hit.
    #[error("corrupt or truncated {ty}: {reason}")]
    Decode { ty: ImageType, reason: String },
    /// The encoder refused the image (e.g. dimensions beyond the format's maximum).
    #[error("cannot encode {ty}: {reason}")]
    Encode { ty: ImageType, reason: String },
}
