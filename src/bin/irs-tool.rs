//! irs-tool: test-image generator and inspector for the Perl test suite and
//! the benchmarks. Pure Rust, no nginx.
//!
//! ```text
//! irs-tool gen <kind> <W> <H> <out-file>  (kinds: see USAGE)
//! irs-tool info <file>          -> "<type> <width> <height> <flags>"
//! irs-tool corner <file> <x> <y> -> "R G B A"
//! irs-tool ssim <a> <b>         -> SSIM on luma, 4 decimals
//! irs-tool reference <in> <W> <H> <out.png>
//!                               -> full-size decode + Lanczos3 to exactly WxH (PNG)
//! irs-tool encode <in.png> <jpeg|webp|avif|png> <quality> <speed> <out>
//!                               -> "<bytes> <wall ms> <threads> <cpu ms>" (medians of 3)
//! irs-tool orient <file>        -> EXIF orientation 1..8
//! irs-tool frames <file>        -> "<type> frames=N decoded=M loop=P delays=a,b,.. size=WxH"
//!                                  (loop: plays, 0 = forever; a still: frames=1)
//! irs-tool mean <file> <x> <y> <w> <h> -> "R G B A", the region's mean
//! irs-tool subject <file>       -> "x y w h" around the saturated pixels
//!                                  (max - min of RGB > 60), or "none"
//! irs-tool pan <photo> <W> <H> <frames> <out.gif>
//!                               -> an animated GIF (40 ms frames, looping): a WxH
//!                                  window panning across the photo (benchmarks)
//! ```

use std::process::ExitCode;

use image_resize_rs::pipeline::gen::{self, Kind};
use image_resize_rs::pipeline::{sniff, ImageType};

const USAGE: &str = "usage:
  irs-tool gen <kind> <W> <H> <out-file>
    kinds: jpeg png gif webp png-indexed-trns jpeg-progressive jpeg-exif jpeg-low png-palette64
           jpeg-gps jpeg-rights jpeg-p3 png-p3 webp-p3 jpeg-orient-1..8 png-orient-1..8 webp-orient-1..8
           jpeg-subject png-subject gif-animated webp-animated
  irs-tool info <file>
  irs-tool corner <file> <x> <y>
  irs-tool ssim <a> <b>
  irs-tool reference <in> <W> <H> <out.png>
  irs-tool resize <in> <W> <H> <out.png>
  irs-tool encode <in.png> <jpeg|webp|avif|png> <quality> <speed> <out>
  irs-tool orient <file>
  irs-tool frames <file>
  irs-tool mean <file> <x> <y> <w> <h>
  irs-tool subject <file>
  irs-tool pan <photo> <W> <H> <frames> <out.gif>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match argv.as_slice() {
        ["gen", kind, w, h, out] => cmd_gen(kind, w, h, out),
        ["info", file] => cmd_info(file),
        ["corner", file, x, y] => cmd_corner(file, x, y),
        ["ssim", a, b] => cmd_ssim(a, b),
        ["reference", input, w, h, out] => cmd_reference(input, w, h, out),
        ["resize", input, w, h, out] => cmd_resize(input, w, h, out),
        ["encode", input, fmt, q, speed, out] => cmd_encode(input, fmt, q, speed, out),
        ["orient", file] => cmd_orient(file),
        ["frames", file] => cmd_frames(file),
        ["mean", file, x, y, w, h] => cmd_mean(file, x, y, w, h),
        ["subject", file] => cmd_subject(file),
        ["pan", photo, w, h, n, out] => cmd_pan(photo, w, h, n, out),
        _ => Err(USAGE.to_string()),
    };
    match r {
        Ok(line) => {
            if !line.is_empty() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("irs-tool: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    s.parse::<u32>().map_err(|_| format!("bad {what}: {s:?}"))
}

fn read(file: &str) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("{file}: {e}"))
}

fn load(file: &str) -> Result<(Vec<u8>, image::DynamicImage), String> {
    let data = read(file)?;
    let img = image::load_from_memory(&data).map_err(|e| format!("{file}: cannot decode: {e}"))?;
    Ok((data, img))
}

fn cmd_gen(kind: &str, w: &str, h: &str, out: &str) -> Result<String, String> {
    let (w, h) = (parse_u32(w, "width")?, parse_u32(h, "height")?);
    if w == 0 || h == 0 {
        return Err("width and height must be > 0".into());
    }
    // <format>-orient-<1..8>: displayed WxH quadrants, stored turned and tagged.
    let oriented = kind.split_once("-orient-").and_then(|(f, o)| {
        let o = o.parse::<u16>().ok().filter(|o| (1..=8).contains(o))?;
        Some((Kind::parse(f)?, o))
    });
    let bytes = if let Some((k, o)) = oriented {
        gen::generate_oriented(k, w, h, o).map_err(|e| e.to_string())?
    } else {
        let k = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?}\n{USAGE}"))?;
        gen::generate(k, w, h).map_err(|e| e.to_string())?
    };
    std::fs::write(out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    Ok(String::new())
}

