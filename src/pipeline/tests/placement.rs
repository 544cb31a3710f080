//! [`run`] with `crop`'s gravity, focus and `smart`, and the `pad` fit:
//! where the subject of [`gen::subject`] lands, the box and its colour.

use crate::pipeline::gen::{self, Kind};
use crate::pipeline::{self, Error, Placement, Reply, Settings, Stages};
use crate::value::{Focus, Gravity, Mode, UNLIMITED};
use std::sync::atomic::AtomicBool;

fn run(body: &[u8], s: &Settings) -> Result<Reply, Error> {
    pipeline::run(body, s, &mut Stages::default(), &AtomicBool::new(false))
}

fn settings(mode: Mode, w: u64, h: u64, placement: Placement) -> Settings {
    Settings {
        mode,
        width: w,
        height: h,
        placement,
        ..Settings::default()
    }
}

fn gravity(g: Gravity) -> Placement {
    Placement {
        gravity: g,
        ..Placement::default()
    }
}

/// The decoded answer as RGBA.
fn pixels(r: Reply) -> image::RgbaImage {
    match r {
        Reply::Image { bytes, .. } => image::load_from_memory(&bytes).unwrap().to_rgba8(),
        r => panic!("{r:?}"),
    }
}

/// The box around the saturated pixels (the subject), or `None`.
fn subject(img: &image::RgbaImage) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in img.enumerate_pixels() {
        let [r, g, bl, _] = p.0;
        if r.max(g).max(bl) - r.min(g).min(bl) > 60 {
            let (x0, y0, x1, y1) = b.unwrap_or((x, y, x, y));
            b = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        }
    }
    b
}

fn inside(img: &image::RgbaImage) -> bool {
    subject(img).is_some_and(|(x0, y0, x1, y1)| {
        x0 > 0 && y0 > 0 && x1 + 1 < img.width() && y1 + 1 < img.height()
    })
}

#[test]
fn crop_gravity_moves_the_window() {
    // 400x200, subject at 280..360 x 140..180: 200x100 before the cut.
    let wide = gen::generate(Kind::PngSubject, 400, 200).unwrap();
    let crop = |p| pixels(run(&wide, &settings(Mode::Crop, 100, 100, p)).unwrap());
    assert!(inside(&crop(gravity(Gravity::SouthEast))));
    assert!(inside(&crop(gravity(Gravity::East))));
    assert!(inside(&crop(gravity(Gravity::Smart))));
    assert_eq!(subject(&crop(gravity(Gravity::West))), None);
    assert_eq!(subject(&crop(gravity(Gravity::NorthWest))), None);
    let centre = crop(Placement::default());
    assert!(!inside(&centre) && subject(&centre).is_some());
    // The focus point wins over the gravity.
    let focus = |x, y| Placement {
        gravity: Gravity::West,
        focus: Some(Focus { x, y }),
        ..Placement::default()
    };
    assert!(inside(&crop(focus(800_000, 800_000))));
    assert_eq!(subject(&crop(focus(0, 0))), None);
    assert_eq!(crop(focus(500_000, 123)), centre);
    // Portrait: the window slides along y.
    let tall = gen::generate(Kind::PngSubject, 200, 400).unwrap();
    let crop = |p| pixels(run(&tall, &settings(Mode::Crop, 100, 100, p)).unwrap());
    assert_eq!(subject(&crop(gravity(Gravity::North))), None);
    assert!(inside(&crop(gravity(Gravity::South))));
    assert!(inside(&crop(gravity(Gravity::Smart))));
    // A "-" side and the smart window.
    let img = pixels(
        run(
            &wide,
            &settings(Mode::Crop, 150, UNLIMITED, gravity(Gravity::Smart)),
        )
        .unwrap(),
    );
    assert_eq!(img.dimensions(), (150, 200));
    assert!(inside(&img));
}

#[test]
fn pad_fits_then_fills_the_box() {
    let colour = [51, 102, 204, 255];
    let pad = |ty: Kind, w, h, g, c| {
        let src = gen::generate(ty, w, h).unwrap();
        let p = Placement {
            gravity: g,
            focus: None,
            pad_color: c,
        };
        pixels(run(&src, &settings(Mode::Pad, 200, 200, p)).unwrap())
    };
    let img = pad(Kind::PngSubject, 400, 200, Gravity::Center, colour);
    assert_eq!(img.dimensions(), (200, 200));
    assert_eq!(img.get_pixel(0, 0).0, colour);
    assert_eq!(img.get_pixel(199, 49).0, colour);
    assert_eq!(img.get_pixel(0, 150).0, colour);
    assert_ne!(img.get_pixel(0, 50).0, colour);
    // The colour is sRGB: an image's ICC profile does not touch it.
    let img = pad(Kind::PngP3, 64, 32, Gravity::Center, colour);
    assert_eq!(img.get_pixel(0, 0).0, colour);
    // North: the image on top, the bar below.
    let img = pad(Kind::PngSubject, 400, 200, Gravity::North, colour);
    assert_ne!(img.get_pixel(0, 0).0, colour);
    assert_eq!(img.get_pixel(0, 100).0, colour);
    // Transparent in PNG; white in JPEG (no alpha there).
    let clear = [255, 255, 255, 0];
    let img = pad(Kind::PngSubject, 200, 400, Gravity::Center, clear);
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(100, 100).0[3], 255);
    let img = pad(Kind::JpegSubject, 200, 400, Gravity::Center, clear);
    assert!(img.get_pixel(2, 100).0.iter().all(|&v| v >= 250));
    // Odd sizes and 1xN sources: always the exact box.
    for (w, h) in [(1, 333), (333, 1), (97, 61), (201, 200), (5, 7)] {
        let img = pad(Kind::PngSubject, w, h, Gravity::SouthWest, colour);
        assert_eq!(img.dimensions(), (200, 200), "{w}x{h}");
    }
    // Already the box: sent as is.
    let src = gen::generate(Kind::Png, 200, 200).unwrap();
    let s = settings(Mode::Pad, 200, 200, Placement::default());
    assert!(matches!(run(&src, &s).unwrap(), Reply::Original(_)));
}

#[test]
fn pad_checks_its_box() {
    let src = gen::generate(Kind::Png, 20, 20).unwrap();
    let s = |w, h| settings(Mode::Pad, w, h, Placement::default());
    assert!(matches!(
        run(&src, &s(UNLIMITED, 10)),
        Err(Error::InvalidParameter(_))
    ));
    assert!(matches!(
        run(&src, &s(10, 0)),
        Err(Error::InvalidParameter(_))
    ));
    // The canvas is bounded by max_pixels whatever the source.
    assert!(matches!(
        run(&src, &s(100_000, 100_000)),
        Err(Error::TooManyPixels { .. })
    ));
}
