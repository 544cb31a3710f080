//! What happens to an animated GIF or WebP: `image_resize_rs_animation`,
//! `_max_frames` and `_max_frame_pixels` ([`Policy`]), decided from the
//! container's frame count before any pixel is decoded ([`decide`]).

use crate::negotiate::Token;
use crate::pipeline::container::anim::Animation;
use crate::pipeline::{Error, ImageType};

/// Default `image_resize_rs_max_frames`.
pub const DEFAULT_MAX_FRAMES: u64 = 300;
/// Default `image_resize_rs_max_frame_pixels`: 200 megapixels, all frames
/// together (e.g. 100 frames of 1000×2000).
pub const DEFAULT_MAX_FRAME_PIXELS: u64 = 200_000_000;

/// `image_resize_rs_animation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `keep`: every frame; an animation over a limit gets its first frame
    /// (`over_limit=first`, the default) or is refused (`over_limit=refuse`).
    Keep { refuse_over_limit: bool },
    /// `first`: the first frame only, as image_filter does.
    First,
}

impl Default for Mode {
    fn default() -> Self {
        Mode::Keep {
            refuse_over_limit: false,
        }
    }
}

/// `keep [over_limit=first|refuse]` or `first`.
pub fn parse_mode(args: &[&[u8]]) -> Result<Mode, String> {
    let word = |w: &[u8]| String::from_utf8_lossy(w).into_owned();
    match args {
        [b"first"] => Ok(Mode::First),
        [b"keep"] => Ok(Mode::default()),
        [b"keep", opt] => match *opt {
            b"over_limit=first" => Ok(Mode::Keep {
                refuse_over_limit: false,
            }),
            b"over_limit=refuse" => Ok(Mode::Keep {
                refuse_over_limit: true,
            }),
            o => Err(format!(
                "invalid parameter \"{}\", expected over_limit=first or over_limit=refuse",
                word(o)
            )),
        },
        [w, ..] if *w != b"keep" => Err(format!(
            "invalid value \"{}\", expected keep or first",
            word(w)
        )),
        _ => Err("too many parameters".into()),
    }
}

/// The animation settings of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// `image_resize_rs_max_frames`: frames, never 0.
    pub max_frames: u64,
    /// `image_resize_rs_max_frame_pixels`: frames × width × height.
    pub max_frame_pixels: u64,
    /// `webp` is among `image_resize_rs_formats`: a negotiated AVIF token
    /// animates as WebP (we write no animated AVIF, and every browser that
    /// takes AVIF takes WebP). A fact of the configuration, not of the
    /// request, so one token still gives one answer per URL.
    pub webp_for_avif: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::default(),
            max_frames: DEFAULT_MAX_FRAMES,
            max_frame_pixels: DEFAULT_MAX_FRAME_PIXELS,
            webp_for_avif: false,
        }
    }
}

/// What an animated input becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every frame, written as this format (GIF or WebP).
    Animate(ImageType),
    /// The first frame, as a still, the way a still input is handled.
    First,
}

/// The animated output format for `token`, or `None` where the request
/// asked for a format that cannot animate here (`image_resize_rs_output
/// jpeg|png|avif`: the first frame, as before). WebP wherever the token is
/// WebP (negotiated or forced), and for a negotiated AVIF where WebP is
/// negotiable too; otherwise the input's own format (we write no animated
/// AVIF).
pub fn output_type(
    token: Token,
    input: ImageType,
    negotiated: bool,
    webp_for_avif: bool,
) -> Option<ImageType> {
    match token {
        Token::Webp => Some(ImageType::Webp),
        Token::Avif if negotiated && webp_for_avif => Some(ImageType::Webp),
        Token::Orig => Some(input),
        Token::Avif | Token::Jpeg | Token::Png if negotiated => Some(input),
        Token::Avif | Token::Jpeg | Token::Png => None,
    }
}

