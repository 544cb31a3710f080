//! XMP kept on re-encode (`image_resize_rs_metadata`), without an XML
//! parser: `all` keeps the packet as it is (dropped whole when it holds an
//! `exif:GPS` property and GPS is not kept); `copyright` writes a new
//! minimal packet with the rights properties found in the source.
//!
//! The rights properties are found by their conventional prefixes (`dc:`,
//! `xmpRights:`, what Adobe's tools and exiftool write), as elements
//! (`<dc:rights>…</dc:rights>`, inner XML copied as it is) or as
//! attributes of `rdf:Description` (`xmpRights:Marked="True"`, written back
//! as elements: an attribute's escaped value is valid element text).

/// The largest packet read or written: what one JPEG APP1 holds after the
/// 29-byte XMP namespace header.
pub const MAX_XMP: usize = 65_504;

/// Properties `copyright` keeps.
const RIGHTS: [&str; 5] = [
    "dc:rights",
    "dc:creator",
    "xmpRights:UsageTerms",
    "xmpRights:WebStatement",
    "xmpRights:Marked",
];

/// `all`: the packet unchanged, or `None` when it mentions GPS and `gps`
/// is off, is not UTF-8 or is larger than [`MAX_XMP`].
pub fn keep_all(xmp: &[u8], gps: bool) -> Option<Vec<u8>> {
    if xmp.len() > MAX_XMP || std::str::from_utf8(xmp).is_err() {
        return None;
    }
    if !gps && memchr::memmem::find(xmp, b"exif:GPS").is_some() {
        return None;
    }
    Some(xmp.to_vec())
}

/// `copyright`: a new packet with the [`RIGHTS`] properties of `xmp`, or
/// `None` when it has none (or is not UTF-8, or too large).
pub fn keep_rights(xmp: &[u8]) -> Option<Vec<u8>> {
    if xmp.len() > MAX_XMP {
        return None;
    }
    let s = std::str::from_utf8(xmp).ok()?;
    let mut props = String::new();
    for name in RIGHTS {
        if let Some(inner) = element(s, name).or_else(|| attribute(s, name)) {
            props.push_str(&format!("<{name}>{inner}</{name}>"));
        }
    }
    if props.is_empty() {
        return None;
    }
    let out = format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:xmpRights=\"http://ns.adobe.com/xap/1.0/rights/\">\
{props}</rdf:Description></rdf:RDF></x:xmpmeta>\
<?xpacket end=\"r\"?>"
    );
    (out.len() <= MAX_XMP).then(|| out.into_bytes())
}

/// The inner XML of the first `<name …>…</name>` element (not self-closed).
fn element<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut from = 0;
    while let Some(i) = s[from..].find(&open) {
        let at = from + i + open.len();
        from = at;
        // `<dc:rightsX` is another element.
        let rest = &s[at..];
        match rest.as_bytes().first() {
            Some(b'>' | b' ' | b'\t' | b'\r' | b'\n') => {}
            _ => continue,
        }
        let gt = rest.find('>')?;
        if rest[..gt].ends_with('/') {
            continue;
        }
        let body = &rest[gt + 1..];
        let end = body.find(&close)?;
        return Some(&body[..end]);
    }
    None
}

/// The value of the first `name="…"` (or `'…'`) attribute, still escaped.
fn attribute<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = s[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        // Preceded by white space (an attribute, not `<name` or a longer name).
        if !s[..at].ends_with([' ', '\t', '\r', '\n']) {
            continue;
        }
        let rest = s[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let q = rest.chars().next()?;
        if q != '"' && q != '\'' {
            continue;
        }
        let v = &rest[1..];
        let end = v.find(q)?;
        let v = &v[..end];
        // A value with markup in it is not one we copy as text.
        return (!v.contains('<')).then_some(v);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
  xmpRights:Marked="True" xmpRights:WebStatement="https://example.com/l?a=1&amp;b=2"
  exif:GPSLatitude="48,51.48N">
<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2026 Jane</rdf:li></rdf:Alt></dc:rights>
<dc:creator><rdf:Seq><rdf:li>Jane Artist</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">secret place</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

    #[test]
    fn rights_only() {
        let out = String::from_utf8(keep_rights(SRC.as_bytes()).unwrap()).unwrap();
        assert!(out.contains(
            "<dc:rights><rdf:Alt><rdf:li xml:lang=\"x-default\">(c) 2026 Jane</rdf:li></rdf:Alt></dc:rights>"
        ));
        assert!(out
            .contains("<dc:creator><rdf:Seq><rdf:li>Jane Artist</rdf:li></rdf:Seq></dc:creator>"));
        assert!(out.contains("<xmpRights:Marked>True</xmpRights:Marked>"));
        assert!(out.contains(
            "<xmpRights:WebStatement>https://example.com/l?a=1&amp;b=2</xmpRights:WebStatement>"
        ));
        assert!(!out.contains("GPS") && !out.contains("secret"));
        assert_eq!(keep_rights(b"<x:xmpmeta/>"), None);
        assert_eq!(keep_rights(b"<dc:rights/>"), None);
        assert_eq!(keep_rights(b"<dc:rights>unterminated"), None);
        assert_eq!(keep_rights(&[0xff, 0xfe]), None);
        // Truncated anywhere: never panics.
        for n in 0..SRC.len() {
            if SRC.is_char_boundary(n) {
                let _ = keep_rights(SRC[..n].as_bytes());
            }
        }
    }

    #[test]
    fn all_is_as_is_unless_gps() {
        assert_eq!(keep_all(SRC.as_bytes(), false), None);
        assert_eq!(keep_all(SRC.as_bytes(), true).unwrap(), SRC.as_bytes());
        assert_eq!(keep_all(b"<x/>", false).unwrap(), b"<x/>");
        assert_eq!(keep_all(&vec![b' '; MAX_XMP + 1], true), None);
    }
}
