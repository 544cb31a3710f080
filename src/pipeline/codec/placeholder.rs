//! `image_resize_rs placeholder`: what a page inlines while the image loads.
//! A ThumbHash (the reference encoder, crate `thumbhash`: about 25 bytes
//! that decode to a blurred picture with the right aspect ratio and alpha),
//! a BlurHash ([`super::blurhash`], for front ends that only decode that),
//! the dominant colour, and the dimensions as displayed, as JSON in the shape
//! of the `size` answer.

use super::super::ops::Bitmap;
use super::super::ImageType;

/// ThumbHash's encoder takes at most 100×100 pixels.
pub const MAX_SIDE: u32 = 100;

/// `{ "img" : { "width": W, "height": H, "type": "jpeg", "thumbhash": "…",
/// "blurhash": "…", "color": "#rrggbb" } }\r\n` for `small` (at most [`MAX_SIDE`] on each
/// side: the caller shrinks), the source's displayed `width`×`height`.
pub fn json(small: &Bitmap, ty: ImageType, width: u32, height: u32) -> Vec<u8> {
    debug_assert!(small.width <= MAX_SIDE && small.height <= MAX_SIDE);
    let rgba = small.to_rgba();
    let hash = thumbhash::rgba_to_thumb_hash(small.width as usize, small.height as usize, &rgba);
    // Base 83 has no `\` and no `"`: nothing to escape in JSON.
    let blur = super::blurhash::encode(small.width as usize, small.height as usize, &rgba);
    let [r, g, b] = dominant(&rgba);
    format!(
        "{{ \"img\" : {{ \"width\": {width}, \"height\": {height}, \"type\": \"{}\", \
         \"thumbhash\": \"{}\", \"blurhash\": \"{blur}\", \"color\": \"#{r:02x}{g:02x}{b:02x}\" }} }}\r\n",
        ty.name(),
        base64(&hash)
    )
    .into_bytes()
}

/// The dominant colour: the mean of the most populous bucket of a 4-bit
/// per channel histogram, over pixels that are not mostly transparent
/// (all pixels when every one is). Unlike the mean of the whole image it is
/// a colour the image actually has.
fn dominant(rgba: &[u8]) -> [u8; 3] {
    let opaque = rgba.chunks_exact(4).any(|p| p[3] >= 128);
    let mut count = vec![0u32; 4096];
    let mut sum = vec![[0u64; 3]; 4096];
    for p in rgba.chunks_exact(4).filter(|p| !opaque || p[3] >= 128) {
        let i = usize::from(p[0] >> 4) << 8 | usize::from(p[1] >> 4) << 4 | usize::from(p[2] >> 4);
        count[i] += 1;
        for c in 0..3 {
            sum[i][c] += u64::from(p[c]);
        }
    }
    let (best, &n) = count
        .iter()
        .enumerate()
        .max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i)))
        .expect("4096 buckets");
    if n == 0 {
        return [0; 3];
    }
    let n = u64::from(n);
    sum[best].map(|s| ((s + n / 2) / n) as u8)
}

/// Standard base64 with padding, as `atob` and ThumbHash's JavaScript
/// decoder expect.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(A[(n >> shift) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Bitmap {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&f(x, y));
            }
        }
        Bitmap {
            width: w,
            height: h,
            ch: 4,
            data,
        }
    }

    fn field<'a>(json: &'a str, name: &str) -> &'a str {
        let at = json.find(&format!("\"{name}\": ")).unwrap() + name.len() + 4;
        let rest = &json[at..];
        let end = rest.find([',', ' ']).unwrap();
        rest[..end].trim_matches('"')
    }

    fn unbase64(s: &str) -> Vec<u8> {
        const A: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in s.chars().filter(|&c| c != '=') {
            bits = bits << 6 | A.find(c).unwrap() as u32;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
            }
        }
        out
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
            assert_eq!(unbase64(enc), raw.as_bytes());
        }
    }

    #[test]
    fn the_hash_decodes_to_the_picture_and_its_aspect() {
        // Left half red, right half blue, 100×50.
        let img = bitmap(100, 50, |x, _| {
            if x < 50 {
                [220, 20, 20, 255]
            } else {
                [20, 20, 220, 255]
            }
        });
        let j = String::from_utf8(json(&img, ImageType::Jpeg, 2000, 1000)).unwrap();
        assert!(
            j.starts_with("{ \"img\" : { \"width\": 2000, \"height\": 1000, \"type\": \"jpeg\", ")
        );
        assert!(j.ends_with(" } }\r\n"));
        let hash = unbase64(field(&j, "thumbhash"));
        assert!(hash.len() < 30, "{} bytes", hash.len());
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
        assert!((ratio - 2.0).abs() < 0.3, "{ratio}");
        let (w, h, px) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
        let at = |x: usize, y: usize| &px[(y * w + x) * 4..(y * w + x) * 4 + 4];
        let (left, right) = (at(2, h / 2), at(w - 3, h / 2));
        assert!(left[0] > left[2] + 60, "left reddish: {left:?}");
        assert!(right[2] > right[0] + 60, "right bluish: {right:?}");
        // Equal halves: the tie goes to the lower bucket, which is blue.
        assert_eq!(field(&j, "color"), "#1414dc");
    }

    #[test]
    fn dominant_is_a_colour_of_the_image_not_the_mean() {
        // 70% green, 30% white: the mean would be a pale green.
        let img = bitmap(10, 10, |x, _| {
            if x < 7 {
                [30, 160, 40, 255]
            } else {
                [255, 255, 255, 255]
            }
        });
        assert_eq!(dominant(&img.to_rgba()), [30, 160, 40]);
        // Transparent pixels do not count; all transparent: all count.
        let img = bitmap(10, 10, |x, _| {
            if x < 7 {
                [255, 0, 0, 0]
            } else {
                [0, 0, 255, 255]
            }
        });
        assert_eq!(dominant(&img.to_rgba()), [0, 0, 255]);
        let img = bitmap(2, 2, |_, _| [9, 9, 9, 0]);
        assert_eq!(dominant(&img.to_rgba()), [9, 9, 9]);
    }

    #[test]
    fn alpha_and_grey_and_one_pixel() {
        let img = bitmap(1, 1, |_, _| [1, 2, 3, 255]);
        let j = String::from_utf8(json(&img, ImageType::Png, 1, 1)).unwrap();
        assert_eq!(field(&j, "color"), "#010203");
        let img = bitmap(40, 100, |x, y| {
            [
                (x * 6) as u8,
                (y * 2) as u8,
                0,
                if x < 20 { 0 } else { 255 },
            ]
        });
        let j = String::from_utf8(json(&img, ImageType::Png, 400, 1000)).unwrap();
        let hash = unbase64(field(&j, "thumbhash"));
        let (_, _, px) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
        assert!(px.chunks_exact(4).any(|p| p[3] < 128), "alpha kept");
        let grey = Bitmap {
            width: 3,
            height: 2,
            ch: 1,
            data: vec![0, 50, 100, 150, 200, 250],
        };
        let j = String::from_utf8(json(&grey, ImageType::Gif, 3, 2)).unwrap();
        assert!(j.contains("\"type\": \"gif\""));
    }
}
