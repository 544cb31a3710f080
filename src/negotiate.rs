//! Output-format negotiation: `image_resize_rs_formats`, `image_resize_rs_output`
//! and the request's `Accept` header → the format token that
//! `$image_resize_rs_format` holds and the pipeline produces.
//!
//! Pure: no `ngx`, no `unsafe`. The token depends on the request alone (the
//! `Accept` header and the configuration), never on the body, so a front
//! cache keyed on it keeps one entry per token — at most three per URL with
//! `image_resize_rs_formats avif webp` (`avif`, `webp`, `orig`).
//!
//! `Accept` is read strictly (RFC 9110 §12.5.1):
//! - only explicit `image/avif` and `image/webp` ranges with q > 0 count;
//!   `*/*` and `image/*` imply nothing (browsers send them for every image,
//!   including those that cannot decode AVIF);
//! - type and subtype are case-insensitive, q-values are honoured: the
//!   highest q wins, ties go to the configured order;
//! - a malformed header (bad token, bad q-value) means no negotiation.

use crate::value::ValueError;

/// A format the module converts to when the client accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Avif,
    Webp,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Avif => "avif",
            Target::Webp => "webp",
        }
    }

    fn subtype(self) -> &'static [u8] {
        self.name().as_bytes()
    }
}

/// The `image_resize_rs_formats` list as a `Copy` value (for nginx's
/// configuration structs, which are never dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    len: u8,
    /// The first `len` are the list; the rest is filler.
    items: [Target; 2],
}

impl Default for Formats {
    fn default() -> Formats {
        Formats {
            len: 0,
            items: [Target::Avif; 2],
        }
    }
}

impl Formats {
    /// At most the two targets, in order (duplicates are refused by
    /// [`parse_formats`]).
    pub fn new(list: &[Target]) -> Formats {
        let mut f = Formats::default();
        for &t in list.iter().take(2) {
            f.items[usize::from(f.len)] = t;
            f.len += 1;
        }
        f
    }

    /// The list, in order of preference (no allocation: read per request).
    pub fn as_slice(&self) -> &[Target] {
        &self.items[..usize::from(self.len)]
    }
}

/// `image_resize_rs_output`: the format forced whatever the Accept header says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// Keep the input format, or negotiate with `image_resize_rs_formats`.
    #[default]
    Original,
    Jpeg,
    Png,
    Webp,
    Avif,
}

/// The value of `$image_resize_rs_format`, and what the pipeline is asked to
/// produce. One token per output format: a cache key including it keeps one
/// entry per token, not one per Accept string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Token {
    /// Nothing negotiated, nothing forced: the input's own format.
    #[default]
    Orig,
    Jpeg,
    Png,
    Webp,
    Avif,
}

impl Token {
    /// The variable's value; also appended to ETags.
    pub fn as_str(self) -> &'static str {
        match self {
            Token::Orig => "orig",
            Token::Jpeg => "jpeg",
            Token::Png => "png",
            Token::Webp => "webp",
            Token::Avif => "avif",
        }
    }
}

impl From<Target> for Token {
    fn from(t: Target) -> Token {
        match t {
            Target::Avif => Token::Avif,
            Target::Webp => Token::Webp,
        }
    }
}

/// `image_resize_rs_formats avif webp;` arguments: a non-empty subset of
/// `avif`, `webp` without repeats, in order of preference; `off` alone is the
/// empty list (the default: keep the input format).
pub fn parse_formats(args: &[&[u8]]) -> Result<Vec<Target>, ValueError> {
    if args == [b"off".as_slice()] {
        return Ok(Vec::new());
    }
    if args.is_empty() {
        return Err(ValueError::Arity);
    }
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let t = match *a {
            b"avif" => Target::Avif,
            b"webp" => Target::Webp,
            _ => {
                return Err(ValueError::InvalidValue(
                    String::from_utf8_lossy(a).into_owned(),
                ))
            }
        };
        if out.contains(&t) {
            return Err(ValueError::InvalidValue(t.name().to_string()));
        }
        out.push(t);
    }
    Ok(out)
}

/// `image_resize_rs_output` value, at config time or from variables at
/// request time. Case-sensitive like every nginx keyword; `jpg` is accepted
/// for URL extensions; an empty value (a variable that is not set) is
/// `original`.
pub fn parse_output(s: &[u8]) -> Result<Output, ValueError> {
    Ok(match s {
        b"" | b"original" => Output::Original,
        b"jpeg" | b"jpg" => Output::Jpeg,
        b"png" => Output::Png,
        b"webp" => Output::Webp,
        b"avif" => Output::Avif,
        _ => {
            return Err(ValueError::InvalidValue(
                String::from_utf8_lossy(s).into_owned(),
            ))
        }
    })
}

