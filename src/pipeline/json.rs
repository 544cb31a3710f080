//! The `image_filter size` answer, byte-exact with nginx's ngx_http_image_json.

use super::ImageType;

/// `{ "img" : { "width": W, "height": H, "type": "jpeg" } }\r\n`, or `{}\r\n` for `None`.
pub fn size_json(info: Option<(ImageType, u32, u32)>) -> Vec<u8> {
    match info {
        Some((ty, w, h)) => format!(
            "{{ \"img\" : {{ \"width\": {w}, \"height\": {h}, \"type\": \"{}\" }} }}\r\n",
            ty.name()
        )
        .into_bytes(),
        None => b"{}\r\n".to_vec(),
    }
}

/// [`size_json`], with `"frames": N` after the type for an animated image
/// (`frames` is `Some`); a still's answer is image_filter's, byte for byte.
pub fn size_json_frames(info: Option<(ImageType, u32, u32)>, frames: Option<u32>) -> Vec<u8> {
    match (info, frames) {
        (Some((ty, w, h)), Some(n)) => format!(
            "{{ \"img\" : {{ \"width\": {w}, \"height\": {h}, \"type\": \"{}\", \"frames\": {n} }} }}\r\n",
            ty.name()
        )
        .into_bytes(),
        _ => size_json(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_exact_bytes() {
        assert_eq!(
            size_json(Some((ImageType::Jpeg, 640, 480))),
            b"{ \"img\" : { \"width\": 640, \"height\": 480, \"type\": \"jpeg\" } }\r\n".to_vec()
        );
        assert_eq!(
            size_json(Some((ImageType::Webp, 1, 2))),
            b"{ \"img\" : { \"width\": 1, \"height\": 2, \"type\": \"webp\" } }\r\n".to_vec()
        );
        assert_eq!(size_json(None), b"{}\r\n".to_vec());
        assert_eq!(
            size_json_frames(Some((ImageType::Gif, 3, 4)), Some(7)),
            b"{ \"img\" : { \"width\": 3, \"height\": 4, \"type\": \"gif\", \"frames\": 7 } }\r\n"
                .to_vec()
        );
        assert_eq!(
            size_json_frames(Some((ImageType::Gif, 3, 4)), None),
            size_json(Some((ImageType::Gif, 3, 4)))
        );
    }
}
