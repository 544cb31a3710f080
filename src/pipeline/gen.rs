//! Deterministic test images (used by the unit tests and `irs-tool gen`).

use super::codec::encode;
use super::ops::Bitmap;
use super::Error;

/// What `irs-tool gen` can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    JpegProgressive,
    /// Progressive with full-resolution or 4:2:2 chroma: what the DC-scan
    /// decoder takes at 1/8 (`JpegProgressive` is 4:2:0).
    JpegProgressive444,
    JpegProgressive422,
    JpegExif,
    /// Quality 10: already so small that converting it grows it
    /// (`image_resize_rs_never_larger`).
    JpegLow,
    Png,
    PngIndexedTrns,
    Gif,
    Webp,
    /// 64-colour indexed PNG, no transparency (palette parity).
    PngPalette64,
    /// JPEG whose EXIF holds a GPS IFD (metadata stripping).
    JpegGps,
    /// JPEG with EXIF Artist, Copyright, ImageDescription, orientation 6
    /// and a GPS IFD, and an XMP packet with rights, a description and GPS
    /// (`image_resize_rs_metadata`; [`rights_exif`], [`RIGHTS_XMP`]).
    JpegRights,
    /// JPEG tagged with a Display P3 ICC profile (colour conversion).
    JpegP3,
    PngP3,
    WebpP3,
    /// A soft grey gradient with a saturated, busy block (the subject) in
    /// the south-east: x and y from 70% to 90% of the image ([`subject`]).
    JpegSubject,
    PngSubject,
    /// Four frames exercising GIF compositing ([`animated_gif_with`]), and
    /// the same animation as WebP ([`animated_webp`]).
    GifAnimated,
    WebpAnimated,
    /// AVIF (our own encoder), for AVIF input.
    Avif,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "jpeg" => Kind::Jpeg,
            "jpeg-progressive" => Kind::JpegProgressive,
            "jpeg-progressive-444" => Kind::JpegProgressive444,
            "jpeg-progressive-422" => Kind::JpegProgressive422,
            "jpeg-exif" => Kind::JpegExif,
            "jpeg-low" => Kind::JpegLow,
            "png" => Kind::Png,
            "png-indexed-trns" => Kind::PngIndexedTrns,
            "gif" => Kind::Gif,
            "webp" => Kind::Webp,
            "png-palette64" => Kind::PngPalette64,
            "jpeg-gps" => Kind::JpegGps,
            "jpeg-rights" => Kind::JpegRights,
            "jpeg-p3" => Kind::JpegP3,
            "png-p3" => Kind::PngP3,
            "webp-p3" => Kind::WebpP3,
            "jpeg-subject" => Kind::JpegSubject,
            "png-subject" => Kind::PngSubject,
            "gif-animated" => Kind::GifAnimated,
            "webp-animated" => Kind::WebpAnimated,
            "avif" => Kind::Avif,
            _ => return None,
        })
    }
}

/// Colourful gradient with some texture: red grows left→right, green top→bottom,
/// blue is a diagonal ripple.
pub fn gradient_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let r = (u64::from(x) * 255 / u64::from(w.max(2) - 1)) as u8;
            let g = (u64::from(y) * 255 / u64::from(h.max(2) - 1)) as u8;
            let t = f64::from(x + 2 * y) / 9.0;
            let b = (128.0 + 100.0 * t.sin()) as u8;
            v.extend_from_slice(&[r, g, b]);
        }
    }
    v
}

fn bitmap(w: u32, h: u32) -> Bitmap {
    Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: gradient_rgb(w, h),
    }
}

