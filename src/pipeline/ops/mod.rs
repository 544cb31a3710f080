//! Pixel operations on a decoded [`Bitmap`]: resampling, orientation,
//! rotation, crop (and where `smart` cuts), padding, colour conversion to
//! sRGB, sharpening.

mod bitmap;
pub mod color;
pub mod sharpen;
pub mod smartcrop;
pub mod transform;

pub use bitmap::Bitmap;
