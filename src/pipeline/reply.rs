//! What the pipeline answers ([`Reply`]) and where its time went
//! ([`Stages`]), shared by the still and the animated transform steps.

use super::ImageType;

/// What to send.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The original bytes unchanged (image_filter's "as is", and `test`),
    /// with their sniffed type. Also what the transform step answers when
    /// there is nothing to do.
    Original(ImageType),
    /// The original bytes unchanged, with their sniffed type `ty`, because
    /// the image made for the request (`made`, `made_len` bytes) only
    /// re-encoded them and came out bigger (`image_resize_rs_never_larger`,
    /// [`never_larger`]).
    OriginalSmaller {
        ty: ImageType,
        made: ImageType,
        made_len: usize,
    },
    /// A new image.
    Image {
        ty: ImageType,
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    },
    /// The `size` answer (`application/json`).
    Json(Vec<u8>),
}

/// Where a request's time went and what it started from, for Server-Timing
/// and the log variables. Zero where a stage did not run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages {
    /// The source image's dimensions as displayed (the box `resize` fits
    /// into, what `size` reports); (0, 0) when not known.
    pub source: (u32, u32),
    /// Decoding, shrink-on-load included, microseconds.
    pub decode_us: u64,
    /// Everything between decoding and encoding (resample, orientation,
    /// rotation, crop, colour conversion, sharpening), microseconds.
    pub resize_us: u64,
    /// Encoding, microseconds.
    pub encode_us: u64,
}
