//! Directive arguments and their values, parsed the way
//! `ngx_http_image_filter_module` parses them. Pure: used both by the config
//! handlers (static values, checked at `nginx -t`) and at request time (values
//! computed from variables).

use thiserror::Error;

/// `-` in `resize - 200`: no limit on that side (C's `(ngx_uint_t) -1`).
pub const UNLIMITED: u64 = u64::MAX;

/// Default for `image_resize_rs_max_pixels`: 40 megapixels, e.g. 7680x5120.
/// A decoded RGBA image of that size takes 160 MB; the default bounds a
/// worker's memory while letting through any real camera photo.
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

// Defaults and bounds of the encoder knobs, for the directives, the
// request-time checks and the encoders alike.

/// Default `image_resize_rs_jpeg_quality`: libjpeg's.
pub const DEFAULT_JPEG_QUALITY: u32 = 75;
/// Default `image_resize_rs_webp_quality`: libwebp's.
pub const DEFAULT_WEBP_QUALITY: u32 = 80;
/// Default `image_resize_rs_avif_quality` (ravif's 1..=100 scale; 80 is AV1
/// quantizer 121). On the photo corpus it keeps luma SSIM within 0.005 of
/// JPEG q80 at 300×200 and 1200×800 at ≤ 60% of its bytes; 75 does not
/// (BENCHMARKS.md, "Output formats").
pub const DEFAULT_AVIF_QUALITY: u32 = 80;
/// Default `image_resize_rs_avif_speed` (1 slowest ..= 10 fastest; see
/// src/pipeline/codec/avif.rs for what each does).
pub const DEFAULT_AVIF_SPEED: u32 = 9;
/// Every quality (JPEG, WebP, AVIF) is 1..=`MAX_QUALITY`.
pub const MAX_QUALITY: u32 = 100;
/// rav1e's speeds are 1..=`MAX_AVIF_SPEED`.
pub const MAX_AVIF_SPEED: u32 = 10;

/// A quality brought into 1..=[`MAX_QUALITY`].
pub fn clamp_quality(q: u32) -> u32 {
    q.clamp(1, MAX_QUALITY)
}

