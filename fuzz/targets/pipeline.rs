//! The pure pipeline entry, `pipeline::run`: every mode with settings taken
//! from the input's first bytes (raw, as variables would give them), the
//! rest being the body. Errors are fine; panics, aborts and hangs are not.

use std::sync::atomic::AtomicBool;

use image_resize_rs::negotiate::Token;
use image_resize_rs::pipeline::{self, AnimationPolicy, Reply, Settings, Stages};
use image_resize_rs::value::{Mode, UNLIMITED};

/// Byte → raw directive number: small sizes, 0 (unusable) and `-`.
fn num(b: u8) -> u64 {
    match b {
        0 => 0,
        255 => UNLIMITED,
        b => u64::from(b) * 2,
    }
}

fn run(data: &[u8]) {
    let Some((p, body)) = data.split_first_chunk::<8>() else {
        return;
    };
    let mode = [
        Mode::Test,
        Mode::Size,
        Mode::Resize,
        Mode::Crop,
        Mode::Rotate,
    ][usize::from(p[0] % 5)];
    let s = Settings {
        mode,
        width: num(p[1]),
        height: num(p[2]),
        angle: [0, 90, 180, 270, 45, UNLIMITED][usize::from(p[3] % 6)],
        jpeg_quality: num(p[4]),
        webp_quality: num(p[5]),
        sharpen: u64::from(p[6] % 4) * 50,
        transparency: p[7] & 1 != 0,
        interlace: p[7] & 2 != 0,
        // Bounded so one input cannot take seconds; bombs must be refused.
        max_pixels: 4_000_000,
        // Animations: the same bound on all frames together; some inputs
        // ask for animated WebP.
        animation: AnimationPolicy {
            max_frame_pixels: 4_000_000,
            ..AnimationPolicy::default()
        },
        format: Some(if p[7] & 4 != 0 { Token::Webp } else { Token::Orig }),
        ..Settings::default()
    };
    match pipeline::run(body, &s, &mut Stages::default(), &AtomicBool::new(false)) {
        Ok(Reply::Image {
            bytes,
            width,
            height,
            ..
        }) => {
            assert!(!bytes.is_empty() && width > 0 && height > 0);
        }
        Ok(Reply::Json(j)) => assert!(std::str::from_utf8(&j).is_ok()),
        Ok(Reply::Original(_) | Reply::OriginalSmaller { .. }) | Err(_) => {}
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
