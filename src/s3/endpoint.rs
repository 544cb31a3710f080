//! Endpoint, bucket and region configuration, and URL construction.

use std::fmt;
use std::str::FromStr;

use super::encode::uri_encode_key;
use super::error::ConfigError;

/// The longest DNS name: an endpoint's host.
const MAX_HOST_LEN: usize = 253;

/// S3's longest object key, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// How the bucket is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `scheme://host[:port]/bucket/key` (MinIO, most S3-compatibles).
    Path,
    /// `scheme://bucket.host[:port]/key` (AWS's preferred style).
    Virtual,
}

impl Addressing {
    /// Parses `"path"` or `"virtual"` (exact, lowercase).
    pub fn parse(s: &str) -> Result<Addressing, ConfigError> {
        match s {
            "path" => Ok(Addressing::Path),
            "virtual" => Ok(Addressing::Virtual),
            _ => Err(ConfigError::Addressing {
                value: s.to_owned(),
            }),
        }
    }
}

impl FromStr for Addressing {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Addressing::parse(s)
    }
}

impl fmt::Display for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Addressing::Path => "path",
            Addressing::Virtual => "virtual",
        })
    }
}

/// A parsed `image_resize_rs_s3_endpoint`.
///
/// `host` is lowercase; an IPv6 literal keeps its brackets (`[::1]`), so
/// `host` can be put into a URL or Host header as is. `port` is `None` when
/// absent or equal to the scheme's default (80/443), which is exactly when
/// nginx omits it from the Host header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `http://host[:port][/]` or `https://host[:port][/]`.
    ///
    /// The scheme is case-insensitive. Rejected: other schemes, userinfo,
    /// an empty host, a bad port, a path other than `/`, a query or a
    /// fragment, whitespace and control characters.
    pub fn parse(s: &str) -> Result<Endpoint, ConfigError> {
        let err = |reason: &'static str| ConfigError::Endpoint {
            value: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(err("must not be empty"));
        }
        if s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(err("must not contain whitespace or control characters"));
        }
        if !s.is_ascii() {
            return Err(err("must be ASCII (use the punycode form of the host)"));
        }
        let (https, rest) = match s.find("://") {
            Some(i) => {
                let scheme = &s[..i];
                let https = if scheme.eq_ignore_ascii_case("http") {
                    false
                } else if scheme.eq_ignore_ascii_case("https") {
                    true
                } else {
                    return Err(err("scheme must be http or https"));
                };
                (https, &s[i + 3..])
            }
            None => return Err(err("must start with http:// or https://")),
        };
        if rest.contains('?') || rest.contains('#') {
            return Err(err("must not have a query or fragment"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !(path.is_empty() || path == "/") {
            return Err(err("must not have a path (only \"/\" is allowed)"));
        }
        if authority.contains('@') {
            return Err(err("must not contain userinfo (credentials go elsewhere)"));
        }
        if authority.is_empty() {
            return Err(err("host is empty"));
        }

        // Split host and port; an IPv6 literal is bracketed.
        let (host, port_str) = if authority.starts_with('[') {
            let close = match authority.find(']') {
                Some(i) => i,
                None => return Err(err("unterminated IPv6 literal")),
            };
            let inner = &authority[1..close];
            if inner.is_empty()
                || !inner.contains(':')
                || !inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(err("invalid IPv6 literal"));
            }
            let after = &authority[close + 1..];
            let port = if after.is_empty() {
                None
            } else if let Some(p) = after.strip_prefix(':') {
                Some(p)
            } else {
                return Err(err("unexpected characters after IPv6 literal"));
            };
            (authority[..=close].to_ascii_lowercase(), port)
        } else {
            let (h, p) = match authority.rfind(':') {
                Some(i) => (&authority[..i], Some(&authority[i + 1..])),
                None => (authority, None),
            };
            if h.is_empty() {
                return Err(err("host is empty"));
            }
            if !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            {
                return Err(err("host has invalid characters"));
            }
            if h.split('.').any(str::is_empty) {
                return Err(err("host has an empty label"));
            }
            if h.len() > MAX_HOST_LEN {
                return Err(err("host is longer than 253 characters"));
            }
            (h.to_ascii_lowercase(), p)
        };

        let port = match port_str {
            None => None,
            Some(p) => {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("port must be a number from 1 to 65535"));
                }
                match p.parse::<u16>() {
                    Ok(0) | Err(_) => return Err(err("port must be a number from 1 to 65535")),
                    Ok(n) => Some(n),
                }
            }
        };
        let default = if https { 443 } else { 80 };
        let port = port.filter(|&p| p != default);
        Ok(Endpoint { https, host, port })
    }

    /// `"http"` or `"https"`.
    pub fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// `host[:port]`, the port only when not the scheme default.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{}", self.host, p),
            None => self.host.clone(),
        }
    }

    /// `true` when the host is an IPv4 or IPv6 literal.
    pub fn host_is_ip(&self) -> bool {
        self.host.starts_with('[') || looks_like_ipv4(&self.host)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.authority())
    }
}