/// The token for one request: the forced format, else the negotiated one,
/// else [`Token::Orig`]. `accept` is the raw header (`None` when absent).
pub fn token(output: Output, formats: &[Target], accept: Option<&[u8]>) -> Token {
    match output {
        Output::Original => accept
            .and_then(|a| negotiate(a, formats))
            .map_or(Token::Orig, Token::from),
        Output::Jpeg => Token::Jpeg,
        Output::Png => Token::Png,
        Output::Webp => Token::Webp,
        Output::Avif => Token::Avif,
    }
}

/// True when the response may differ by `Accept`: `Vary: Accept` then, and
/// only then.
pub fn varies(output: Output, formats: &[Target]) -> bool {
    output == Output::Original && !formats.is_empty()
}

/// The ETag of a response produced under `token`: the entity tag with
/// `-<token>` appended inside the quotes, always weak (the body is
/// re-encoded). Two formats of one URL thus never share a validator, and a
/// conditional request cannot get a 304 for the other format. `orig` leaves
/// the tag as it is; a value that is not an entity tag is returned unchanged.
pub fn etag_for(etag: &[u8], token: Token) -> Vec<u8> {
    if token == Token::Orig {
        return etag.to_vec();
    }
    etag_with(etag, token.as_str())
}

/// The entity tag with `-<suffix>` appended inside the quotes, weak; a
/// value that is not an entity tag is returned unchanged. [`etag_for`]'s
/// suffix is the format; a hinted answer adds its box, so one URL's
/// answers for two DPRs never share a validator either.
pub fn etag_with(etag: &[u8], suffix: &str) -> Vec<u8> {
    let opaque = etag.strip_prefix(b"W/").unwrap_or(etag);
    match opaque {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'"') => {
            let mut out = Vec::with_capacity(etag.len() + suffix.len() + 5);
            out.extend_from_slice(b"W/\"");
            out.extend_from_slice(inner);
            out.push(b'-');
            out.extend_from_slice(suffix.as_bytes());
            out.push(b'"');
            out
        }
        _ => etag.to_vec(),
    }
}

