//! The end-to-end tests of the pipeline, in one place: the header readers
//! and `process` here, [`run`] (every mode, stages, request-time checks) in
//! `run.rs`, output formats, orientation and colour in `output.rs`,
//! `image_resize_rs_never_larger` in `never_larger.rs`. Unit
//! tests of one step sit next to their code.

mod animation;
mod heic;
mod inputs;
mod jxl;
mod never_larger;
mod output;
mod placement;
mod run;

use super::codec::{decode, encode};
use super::ops::{transform, Bitmap};
use super::*;
use gen::{self, Kind};

const U: u64 = u64::MAX;

/// A plan with the test suite's defaults (quality 85, transparency kept).
fn plan(op: Operation, w: u64, h: u64) -> Plan {
    Plan {
        op,
        max_width: w,
        max_height: h,
        angle: 0,
        jpeg_quality: 85,
        webp_quality: 80,
        sharpen: 0,
        transparency: true,
        interlace: false,
        max_pixels: 40_000_000,
        placement: plan::Placement::default(),
    }
}

/// `pixels` (`w`×`h`, `color`) as a PNG file.
fn png_of(pixels: &[u8], w: u32, h: u32, color: image::ExtendedColorType) -> Vec<u8> {
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        pixels,
        w,
        h,
        color,
    )
    .unwrap();
    png
}

/// The largest and the mean difference between two same-length samples.
pub(in crate::pipeline) fn diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    let mean = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64;
    (max, mean)
}

fn g(kind: Kind, w: u32, h: u32) -> Vec<u8> {
    gen::generate(kind, w, h).expect("generate")
}

fn decode_any(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("output decodes")
}

fn encoded(r: Reply) -> (ImageType, Vec<u8>, u32, u32) {
    match r {
        Reply::Image {
            ty,
            bytes,
            width,
            height,
        } => (ty, bytes, width, height),
        r => panic!("expected an image, got {r:?}"),
    }
}

fn has_marker(jpeg: &[u8], m: u8) -> bool {
    jpeg.windows(2).any(|w| w == [0xff, m])
}

#[test]
fn sniff_types() {
    assert_eq!(sniff(&g(Kind::Jpeg, 20, 20)), Some(ImageType::Jpeg));
    assert_eq!(sniff(&g(Kind::Png, 20, 20)), Some(ImageType::Png));
    assert_eq!(sniff(&g(Kind::Gif, 20, 20)), Some(ImageType::Gif));
    assert_eq!(sniff(&g(Kind::Webp, 20, 20)), Some(ImageType::Webp));
    let mut gif87 = b"GIF87a".to_vec();
    gif87.resize(16, 0);
    assert_eq!(sniff(&gif87), Some(ImageType::Gif));
    gif87[4] = b'8';
    assert_eq!(sniff(&gif87), None);
    // < 16 bytes
    assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), None);
    assert_eq!(sniff(&g(Kind::Png, 20, 20)[..15]), None);
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"hello world, this is text"), None);
    assert_eq!(ImageType::Webp.mime(), "image/webp");
    assert_eq!(ImageType::Jpeg.name(), "jpeg");
}

#[test]
fn header_each_format() {
    let h = |k, w, h| read_header(sniff(&g(k, w, h)).unwrap(), &g(k, w, h)).unwrap();
    for k in [
        Kind::Jpeg,
        Kind::JpegProgressive,
        Kind::Png,
        Kind::Gif,
        Kind::Webp,
    ] {
        let r = h(k, 123, 45);
        assert_eq!((r.width, r.height, r.force), (123, 45, false), "{k:?}");
    }
    assert!(has_marker(&g(Kind::JpegProgressive, 30, 30), 0xc2));
    // EXIF > 5% forces re-encoding
    let e = h(Kind::JpegExif, 64, 48);
    assert_eq!((e.width, e.height, e.force), (64, 48, true));
    // PNG only reads the low 16 bits, as nginx
    let mut png = g(Kind::Png, 20, 20);
    png[16..20].copy_from_slice(&0x0001_0005u32.to_be_bytes());
    assert_eq!(read_header(ImageType::Png, &png).unwrap().width, 5);
    // short inputs
    assert_eq!(read_header(ImageType::Png, &png[..23]), None);
    assert_eq!(read_header(ImageType::Gif, b"GIF89a"), None);
    assert_eq!(read_header(ImageType::Jpeg, &[0xff, 0xd8, 0xff]), None);
}

