//! Animated GIF and WebP through [`run`]: every frame composited, resized
//! and written with its delay and the loop count; the limits; `size`.

use std::sync::atomic::AtomicBool;

use image::AnimationDecoder;

use super::*;
use crate::negotiate::Token;
use crate::value::Mode;
use gen::AnimSpec;

fn go(body: &[u8], s: &Settings) -> Result<Reply, Error> {
    run(body, s, &mut Stages::default(), &AtomicBool::new(false))
}

fn settings(mode: Mode, w: u64, h: u64) -> Settings {
    Settings {
        mode,
        width: w,
        height: h,
        ..Settings::default()
    }
}

fn image_of(r: Reply) -> (ImageType, Vec<u8>) {
    match r {
        Reply::Image { ty, bytes, .. } => (ty, bytes),
        r => panic!("expected an image, got {r:?}"),
    }
}

/// The output's composited frames (RGBA) and their delays in ms.
fn decode_frames(ty: ImageType, b: &[u8]) -> Vec<(image::RgbaImage, u32)> {
    let cur = std::io::Cursor::new(b);
    let frames = match ty {
        ImageType::Gif => image::codecs::gif::GifDecoder::new(cur)
            .unwrap()
            .into_frames(),
        ImageType::Webp => image::codecs::webp::WebPDecoder::new(cur)
            .unwrap()
            .into_frames(),
        _ => panic!("{ty:?}"),
    };
    frames
        .map(|f| {
            let f = f.unwrap();
            let (n, d) = f.delay().numer_denom_ms();
            (f.into_buffer(), n / d)
        })
        .collect()
}

/// Every output frame matches the composite at the centre of each region
/// (scaled to the output), within a lossy codec's tolerance.
fn check_composites(spec: &AnimSpec, frames: &[(image::RgbaImage, u32)], tol: u8) {
    assert_eq!(frames.len(), 4);
    let (sw, sh) = (f64::from(spec.width), f64::from(spec.height));
    let [r1, r2, r3] = gen::anim_rects(spec);
    // A point well inside each region: frame 1's opaque half, its
    // transparent half, frame 2's square, frame 3's square, and the red field.
    let points = [
        (r1.0 + r1.2 * 3 / 4, r1.1 + r1.3 / 2),
        (r1.0 + r1.2 / 4, r1.1 + r1.3 / 2),
        (r2.0 + r2.2 / 2, r2.1 + r2.3 / 2),
        (r3.0 + r3.2 / 2, r3.1 + r3.3 / 2),
        (r1.0 + r1.2 / 2, spec.height - 2),
    ];
    for (k, (img, delay)) in frames.iter().enumerate() {
        assert_eq!(*delay, 100 * (k as u32 + 1), "frame {k} delay");
        let (w, h) = img.dimensions();
        for &(x, y) in &points {
            let want = gen::anim_expected(spec, k, x, y);
            let ox = ((f64::from(x) + 0.5) * f64::from(w) / sw) as u32;
            let oy = ((f64::from(y) + 0.5) * f64::from(h) / sh) as u32;
            let got = img.get_pixel(ox, oy).0;
            if want[3] == 0 {
                assert!(got[3] < 40, "frame {k} at ({x},{y}): {got:?}, want clear");
            } else {
                let ok = (0..4).all(|c| got[c].abs_diff(want[c]) <= tol);
                assert!(ok, "frame {k} at ({x},{y}): {got:?}, want {want:?}");
            }
        }
    }
}

fn plays_of(ty: ImageType, b: &[u8]) -> u32 {
    crate::pipeline::probe_animation(ty, b).unwrap().plays
}

#[test]
fn gif_resize_keeps_frames_delays_loop_and_disposal() {
    let spec = AnimSpec {
        width: 80,
        height: 60,
        repeat: Some(0),
    };
    let src = gen::animated_gif_with(&spec);
    let (ty, out) = image_of(go(&src, &settings(Mode::Resize, 40, 40)).unwrap());
    assert_eq!(ty, ImageType::Gif);
    let frames = decode_frames(ty, &out);
    assert_eq!(frames[0].0.dimensions(), (40, 30));
    check_composites(&spec, &frames, 8);
    assert_eq!(plays_of(ty, &out), 0);
    for repeat in [None, Some(2)] {
        let s = AnimSpec { repeat, ..spec };
        let (_, out) =
            image_of(go(&gen::animated_gif_with(&s), &settings(Mode::Resize, 40, 40)).unwrap());
        let want = plays_of(ImageType::Gif, &gen::animated_gif_with(&s));
        assert_eq!(plays_of(ImageType::Gif, &out), want, "{repeat:?}");
    }
}

#[test]
fn gif_to_webp_where_the_token_is_webp() {
    let spec = AnimSpec {
        width: 80,
        height: 60,
        repeat: Some(0),
    };
    let src = gen::animated_gif_with(&spec);
    for negotiated in [true, false] {
        let s = Settings {
            format: Some(Token::Webp),
            negotiated,
            ..settings(Mode::Resize, 40, 40)
        };
        let (ty, out) = image_of(go(&src, &s).unwrap());
        assert_eq!(ty, ImageType::Webp);
        let frames = decode_frames(ty, &out);
        assert_eq!(frames[0].0.dimensions(), (40, 30));
        check_composites(&spec, &frames, 40);
        assert_eq!(plays_of(ty, &out), 0);
    }
    // A forced JPEG: the first frame, as image_filter.
    let s = Settings {
        format: Some(Token::Jpeg),
        ..settings(Mode::Resize, 40, 40)
    };
    assert_eq!(image_of(go(&src, &s).unwrap()).0, ImageType::Jpeg);
}

