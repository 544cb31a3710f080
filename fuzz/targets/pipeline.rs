//! The pure pipeline: every mode with parameters taken from the input's
//! first bytes, the rest being the image. Errors are fine; panics, aborts
//! and hangs are not.

use image_resize_rs::pipeline::{self, Job, Operation};

/// Byte → dimension: small sizes, `-` (unlimited) now and then.
fn dim(b: u8) -> u64 {
    match b {
        0 => u64::MAX,
        b => u64::from(b) * 2,
    }
}

fn run(data: &[u8]) {
    let Some((p, image)) = data.split_first_chunk::<8>() else {
        return;
    };
    let mode = p[0] % 5;
    if mode == 0 {
        // `size` / `test`: sniff, header, JSON.
        let info = pipeline::sniff(image)
            .and_then(|ty| pipeline::read_header(ty, image).map(|h| (ty, h.width, h.height)));
        let json = pipeline::size_json(info);
        assert!(std::str::from_utf8(&json).is_ok());
        return;
    }
    let op = match mode {
        1 => Operation::Resize,
        2 => Operation::Crop,
        _ => Operation::Rotate,
    };
    let job = Job {
        op,
        max_width: dim(p[1]),
        max_height: dim(p[2]),
        angle: [0, 90, 180, 270, 45][usize::from(p[3] % 5)],
        jpeg_quality: u32::from(p[4] % 101).max(1),
        webp_quality: u32::from(p[5] % 101).max(1),
        sharpen: u32::from(p[6] % 4) * 50,
        transparency: p[7] & 1 != 0,
        interlace: p[7] & 2 != 0,
        // Bounded so one input cannot take seconds; bombs must be refused.
        max_pixels: 4_000_000,
    };
    if let Ok(pipeline::Outcome::Encoded { bytes, width, height, .. }) =
        pipeline::process(image, &job)
    {
        assert!(!bytes.is_empty() && width > 0 && height > 0);
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| run(data));
}