#[test]
fn header_webp_variants() {
    // VP8 (lossy, opaque) from libwebp
    let lossy = g(Kind::Webp, 301, 77);
    assert_eq!(&lossy[12..16], b"VP8 ");
    assert_eq!(read_header(ImageType::Webp, &lossy).unwrap().width, 301);
    // VP8L via image's lossless encoder
    let mut ll = Vec::new();
    let rgb = gen::gradient_rgb(1000, 3);
    image::codecs::webp::WebPEncoder::new_lossless(&mut ll)
        .encode(&rgb, 1000, 3, image::ExtendedColorType::Rgb8)
        .unwrap();
    assert_eq!(&ll[12..16], b"VP8L");
    let hd = read_header(ImageType::Webp, &ll).unwrap();
    assert_eq!((hd.width, hd.height), (1000, 3));
    // VP8X: lossy with alpha
    let rgba: Vec<u8> = (0..40 * 30)
        .flat_map(|i| [i as u8, 0, 0, (i % 200) as u8])
        .collect();
    let x = webp::Encoder::from_rgba(&rgba, 40, 30)
        .encode_simple(false, 80.0)
        .unwrap()
        .to_vec();
    assert_eq!(&x[12..16], b"VP8X");
    let hd = read_header(ImageType::Webp, &x).unwrap();
    assert_eq!((hd.width, hd.height), (40, 30));
    // broken VP8 signature
    let mut bad = lossy.clone();
    bad[24] = 0;
    assert_eq!(read_header(ImageType::Webp, &bad), None);
    // not a key frame
    let mut bad = lossy.clone();
    bad[20] |= 1;
    assert_eq!(read_header(ImageType::Webp, &bad), None);
    let mut bad = lossy;
    bad[15] = b'Q';
    assert_eq!(read_header(ImageType::Webp, &bad), None);
}

#[test]
fn header_never_panics_on_noise() {
    let mut seed = 12345u32;
    for len in 0..400usize {
        let mut d: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            })
            .collect();
        for ty in [
            ImageType::Jpeg,
            ImageType::Gif,
            ImageType::Png,
            ImageType::Webp,
        ] {
            let _ = read_header(ty, &d);
        }
        if len >= 2 {
            d[0] = 0xff;
            d[1] = 0xd8;
            let _ = read_header(ImageType::Jpeg, &d);
            let _ = process(&d, &plan(Operation::Resize, 10, 10));
        }
    }
}

#[test]
fn resize_landscape_portrait_and_unlimited() {
    let cases = [
        ((800, 600), (400, 400), (400, 300)),
        ((600, 800), (400, 400), (300, 400)),
        ((800, 600), (U, 300), (400, 300)),
        ((800, 600), (200, U), (200, 150)),
    ];
    for ((sw, sh), (mw, mh), want) in cases {
        let out = process(&g(Kind::Png, sw, sh), &plan(Operation::Resize, mw, mh)).unwrap();
        let (ty, bytes, w, h) = encoded(out);
        assert_eq!((ty, (w, h)), (ImageType::Png, want));
        let d = decode_any(&bytes);
        assert_eq!((d.width(), d.height()), want);
    }
}

#[test]
fn crop_both_branches() {
    let (_, b, w, h) =
        encoded(process(&g(Kind::Jpeg, 600, 800), &plan(Operation::Crop, 200, 100)).unwrap());
    assert_eq!((w, h), (200, 100));
    assert_eq!(decode_any(&b).width(), 200);
    let (_, _, w, h) =
        encoded(process(&g(Kind::Jpeg, 800, 400), &plan(Operation::Crop, 100, 100)).unwrap());
    assert_eq!((w, h), (100, 100));
    let (_, _, w, h) =
        encoded(process(&g(Kind::Png, 800, 600), &plan(Operation::Crop, U, 300)).unwrap());
    assert_eq!((w, h), (800, 300));
}