/// `If-None-Match` against a reply's ETag, as nginx's
/// `ngx_http_test_if_match(r, h, 1)`: `*`, or any listed entity tag equal
/// under the weak comparison (the `W/` prefixes ignored).
pub fn if_none_match(header: &[u8], etag: &[u8]) -> bool {
    let opaque = |t: &[u8]| -> Vec<u8> {
        let t = t.strip_prefix(b"W/").unwrap_or(t);
        t.to_vec()
    };
    let ours = opaque(trim(etag));
    if trim(header) == b"*" {
        return true;
    }
    header
        .split(|&b| b == b',')
        .map(trim)
        .any(|t| !t.is_empty() && opaque(t) == ours)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// The preferred target the client explicitly accepts, `None` when it
/// accepts none of `formats` or the header is malformed.
pub fn negotiate(accept: &[u8], formats: &[Target]) -> Option<Target> {
    if formats.is_empty() {
        return None;
    }
    // q in thousandths per target (None: not mentioned).
    let mut q: [Option<u16>; 2] = [None, None];
    for range in parse_accept(accept)? {
        if !range.ty.eq_ignore_ascii_case(b"image") {
            continue;
        }
        for (i, t) in [Target::Avif, Target::Webp].into_iter().enumerate() {
            if range.subtype.eq_ignore_ascii_case(t.subtype()) {
                // Listed twice: the lower weight wins (an explicit q=0 is a refusal).
                q[i] = Some(q[i].map_or(range.q, |old| old.min(range.q)));
            }
        }
    }
    let weight = |t: Target| match t {
        Target::Avif => q[0],
        Target::Webp => q[1],
    };
    let mut best: Option<(Target, u16)> = None;
    for &t in formats {
        if let Some(w) = weight(t).filter(|&w| w > 0) {
            if best.is_none_or(|(_, bw)| w > bw) {
                best = Some((t, w));
            }
        }
    }
    best.map(|(t, _)| t)
}

/// One media range of an Accept header.
#[derive(Debug, PartialEq, Eq)]
struct Range<'a> {
    ty: &'a [u8],
    subtype: &'a [u8],
    /// 0..=1000.
    q: u16,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&c| is_tchar(c))
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
fn parse_qvalue(s: &[u8]) -> Option<u16> {
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |&d| u16::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Splits a list on commas outside quoted strings.
fn split_list(s: &[u8], sep: u8) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &c) in s.iter().enumerate() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    if quoted {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// The media ranges of an Accept header, or `None` if it is malformed.
/// Empty list elements are allowed (RFC 9110 §5.6.1).
fn parse_accept(s: &[u8]) -> Option<Vec<Range<'_>>> {
    let mut out = Vec::new();
    for elem in split_list(s, b',')? {
        let elem = trim_ows(elem);
        if elem.is_empty() {
            continue;
        }
        let mut params = split_list(elem, b';')?.into_iter();
        let media = trim_ows(params.next()?);
        let slash = media.iter().position(|&c| c == b'/')?;
        let (ty, subtype) = (&media[..slash], &media[slash + 1..]);
        if !is_token(ty) || !is_token(subtype) {
            return None;
        }
        let mut q = 1000;
        let mut seen_q = false;
        for p in params {
            let p = trim_ows(p);
            let eq = p.iter().position(|&c| c == b'=')?;
            let (name, value) = (&p[..eq], &p[eq + 1..]);
            if !is_token(name) {
                return None;
            }
            if name.eq_ignore_ascii_case(b"q") && !seen_q {
                // The first q is the weight; later parameters are accept-ext.
                q = parse_qvalue(value)?;
                seen_q = true;
            } else if !(is_token(value) || value.len() >= 2 && value[0] == b'"') {
                return None;
            }
        }
        out.push(Range { ty, subtype, q });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_weak_comparison() {
        let avif = etag_for(b"\"abc\"", Token::Avif);
        assert!(if_none_match(&avif, &avif));
        assert!(if_none_match(b"\"x\", W/\"abc-avif\"", &avif));
        assert!(if_none_match(b"*", &avif));
        // the origin's tag, or another format's, is not this reply's
        assert!(!if_none_match(b"\"abc\"", &avif));
        assert!(!if_none_match(&etag_for(b"\"abc\"", Token::Webp), &avif));
        assert!(if_none_match(b"\"abc\"", b"W/\"abc\""));
        assert!(!if_none_match(b"", b"\"abc\""));
    }

    const BOTH: &[Target] = &[Target::Avif, Target::Webp];
    const WEBP_FIRST: &[Target] = &[Target::Webp, Target::Avif];

    fn tok(accept: &str) -> Token {
        token(Output::Original, BOTH, Some(accept.as_bytes()))
    }

    /// Real Accept headers sent for an <img>, a document or a plain fetch.
    #[test]
    fn real_accept_headers() {
        let cases: &[(&str, &str, Token)] = &[
            (
                "Chrome 120 <img>",
                "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                Token::Avif,
            ),
            (
                "Chrome 120 document",
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
                Token::Avif,
            ),
            (
                "Edge 120 <img>",
                "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                Token::Avif,
            ),
            (
                "Chrome 70 / Android WebView <img>",
                "image/webp,image/apng,image/*,*/*;q=0.8",
                Token::Webp,
            ),
            (
                "Firefox 120 <img>",
                "image/avif,image/webp,*/*",
                Token::Avif,
            ),
            (
                "Firefox 93 <img>",
                "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
                Token::Avif,
            ),
            (
                "Firefox 65 <img>",
                "image/webp,*/*",
                Token::Webp,
            ),
            (
                "Safari 17 <img>",
                "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
                Token::Avif,
            ),
            (
                "Safari 14 <img>",
                "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
                Token::Webp,
            ),
            (
                "Safari 13 <img>",
                "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
                Token::Orig,
            ),
            (
                "Edge 18 (EdgeHTML) <img>",
                "image/png, image/svg+xml, image/jxr, image/*; q=0.8, */*; q=0.5",
                Token::Orig,
            ),
            (
                "IE 11 <img>",
                "image/png, image/svg+xml, image/jxr, image/*; q=0.8, */*; q=0.5",
                Token::Orig,
            ),
            (
                "Googlebot",
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.9",
                Token::Avif,
            ),
            ("Googlebot-Image", "image/webp,*/*", Token::Webp),
            ("Bingbot", "*/*", Token::Orig),
            (
                "facebookexternalhit",
                "*/*",
                Token::Orig,
            ),
            ("curl", "*/*", Token::Orig),
            ("wget", "*/*", Token::Orig),
            ("python-requests", "*/*", Token::Orig),
            (
                "HTTPie",
                "application/json, */*;q=0.5",
                Token::Orig,
            ),
            (
                "Opera Mini",
                "text/html, application/xml;q=0.9, application/xhtml+xml, image/png, image/webp, image/jpeg, image/gif, image/x-xbitmap, */*;q=0.1",
                Token::Webp,
            ),
            ("image/* only", "image/*", Token::Orig),
            ("upper case", "IMAGE/AVIF,Image/WebP,*/*", Token::Avif),
            ("avif refused q=0", "image/avif;q=0,image/webp,*/*", Token::Webp),
            ("both refused", "image/avif;q=0, image/webp;Q=0.000", Token::Orig),
            ("webp preferred by q", "image/avif;q=0.5,image/webp;q=0.9", Token::Webp),
            ("tie: configured order", "image/webp;q=0.8,image/avif;q=0.8", Token::Avif),
            ("malformed q", "image/avif;q=2,image/webp", Token::Orig),
            ("malformed range", "image avif, image/webp", Token::Orig),
            ("empty", "", Token::Orig),
            ("empty elements", " , image/webp ,, ", Token::Webp),
            ("with accept-ext", "image/webp;q=0.5;level=\"a,b\"", Token::Webp),
        ];
        for (who, accept, want) in cases {
            assert_eq!(tok(accept), *want, "{who}: {accept}");
        }
        assert!(cases.len() >= 15);
    }

    #[test]
    fn preference_order_and_subsets() {
        let a = Some(b"image/avif,image/webp,*/*".as_slice());
        assert_eq!(token(Output::Original, WEBP_FIRST, a), Token::Webp);
        assert_eq!(token(Output::Original, &[Target::Avif], a), Token::Avif);
        assert_eq!(
            token(Output::Original, &[Target::Avif], Some(b"image/webp,*/*")),
            Token::Orig
        );
        assert_eq!(token(Output::Original, &[], a), Token::Orig);
        assert_eq!(token(Output::Original, BOTH, None), Token::Orig);
        // q beats order
        let a = Some(b"image/webp,image/avif;q=0.9".as_slice());
        assert_eq!(token(Output::Original, BOTH, a), Token::Webp);
        // listed twice: q=0 wins
        let a = Some(b"image/avif, image/avif;q=0, image/webp;q=0.1".as_slice());
        assert_eq!(token(Output::Original, BOTH, a), Token::Webp);
    }

    #[test]
    fn forced_output_ignores_accept() {
        let a = Some(b"image/avif,image/webp".as_slice());
        assert_eq!(token(Output::Jpeg, BOTH, a), Token::Jpeg);
        assert_eq!(token(Output::Png, BOTH, a), Token::Png);
        assert_eq!(token(Output::Webp, &[], None), Token::Webp);
        assert_eq!(token(Output::Avif, &[], Some(b"*/*")), Token::Avif);
        assert!(varies(Output::Original, BOTH));
        assert!(!varies(Output::Original, &[]));
        assert!(!varies(Output::Avif, BOTH));
    }

    #[test]
    fn etags_differ_per_format() {
        let e = b"W/\"5f3c-1a2b\"";
        assert_eq!(etag_for(e, Token::Avif), b"W/\"5f3c-1a2b-avif\"");
        assert_eq!(etag_for(b"\"abc\"", Token::Webp), b"W/\"abc-webp\"");
        assert_eq!(etag_for(e, Token::Orig), e);
        assert_ne!(etag_for(e, Token::Avif), etag_for(e, Token::Webp));
        assert_eq!(etag_for(b"garbage", Token::Avif), b"garbage");
        assert_eq!(etag_for(b"\"", Token::Avif), b"\"");
        assert_eq!(etag_for(b"", Token::Avif), b"");
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue(b"1"), Some(1000));
        assert_eq!(parse_qvalue(b"1.000"), Some(1000));
        assert_eq!(parse_qvalue(b"0.8"), Some(800));
        assert_eq!(parse_qvalue(b"0.001"), Some(1));
        assert_eq!(parse_qvalue(b"0."), Some(0));
        assert_eq!(parse_qvalue(b"0"), Some(0));
        for bad in [
            &b"1.5"[..],
            b"0.0001",
            b"-1",
            b"",
            b".5",
            b"2",
            b"0.8x",
            b"1.01",
        ] {
            assert_eq!(
                parse_qvalue(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn directives() {
        assert_eq!(
            parse_formats(&[b"avif", b"webp"]),
            Ok(vec![Target::Avif, Target::Webp])
        );
        assert_eq!(parse_formats(&[b"webp"]), Ok(vec![Target::Webp]));
        assert_eq!(parse_formats(&[b"off"]), Ok(vec![]));
        assert!(parse_formats(&[]).is_err());
        assert!(parse_formats(&[b"webp", b"webp"]).is_err());
        assert!(parse_formats(&[b"jpeg"]).is_err());
        assert!(parse_formats(&[b"avif", b"off"]).is_err());
        assert_eq!(parse_output(b"original"), Ok(Output::Original));
        assert_eq!(parse_output(b""), Ok(Output::Original));
        assert_eq!(parse_output(b"jpg"), Ok(Output::Jpeg));
        assert_eq!(parse_output(b"avif"), Ok(Output::Avif));
        assert!(parse_output(b"AVIF").is_err());
        assert!(parse_output(b"gif").is_err());
        assert_eq!(Token::Orig.as_str(), "orig");
        assert_eq!(Token::from(Target::Webp).as_str(), "webp");
    }
}
