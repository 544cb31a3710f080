//! Pipeline errors. `Display` is written to follow "image_resize_rs: " in an
//! nginx error-log line.

use super::ImageType;

/// Every failure of the pipeline is a value of this type; nothing panics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not a JPEG, GIF, PNG or WebP image (or is shorter than
    /// 16 bytes): its length and first bytes, for the log line.
    #[error("{}", not_an_image(*len, head))]
    NotAnImage { len: usize, head: [u8; 4] },
    /// Neither the header shortcut nor the decoder could find the dimensions.
    #[error("cannot read {0} dimensions")]
    UnreadableHeader(ImageType),
    /// `width * height` is above the configured pixel limit (checked before decoding).
    #[error("image {width}x{height} exceeds image_resize_rs_max_pixels {max}")]
    TooManyPixels { width: u64, height: u64, max: u64 },
    /// Truncated or corrupt data, or a decoder limit was hit.
    #[error("corrupt or truncated {ty}: {reason}")]
    Decode { ty: ImageType, reason: String },
    /// A request-time parameter (from variables) is not usable, e.g. a
    /// `resize` width of "abc" or a `rotate` angle of 45.
    #[error("{0}")]
    InvalidParameter(String),
    /// The encoder refused the image (e.g. dimensions beyond the format's maximum).
    #[error("cannot encode {ty}: {reason}")]
    Encode { ty: ImageType, reason: String },
    /// An animation over `image_resize_rs_max_frames` or
    /// `_max_frame_pixels`, with `image_resize_rs_animation keep
    /// over_limit=refuse` (checked before decoding).
    #[error("animation of {frames} frames of {width}x{height} exceeds image_resize_rs_max_frames {max_frames} or image_resize_rs_max_frame_pixels {max_frame_pixels}")]
    TooManyFrames {
        frames: u32,
        width: u32,
        height: u32,
        max_frames: u64,
        max_frame_pixels: u64,
    },
    /// The request went away; the job stopped between two stages.
    #[error("the request is gone: job cancelled")]
    Cancelled,
}

fn not_an_image(len: usize, head: &[u8; 4]) -> String {
    if len == 0 {
        return "empty response body, not an image".into();
    }
    let head: Vec<String> = head[..len.min(4)]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "not a JPEG, GIF, PNG or WebP image ({len} bytes starting with {})",
        head.join(" ")
    )
}

impl Error {
    /// A short token for logs and `$image_resize_rs_status`
    /// (`refused:<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAnImage { .. } => "not_image",
            Error::UnreadableHeader(_) => "unreadable",
            Error::TooManyPixels { .. } => "too_many_pixels",
            Error::Decode { .. } => "corrupt",
            Error::InvalidParameter(_) => "bad_parameter",
            Error::Encode { .. } => "encode",
            Error::TooManyFrames { .. } => "too_many_frames",
            Error::Cancelled => "cancelled",
        }
    }

    /// [`Error::NotAnImage`] for this body.
    pub fn not_an_image(body: &[u8]) -> Error {
        let mut head = [0u8; 4];
        let n = body.len().min(4);
        head[..n].copy_from_slice(&body[..n]);
        Error::NotAnImage {
            len: body.len(),
            head,
        }
    }
}
