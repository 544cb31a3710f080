//! S3 URI encoding of object keys.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `true` for the bytes SigV4/S3 leaves unescaped everywhere: `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Encodes a decoded object key for use in a request path, the way S3 (and
/// SigV4's canonical URI for S3) expects: every byte of the key's UTF-8 form
/// except `A-Z a-z 0-9 - . _ ~` and `/` becomes `%XX` (uppercase hex).
///
/// So a space becomes `%20`, `+` becomes `%2B`, a literal `%41` becomes
/// `%2541`, and non-ASCII characters are escaped byte by byte. The result is
/// plain ASCII and is both the on-the-wire path and the canonical URI
/// (S3 signs the path single-encoded).
pub fn uri_encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() * 3 / 2 + 4);
    for &b in key.as_bytes() {
        if is_unreserved(b) || b == b'/' {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_table() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("test.txt", "test.txt"),
            ("a/b/c", "a/b/c"),
            ("/leading", "/leading"),
            ("a b", "a%20b"),
            ("a+b", "a%2Bb"),
            ("%41", "%2541"),
            ("100%", "100%25"),
            ("~user/_x-y.z", "~user/_x-y.z"),
            ("!$'()*,;=@:", "%21%24%27%28%29%2A%2C%3B%3D%40%3A"),
            ("a&b=c", "a%26b%3Dc"),
            ("q?x#y", "q%3Fx%23y"),
            ("back\\slash", "back%5Cslash"),
            ("\"<>[]{}|^`", "%22%3C%3E%5B%5D%7B%7D%7C%5E%60"),
            ("tab\tnl\n", "tab%09nl%0A"),
            ("\u{0}", "%00"),
            ("\u{7f}", "%7F"),
            ("é", "%C3%A9"),
            ("日本/語.jpg", "%E6%97%A5%E6%9C%AC/%E8%AA%9E.jpg"),
            ("😀", "%F0%9F%98%80"),
            ("ABCxyz0189", "ABCxyz0189"),
        ];
        for (input, want) in cases {
            assert_eq!(uri_encode_key(input), *want, "key {input:?}");
        }
    }

    #[test]
    fn every_byte_class() {
        // Exhaustive over single ASCII characters.
        for b in 0u8..0x80 {
            let s = char::from(b).to_string();
            let enc = uri_encode_key(&s);
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                assert_eq!(enc, s);
            } else {
                assert_eq!(enc, format!("%{b:02X}"));
            }
        }
    }
}