/// Generates an encoded test image.
pub fn generate(kind: Kind, w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let b = bitmap(w, h);
    match kind {
        Kind::Jpeg => encode::encode_jpeg(&b, 90, false),
        Kind::JpegProgressive => encode::encode_jpeg(&b, 90, true),
        Kind::JpegProgressive444 => {
            encode::encode_jpeg_sampled(&b, 90, true, turbojpeg::Subsamp::None)
        }
        Kind::JpegProgressive422 => {
            encode::encode_jpeg_sampled(&b, 90, true, turbojpeg::Subsamp::Sub2x1)
        }
        Kind::JpegExif => Ok(add_app1(&encode::encode_jpeg(&b, 90, false)?)),
        Kind::JpegLow => encode::encode_jpeg(&b, 10, false),
        Kind::Png => encode::encode_png(&b),
        Kind::Gif => encode::encode_gif(&b),
        Kind::Webp => encode::encode_webp(&b, 90),
        Kind::PngIndexedTrns => Ok(indexed_png(w, h)),
        Kind::PngPalette64 => Ok(palette_png(w, h)),
        Kind::JpegGps => Ok(jpeg_with_exif(
            &encode::encode_jpeg(&b, 90, false)?,
            &exif_tiff(1, false, true),
        )),
        Kind::JpegRights => {
            let mut exif = b"Exif\0\0".to_vec();
            exif.extend_from_slice(&rights_exif());
            let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
            xmp.extend_from_slice(RIGHTS_XMP.as_bytes());
            let j = encode::encode_jpeg(&b, 90, false)?;
            Ok(jpeg_insert_segments(&j, 0xe1, &[exif, xmp]))
        }
        Kind::JpegP3 => generate_p3(Kind::Jpeg, w, h),
        Kind::PngP3 => generate_p3(Kind::Png, w, h),
        Kind::WebpP3 => generate_p3(Kind::Webp, w, h),
        Kind::JpegSubject => encode::encode_jpeg(&subject(w, h), 95, false),
        Kind::PngSubject => encode::encode_png(&subject(w, h)),
        Kind::GifAnimated | Kind::WebpAnimated => {
            let (Ok(width), Ok(height)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(Error::InvalidParameter(
                    "GIF sides are at most 65535".into(),
                ));
            };
            let spec = AnimSpec {
                width,
                height,
                ..AnimSpec::default()
            };
            Ok(if kind == Kind::GifAnimated {
                animated_gif_with(&spec)
            } else {
                animated_webp(&spec)
            })
        }
        Kind::Avif => encode::encode(
            super::ImageType::Avif,
            &b,
            &encode::EncodeOptions::default(),
        ),
    }
}

/// [`subject_at`] with the block from 70% to 90% of each side.
pub fn subject(w: u32, h: u32) -> Bitmap {
    let at = |n: u32| (n * 7 / 10, (n / 5).max(1));
    let ((bx, bw), (by, bh)) = (at(w), at(h));
    subject_at(w, h, bx, by, bw, bh)
}

/// A `w`×`h` softly graded grey background with a `bw`×`bh` block of
/// saturated red and blue 2×2 checkers at (`bx`, `by`): a subject off
/// centre, for gravity and smart crop.
pub fn subject_at(w: u32, h: u32, bx: u32, by: u32, bw: u32, bh: u32) -> Bitmap {
    let mut data = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let inside = (bx..bx + bw).contains(&x) && (by..by + bh).contains(&y);
            let px = if inside {
                if (x / 2 + y / 2) % 2 == 0 {
                    [230, 30, 40]
                } else {
                    [40, 60, 220]
                }
            } else {
                let v = 110 + (40 * u64::from(x + y) / u64::from(w + h)) as u8;
                [v, v, v]
            };
            data.extend_from_slice(&px);
        }
    }
    Bitmap {
        width: w,
        height: h,
        ch: 3,
        data,
    }
}

/// The four quadrant colours of [`quadrants`]: top-left, top-right,
/// bottom-left, bottom-right of the image as displayed.
pub const QUADRANTS: [[u8; 3]; 4] = [[230, 20, 20], [20, 200, 20], [20, 20, 230], [240, 240, 240]];

/// A `w`x`h` image of four flat quadrants ([`QUADRANTS`]): each corner of
/// the displayed image tells which way it was turned.
pub fn quadrants(w: u32, h: u32) -> Bitmap {
    let mut data = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            let q = usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2);
            data.extend_from_slice(&QUADRANTS[q]);
        }
    }
    Bitmap {
        width: w,
        height: h,
        ch: 3,
        data,
    }
}

/// `jpeg`/`png`/`webp` whose *displayed* image is `w`x`h` [`quadrants`]:
/// the pixels are stored turned by the inverse of `orientation` and the
/// EXIF orientation tag says how to turn them back.
pub fn generate_oriented(kind: Kind, w: u32, h: u32, orientation: u16) -> Result<Vec<u8>, Error> {
    use super::container::meta::Orientation;
    let o = Orientation::new(orientation);
    let stored = super::ops::transform::orient(quadrants(w, h), o.inverse());
    let tiff = exif_tiff(orientation, false, false);
    Ok(match kind {
        Kind::Jpeg => jpeg_with_exif(&encode::encode_jpeg(&stored, 95, false)?, &tiff),
        Kind::Png => png_insert_chunk(&encode::encode_png(&stored)?, b"eXIf", &tiff),
        Kind::Webp => webp_extended(&encode::encode_webp(&stored, 95)?, None, Some(&tiff)),
        other => {
            return Err(Error::Encode {
                ty: super::ImageType::Jpeg,
                reason: format!("no oriented variant of {other:?}"),
            })
        }
    })
}

