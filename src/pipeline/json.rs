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
    }
}