/// An AVIF speed brought into 1..=[`MAX_AVIF_SPEED`].
pub fn clamp_avif_speed(speed: u32) -> u32 {
    speed.clamp(1, MAX_AVIF_SPEED)
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("invalid parameter \"{0}\"")]
    InvalidParameter(String),
    #[error("invalid number of arguments")]
    Arity,
    #[error("invalid value \"{0}\"")]
    InvalidValue(String),
    #[error("invalid parameter \"{0}\": pad takes a positive number for both sides, not \"-\"")]
    PadDimension(String),
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ngx_http_image_filter_value`: `-` is [`UNLIMITED`], a positive decimal is
/// itself, anything else (including 0 and overflow) is 0, which callers treat
/// as invalid.
pub fn filter_value(s: &[u8]) -> u64 {
    if s == b"-" {
        return UNLIMITED;
    }
    parse_decimal(s).filter(|&n| n > 0).unwrap_or(0)
}

/// `ngx_atoi`: decimal digits only, no sign, no overflow.
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// A mode of the `image_resize_rs` directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    Test,
    Size,
    Rotate,
    Resize,
    Crop,
    /// `placeholder`: a ThumbHash, the dominant colour and the size, as
    /// JSON (not image_filter's).
    Placeholder,
    /// `pad W H`: fit inside the box, then letterbox to exactly W×H.
    Pad,
}

/// One `image_resize_rs ...;` line, arguments still raw (they may hold variables).
#[derive(Debug, PartialEq, Eq)]
pub enum FilterArgs<'a> {
    Off,
    Test,
    Size,
    Rotate(&'a [u8]),
    Resize(&'a [u8], &'a [u8]),
    Crop(&'a [u8], &'a [u8]),
    Placeholder,
    Pad(&'a [u8], &'a [u8]),
}

/// Parses the arguments after the directive name, as `ngx_http_image_filter` does.
pub fn parse_filter_args<'a>(args: &[&'a [u8]]) -> Result<FilterArgs<'a>, ValueError> {
    match args {
        [b"off"] => Ok(FilterArgs::Off),
        [b"test"] => Ok(FilterArgs::Test),
        [b"size"] => Ok(FilterArgs::Size),
        [b"placeholder"] => Ok(FilterArgs::Placeholder),
        [b"rotate", a] => Ok(FilterArgs::Rotate(a)),
        [b"resize", w, h] => Ok(FilterArgs::Resize(w, h)),
        [b"crop", w, h] => Ok(FilterArgs::Crop(w, h)),
        [b"pad", w, h] => Ok(FilterArgs::Pad(w, h)),
        [first, ..] if args.len() <= 3 => Err(ValueError::InvalidParameter(lossy(first))),
        _ => Err(ValueError::Arity),
    }
}

/// Does this argument need `ngx_http_compile_complex_value`?
pub fn has_variables(s: &[u8]) -> bool {
    s.contains(&b'$')
}

// The checks below take a number as `filter_value` gives it (0 = unusable,
// UNLIMITED = "-"). The directive handlers run them on static arguments at
// `nginx -t`; the pipeline runs the very same ones on values computed from
// variables at request time.

/// A `rotate` angle: 90, 180 or 270.
pub fn check_angle(n: u64) -> Result<u32, ValueError> {
    match n {
        90 | 180 | 270 => Ok(n as u32),
        _ => Err(ValueError::InvalidValue(n_text(n))),
    }
}

/// A width or height: positive or `-` ([`UNLIMITED`]).
pub fn check_dimension(n: u64) -> Result<u64, ValueError> {
    match n {
        0 => Err(ValueError::InvalidValue(n_text(n))),
        n => Ok(n),
    }
}

/// A quality (`jpeg_quality`, `webp_quality`): positive, not `-`, as
/// image_filter. Values above 100 are clamped to 100.
pub fn check_quality(n: u64) -> Result<u32, ValueError> {
    match n {
        0 | UNLIMITED => Err(ValueError::InvalidValue(n_text(n))),
        n => Ok(n.min(u64::from(MAX_QUALITY)) as u32),
    }
}

/// A `sharpen` percentage: 0 or more (`-` means 0, as C's cast does);
/// capped at 1000 (image_filter's gdImageSharpen saturates long before).
pub fn check_sharpen(n: u64) -> u32 {
    match n {
        UNLIMITED => 0,
        n => n.min(1000) as u32,
    }
}

fn n_text(n: u64) -> String {
    if n == UNLIMITED {
        "-".into()
    } else {
        n.to_string()
    }
}

/// Checks every `$` the way nginx's script compiler (`ngx_http_script_compile`)
/// reads it: `$name`, `${name}` or `$1`..`$9`, a name being `[A-Za-z0-9_]+`.
/// Run before nginx's compiler so that its errors, which quote the whole
/// argument, never fire on a value that may be a secret. The reason never
/// holds the value.
pub fn check_variable_syntax(s: &[u8]) -> Result<(), &'static str> {
    let name_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        match s.get(i) {
            None => return Err("ends with \"$\" (write a literal \"$\" as ${dollar})"),
            Some(b'1'..=b'9') => {
                i += 1;
                continue;
            }
            Some(b'{') => {
                i += 1;
                let start = i;
                while i < s.len() && name_char(s[i]) {
                    i += 1;
                }
                if s.get(i) != Some(&b'}') {
                    return Err("has a \"${\" without a closing \"}\"");
                }
                if i == start {
                    return Err("has an empty variable name");
                }
                i += 1;
            }
            Some(_) => {
                let start = i;
                while i < s.len() && name_char(s[i]) {
                    i += 1;
                }
                if i == start {
                    return Err("has a \"$\" that starts no variable name \
                         (write a literal \"$\" as ${dollar})");
                }
            }
        }
    }
    Ok(())
}

/// A `pad` width or height: positive, never `-` (the box is the output's
/// exact size).
pub fn check_pad_dimension(n: u64) -> Result<u64, ValueError> {
    match n {
        0 | UNLIMITED => Err(ValueError::InvalidValue(n_text(n))),
        n => Ok(n),
    }
}

/// A static `pad` width or height: a positive number.
pub fn static_pad_dimension(s: &[u8]) -> Result<u64, ValueError> {
    check_pad_dimension(filter_value(s)).map_err(|_| ValueError::PadDimension(lossy(s)))
}

/// Where `crop` keeps its window (`image_resize_rs_gravity`): a side or
/// corner of the image, its centre (image_filter's only choice), or
/// `smart`, the window the image's content suggests. For `pad`, where the
/// image sits in the box (`smart` is the centre there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gravity {
    #[default]
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    Smart,
}

impl Gravity {
    /// `image_resize_rs_gravity center | north | ... | smart;`
    pub fn parse(s: &[u8]) -> Result<Gravity, ValueError> {
        Ok(match s {
            b"center" => Gravity::Center,
            b"north" => Gravity::North,
            b"south" => Gravity::South,
            b"east" => Gravity::East,
            b"west" => Gravity::West,
            b"northeast" => Gravity::NorthEast,
            b"northwest" => Gravity::NorthWest,
            b"southeast" => Gravity::SouthEast,
            b"southwest" => Gravity::SouthWest,
            b"smart" => Gravity::Smart,
            _ => return Err(ValueError::InvalidValue(lossy(s))),
        })
    }

    /// Where the window sits along each axis, in halves of the free
    /// space: 0 left/top, 1 centre, 2 right/bottom (`smart`: the centre).
    pub fn halves(self) -> (u32, u32) {
        match self {
            Gravity::Center | Gravity::Smart => (1, 1),
            Gravity::North => (1, 0),
            Gravity::South => (1, 2),
            Gravity::East => (2, 1),
            Gravity::West => (0, 1),
            Gravity::NorthEast => (2, 0),
            Gravity::NorthWest => (0, 0),
            Gravity::SouthEast => (2, 2),
            Gravity::SouthWest => (0, 2),
        }
    }
}

/// `image_resize_rs_focus X Y;`: a point of the image as fractions of its
/// width and height, in millionths (0 ..= [`Focus::ONE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Focus {
    pub x: u32,
    pub y: u32,
}