fn looks_like_ipv4(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() == 4
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks an `image_resize_rs_s3_region` value: non-empty, `[a-z0-9-]`, at
/// most 64 characters.
pub fn validate_region(region: &str) -> Result<(), ConfigError> {
    let err = |reason: &'static str| ConfigError::Region {
        value: region.to_owned(),
        reason,
    };
    if region.is_empty() {
        return Err(err("must not be empty"));
    }
    if region.len() > 64 {
        return Err(err("is too long"));
    }
    if !region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(err("only lowercase letters, digits and '-' are allowed"));
    }
    Ok(())
}

/// A validated bucket on an endpoint with an addressing style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    endpoint: Endpoint,
    name: String,
    addressing: Addressing,
}

impl Bucket {
    /// Validates the bucket name: 3 to 63 characters of `a-z 0-9 . -`,
    /// starting and ending with a letter or digit, no empty label (`..`), no
    /// `.-`/`-.`, not an IPv4 address. Virtual addressing additionally needs a
    /// DNS endpoint host (not an IP literal).
    pub fn new(
        endpoint: Endpoint,
        name: &str,
        addressing: Addressing,
    ) -> Result<Bucket, ConfigError> {
        let err = |reason: &'static str| ConfigError::Bucket {
            value: name.to_owned(),
            reason,
        };
        if name.len() < 3 || name.len() > 63 {
            return Err(err("must be 3 to 63 characters long"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(err(
                "only lowercase letters, digits, '.' and '-' are allowed",
            ));
        }
        let first = name.as_bytes()[0];
        let last = name.as_bytes()[name.len() - 1];
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return Err(err("must start and end with a letter or digit"));
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return Err(err("must not contain \"..\", \".-\" or \"-.\""));
        }
        if looks_like_ipv4(name) {
            return Err(err("must not be formatted as an IP address"));
        }
        if addressing == Addressing::Virtual && endpoint.host_is_ip() {
            return Err(err(
                "virtual addressing needs a DNS endpoint host, not an IP address (use path addressing)",
            ));
        }
        Ok(Bucket {
            endpoint,
            name: name.to_owned(),
            addressing,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addressing(&self) -> Addressing {
        self.addressing
    }

    /// Host header value the proxy will send: `host[:port]` (path style) or
    /// `bucket.host[:port]` (virtual), the port only when not the default.
    pub fn host_header(&self) -> String {
        match self.addressing {
            Addressing::Path => self.endpoint.authority(),
            Addressing::Virtual => format!("{}.{}", self.name, self.endpoint.authority()),
        }
    }

    /// Whether S3 can store `key`: 1 to 1024 bytes (S3's limit). A key
    /// that passes has a path [`sign`](super::sign) accepts.
    pub fn check_key(key: &str) -> Result<(), &'static str> {
        match key.len() {
            0 => Err("the object key is empty"),
            n if n > MAX_KEY_LEN => Err("the object key is longer than 1024 bytes (S3's limit)"),
            _ => Ok(()),
        }
    }

    /// On-the-wire path for a decoded key: `/bucket/<enc>` (path style) or
    /// `/<enc>` (virtual), with `<enc>` = [`uri_encode_key`]. The key is used
    /// as given (an empty key yields the bucket root; callers that only want
    /// objects should reject empty keys).
    pub fn path(&self, key: &str) -> String {
        let enc = uri_encode_key(key);
        match self.addressing {
            Addressing::Path => format!("/{}/{}", self.name, enc),
            Addressing::Virtual => format!("/{enc}"),
        }
    }

    /// Full URL for `proxy_pass`: `scheme://` + [`host_header`](Self::host_header) + [`path`](Self::path).
    pub fn url(&self, key: &str) -> String {
        format!(
            "{}://{}{}",
            self.endpoint.scheme(),
            self.host_header(),
            self.path(key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(https: bool, host: &str, port: Option<u16>) -> Endpoint {
        Endpoint {
            https,
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn endpoint_accepts() {
        let cases: &[(&str, Endpoint)] = &[
            ("http://127.0.0.1:9000", ep(false, "127.0.0.1", Some(9000))),
            ("http://127.0.0.1:9000/", ep(false, "127.0.0.1", Some(9000))),
            ("http://minio", ep(false, "minio", None)),
            ("http://minio:80", ep(false, "minio", None)),
            ("http://minio:443", ep(false, "minio", Some(443))),
            (
                "https://s3.eu-west-1.amazonaws.com",
                ep(true, "s3.eu-west-1.amazonaws.com", None),
            ),
            (
                "https://s3.eu-west-1.amazonaws.com/",
                ep(true, "s3.eu-west-1.amazonaws.com", None),
            ),
            ("https://h:8443", ep(true, "h", Some(8443))),
            ("https://h:443", ep(true, "h", None)),
            ("https://h:80", ep(true, "h", Some(80))),
            (
                "HTTPS://S3.Example.COM:65535",
                ep(true, "s3.example.com", Some(65535)),
            ),
            ("http://minio_1:9000", ep(false, "minio_1", Some(9000))),
            ("http://[::1]:9000", ep(false, "[::1]", Some(9000))),
            ("http://[::1]", ep(false, "[::1]", None)),
            (
                "https://[2001:DB8::1]:443/",
                ep(true, "[2001:db8::1]", None),
            ),
            ("http://h:00080", ep(false, "h", None)),
        ];
        for (input, want) in cases {
            assert_eq!(Endpoint::parse(input).as_ref(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn endpoint_rejects() {
        let long_host = format!("http://{}.com", "a".repeat(250));
        let cases: &[(&str, &str)] = &[
            ("", "must not be empty"),
            ("ftp://x", "scheme must be http or https"),
            ("s3://bucket", "scheme must be http or https"),
            ("127.0.0.1:9000", "must start with http:// or https://"),
            ("//host", "must start with http:// or https://"),
            ("http://", "host is empty"),
            ("http:///", "host is empty"),
            ("http://:9000", "host is empty"),
            ("http://user:pw@host", "userinfo"),
            ("http://@host", "userinfo"),
            ("http://host/bucket", "must not have a path"),
            ("http://host//", "must not have a path"),
            ("http://host/?x", "query"),
            ("http://host#f", "query"),
            ("http://host:", "port"),
            ("http://host:0", "port"),
            ("http://host:65536", "port"),
            ("http://host:123456", "port"),
            ("http://host:-1", "port"),
            ("http://host:9x", "port"),
            ("http://host:+80", "port"),
            ("http://ho st", "whitespace"),
            (" http://host", "whitespace"),
            ("http://host\n", "whitespace"),
            ("http://hö.st", "ASCII"),
            ("http://a..b", "empty label"),
            ("http://.a", "empty label"),
            ("http://a.", "empty label"),
            ("http://a%2eb", "invalid characters"),
            (long_host.as_str(), "longer than 253"),
            ("http://a:1:2", "invalid characters"),
            ("http://[::1", "unterminated"),
            ("http://[]", "invalid IPv6"),
            ("http://[zz]", "invalid IPv6"),
            ("http://[::1]x", "after IPv6"),
            ("http://[fe80::1%25eth0]", "invalid IPv6"),
        ];
        for (input, reason) in cases {
            match Endpoint::parse(input) {
                Ok(e) => panic!("{input:?} accepted as {e:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(reason), "{input:?}: {msg}");
                    assert!(msg.starts_with("invalid endpoint \""), "{msg}");
                }
            }
        }
    }

    #[test]
    fn endpoint_error_message_reads_well() {
        assert_eq!(
            Endpoint::parse("ftp://x").unwrap_err().to_string(),
            "invalid endpoint \"ftp://x\": scheme must be http or https"
        );
        // Control characters are escaped, not echoed raw into the log.
        let msg = Endpoint::parse("http://a\u{1b}[31m")
            .unwrap_err()
            .to_string();
        assert!(!msg.contains('\u{1b}'), "{msg}");
    }

    #[test]
    fn endpoint_display_roundtrip() {
        for s in [
            "http://127.0.0.1:9000",
            "https://s3.amazonaws.com",
            "http://[::1]:8080",
        ] {
            let e = Endpoint::parse(s).unwrap();
            assert_eq!(e.to_string(), s);
            assert_eq!(Endpoint::parse(&e.to_string()).unwrap(), e);
        }
    }

    #[test]
    fn addressing_parse() {
        assert_eq!(Addressing::parse("path"), Ok(Addressing::Path));
        assert_eq!("virtual".parse::<Addressing>(), Ok(Addressing::Virtual));
        for bad in ["", "Path", "VIRTUAL", "vhost", "path "] {
            let e = Addressing::parse(bad).unwrap_err();
            assert!(e.to_string().contains("must be \"path\" or \"virtual\""));
        }
        assert_eq!(Addressing::Virtual.to_string(), "virtual");
    }

    #[test]
    fn region_validation() {
        for ok in [
            "us-east-1",
            "eu-west-1",
            "auto",
            "garage",
            "cn-north-1",
            "us-gov-west-1",
        ] {
            assert_eq!(validate_region(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "us_east_1",
            "us east",
            "eu/west",
            "ü",
            "a\n",
        ] {
            let e = validate_region(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid region "), "{e}");
        }
        assert!(validate_region(&"a".repeat(65)).is_err());
    }

    #[test]
    fn bucket_names() {
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        for ok in [
            "abc",
            "photos",
            "my-bucket.v2",
            "a1b",
            &"a".repeat(63),
            "123",
        ] {
            assert!(Bucket::new(e.clone(), ok, Addressing::Path).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            &"a".repeat(64),
            "Photos",
            "my_bucket",
            "-abc",
            "abc-",
            ".abc",
            "abc.",
            "a..b",
            "a.-b",
            "a-.b",
            "192.168.1.1",
            "a b",
            "ab/c",
            "über",
        ] {
            let err = Bucket::new(e.clone(), bad, Addressing::Path).unwrap_err();
            assert!(err.to_string().starts_with("invalid bucket name "), "{err}");
        }
    }

    #[test]
    fn virtual_needs_dns_host() {
        for s in ["http://127.0.0.1:9000", "http://[::1]:9000"] {
            let e = Endpoint::parse(s).unwrap();
            assert!(Bucket::new(e.clone(), "photos", Addressing::Virtual).is_err());
            assert!(Bucket::new(e, "photos", Addressing::Path).is_ok());
        }
    }

    #[test]
    fn host_header_path_and_url() {
        let cases: &[(&str, Addressing, &str, &str, &str)] = &[
            (
                "http://127.0.0.1:9000",
                Addressing::Path,
                "127.0.0.1:9000",
                "/photos/a%20b.jpg",
                "http://127.0.0.1:9000/photos/a%20b.jpg",
            ),
            (
                "http://minio",
                Addressing::Path,
                "minio",
                "/photos/a%20b.jpg",
                "http://minio/photos/a%20b.jpg",
            ),
            (
                "http://minio:80",
                Addressing::Path,
                "minio",
                "/photos/a%20b.jpg",
                "http://minio/photos/a%20b.jpg",
            ),
            (
                "https://s3.eu-west-1.amazonaws.com",
                Addressing::Virtual,
                "photos.s3.eu-west-1.amazonaws.com",
                "/a%20b.jpg",
                "https://photos.s3.eu-west-1.amazonaws.com/a%20b.jpg",
            ),
            (
                "https://s3.example.com:8443",
                Addressing::Virtual,
                "photos.s3.example.com:8443",
                "/a%20b.jpg",
                "https://photos.s3.example.com:8443/a%20b.jpg",
            ),
            (
                "https://s3.example.com:8443",
                Addressing::Path,
                "s3.example.com:8443",
                "/photos/a%20b.jpg",
                "https://s3.example.com:8443/photos/a%20b.jpg",
            ),
            (
                "http://[::1]:9000",
                Addressing::Path,
                "[::1]:9000",
                "/photos/a%20b.jpg",
                "http://[::1]:9000/photos/a%20b.jpg",
            ),
        ];
        for (endpoint, addressing, host, path, url) in cases {
            let b = Bucket::new(Endpoint::parse(endpoint).unwrap(), "photos", *addressing).unwrap();
            assert_eq!(b.host_header(), *host);
            assert_eq!(b.path("a b.jpg"), *path);
            assert_eq!(b.url("a b.jpg"), *url);
        }
    }

    #[test]
    fn path_encodes_key() {
        let b = Bucket::new(
            Endpoint::parse("http://h").unwrap(),
            "bkt",
            Addressing::Path,
        )
        .unwrap();
        assert_eq!(b.path("a/b/c"), "/bkt/a/b/c");
        assert_eq!(b.path("%41+x"), "/bkt/%2541%2Bx");
        assert_eq!(b.path("/abs"), "/bkt//abs");
        assert_eq!(b.path(""), "/bkt/");
        let v = Bucket::new(
            Endpoint::parse("http://h").unwrap(),
            "bkt",
            Addressing::Virtual,
        )
        .unwrap();
        assert_eq!(v.path("日.png"), "/%E6%97%A5.png");
        assert_eq!(v.path("/abs"), "//abs");
    }
}