/// SOF marker of a JPEG: Some(true) progressive, Some(false) baseline/extended.
fn jpeg_progressive(data: &[u8]) -> Option<bool> {
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xff {
            i += 1;
            continue;
        }
        let m = data[i + 1];
        match m {
            0xc2 | 0xc6 | 0xca | 0xce => return Some(true),
            0xc0 | 0xc1 | 0xc3 | 0xc5 | 0xc7 | 0xc9 | 0xcb | 0xcd | 0xcf => return Some(false),
            0xff | 0x01 | 0xd0..=0xd8 => i += 1,
            0xda | 0xd9 => return None,
            _ => {
                let len = usize::from(data[i + 2]) << 8 | usize::from(data[i + 3]);
                i += 2 + len;
            }
        }
    }
    None
}

/// Width and height of an AVIF from its `ispe` property (no AVIF decoder here).
fn avif_dims(data: &[u8]) -> Option<(u32, u32)> {
    if data.get(4..12)? != b"ftypavif" {
        return None;
    }
    let at = data.windows(4).position(|w| w == b"ispe")?;
    let b = data.get(at + 8..at + 16)?;
    Some((
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ))
}

fn cmd_info(file: &str) -> Result<String, String> {
    if let Some((w, h)) = avif_dims(&read(file)?) {
        return Ok(format!("avif {w} {h} -"));
    }
    let (data, img) = load(file)?;
    let ty = sniff(&data);
    let name = ty.map_or("unknown", ImageType::name);
    let mut flags = Vec::new();
    if ty == Some(ImageType::Jpeg) {
        match jpeg_progressive(&data) {
            Some(true) => flags.push("progressive"),
            Some(false) => flags.push("baseline"),
            None => {}
        }
    }
    let alpha = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    flags.push(if alpha { "alpha" } else { "opaque" });
    let flags = if flags.is_empty() {
        "-".to_string()
    } else {
        flags.join(",")
    };
    Ok(format!("{name} {} {} {flags}", img.width(), img.height()))
}

fn cmd_corner(file: &str, x: &str, y: &str) -> Result<String, String> {
    let (_, img) = load(file)?;
    let (x, y) = (parse_u32(x, "x")?, parse_u32(y, "y")?);
    if x >= img.width() || y >= img.height() {
        return Err(format!(
            "({x},{y}) is outside the {}x{} image",
            img.width(),
            img.height()
        ));
    }
    let p = img.to_rgba8().get_pixel(x, y).0;
    Ok(format!("{} {} {} {}", p[0], p[1], p[2], p[3]))
}

fn cmd_mean(file: &str, x: &str, y: &str, w: &str, h: &str) -> Result<String, String> {
    let (_, img) = load(file)?;
    let (x, y) = (parse_u32(x, "x")?, parse_u32(y, "y")?);
    let (w, h) = (parse_u32(w, "w")?, parse_u32(h, "h")?);
    if w == 0 || h == 0 || x + w > img.width() || y + h > img.height() {
        return Err(format!(
            "{w}x{h} at ({x},{y}) is not inside the {}x{} image",
            img.width(),
            img.height()
        ));
    }
    let rgba = img.to_rgba8();
    let mut sum = [0u64; 4];
    for yy in y..y + h {
        for xx in x..x + w {
            for (s, v) in sum.iter_mut().zip(rgba.get_pixel(xx, yy).0) {
                *s += u64::from(v);
            }
        }
    }
    let n = u64::from(w) * u64::from(h);
    let m = sum.map(|s| (s + n / 2) / n);
    Ok(format!("{} {} {} {}", m[0], m[1], m[2], m[3]))
}

fn cmd_subject(file: &str) -> Result<String, String> {
    let (_, img) = load(file)?;
    let rgb = img.to_rgb8();
    let mut bbox: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in rgb.enumerate_pixels() {
        let [r, g, b] = p.0;
        if r.max(g).max(b) - r.min(g).min(b) > 60 {
            let (x0, y0, x1, y1) = bbox.unwrap_or((x, y, x, y));
            bbox = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        }
    }
    Ok(bbox.map_or("none".into(), |(x0, y0, x1, y1)| {
        format!("{x0} {y0} {} {}", x1 - x0 + 1, y1 - y0 + 1)
    }))
}

