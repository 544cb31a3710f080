//! Container parsing: what the bytes are (sniffing, header dimensions) and
//! what they carry besides pixels (EXIF orientation, ICC profile, animation),
//! read before any pixel is decoded.

pub mod anim;
pub mod embed;
pub mod exif;
pub mod isobmff;
pub mod jpeg;
pub mod meta;
mod sniff;
pub mod xmp;

#[cfg(any(test, feature = "gen"))]
pub use sniff::Header;
pub use sniff::{read_header, sniff};
