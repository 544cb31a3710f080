//! `image_resize_rs_never_larger`: the original goes out instead of an image
//! that only re-encodes it and came out bigger.
//!
//! Applies when all of these hold (and never otherwise):
//! - the image was encoded at all: what image_filter sends "as is" (it fits
//!   the box, same format, nothing forces a re-encode) already goes out
//!   untouched ([`crate::pipeline::Reply::Original`]);
//! - nothing geometric changed ([`unchanged`]): no resize, no crop cut, no
//!   padding, no rotation, no EXIF orientation to turn. What re-encodes such an image is
//!   a format conversion (`image_resize_rs_formats`, or an
//!   `image_resize_rs_output` naming the original's own format) or
//!   image_filter's `force` (a JPEG whose application data is more than 5%
//!   of the file);
//! - the new image has more bytes than the original;
//! - the client accepts the original's type ([`client_accepts`]).
//!
//! Every input is the body, the request's token and the configuration, so
//! the answer for one URL and one `$image_resize_rs_format` is always the
//! same: a cache keyed on the token stays right.

use super::geometry::Geometry;
use super::OutputSettings;
use crate::negotiate::Token;
use crate::pipeline::ImageType;

/// The pixels sent would be the original's: nothing geometric happens to a
/// `geo` planned for an image whose EXIF orientation is `upright` (normal,
/// or ignored with `image_resize_rs_auto_orient off`). A `pad` that adds
/// bars changes it too.
pub fn unchanged(geo: &Geometry, upright: bool) -> bool {
    upright && geo.resize.is_none() && geo.angle == 0 && geo.crop.is_none() && geo.pad.is_none()
}

/// Can the original's bytes stand in for the output the request asked for?
///
/// - negotiated or no format at all (`image_resize_rs_output original`):
///   JPEG, PNG and GIF always (every client takes them); WebP only when the
///   request's token is `webp` (its `Accept` names it). The token, not the
///   raw `Accept`, decides, so a cache keyed on it stays right;
/// - forced (`image_resize_rs_output jpeg|png|webp|avif`): only when the
///   forced format is the original's own (the URL promised that type).
pub fn client_accepts(original: ImageType, out: &OutputSettings) -> bool {
    let named = token_type(out.token) == Some(original);
    let forced = out.token != Token::Orig && !out.negotiated;
    if forced {
        return named;
    }
    named || matches!(original, ImageType::Jpeg | ImageType::Png | ImageType::Gif)
}

/// [`OutputSettings::never_larger`]'s decision for an original of
/// `original_len` bytes of type `original`, and a new image of `made_len`
/// bytes that is [`unchanged`] or not.
pub fn send_original(
    original: ImageType,
    original_len: usize,
    made_len: usize,
    unchanged: bool,
    out: &OutputSettings,
) -> bool {
    out.never_larger && unchanged && made_len > original_len && client_accepts(original, out)
}

fn token_type(token: Token) -> Option<ImageType> {
    match token {
        Token::Orig => None,
        Token::Jpeg => Some(ImageType::Jpeg),
        Token::Png => Some(ImageType::Png),
        Token::Webp => Some(ImageType::Webp),
        Token::Avif => Some(ImageType::Avif),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::plan::{geometry, Operation};
    use ImageType::*;

    fn out(token: Token, negotiated: bool) -> OutputSettings {
        OutputSettings {
            token,
            negotiated,
            ..OutputSettings::default()
        }
    }

    #[test]
    fn which_originals_a_client_takes() {
        for (token, negotiated, original, want) in [
            // negotiated: the classic formats always, WebP only when named
            (Token::Avif, true, Jpeg, true),
            (Token::Webp, true, Png, true),
            (Token::Avif, true, Gif, true),
            (Token::Orig, true, Jpeg, true),
            (Token::Webp, true, Webp, true),
            (Token::Avif, true, Webp, false),
            // AVIF input: only to a client whose token names it
            (Token::Avif, true, Avif, true),
            (Token::Webp, true, Avif, false),
            (Token::Orig, true, Avif, false),
            (Token::Orig, false, Avif, false),
            (Token::Orig, true, Webp, false),
            // no formats configured
            (Token::Orig, false, Png, true),
            (Token::Orig, false, Webp, false),
            // forced: its own format only
            (Token::Jpeg, false, Jpeg, true),
            (Token::Jpeg, false, Png, false),
            (Token::Avif, false, Jpeg, false),
            (Token::Webp, false, Webp, true),
            (Token::Png, false, Gif, false),
        ] {
            assert_eq!(
                client_accepts(original, &out(token, negotiated)),
                want,
                "{token:?} negotiated={negotiated} {original:?}"
            );
        }
    }

    #[test]
    fn only_without_geometry() {
        let u = u64::MAX;
        let fits = geometry::plan(Operation::Resize, 40, 30, 100, 100, 0);
        assert!(unchanged(&fits, true));
        assert!(!unchanged(&fits, false), "an EXIF turn is geometry");
        let shrinks = geometry::plan(Operation::Resize, 400, 300, 100, 100, 0);
        assert!(!unchanged(&shrinks, true));
        let cuts = geometry::plan(Operation::Crop, 150, 80, 100, 100, 0);
        assert!(!unchanged(&cuts, true));
        let crop_fits = geometry::plan(Operation::Crop, 50, 50, 100, 100, 0);
        assert!(unchanged(&crop_fits, true));
        let turns = geometry::plan(Operation::Rotate, 40, 30, u, u, 90);
        assert!(!unchanged(&turns, true));
        let fits_turned = geometry::plan(Operation::Resize, 40, 30, 100, 100, 180);
        assert!(!unchanged(&fits_turned, true));
    }

    #[test]
    fn bigger_and_unchanged_and_accepted_and_on() {
        let avif = out(Token::Avif, true);
        assert!(send_original(Jpeg, 1000, 1001, true, &avif));
        assert!(
            !send_original(Jpeg, 1000, 1000, true, &avif),
            "equal: the new one"
        );
        assert!(!send_original(Jpeg, 1000, 999, true, &avif));
        assert!(!send_original(Jpeg, 1000, 5000, false, &avif));
        assert!(!send_original(Webp, 1000, 5000, true, &avif));
        let off = OutputSettings {
            never_larger: false,
            ..avif
        };
        assert!(!send_original(Jpeg, 1000, 5000, true, &off));
    }
}