fn luma(img: &image::DynamicImage) -> Vec<f64> {
    img.to_rgb8()
        .pixels()
        .map(|p| 0.299 * f64::from(p.0[0]) + 0.587 * f64::from(p.0[1]) + 0.114 * f64::from(p.0[2]))
        .collect()
}

/// Mean SSIM over 8x8 windows (stride 4), standard constants, on BT.601 luma.
/// Mean SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) on luma: 11×11 Gaussian
/// window, σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255, over every position where
/// the window fits (the reference implementation's "valid" region).
fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    const R: usize = 5;
    if w < 2 * R + 1 || h < 2 * R + 1 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let g: Vec<f64> = (0..=2 * R)
        .map(|i| (-((i as f64 - R as f64).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    let g: Vec<f64> = g.iter().map(|v| v / sum).collect();
    // separable "valid" Gaussian filter: (w - 2R) × (h - 2R)
    let (ow, oh) = (w - 2 * R, h - 2 * R);
    let blur = |src: &dyn Fn(usize) -> f64| -> Vec<f64> {
        let mut tmp = vec![0.0; ow * h];
        for y in 0..h {
            for x in 0..ow {
                tmp[y * ow + x] = (0..=2 * R).map(|k| g[k] * src(y * w + x + k)).sum();
            }
        }
        let mut out = vec![0.0; ow * oh];
        for y in 0..oh {
            for x in 0..ow {
                out[y * ow + x] = (0..=2 * R).map(|k| g[k] * tmp[(y + k) * ow + x]).sum();
            }
        }
        out
    };
    let ma = blur(&|i| a[i]);
    let mb = blur(&|i| b[i]);
    let saa = blur(&|i| a[i] * a[i]);
    let sbb = blur(&|i| b[i] * b[i]);
    let sab = blur(&|i| a[i] * b[i]);
    let mut total = 0.0;
    for i in 0..ow * oh {
        let (mu_a, mu_b) = (ma[i], mb[i]);
        let va = saa[i] - mu_a * mu_a;
        let vb = sbb[i] - mu_b * mu_b;
        let cov = sab[i] - mu_a * mu_b;
        total += ((2.0 * mu_a * mu_b + C1) * (2.0 * cov + C2))
            / ((mu_a * mu_a + mu_b * mu_b + C1) * (va + vb + C2));
    }
    total / (ow * oh) as f64
}

fn cmd_ssim(fa: &str, fb: &str) -> Result<String, String> {
    let (_, a) = load(fa)?;
    let (_, b) = load(fb)?;
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Err(format!(
            "dimensions differ: {}x{} vs {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        ));
    }
    if a.width() == 0 || a.height() == 0 {
        return Err("empty image".into());
    }
    let v = ssim(
        &luma(&a),
        &luma(&b),
        a.width() as usize,
        a.height() as usize,
    );
    Ok(format!("{v:.4}"))
}

/// The quality yardstick for the benchmarks: decode at full size with the
/// image crate (no DCT scaling), resize with a full-precision Lanczos3 to
/// exactly `w`x`h`, write PNG (lossless).
/// image_resize_rs's own pipeline (`resize W H`: shrink-on-load, Lanczos3),
/// written losslessly as PNG: what the resizer does before the output codec.
fn cmd_resize(input: &str, w: &str, h: &str, out: &str) -> Result<String, String> {
    use image_resize_rs::pipeline::{process_lossless, Operation, Placement, Plan, Reply};
    use image_resize_rs::value::{DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY};
    let data = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let plan = Plan {
        op: Operation::Resize,
        max_width: u64::from(parse_u32(w, "width")?),
        max_height: u64::from(parse_u32(h, "height")?),
        angle: 0,
        jpeg_quality: DEFAULT_JPEG_QUALITY,
        webp_quality: DEFAULT_WEBP_QUALITY,
        sharpen: 0,
        transparency: true,
        interlace: false,
        max_pixels: u64::MAX,
        placement: Placement::default(),
    };
    let bytes = match process_lossless(&data, &plan).map_err(|e| e.to_string())? {
        Reply::Image { bytes, .. } => bytes,
        Reply::Original(_) | Reply::OriginalSmaller { .. } | Reply::Json(_) => data,
    };
    std::fs::write(out, bytes).map_err(|e| format!("{out}: {e}"))?;
    Ok(String::new())
}

/// Encodes the pixels of `input` (decoded by the image crate) with the
/// pipeline's encoder for `fmt`; times the encode alone (one warm-up, then
/// the median of five runs) and reports this process's thread count afterwards (1: no encoder
/// thread pool).
fn cmd_encode(input: &str, fmt: &str, q: &str, speed: &str, out: &str) -> Result<String, String> {
    use image_resize_rs::pipeline::{
        encode, encode_avif_with, encode_webp_with, Bitmap, EncodeOptions,
    };
    let (_, img) = load(input)?;
    let ty = match fmt {
        "jpeg" => ImageType::Jpeg,
        "webp" => ImageType::Webp,
        "avif" => ImageType::Avif,
        "png" => ImageType::Png,
        _ => return Err(format!("unknown format {fmt:?}")),
    };
    let (q, speed) = (parse_u32(q, "quality")?, parse_u32(speed, "speed")?);
    let bitmap = if img.color().has_alpha() {
        Bitmap {
            width: img.width(),
            height: img.height(),
            ch: 4,
            data: img.to_rgba8().into_raw(),
        }
    } else {
        Bitmap {
            width: img.width(),
            height: img.height(),
            ch: 3,
            data: img.to_rgb8().into_raw(),
        }
    };
    let opts = EncodeOptions {
        jpeg_quality: q,
        webp_quality: q,
        avif_quality: q,
        avif_speed: speed,
        ..EncodeOptions::default()
    };
    // Sweeps only: IRS_AVIF_TUNE=psy|psnr, IRS_AVIF_PARTITIONS=min,max
    // override what the module would use.
    let avif_sweep = sweep_params(q, speed)?;
    // IRS_WEBP_METHOD=0..6: libwebp's effort.
    let webp_method = match std::env::var("IRS_WEBP_METHOD") {
        Ok(v) => Some(v.parse::<i32>().map_err(|_| "IRS_WEBP_METHOD: 0..6")?),
        Err(_) => None,
    };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut bytes = Vec::new();
    // One warm-up encode (a fresh process pays its page faults and cold
    // caches; nginx's pool threads are long-lived), then the median of 5.
    for run in 0..6 {
        let (t, c) = (std::time::Instant::now(), thread_cpu_ns());
        bytes = match (ty, &avif_sweep) {
            (ImageType::Avif, Some(p)) => encode_avif_with(&bitmap, p),
            (ImageType::Webp, _) => match webp_method {
                Some(m) => encode_webp_with(&bitmap, q, m),
                None => encode(ty, &bitmap, &opts),
            },
            _ => encode(ty, &bitmap, &opts),
        }
        .map_err(|e| e.to_string())?;
        if run > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            cpu.push((thread_cpu_ns() - c) as f64 / 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "?".into());
    std::fs::write(out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    Ok(format!(
        "{} {:.2} {threads} {:.2}",
        bytes.len(),
        times[2],
        cpu[2]
    ))
}

fn sweep_params(
    q: u32,
    speed: u32,
) -> Result<Option<image_resize_rs::pipeline::avif::AvifParams>, String> {
    use image_resize_rs::pipeline::avif::AvifEncoder;
    let tune = std::env::var("IRS_AVIF_TUNE").ok();
    let parts = std::env::var("IRS_AVIF_PARTITIONS").ok();
    let encoder = std::env::var("IRS_AVIF_ENCODER").ok();
    let cq = std::env::var("IRS_AVIF_CQ").ok();
    if tune.is_none() && parts.is_none() && encoder.is_none() && cq.is_none() {
        return Ok(None);
    }
    let mut p = image_resize_rs::pipeline::avif::AvifParams::new(q, speed);
    match encoder.as_deref() {
        None | Some("aom") => {}
        Some("rav1e") => p.encoder = AvifEncoder::Rav1e,
        Some(e) => return Err(format!("IRS_AVIF_ENCODER={e:?}: aom or rav1e")),
    }
    if let Some(v) = cq {
        p.cq_level = Some(v.parse().map_err(|_| "IRS_AVIF_CQ: 0..63")?);
    }
    match tune.as_deref() {
        None => {}
        Some("psy") => p.psnr_tune = false,
        Some("psnr") => p.psnr_tune = true,
        Some(t) => return Err(format!("IRS_AVIF_TUNE={t:?}: psy or psnr")),
    }
    if let Some(v) = parts {
        let (a, b) = v.split_once(',').ok_or("IRS_AVIF_PARTITIONS=min,max")?;
        p.partitions = Some((
            a.parse().map_err(|_| "IRS_AVIF_PARTITIONS min")?,
            b.parse().map_err(|_| "IRS_AVIF_PARTITIONS max")?,
        ));
    }
    Ok(Some(p))
}

/// CPU time this thread has run, nanoseconds: clock_gettime's
/// CLOCK_THREAD_CPUTIME_ID, which adds the time since the last scheduler
/// tick (/proc/thread-self/schedstat does not, so it reads in 4 ms steps).
/// Unlike wall time it does not grow when other processes share the core.
fn thread_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a live, writable timespec.
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

/// The container's frame count, loop count and delays, and how many frames
/// the `image` crate decodes (GIF, WebP), with the first frame's size.
fn cmd_frames(file: &str) -> Result<String, String> {
    use image::AnimationDecoder;
    let data = read(file)?;
    let ty = sniff(&data).ok_or_else(|| format!("{file}: not an image"))?;
    let Some(a) = image_resize_rs::pipeline::probe_animation(ty, &data) else {
        let img = image::load_from_memory(&data).map_err(|e| format!("{file}: {e}"))?;
        return Ok(format!(
            "{} frames=1 decoded=1 loop=1 delays=0 size={}x{}",
            ty.name(),
            img.width(),
            img.height()
        ));
    };
    let cur = std::io::Cursor::new(&data[..]);
    let frames = match ty {
        ImageType::Gif => image::codecs::gif::GifDecoder::new(cur)
            .map_err(|e| e.to_string())?
            .into_frames(),
        _ => image::codecs::webp::WebPDecoder::new(cur)
            .map_err(|e| e.to_string())?
            .into_frames(),
    };
    let mut decoded = 0;
    let mut size = (0, 0);
    for f in frames {
        let f = f.map_err(|e| format!("{file}: frame {decoded}: {e}"))?;
        if decoded == 0 {
            size = f.buffer().dimensions();
        }
        decoded += 1;
    }
    let delays: Vec<String> = a.delays_ms.iter().map(u32::to_string).collect();
    Ok(format!(
        "{} frames={} decoded={decoded} loop={} delays={} size={}x{}",
        ty.name(),
        a.frames,
        a.plays,
        delays.join(","),
        size.0,
        size.1
    ))
}

fn cmd_orient(file: &str) -> Result<String, String> {
    let data = read(file)?;
    let ty = sniff(&data).ok_or_else(|| format!("{file}: not an image"))?;
    Ok(image_resize_rs::pipeline::meta::orientation(ty, &data)
        .value()
        .to_string())
}

fn cmd_reference(input: &str, w: &str, h: &str, out: &str) -> Result<String, String> {
    let (_, img) = load(input)?;
    let (w, h) = (parse_u32(w, "width")?, parse_u32(h, "height")?);
    if w == 0 || h == 0 {
        return Err("width and height must be > 0".into());
    }
    let resized =
        image::imageops::resize(&img.to_rgb8(), w, h, image::imageops::FilterType::Lanczos3);
    resized
        .save_with_format(out, image::ImageFormat::Png)
        .map_err(|e| format!("{out}: {e}"))?;
    Ok(String::new())
}

/// A photographic animated GIF: the photo scaled to twice the window's
/// width (aspect kept, at least the window's height), and a WxH window moving
/// left to right over it, one full frame each, quantized by the gif crate.
fn cmd_pan(photo: &str, w: &str, h: &str, n: &str, out: &str) -> Result<String, String> {
    let (_, img) = load(photo)?;
    let (w, h, n) = (
        parse_u32(w, "width")?,
        parse_u32(h, "height")?,
        parse_u32(n, "frames")?,
    );
    if w == 0 || h == 0 || n == 0 || w > 4096 || h > 4096 || n > 1000 {
        return Err("W, H in 1..=4096 and frames in 1..=1000".into());
    }
    let sw = 2 * w;
    let sh = (u64::from(img.height()) * u64::from(sw) / u64::from(img.width().max(1)))
        .max(u64::from(h)) as u32;
    let big = image::imageops::resize(
        &img.to_rgba8(),
        sw,
        sh,
        image::imageops::FilterType::Triangle,
    );
    let file = std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut enc = gif::Encoder::new(std::io::BufWriter::new(file), w as u16, h as u16, &[])
        .map_err(|e| e.to_string())?;
    enc.set_repeat(gif::Repeat::Infinite)
        .map_err(|e| e.to_string())?;
    let y0 = (sh - h) / 2;
    for i in 0..n {
        let x0 = if n > 1 { (sw - w) * i / (n - 1) } else { 0 };
        let mut rgba = image::imageops::crop_imm(&big, x0, y0, w, h)
            .to_image()
            .into_raw();
        let mut f = gif::Frame::from_rgba_speed(w as u16, h as u16, &mut rgba, 10);
        f.delay = 4;
        enc.write_frame(&f).map_err(|e| e.to_string())?;
    }
    Ok(String::new())
}
