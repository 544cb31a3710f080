//! Static S3 credentials, kept as aws-credential-types' `Credentials`
//! (the type aws-sigv4 signs with), which zeroes the key id, the secret and
//! the session token when its last clone is dropped.

use std::fmt;

use zeroize::Zeroizing;

use super::error::ConfigError;

const REDACTED: &str = "** redacted **";

/// An access key pair plus optional session token, checked once.
///
/// The secret is never printed: `Debug` is written by hand and redacts the
/// secret and the session token. There is no `Display`. Clones share one
/// zeroed-on-drop copy.
#[derive(Clone)]
pub struct Credentials(aws_credential_types::Credentials);

impl Credentials {
    /// Validates and builds credentials.
    ///
    /// - `access_key_id`: non-empty, printable ASCII without spaces, `/` or `,`
    ///   (it goes into the Authorization header's credential scope).
    /// - `secret`: non-empty, no control characters.
    /// - `session_token`: `None` or non-empty printable ASCII without spaces
    ///   (it is sent verbatim as a header; an empty string is an error here,
    ///   use `None`).
    pub fn new(
        access_key_id: impl Into<String>,
        secret: impl AsRef<str>,
        session_token: Option<String>,
    ) -> Result<Credentials, ConfigError> {
        let access_key_id = Zeroizing::new(access_key_id.into());
        let session_token = session_token.map(Zeroizing::new);
        check(
            &access_key_id,
            secret.as_ref(),
            session_token.as_deref().map(String::as_str),
        )
        .map_err(|reason| ConfigError::Credentials { reason })?;
        Ok(Credentials(aws_credential_types::Credentials::new(
            access_key_id.as_str(),
            secret.as_ref(),
            session_token.as_deref().cloned(),
            None,
            "image_resize_rs",
        )))
    }

    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` through `get` (e.g. `|k| std::env::var(k).ok()`).
    /// A missing or empty `AWS_SESSION_TOKEN` means no token.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Credentials, ConfigError> {
        let id = get("AWS_ACCESS_KEY_ID").ok_or(ConfigError::Credentials {
            reason: "AWS_ACCESS_KEY_ID is not set",
        })?;
        let secret = Zeroizing::new(get("AWS_SECRET_ACCESS_KEY").ok_or(
            ConfigError::Credentials {
                reason: "AWS_SECRET_ACCESS_KEY is not set",
            },
        )?);
        let token = get("AWS_SESSION_TOKEN")
            .map(Zeroizing::new)
            .filter(|t| !t.is_empty());
        Credentials::new(id, secret.as_str(), token.as_deref().cloned())
    }

    /// The access key id (public: it is sent in every Authorization header).
    pub fn access_key_id(&self) -> &str {
        self.0.access_key_id()
    }

    /// The session token, if any. Secret: never log it.
    pub fn session_token(&self) -> Option<&str> {
        self.0.session_token()
    }

    /// The credentials as aws-sigv4 takes them.
    pub(crate) fn aws(&self) -> &aws_credential_types::Credentials {
        &self.0
    }
}

fn check(
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
) -> Result<(), &'static str> {
    if access_key_id.is_empty() {
        return Err("access key id is empty");
    }
    if !access_key_id
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'/' && b != b',')
    {
        return Err("access key id must be printable ASCII without spaces, '/' or ','");
    }
    if secret.is_empty() {
        return Err("secret access key is empty");
    }
    if secret.chars().any(char::is_control) {
        return Err("secret access key contains control characters");
    }
    if let Some(token) = session_token {
        if token.is_empty() {
            return Err("session token is empty");
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("session token must be printable ASCII without spaces");
        }
    }
    Ok(())
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id())
            .field("secret_access_key", &REDACTED)
            .field("session_token", &self.session_token().map(|_| REDACTED))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn debug_redacts_secret_and_token() {
        let c = Credentials::new(ID, SECRET, Some("TOKEN-sekrit-123".into())).unwrap();
        for s in [format!("{c:?}"), format!("{c:#?}")] {
            assert!(!s.contains(SECRET), "{s}");
            assert!(!s.contains("wJalr"), "{s}");
            assert!(!s.contains("sekrit"), "{s}");
            assert!(s.contains(ID), "{s}");
            assert!(s.contains("redacted"), "{s}");
        }
        let c = Credentials::new(ID, SECRET, None).unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains(SECRET));
        assert!(s.contains("session_token: None"), "{s}");
        // Also inside containers.
        let s = format!("{:?}", Some(vec![c]));
        assert!(!s.contains(SECRET));
    }

    #[test]
    fn errors_never_contain_secret() {
        let e = Credentials::new(ID, format!("{SECRET}\n"), None).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("wJalr"));
        let e = Credentials::new(ID, SECRET, Some("to ken".into())).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("to ken"));
    }

    #[test]
    fn new_validation() {
        assert!(Credentials::new(ID, SECRET, None).is_ok());
        assert!(Credentials::new("minioadmin", "minioadmin", None).is_ok());
        assert!(Credentials::new(ID, "sécret with spaces", None).is_ok());
        let bad: &[(&str, &str, Option<&str>, &str)] = &[
            ("", SECRET, None, "access key id is empty"),
            (ID, "", None, "secret access key is empty"),
            ("AKIA\n", SECRET, None, "access key id"),
            ("AK IA", SECRET, None, "access key id"),
            ("AK/IA", SECRET, None, "access key id"),
            ("AK,IA", SECRET, None, "access key id"),
            ("AKIAé", SECRET, None, "access key id"),
            (ID, "abc\r", None, "control"),
            (ID, "a\u{0}b", None, "control"),
            (ID, SECRET, Some(""), "session token is empty"),
            (ID, SECRET, Some("a b"), "session token"),
            (ID, SECRET, Some("a\nb"), "session token"),
        ];
        for (id, secret, token, reason) in bad {
            let e = Credentials::new(*id, *secret, token.map(String::from)).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("invalid credentials: "), "{msg}");
            assert!(msg.contains(reason), "{id:?}: {msg}");
        }
    }

    #[test]
    fn from_env_lookup() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let c = Credentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id(), ID);
        assert_eq!(c.aws().secret_access_key(), SECRET);
        assert_eq!(c.session_token(), None);

        let c = Credentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(c.session_token(), None);

        let c = Credentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "tok"),
        ]))
        .unwrap();
        assert_eq!(c.session_token(), Some("tok"));

        let e = Credentials::from_env(env(&[("AWS_SECRET_ACCESS_KEY", SECRET)])).unwrap_err();
        assert!(e.to_string().contains("AWS_ACCESS_KEY_ID is not set"));
        let e = Credentials::from_env(env(&[("AWS_ACCESS_KEY_ID", ID)])).unwrap_err();
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY is not set"));
        let e = Credentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("access key id is empty"));
    }
}