impl Focus {
    /// The whole width or height: 1.0.
    pub const ONE: u32 = 1_000_000;
    /// The image's centre (what an unusable per-request value means).
    pub const CENTER: Focus = Focus {
        x: Focus::ONE / 2,
        y: Focus::ONE / 2,
    };
}

/// One coordinate of `image_resize_rs_focus`: a decimal fraction 0..1
/// (`0`, `1`, `0.25`, `.7`, `1.000`), digits beyond the sixth decimal
/// ignored; in millionths. The same check at config time and request time.
pub fn parse_fraction(s: &[u8]) -> Result<u32, ValueError> {
    let err = || ValueError::InvalidValue(lossy(s));
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if (int.is_empty() && frac.is_empty())
        || int.len() > 1
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
        || (s.contains(&b'.') && frac.is_empty())
    {
        return Err(err());
    }
    let whole = match int {
        b"" | b"0" => 0,
        b"1" => Focus::ONE,
        _ => return Err(err()),
    };
    let micro = frac
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(6)
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    whole
        .checked_add(micro)
        .filter(|&v| v <= Focus::ONE)
        .filter(|_| whole == 0 || frac.iter().all(|&c| c == b'0'))
        .ok_or_else(err)
}

/// `image_resize_rs_pad_color "#rrggbb" | "#rrggbbaa" | transparent;` as RGBA
/// (the `#` may be left out)
/// (`transparent` is white at alpha 0, so it turns white where the output
/// has no alpha).
pub fn parse_color(s: &[u8]) -> Result<[u8; 4], ValueError> {
    let err = || ValueError::InvalidValue(lossy(s));
    if s == b"transparent" {
        return Ok([255, 255, 255, 0]);
    }
    // nginx reads an unquoted `#` as a comment: `"#rrggbb"` or `rrggbb`.
    let hex = s.strip_prefix(b"#").unwrap_or(s);
    if hex.len() != 6 && hex.len() != 8 {
        return Err(err());
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut rgba = [0, 0, 0, 255];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        rgba[i] = nibble(pair[0])
            .zip(nibble(pair[1]))
            .map(|(h, l)| h << 4 | l)
            .ok_or_else(err)?;
    }
    Ok(rgba)
}