/// A Display P3 ICC profile, written by moxcms.
pub fn display_p3_icc() -> Vec<u8> {
    moxcms::ColorProfile::new_display_p3()
        .encode()
        .expect("moxcms encodes its own Display P3 profile")
}

/// The flat colour of the P3 fixtures, in Display P3 values. In sRGB it is
/// (233, 66, 33): red further out than sRGB's primaries reach.
pub const P3_COLOUR: [u8; 3] = [215, 80, 50];

/// A flat [`P3_COLOUR`] image tagged with [`display_p3_icc`].
pub fn generate_p3(kind: Kind, w: u32, h: u32) -> Result<Vec<u8>, Error> {
    let b = Bitmap {
        width: w,
        height: h,
        ch: 3,
        data: P3_COLOUR.repeat(w as usize * h as usize),
    };
    let icc = display_p3_icc();
    Ok(match kind {
        Kind::Png => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut z, &icc).expect("in-memory write");
            let mut payload = b"Display P3\0\0".to_vec();
            payload.extend_from_slice(&z.finish().expect("in-memory write"));
            png_insert_chunk(&encode::encode_png(&b)?, b"iCCP", &payload)
        }
        Kind::Webp => webp_extended(&encode::encode_webp(&b, 95)?, Some(&icc), None),
        _ => jpeg_with_icc(&encode::encode_jpeg(&b, 95, false)?, &icc),
    })
}

/// A TIFF structure for EXIF: IFD0 with the orientation tag, an
/// ImageDescription, and with `gps` a GPS IFD (N 48°51'29", E 2°17'40",
/// map datum "IRS-GPS-TEST-DATUM", a string the tests look for).
pub fn exif_tiff(orientation: u16, big_endian: bool, gps: bool) -> Vec<u8> {
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut t: Vec<u8> = if big_endian {
        b"MM\0*".to_vec()
    } else {
        b"II*\0".to_vec()
    };
    t.extend_from_slice(&w32(8));
    // IFD0 at 8: entries (tag, type, count, value/offset).
    let desc = b"image_resize_rs test\0";
    let n0: u16 = if gps { 3 } else { 2 };
    let ifd0_end = 8 + 2 + 12 * u32::from(n0) + 4;
    let desc_off = ifd0_end;
    let gps_off = desc_off + desc.len() as u32 + (desc.len() as u32 & 1);
    t.extend_from_slice(&w16(n0));
    // 0x010e ImageDescription ASCII
    t.extend_from_slice(&w16(0x010e));
    t.extend_from_slice(&w16(2));
    t.extend_from_slice(&w32(desc.len() as u32));
    t.extend_from_slice(&w32(desc_off));
    // 0x0112 Orientation SHORT 1: value left-justified in the 4 bytes
    t.extend_from_slice(&w16(0x0112));
    t.extend_from_slice(&w16(3));
    t.extend_from_slice(&w32(1));
    t.extend_from_slice(&w16(orientation));
    t.extend_from_slice(&[0, 0]);
    if gps {
        // 0x8825 GPS IFD pointer LONG
        t.extend_from_slice(&w16(0x8825));
        t.extend_from_slice(&w16(4));
        t.extend_from_slice(&w32(1));
        t.extend_from_slice(&w32(gps_off));
    }
    t.extend_from_slice(&w32(0)); // no IFD1
    t.extend_from_slice(desc);
    if desc.len() & 1 == 1 {
        t.push(0);
    }
    if gps {
        let datum = b"IRS-GPS-TEST-DATUM\0";
        let n: u16 = 5;
        let data_off = gps_off + 2 + 12 * u32::from(n) + 4;
        let lat_off = data_off;
        let lon_off = lat_off + 24;
        let datum_off = lon_off + 24;
        t.extend_from_slice(&w16(n));
        let mut entry = |tag: u16, ty: u16, count: u32, val: [u8; 4]| {
            t.extend_from_slice(&w16(tag));
            t.extend_from_slice(&w16(ty));
            t.extend_from_slice(&w32(count));
            t.extend_from_slice(&val);
        };
        entry(0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
        entry(0x0002, 5, 3, w32(lat_off)); // GPSLatitude
        entry(0x0003, 2, 2, *b"E\0\0\0"); // GPSLongitudeRef
        entry(0x0004, 5, 3, w32(lon_off)); // GPSLongitude
        entry(0x0012, 2, datum.len() as u32, w32(datum_off)); // GPSMapDatum
        t.extend_from_slice(&w32(0));
        for (num, den) in [(48, 1), (51, 1), (29, 1), (2, 1), (17, 1), (40, 1)] {
            t.extend_from_slice(&w32(num));
            t.extend_from_slice(&w32(den));
        }
        t.extend_from_slice(datum);
    }
    t
}

/// [`Kind::JpegRights`]'s EXIF: IFD0 with ImageDescription, Orientation 6,
/// Artist "IRS Test Artist", Copyright "(c) IRS Test Owner" and a GPS IFD
/// (version 2.3, latitude ref N, longitude ref E: all inline values).
pub fn rights_exif() -> Vec<u8> {
    use super::container::exif::build;
    let gps: &[(u16, u16, u32, Vec<u8>)] = &[
        (0x0000, 1, 4, vec![2, 3, 0, 0]),
        (0x0001, 2, 2, b"N\0".to_vec()),
        (0x0003, 2, 2, b"E\0".to_vec()),
    ];
    let ifd0 = |gps_at: u32| -> Vec<(u16, u16, u32, Vec<u8>)> {
        vec![
            (0x010e, 2, 21, b"image_resize_rs test\0".to_vec()),
            (0x0112, 3, 1, vec![6, 0]),
            (0x013b, 2, 16, b"IRS Test Artist\0".to_vec()),
            (0x8298, 2, 19, b"(c) IRS Test Owner\0".to_vec()),
            (0x8825, 4, 1, gps_at.to_le_bytes().to_vec()),
        ]
    };
    let at = build(false, &[&ifd0(0)]).len() as u32;
    let mut t = build(false, &[&ifd0(at)]);
    t.extend_from_slice(&build(false, &[gps])[8..]);
    t
}

/// [`Kind::JpegRights`]'s XMP packet.
pub const RIGHTS_XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmpRights:Marked="True" xmpRights:WebStatement="https://example.com/licence"
 exif:GPSLatitude="48,51.48N">
<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) IRS Test Owner XMP</rdf:li></rdf:Alt></dc:rights>
<dc:creator><rdf:Seq><rdf:li>IRS Test Creator</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">IRS private description</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;