/// Keep the animation, fall back to its first frame, or refuse it
/// ([`Error::TooManyFrames`]), from the container's counts alone.
pub fn decide(
    policy: &Policy,
    anim: &Animation,
    token: Token,
    input: ImageType,
    negotiated: bool,
) -> Result<Decision, Error> {
    let Mode::Keep { refuse_over_limit } = policy.mode else {
        return Ok(Decision::First);
    };
    let Some(ty) = output_type(token, input, negotiated, policy.webp_for_avif) else {
        return Ok(Decision::First);
    };
    let over = u64::from(anim.frames) > policy.max_frames
        || anim.pixels() > u128::from(policy.max_frame_pixels);
    match (over, refuse_over_limit) {
        (false, _) => Ok(Decision::Animate(ty)),
        (true, false) => Ok(Decision::First),
        (true, true) => Err(Error::TooManyFrames {
            frames: anim.frames,
            width: anim.width,
            height: anim.height,
            max_frames: policy.max_frames,
            max_frame_pixels: policy.max_frame_pixels,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anim(frames: u32, w: u32, h: u32) -> Animation {
        Animation {
            width: w,
            height: h,
            frames,
            delays_ms: vec![0; frames as usize],
            plays: 0,
        }
    }

    #[test]
    fn parse() {
        assert_eq!(parse_mode(&[b"first"]), Ok(Mode::First));
        assert_eq!(parse_mode(&[b"keep"]), Ok(Mode::default()));
        assert_eq!(
            parse_mode(&[b"keep", b"over_limit=refuse"]),
            Ok(Mode::Keep {
                refuse_over_limit: true
            })
        );
        assert_eq!(
            parse_mode(&[b"keep", b"over_limit=first"]),
            Ok(Mode::default())
        );
        assert!(parse_mode(&[b"on"]).is_err());
        assert!(parse_mode(&[b"keep", b"over_limit=drop"]).is_err());
        assert!(parse_mode(&[b"first", b"over_limit=refuse"]).is_err());
        assert!(parse_mode(&[b"keep", b"over_limit=first", b"x"]).is_err());
    }

    #[test]
    fn limits_and_formats() {
        let p = Policy {
            max_frames: 10,
            max_frame_pixels: 1000,
            ..Policy::default()
        };
        let gif = ImageType::Gif;
        assert_eq!(
            decide(&p, &anim(10, 10, 10), Token::Orig, gif, false).unwrap(),
            Decision::Animate(gif)
        );
        assert_eq!(
            decide(&p, &anim(11, 1, 1), Token::Orig, gif, false).unwrap(),
            Decision::First
        );
        assert_eq!(
            decide(&p, &anim(2, 30, 30), Token::Orig, gif, false).unwrap(),
            Decision::First
        );
        assert_eq!(
            decide(&p, &anim(2, 10, 10), Token::Webp, gif, true).unwrap(),
            Decision::Animate(ImageType::Webp)
        );
        assert_eq!(
            decide(&p, &anim(2, 10, 10), Token::Avif, gif, true).unwrap(),
            Decision::Animate(gif)
        );
        let webp_too = Policy {
            webp_for_avif: true,
            ..p
        };
        assert_eq!(
            decide(&webp_too, &anim(2, 10, 10), Token::Avif, gif, true).unwrap(),
            Decision::Animate(ImageType::Webp)
        );
        // forced AVIF (image_resize_rs_output avif): the first frame, as before
        assert_eq!(
            decide(&webp_too, &anim(2, 10, 10), Token::Avif, gif, false).unwrap(),
            Decision::First
        );
        assert_eq!(
            decide(&p, &anim(2, 10, 10), Token::Jpeg, gif, false).unwrap(),
            Decision::First
        );
        let refuse = Policy {
            mode: Mode::Keep {
                refuse_over_limit: true,
            },
            ..p
        };
        assert!(matches!(
            decide(&refuse, &anim(11, 1, 1), Token::Orig, gif, false),
            Err(Error::TooManyFrames { frames: 11, .. })
        ));
        let first = Policy {
            mode: Mode::First,
            ..p
        };
        assert_eq!(
            decide(&first, &anim(2, 1, 1), Token::Orig, gif, false).unwrap(),
            Decision::First
        );
    }
}
