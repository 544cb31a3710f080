//! `ngx_parse_http_time` (src/core/ngx_parse_time.c) in Rust: the three
//! date forms HTTP allows, as nginx reads them for `If-Modified-Since`.
//! Pure, so the reply's conditional check needs no FFI.

const MDAY: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `Tue, 10 Nov 2002 23:50:13` (IMF-fixdate, RFC 822/1123)
    Rfc822,
    /// `Tuesday, 10-Dec-02 23:50:13`
    Rfc850,
    /// `Tue Dec 10 23:50:13 2002` (asctime)
    Isoc,
}

/// Seconds since the epoch, or `None` where nginx answers `NGX_ERROR`.
/// Same acceptance as nginx, byte for byte (it also ignores what follows
/// the seconds or the asctime year, e.g. ` GMT`).
pub fn parse(value: &[u8]) -> Option<i64> {
    let end = value.len();
    // nginx reads a few bytes past what its length checks cover; here a
    // byte past the end is 0, which no check accepts.
    let at = |i: usize| value.get(i).copied().unwrap_or(0);
    let digit = |i: usize| at(i).is_ascii_digit().then(|| u64::from(at(i) - b'0'));
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let four = |i: usize| Some(two(i)? * 100 + two(i + 2)?);

    let mut form = None;
    let mut p = 0;
    while p < end {
        match value[p] {
            b',' => break,
            b' ' => {
                form = Some(Form::Isoc);
                break;
            }
            _ => p += 1,
        }
    }
    p += 1;
    while p < end && value[p] == b' ' {
        p += 1;
    }
    if end.saturating_sub(p) < 18 {
        return None;
    }
    let mut day = 0;
    if form != Some(Form::Isoc) {
        day = two(p)?;
        p += 2;
        form = match at(p) {
            b' ' if end - p >= 18 => Some(Form::Rfc822),
            b'-' => Some(Form::Rfc850),
            _ => return None,
        };
        p += 1;
    }
    let form = form?;
    let month: usize = match at(p) {
        b'J' if at(p + 1) == b'a' => 0,
        b'J' if at(p + 2) == b'n' => 5,
        b'J' => 6,
        b'F' => 1,
        b'M' if at(p + 2) == b'r' => 2,
        b'M' => 4,
        b'A' if at(p + 1) == b'p' => 3,
        b'A' => 7,
        b'S' => 8,
        b'O' => 9,
        b'N' => 10,
        b'D' => 11,
        _ => return None,
    };
    p += 3;
    match (form, at(p)) {
        (Form::Rfc822, b' ') | (Form::Rfc850, b'-') | (Form::Isoc, _) => {}
        _ => return None,
    }
    p += 1;
    let mut year = 0;
    match form {
        Form::Rfc822 => {
            year = four(p)?;
            p += 4;
        }
        Form::Rfc850 => {
            year = two(p)?;
            year += if year < 70 { 2000 } else { 1900 };
            p += 2;
        }
        Form::Isoc => {
            if at(p) == b' ' {
                p += 1;
            }
            day = digit(p)?;
            p += 1;
            if at(p) != b' ' {
                day = day * 10 + digit(p)?;
                p += 1;
            }
            if end.saturating_sub(p) < 14 {
                return None;
            }
        }
    }
    if at(p) != b' ' {
        return None;
    }
    let hour = two(p + 1)?;
    if at(p + 3) != b':' {
        return None;
    }
    let min = two(p + 4)?;
    if at(p + 6) != b':' {
        return None;
    }
    let sec = two(p + 7)?;
    if form == Form::Isoc {
        if at(p + 9) != b' ' {
            return None;
        }
        year = four(p + 10)?;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    if day == 29 && month == 1 {
        if year & 3 != 0 || (year % 100 == 0 && year % 400 != 0) {
            return None;
        }
    } else if day > MDAY[month] {
        return None;
    }
    // Gauss' formula, with the year starting on March 1 (months from 1).
    let (mut month, mut year) = (month as i64, year as i64);
    month -= 1;
    if month <= 0 {
        month += 12;
        year -= 1;
    }
    let days = 365 * year + year / 4 - year / 100 + year / 400 + 367 * month / 12 - 30 + day as i64
        - 1
        - 719_527
        + 31
        + 28;
    Some(days * 86_400 + (hour * 3600 + min * 60 + sec) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse;

    // RFC 9110 5.6.7's example, in its three forms.
    const T: i64 = 784_111_777;

    #[test]
    fn three_forms() {
        assert_eq!(parse(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(parse(b"Sunday, 06-Nov-94 08:49:37 GMT"), Some(T));
        assert_eq!(parse(b"Sun Nov  6 08:49:37 1994"), Some(T));
        assert_eq!(parse(b"Sun Nov 06 08:49:37 1994"), Some(T));
        assert_eq!(parse(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse(b"Tue, 19 Jan 2038 03:14:08 GMT"), Some(1 << 31));
        assert_eq!(parse(b"Wed, 29 Feb 2024 12:00:00 GMT"), Some(1_709_208_000));
        assert_eq!(
            parse(b"Friday, 01-Jan-69 00:00:00 GMT"),
            Some(3_124_224_000)
        );
    }

    #[test]
    fn what_nginx_refuses() {
        for bad in [
            &b""[..],
            b"Sun, 06 Nov 1994 08:49",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Xyz 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:37 GMT",
            b"Thu, 29 Feb 2001 00:00:00 GMT",
            b"Thu, 29 Feb 1900 00:00:00 GMT",
            b"Thu, 31 Apr 2001 00:00:00 GMT",
            b"Sun, 06-Nov 1994 08:49:37 GMT",
            b"Sun Nov  6 08:49:37 94",
            b"1994-11-06T08:49:37Z",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn any_bytes_never_panic() {
        let base = b"Sunday, 06-Nov-94 08:49:37 GMT";
        for cut in 0..=base.len() {
            for b in [0u8, b' ', b',', b'-', b'9', 0xff] {
                let mut v = base[..cut].to_vec();
                v.push(b);
                let _ = parse(&v);
            }
        }
    }
}