#[test]
fn webp_stays_animated_webp() {
    let spec = AnimSpec {
        width: 80,
        height: 60,
        repeat: Some(4),
    };
    let src = gen::animated_webp(&spec);
    check_composites(&spec, &decode_frames(ImageType::Webp, &src), 40);
    let (ty, out) = image_of(go(&src, &settings(Mode::Crop, 40, 40)).unwrap());
    assert_eq!(ty, ImageType::Webp);
    let frames = decode_frames(ty, &out);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0].0.dimensions(), (40, 40));
    assert_eq!(plays_of(ty, &out), 5);
}

#[test]
fn rotate_and_pad_every_frame() {
    let spec = AnimSpec::default();
    let src = gen::animated_gif_with(&spec);
    let s = Settings {
        angle: 90,
        ..settings(Mode::Rotate, 0, 0)
    };
    let (_, out) = image_of(go(&src, &s).unwrap());
    let frames = decode_frames(ImageType::Gif, &out);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[3].0.dimensions(), (30, 40));
    let (_, out) = image_of(go(&src, &settings(Mode::Pad, 30, 30)).unwrap());
    let frames = decode_frames(ImageType::Gif, &out);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0].0.dimensions(), (30, 30));
}

#[test]
fn limits_first_frame_or_refuse() {
    let src = gen::animated_gif_with(&AnimSpec::default());
    let limited = |mode, max_frames, max_frame_pixels| Settings {
        animation: AnimationPolicy {
            mode,
            max_frames,
            max_frame_pixels,
            webp_for_avif: false,
        },
        ..settings(Mode::Resize, 20, 20)
    };
    let keep = AnimationMode::default();
    let n = |r: Reply| {
        let (ty, b) = image_of(r);
        crate::pipeline::probe_animation(ty, &b).map_or(1, |a| a.frames)
    };
    assert_eq!(n(go(&src, &limited(keep, 4, 4800)).unwrap()), 4);
    assert_eq!(n(go(&src, &limited(keep, 3, 4800)).unwrap()), 1);
    assert_eq!(n(go(&src, &limited(keep, 4, 4799)).unwrap()), 1);
    assert_eq!(
        n(go(&src, &limited(AnimationMode::First, 4, 4800)).unwrap()),
        1
    );
    let refuse = AnimationMode::Keep {
        refuse_over_limit: true,
    };
    let e = go(&src, &limited(refuse, 3, 4800)).unwrap_err();
    assert_eq!(e.code(), "too_many_frames");
}

#[test]
fn size_reports_frames_only_for_animations() {
    let src = gen::animated_gif_with(&AnimSpec::default());
    let Reply::Json(j) = go(&src, &settings(Mode::Size, 0, 0)).unwrap() else {
        panic!()
    };
    assert_eq!(
        j,
        b"{ \"img\" : { \"width\": 40, \"height\": 30, \"type\": \"gif\", \"frames\": 4 } }\r\n"
    );
    let still = gen::generate(Kind::Gif, 40, 30).unwrap();
    let Reply::Json(j) = go(&still, &settings(Mode::Size, 0, 0)).unwrap() else {
        panic!()
    };
    assert_eq!(
        j,
        b"{ \"img\" : { \"width\": 40, \"height\": 30, \"type\": \"gif\" } }\r\n"
    );
}

#[test]
fn fits_goes_as_is_and_placeholder_takes_the_first_frame() {
    let src = gen::animated_gif_with(&AnimSpec::default());
    assert_eq!(
        go(&src, &settings(Mode::Resize, 100, 100)).unwrap(),
        Reply::Original(ImageType::Gif)
    );
    assert!(matches!(
        go(&src, &settings(Mode::Placeholder, 0, 0)).unwrap(),
        Reply::Json(_)
    ));
}

#[test]
fn truncated_animations_fail_cleanly() {
    let src = gen::animated_gif_with(&AnimSpec::default());
    for n in (14..src.len()).step_by(7) {
        let _ = go(&src[..n], &settings(Mode::Resize, 20, 20));
    }
    let w = gen::animated_webp(&AnimSpec::default());
    for n in (14..w.len()).step_by(11) {
        let _ = go(&w[..n], &settings(Mode::Resize, 20, 20));
    }
}

#[test]
fn libwebp_reads_our_animated_webp() {
    // libwebp's own demuxer and animation decoder, not image-webp.
    let spec = AnimSpec::default();
    let src = gen::animated_gif_with(&spec);
    let s = Settings {
        format: Some(Token::Webp),
        ..settings(Mode::Resize, 20, 20)
    };
    let (_, out) = image_of(go(&src, &s).unwrap());
    let dec = webp::AnimDecoder::new(&out)
        .decode()
        .expect("libwebp decodes it");
    assert!(dec.has_animation());
    assert_eq!(dec.len(), 4);
    // End timestamps: the delays add up.
    let ends: Vec<i32> = (0..4)
        .map(|i| dec.get_frame(i).unwrap().get_time_ms())
        .collect();
    assert_eq!(ends, vec![100, 300, 600, 1000]);
}
