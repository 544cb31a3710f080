//! Codecs: decoding (libjpeg-turbo, the `image` crate) and encoding (JPEG,
//! PNG with palettes and Adam7, GIF, WebP, AVIF).

pub mod anim;
pub mod avif;
pub mod blurhash;
mod dc_scan;
pub mod decode;
pub mod encode;
pub mod jxl;
mod palette;
pub mod placeholder;
mod png_write;
mod yuv;