/// Inserts an APP1 `Exif` segment holding `tiff` right after SOI.
pub fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    jpeg_insert_segments(jpeg, 0xe1, &[payload])
}

/// Inserts `icc` as APP2 `ICC_PROFILE` segments (split at 65519 bytes).
pub fn jpeg_with_icc(jpeg: &[u8], icc: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = icc.chunks(65519).collect();
    let n = parts.len() as u8;
    let segs: Vec<Vec<u8>> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut s = b"ICC_PROFILE\0".to_vec();
            s.extend_from_slice(&[i as u8 + 1, n]);
            s.extend_from_slice(p);
            s
        })
        .collect();
    jpeg_insert_segments(jpeg, 0xe2, &segs)
}

fn jpeg_insert_segments(jpeg: &[u8], marker: u8, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2.min(jpeg.len())].to_vec();
    for p in payloads {
        out.extend_from_slice(&[0xff, marker]);
        out.extend_from_slice(&((p.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out.extend_from_slice(jpeg.get(2..).unwrap_or(&[]));
    out
}

/// Inserts a chunk right after IHDR.
pub fn png_insert_chunk(png: &[u8], name: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let at = 8 + 25; // signature + IHDR (4 + 4 + 13 + 4)
    let mut out = png[..at].to_vec();
    chunk(&mut out, name, data);
    out.extend_from_slice(&png[at..]);
    out
}

/// Rewrites a simple (VP8/VP8L) WebP as an extended one (VP8X) carrying an
/// ICCP and/or EXIF chunk.
pub fn webp_extended(simple: &[u8], icc: Option<&[u8]>, exif: Option<&[u8]>) -> Vec<u8> {
    let hdr = super::read_header(super::ImageType::Webp, simple).expect("a simple WebP");
    let image = &simple[12..];
    let riff = |out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() & 1 == 1 {
            out.push(0);
        }
    };
    let mut flags = 0u8;
    if icc.is_some() {
        flags |= 0x20;
    }
    if exif.is_some() {
        flags |= 0x08;
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&(hdr.width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(hdr.height - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    riff(&mut body, b"VP8X", &vp8x);
    if let Some(icc) = icc {
        riff(&mut body, b"ICCP", icc);
    }
    body.extend_from_slice(image);
    if let Some(exif) = exif {
        riff(&mut body, b"EXIF", exif);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A two-frame animated GIF.
pub fn animated_gif(w: u16, h: u16) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let pal = [255u8, 0, 0, 0, 0, 255];
        let mut enc = gif::Encoder::new(&mut out, w, h, &pal).expect("in-memory GIF");
        for i in 0..2u8 {
            let f = gif::Frame {
                width: w,
                height: h,
                delay: 10,
                buffer: std::borrow::Cow::Owned(vec![i; usize::from(w) * usize::from(h)]),
                ..gif::Frame::default()
            };
            enc.write_frame(&f).expect("in-memory GIF");
        }
    }
    out
}

/// An animated GIF of four frames that needs every compositing rule, on a
/// `width`×`height` canvas (at least 8×8), delays 100, 200, 300, 400 ms:
/// 0. the whole canvas red, kept;
/// 1. a blue rectangle at (w/4, h/4), w/2×h/2, its left half transparent
///    (red shows through), then disposed to the background (cleared);
/// 2. a green w/4×h/4 square at (0, 0), then disposed to the previous
///    canvas (it disappears again);
/// 3. a white w/4×h/4 square at (3w/4, 3h/4), kept.
///
/// So frame 3 shows red, a transparent hole where frame 1 was, and white
/// in the south-east corner ([`anim_expected`] gives each composite's colour
/// at a point).
#[derive(Clone, Copy, Debug)]
pub struct AnimSpec {
    pub width: u16,
    pub height: u16,
    /// NETSCAPE2.0 loop count: `None` (no extension, plays once), 0 forever.
    pub repeat: Option<u16>,
}

impl Default for AnimSpec {
    fn default() -> Self {
        AnimSpec {
            width: 40,
            height: 30,
            repeat: Some(0),
        }
    }
}

/// Palette of [`animated_gif_with`]: red, blue, green, white, and the
/// transparent index 4.
const ANIM_PALETTE: [u8; 15] = [255, 0, 0, 0, 0, 255, 0, 160, 0, 255, 255, 255, 0, 0, 0];

/// The rectangles (x, y, w, h) of [`AnimSpec`]'s frames 1, 2 and 3.
pub fn anim_rects(s: &AnimSpec) -> [(u16, u16, u16, u16); 3] {
    let (w, h) = (s.width, s.height);
    [
        (w / 4, h / 4, w / 2, h / 2),
        (0, 0, w / 4, h / 4),
        (w - w / 4, h - h / 4, w / 4, h / 4),
    ]
}

/// The colour (RGBA) of composite `frame` of [`animated_gif_with`] at
/// (`x`, `y`) of the canvas.
pub fn anim_expected(s: &AnimSpec, frame: usize, x: u16, y: u16) -> [u8; 4] {
    const RED: [u8; 4] = [255, 0, 0, 255];
    const BLUE: [u8; 4] = [0, 0, 255, 255];
    const GREEN: [u8; 4] = [0, 160, 0, 255];
    const WHITE: [u8; 4] = [255, 255, 255, 255];
    const CLEAR: [u8; 4] = [0, 0, 0, 0];
    let [r1, r2, r3] = anim_rects(s);
    let inside = |r: (u16, u16, u16, u16)| x >= r.0 && x < r.0 + r.2 && y >= r.1 && y < r.1 + r.3;
    match frame {
        0 => RED,
        1 if inside(r1) && x >= r1.0 + r1.2 / 2 => BLUE,
        1 => RED,
        2 if inside(r2) => GREEN,
        2 | 3 if inside(r1) => CLEAR,
        3 if inside(r3) => WHITE,
        _ => RED,
    }
}

/// [`AnimSpec`] as a GIF (one global palette, offsets, transparency, the
/// three disposal methods).
pub fn animated_gif_with(s: &AnimSpec) -> Vec<u8> {
    use gif::DisposalMethod::{Background, Keep, Previous};
    let mut out = Vec::new();
    {
        let mut enc =
            gif::Encoder::new(&mut out, s.width, s.height, &ANIM_PALETTE).expect("in-memory GIF");
        if let Some(n) = s.repeat {
            let r = if n == 0 {
                gif::Repeat::Infinite
            } else {
                gif::Repeat::Finite(n)
            };
            enc.set_repeat(r).expect("in-memory GIF");
        }
        let [r1, r2, r3] = anim_rects(s);
        let full = (0, 0, s.width, s.height);
        let frames = [
            (full, 0u8, Keep),
            (r1, 1, Background),
            (r2, 2, Previous),
            (r3, 3, Keep),
        ];
        for (k, ((x, y, w, h), colour, dispose)) in frames.into_iter().enumerate() {
            let buffer: Vec<u8> = (0..h)
                .flat_map(|_| (0..w).map(move |c| if k == 1 && c < w / 2 { 4 } else { colour }))
                .collect();
            let f = gif::Frame {
                left: x,
                top: y,
                width: w,
                height: h,
                delay: 10 * (k as u16 + 1),
                dispose,
                transparent: Some(4),
                buffer: std::borrow::Cow::Owned(buffer),
                ..gif::Frame::default()
            };
            enc.write_frame(&f).expect("in-memory GIF");
        }
    }
    out
}

/// [`AnimSpec`] as an animated WebP: [`animated_gif_with`]'s composites,
/// full canvases, written by the module's own WebP animation writer
/// (quality 90).
pub fn animated_webp(s: &AnimSpec) -> Vec<u8> {
    use super::codec::anim;
    use super::ImageType;
    let gif = animated_gif_with(s);
    let plays = match s.repeat {
        None => 1,
        Some(0) => 0,
        Some(n) => u32::from(n) + 1,
    };
    let mut w = anim::WebpWriter::new(u32::from(s.width), u32::from(s.height), plays, 90)
        .expect("canvas within WebP's limits");
    for f in anim::frames(ImageType::Gif, &gif, u64::MAX).expect("our GIF") {
        let f = f.expect("our GIF");
        w.add(&f.canvas, f.delay_ms).expect("in-memory WebP");
    }
    w.finish()
}

/// 8-bit indexed PNG with a 64-colour palette and no transparency: bands and
/// a checker pattern, the kind of image palette output keeps small.
pub fn palette_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut plte = Vec::new();
    for i in 0..64u32 {
        plte.extend_from_slice(&[(i * 4) as u8, (255 - i * 3) as u8, ((i * 37) % 256) as u8]);
    }
    chunk(&mut out, b"PLTE", &plte);
    let mut raw = Vec::with_capacity((w as usize + 1) * h as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            let band = (x * 32 / w.max(1)) as u8;
            let checker = u8::from((x / 8 + y / 8) % 2 == 1);
            raw.push(band * 2 + checker);
        }
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Inserts APP1 "Exif" segments after SOI totalling more than 5% of the result.
pub fn add_app1(jpeg: &[u8]) -> Vec<u8> {
    let want = jpeg.len() / 10 + 64; // comfortably above 5% of the final size
    let mut segs = Vec::new();
    let mut left = want;
    while left > 0 {
        let n = left.min(60000);
        let mut payload = b"Exif\0\0".to_vec();
        payload.resize(n.max(6), 0);
        let len = (payload.len() + 2) as u16;
        segs.extend_from_slice(&[0xff, 0xe1]);
        segs.extend_from_slice(&len.to_be_bytes());
        segs.extend_from_slice(&payload);
        left -= n;
    }
    let mut out = Vec::with_capacity(jpeg.len() + segs.len());
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]);
    out.extend_from_slice(&segs);
    out.extend_from_slice(jpeg.get(2..).unwrap_or(&[]));
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let n = c.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// 8-bit indexed PNG, 64-colour gradient palette; index 0 is fully transparent
/// (palette colour 255,0,255 underneath) and fills a centred rectangle.
pub fn indexed_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut plte = vec![255, 0, 255];
    for i in 1..64u32 {
        plte.extend_from_slice(&[(i * 4) as u8, (255 - i * 4) as u8, ((i * 37) % 256) as u8]);
    }
    chunk(&mut out, b"PLTE", &plte);
    chunk(&mut out, b"tRNS", &[0]);
    let mut raw = Vec::with_capacity((w as usize + 1) * h as usize);
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            let inside = x >= w / 4 && x < w - w / 4 && y >= h / 4 && y < h - h / 4;
            let idx = if inside {
                0
            } else {
                1 + ((x * 63 / w.max(1) + y * 7 / h.max(1)) % 63) as u8
            };
            raw.push(idx);
        }
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}