/// Default `image_resize_rs_pad_color`: white.
pub const DEFAULT_PAD_COLOR: [u8; 4] = [255, 255, 255, 255];

/// A static `rotate` angle: 90, 180 or 270.
pub fn static_angle(s: &[u8]) -> Result<u32, ValueError> {
    check_angle(filter_value(s)).map_err(|_| ValueError::InvalidParameter(lossy(s)))
}

/// A static width or height: positive or `-`.
pub fn static_dimension(s: &[u8]) -> Result<u64, ValueError> {
    check_dimension(filter_value(s)).map_err(|_| ValueError::InvalidParameter(lossy(s)))
}

/// A static quality (`jpeg_quality`, `webp_quality`): positive, as image_filter.
pub fn static_quality(s: &[u8]) -> Result<u64, ValueError> {
    check_quality(filter_value(s))
        .map(|_| filter_value(s))
        .map_err(|_| ValueError::InvalidValue(lossy(s)))
}

/// A static `sharpen` percentage: 0 or more.
pub fn static_sharpen(s: &[u8]) -> Result<u64, ValueError> {
    if s == b"0" {
        return Ok(0);
    }
    static_quality(s)
}

/// `image_resize_rs_max_pixels 40m;`: a pixel count, with an optional
/// `k` (×1000) or `m` (×1000000) suffix.
pub fn parse_pixels(s: &[u8]) -> Result<u64, ValueError> {
    let err = || ValueError::InvalidValue(lossy(s));
    let (digits, mul) = match s.last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1_000),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1_000_000),
        _ => (s, 1),
    };
    parse_decimal(digits)
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| n > 0)
        .ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_value_matches_image_filter() {
        assert_eq!(filter_value(b"-"), UNLIMITED);
        assert_eq!(filter_value(b"150"), 150);
        assert_eq!(filter_value(b"0"), 0);
        assert_eq!(filter_value(b""), 0);
        assert_eq!(filter_value(b"-5"), 0);
        assert_eq!(filter_value(b"12px"), 0);
        assert_eq!(filter_value(b"99999999999999999999"), 0);
    }

    #[test]
    fn filter_args() {
        assert_eq!(parse_filter_args(&[b"off"]), Ok(FilterArgs::Off));
        assert_eq!(parse_filter_args(&[b"size"]), Ok(FilterArgs::Size));
        assert_eq!(
            parse_filter_args(&[b"resize", b"10", b"-"]),
            Ok(FilterArgs::Resize(b"10", b"-"))
        );
        assert_eq!(
            parse_filter_args(&[b"rotate", b"$arg_a"]),
            Ok(FilterArgs::Rotate(b"$arg_a"))
        );
        assert_eq!(
            parse_filter_args(&[b"shrink"]),
            Err(ValueError::InvalidParameter("shrink".into()))
        );
        assert_eq!(
            parse_filter_args(&[b"resize", b"10"]),
            Err(ValueError::InvalidParameter("resize".into()))
        );
        assert_eq!(parse_filter_args(&[]), Err(ValueError::Arity));
    }

    #[test]
    fn statics() {
        assert_eq!(static_angle(b"90"), Ok(90));
        assert!(static_angle(b"45").is_err());
        assert_eq!(static_dimension(b"-"), Ok(UNLIMITED));
        assert!(static_dimension(b"0").is_err());
        assert_eq!(static_quality(b"75"), Ok(75));
        assert!(static_quality(b"-").is_err());
        assert_eq!(static_sharpen(b"0"), Ok(0));
        assert!(static_sharpen(b"x").is_err());
    }

    #[test]
    fn variable_syntax_like_nginx() {
        for ok in [
            &b"plain"[..],
            b"$a",
            b"${a}b",
            b"x$1y",
            b"$arg_q-$host",
            b"${dollar}",
            b"",
        ] {
            assert_eq!(check_variable_syntax(ok), Ok(()), "{ok:?}");
        }
        for bad in [&b"abc$"[..], b"a$-b", b"${x", b"${}", b"${a-b}", b"$$"] {
            let e = check_variable_syntax(bad).unwrap_err();
            // The reason never echoes the argument.
            let v = String::from_utf8_lossy(bad);
            assert!(v.len() < 2 || !e.contains(&*v), "{e}");
        }
    }

    #[test]
    fn pad_args() {
        assert_eq!(
            parse_filter_args(&[b"pad", b"10", b"20"]),
            Ok(FilterArgs::Pad(b"10", b"20"))
        );
        assert_eq!(static_pad_dimension(b"10"), Ok(10));
        assert!(static_pad_dimension(b"-").is_err());
        assert!(static_pad_dimension(b"0").is_err());
        assert!(check_pad_dimension(UNLIMITED).is_err());
    }

    #[test]
    fn gravity_words() {
        assert_eq!(Gravity::parse(b"center"), Ok(Gravity::Center));
        assert_eq!(Gravity::parse(b"southeast"), Ok(Gravity::SouthEast));
        assert_eq!(Gravity::parse(b"smart"), Ok(Gravity::Smart));
        assert!(Gravity::parse(b"up").is_err());
        assert!(Gravity::parse(b"North").is_err());
        assert_eq!(Gravity::default(), Gravity::Center);
    }

    #[test]
    fn fractions() {
        for (s, v) in [
            (&b"0"[..], 0),
            (b"1", 1_000_000),
            (b"0.25", 250_000),
            (b".7", 700_000),
            (b"1.000", 1_000_000),
            (b"0.1234567", 123_456),
            (b"0.000001", 1),
        ] {
            assert_eq!(parse_fraction(s), Ok(v), "{s:?}");
        }
        for s in [
            &b""[..],
            b".",
            b"1.5",
            b"2",
            b"-0.5",
            b"0.5x",
            b"00.5",
            b"1.",
            b"0,5",
            b"1.0000001",
        ] {
            assert!(parse_fraction(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn colors() {
        assert_eq!(parse_color(b"#ffffff"), Ok([255, 255, 255, 255]));
        assert_eq!(parse_color(b"#12aB3c80"), Ok([0x12, 0xab, 0x3c, 0x80]));
        assert_eq!(parse_color(b"transparent"), Ok([255, 255, 255, 0]));
        assert_eq!(parse_color(b"3366cc"), Ok([0x33, 0x66, 0xcc, 255]));
        for s in [
            &b"fff"[..],
            b"##3366cc",
            b"#",
            b"#fff",
            b"#ggffff",
            b"#1234567",
            b"red",
            b"",
        ] {
            assert!(parse_color(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn pixels() {
        assert_eq!(parse_pixels(b"40m"), Ok(40_000_000));
        assert_eq!(parse_pixels(b"500k"), Ok(500_000));
        assert_eq!(parse_pixels(b"1234"), Ok(1234));
        assert!(parse_pixels(b"0").is_err());
        assert!(parse_pixels(b"m").is_err());
        assert!(parse_pixels(b"99999999999999999m").is_err());
    }
}
