//! Pixel operations on a decoded [`Bitmap`]: resampling, orientation,
//! rotation, crop, colour conversion to sRGB, sharpening.

mod bitmap;
pub mod color;
pub mod sharpen;
pub mod transform;

pub use bitmap::Bitmap;