#[test]
fn rotate_dims_and_combinations() {
    for (a, want) in [(90, (60, 80)), (180, (80, 60)), (270, (60, 80))] {
        let mut j = plan(Operation::Rotate, 0, 0);
        j.angle = a;
        let (_, b, w, h) = encoded(process(&g(Kind::Png, 80, 60), &j).unwrap());
        assert_eq!((w, h), want);
        let d = decode_any(&b);
        assert_eq!((d.width(), d.height()), want);
    }
    let mut j = plan(Operation::Resize, 400, 400);
    j.angle = 90;
    let (_, _, w, h) = encoded(process(&g(Kind::Jpeg, 800, 600), &j).unwrap());
    assert_eq!((w, h), (300, 400));
    // small image with rotate is not as-is
    let (_, _, w, h) = encoded(process(&g(Kind::Jpeg, 80, 60), &j).unwrap());
    assert_eq!((w, h), (60, 80));
    let mut j = plan(Operation::Crop, 100, 100);
    j.angle = 270;
    let (_, _, w, h) = encoded(process(&g(Kind::Webp, 800, 400), &j).unwrap());
    assert_eq!((w, h), (100, 100));
}

#[test]
fn rotate_90_is_counter_clockwise() {
    // 40x20 PNG: top-right quadrant red, rest blue.
    let mut rgb = Vec::new();
    for _y in 0..20 {
        for x in 0..40 {
            rgb.extend_from_slice(if x >= 30 { &[255, 0, 0] } else { &[0, 0, 255] });
        }
    }
    let png = png_of(&rgb, 40, 20, image::ExtendedColorType::Rgb8);
    let mut j = plan(Operation::Rotate, 0, 0);
    j.angle = 90;
    let (_, b, w, h) = encoded(process(&png, &j).unwrap());
    assert_eq!((w, h), (20, 40));
    let d = decode_any(&b).to_rgb8();
    // counter-clockwise: the top-right corner ends up top-left
    assert_eq!(d.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(d.get_pixel(19, 0).0, [255, 0, 0]);
    assert_eq!(d.get_pixel(0, 39).0, [0, 0, 255]);
    assert_eq!(d.get_pixel(19, 39).0, [0, 0, 255]);
    j.angle = 270;
    let d = decode_any(&encoded(process(&png, &j).unwrap()).1).to_rgb8();
    assert_eq!(d.get_pixel(19, 39).0, [255, 0, 0]);
    assert_eq!(d.get_pixel(0, 0).0, [0, 0, 255]);
}

#[test]
fn as_is_and_never_enlarge() {
    for k in [Kind::Jpeg, Kind::Png, Kind::Gif, Kind::Webp] {
        let img = g(k, 50, 40);
        assert_eq!(
            process(&img, &plan(Operation::Resize, 100, 100)).unwrap(),
            Reply::Original(sniff(&img).unwrap())
        );
        assert_eq!(
            process(&img, &plan(Operation::Crop, 50, 40)).unwrap(),
            Reply::Original(sniff(&img).unwrap())
        );
        assert_eq!(
            process(&img, &plan(Operation::Resize, U, U)).unwrap(),
            Reply::Original(sniff(&img).unwrap())
        );
    }
    // force (EXIF > 5%) re-encodes at the same size, without the APP1
    let img = g(Kind::JpegExif, 50, 40);
    let (ty, b, w, h) = encoded(process(&img, &plan(Operation::Resize, 100, 100)).unwrap());
    assert_eq!((ty, w, h), (ImageType::Jpeg, 50, 40));
    assert!(b.len() < img.len());
    assert!(!read_header(ImageType::Jpeg, &b).unwrap().force);
}

#[test]
fn output_format_matches_input() {
    for (k, ty) in [
        (Kind::Jpeg, ImageType::Jpeg),
        (Kind::JpegProgressive, ImageType::Jpeg),
        (Kind::Png, ImageType::Png),
        (Kind::PngIndexedTrns, ImageType::Png),
        (Kind::Gif, ImageType::Gif),
        (Kind::Webp, ImageType::Webp),
    ] {
        let mut j = plan(Operation::Resize, 64, 64);
        j.sharpen = 50;
        let (oty, b, w, h) = encoded(process(&g(k, 200, 100), &j).unwrap());
        assert_eq!(oty, ty, "{k:?}");
        assert_eq!(sniff(&b), Some(ty));
        assert_eq!((w, h), (64, 32));
        let d = decode_any(&b);
        assert_eq!((d.width(), d.height()), (64, 32));
    }
}

#[test]
fn interlace_controls_progressive_jpeg() {
    let img = g(Kind::Jpeg, 300, 200);
    let mut j = plan(Operation::Resize, 100, 100);
    j.interlace = true;
    let (_, b, _, _) = encoded(process(&img, &j).unwrap());
    assert!(has_marker(&b, 0xc2) && !has_marker(&b, 0xc0));
    j.interlace = false;
    let (_, b, _, _) = encoded(process(&img, &j).unwrap());
    assert!(has_marker(&b, 0xc0) && !has_marker(&b, 0xc2));
}

#[test]
fn transparency_on_off_indexed_png() {
    let img = g(Kind::PngIndexedTrns, 80, 80);
    let mut j = plan(Operation::Resize, 40, 40);
    let (_, b, _, _) = encoded(process(&img, &j).unwrap());
    let d = decode_any(&b).to_rgba8();
    assert_eq!(d.get_pixel(20, 20).0[3], 0, "centre stays transparent");
    assert_eq!(d.get_pixel(1, 1).0[3], 255);
    j.transparency = false;
    let (_, b, _, _) = encoded(process(&img, &j).unwrap());
    let d = decode_any(&b);
    assert!(!d.color().has_alpha());
    // the palette colour underneath the transparent index shows through
    assert_eq!(d.to_rgb8().get_pixel(20, 20).0, [255, 0, 255]);
    // GIF too
    let gif = encode::encode_gif(&Bitmap {
        width: 2,
        height: 1,
        ch: 4,
        data: vec![255, 0, 0, 255, 0, 255, 0, 0],
    })
    .unwrap();
    let mut j = plan(Operation::Rotate, 0, 0);
    j.angle = 180;
    let d = decode_any(&encoded(process(&gif, &j).unwrap()).1).to_rgba8();
    assert_eq!(d.get_pixel(0, 0).0[3], 0);
    j.transparency = false;
    let d = decode_any(&encoded(process(&gif, &j).unwrap()).1).to_rgba8();
    assert_eq!(d.get_pixel(0, 0).0[3], 255);
}

#[test]
fn truecolor_alpha_kept_when_transparency_off() {
    let rgba: Vec<u8> = (0..100 * 100)
        .flat_map(|i| [200, 10, 10, (i % 256) as u8])
        .collect();
    let png = png_of(&rgba, 100, 100, image::ExtendedColorType::Rgba8);
    let mut j = plan(Operation::Resize, 50, 50);
    j.transparency = false;
    let (_, b, _, _) = encoded(process(&png, &j).unwrap());
    assert!(decode_any(&b).color().has_alpha());
}

#[test]
fn truncated_and_corrupt_are_errors() {
    let j = plan(Operation::Resize, 50, 50);
    for k in [
        Kind::Jpeg,
        Kind::JpegProgressive,
        Kind::Png,
        Kind::Gif,
        Kind::Webp,
    ] {
        let img = g(k, 300, 200);
        let cut = &img[..img.len() / 2];
        let r = process(cut, &j);
        assert!(
            matches!(r, Err(Error::Decode { .. })),
            "{k:?} truncated: {r:?}"
        );
        // garbage after the first 100 bytes (headers intact)
        let mut bad = img.clone();
        let mut s = 7u32;
        for b in bad.iter_mut().skip(100) {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (s >> 24) as u8;
        }
        let r = process(&bad, &j);
        // Lossy VP8 has no redundancy to detect garbage with (libwebp decodes
        // it too); only require "no panic" there.
        if k != Kind::Webp {
            assert!(r.is_err(), "{k:?} corrupt: {r:?}");
        }
    }
}

#[test]
fn empty_and_too_many_pixels() {
    let j = plan(Operation::Resize, 50, 50);
    assert!(matches!(process(b"", &j), Err(Error::NotAnImage { .. })));
    assert!(matches!(
        process(b"not an image at all", &j),
        Err(Error::NotAnImage { .. })
    ));
    // PNG header claiming 100000x100000 (low 16 bits read by nginx's
    // header rule: 34464x34464), no data at all
    let mut png = gen::indexed_png(1, 1);
    png.truncate(33);
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let r = process(&png, &j);
    assert!(matches!(r, Err(Error::TooManyPixels { .. })), "{r:?}");
    // a real image above the limit
    let mut j2 = j;
    j2.max_pixels = 1000;
    let r = process(&g(Kind::Jpeg, 100, 100), &j2);
    assert!(matches!(
        r,
        Err(Error::TooManyPixels {
            width: 100,
            height: 100,
            max: 1000
        })
    ));
    assert_eq!(
        r.unwrap_err().to_string(),
        "image 100x100 exceeds image_resize_rs_max_pixels 1000"
    );
}

#[test]
fn scaled_jpeg_decode_matches_full() {
    // smooth ramps (no detail near Nyquist, where DCT scaling aliases
    // differently from a full-size Lanczos)
    let (sw, sh) = (1600u32, 1200u32);
    let data: Vec<u8> = (0..sh)
        .flat_map(|y| {
            (0..sw).flat_map(move |x| {
                [
                    (x * 255 / sw) as u8,
                    (y * 255 / sh) as u8,
                    ((x + y) * 255 / (sw + sh)) as u8,
                ]
            })
        })
        .collect();
    let src = Bitmap {
        width: sw,
        height: sh,
        ch: 3,
        data,
    };
    let img = encode::encode_jpeg(&src, 92, false).unwrap();
    // target 150x112 -> 1/8 scale decode (200x150), then Lanczos
    let (_, b, w, h) = encoded(process(&img, &plan(Operation::Resize, 150, 150)).unwrap());
    assert_eq!((w, h), (150, 112));
    let scaled = decode_any(&b).to_rgb8();
    // reference: full-size decode, same Lanczos3 resampler
    let full = decode::from_dynamic(decode_any(&img));
    let full = transform::resample(full, 150, 112).unwrap();
    let full = image::RgbImage::from_raw(150, 112, full.data).unwrap();
    let mean = |im: &image::RgbImage| {
        let mut s = [0f64; 3];
        for p in im.pixels() {
            for (acc, &v) in s.iter_mut().zip(p.0.iter()) {
                *acc += f64::from(v);
            }
        }
        s.map(|v| v / f64::from(im.width() * im.height()))
    };
    let (a, bm) = (mean(&scaled), mean(&full));
    for c in 0..3 {
        assert!((a[c] - bm[c]).abs() < 3.0, "{a:?} vs {bm:?}");
    }
    // per-pixel closeness
    let diff: f64 = scaled
        .pixels()
        .zip(full.pixels())
        .map(|(p, q)| {
            (0..3)
                .map(|c| (f64::from(p.0[c]) - f64::from(q.0[c])).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / (150.0 * 112.0 * 3.0);
    eprintln!("mean abs diff {diff}");
    assert!(diff < 2.0, "mean abs diff {diff}");
    assert_eq!(decode::pick_scale(1600, 1200, 150, 112), 8);
    assert_eq!(decode::pick_scale(1600, 1200, 300, 225), 4);
    assert_eq!(decode::pick_scale(1600, 1200, 799, 599), 2);
    assert_eq!(decode::pick_scale(1600, 1200, 801, 600), 1);
}

#[test]
fn error_messages_read_well() {
    assert_eq!(
        Error::UnreadableHeader(ImageType::Jpeg).to_string(),
        "cannot read jpeg dimensions"
    );
    let e = Error::Decode {
        ty: ImageType::Png,
        reason: "x".into(),
    };
    assert_eq!(e.to_string(), "corrupt or truncated png: x");
}

#[test]
fn progressive_dc_only_decodes_the_same_at_one_eighth() {
    use decode::progressive_dc_only;
    use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};
    let src = gen::generate(gen::Kind::parse("jpeg-progressive").unwrap(), 640, 480).unwrap();
    let dc = progressive_dc_only(&src).expect("progressive input");
    assert!(dc.len() < src.len(), "{} of {}", dc.len(), src.len());
    let decode = |data: &[u8]| {
        let mut d = Decompressor::new().unwrap();
        d.set_scaling_factor(ScalingFactor::new(1, 8)).unwrap();
        let h = d
            .read_header(data)
            .unwrap()
            .scaled(ScalingFactor::new(1, 8));
        let mut img = Image {
            pixels: vec![0u8; h.width * h.height * 3],
            width: h.width,
            pitch: h.width * 3,
            height: h.height,
            format: PixelFormat::RGB,
        };
        d.decompress(data, img.as_deref_mut()).unwrap();
        img.pixels
    };
    let (a, b) = (decode(&src), decode(&dc));
    assert_eq!(a.len(), b.len());
    // libjpeg's progressive block smoothing sees the missing luma AC bits:
    // a rounding-level difference, nothing visible.
    let (max, mean) = diff(&a, &b);
    eprintln!("dc-only vs full at 1/8: max {max}, mean {mean}");
    assert!(
        max <= 4 && mean < 0.5,
        "max pixel difference {max}, mean {mean}"
    );
    // Baseline, truncated and non-JPEG input are left alone.
    let base = gen::generate(gen::Kind::parse("jpeg").unwrap(), 64, 48).unwrap();
    assert!(progressive_dc_only(&base).is_none());
    assert!(progressive_dc_only(&src[..src.len() / 2]).is_none());
    assert!(progressive_dc_only(b"not a jpeg").is_none());
}

#[test]
fn alpha_to_jpeg_is_laid_over_white() {
    // Transparent red-stored pixels must come out white, opaque ones red,
    // half-transparent black pink-grey.
    let img = Bitmap {
        width: 16,
        height: 16,
        ch: 4,
        data: (0..256)
            .flat_map(|i| match i % 3 {
                0 => [255, 0, 0, 0],
                1 => [255, 0, 0, 255],
                _ => [0, 0, 0, 128],
            })
            .collect(),
    };
    let flat = img.flatten_on_white();
    assert_eq!(&flat.data[..9], &[255, 255, 255, 255, 0, 0, 127, 127, 127]);
    // A whole transparent tile through the JPEG encoder decodes as white.
    let clear = Bitmap {
        width: 16,
        height: 16,
        ch: 4,
        data: [0u8, 0, 0, 0].repeat(256),
    };
    let jpeg = encode(ImageType::Jpeg, &clear, &EncodeOptions::default()).unwrap();
    let px = decode_any(&jpeg).to_rgb8();
    assert!(
        px.pixels().all(|p| p.0.iter().all(|&c| c >= 250)),
        "{:?}",
        px.get_pixel(0, 0)
    );
}

#[test]
fn avif_is_420_and_decodes_close() {
    // The AVIF writer's container says 4:2:0 (av1C chroma_subsampling) and
    // carries an alpha item only when a pixel is not opaque.
    let rgb = Bitmap {
        width: 64,
        height: 48,
        ch: 3,
        data: (0..64 * 48)
            .flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 5) as u8, 90])
            .collect(),
    };
    let avif = encode(ImageType::Avif, &rgb, &EncodeOptions::default()).unwrap();
    assert_eq!(&avif[4..12], b"ftypavif");
    let av1c = avif
        .windows(4)
        .position(|w| w == b"av1C")
        .expect("av1C box");
    // av1C: marker/version, profile/level, then tier|high_bitdepth|twelve|mono|ssx|ssy|pos
    let flags = avif[av1c + 6];
    assert_eq!(flags & 0x0c, 0x0c, "subsampled x and y");
    assert_eq!(avif[av1c + 5] >> 5, 0, "main profile");
    assert!(
        !avif.windows(4).any(|w| w == b"auxC"),
        "no alpha item for opaque pixels"
    );
    let mut rgba = rgb.to_rgba();
    rgba[3] = 0;
    let with_alpha = Bitmap {
        ch: 4,
        data: rgba,
        ..rgb
    };
    let avif = encode(ImageType::Avif, &with_alpha, &EncodeOptions::default()).unwrap();
    assert!(avif.windows(4).any(|w| w == b"auxC"), "alpha item");
}
