//! HTTP Basic credentials on Chargebee webhooks (docs/design.md §5.5). Chargebee has no signature
//! scheme; the merchant sets a username and password on the webhook, and we compare them in
//! constant time and answer 401 otherwise.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saguaro_domain::secret::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a request was refused. Every variant maps to 401 at the edge.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization header")]
    MissingHeader,
    #[error("malformed Authorization header: {reason}")]
    MalformedHeader {
        reason: &'static str,
        #[source]
        source: Option<base64::DecodeError>,
    },
    #[error("credentials do not match")]
    InvalidCredentials,
}

/// The webhook password: a [`Secret`], which never prints.
pub type Password = Secret;

/// The expected credentials. Build it once at start-up.
#[derive(Clone)]
pub struct BasicAuth {
    username: String,
    /// SHA-256 of `username:password`. Comparing digests keeps the comparison constant-time
    /// even in the length of what was sent.
    expected: [u8; 32],
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl BasicAuth {
    pub fn new(username: impl Into<String>, password: &Password) -> Self {
        let username = username.into();
        let expected = digest(format!("{username}:{}", password.expose()).as_bytes());
        Self { username, expected }
    }

    /// Checks the value of the `Authorization` header (`None` when absent).
    pub fn verify(&self, authorization: Option<&str>) -> Result<(), AuthError> {
        let value = authorization
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(AuthError::MissingHeader)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(AuthError::MalformedHeader {
            reason: "no scheme",
            source: None,
        })?;
        // RFC 7617: the scheme name is case-insensitive.
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::MalformedHeader {
                reason: "scheme is not Basic",
                source: None,
            });
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|e| AuthError::MalformedHeader {
                reason: "credentials are not base64",
                source: Some(e),
            })?;
        if bool::from(digest(&decoded).ct_eq(&self.expected)) {
            Ok(())
        } else {
            Err(AuthError::InvalidCredentials)
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn auth() -> BasicAuth {
        BasicAuth::new("saguaro", &Password::new("s3cret:with-colon"))
    }

    fn header(credentials: &str) -> String {
        format!("Basic {}", STANDARD.encode(credentials))
    }

    #[test]
    fn when_credentials_match_then_request_is_accepted() {
        // given / when
        let result = auth().verify(Some(&header("saguaro:s3cret:with-colon")));
        // then
        assert!(result.is_ok(), "{result:?}");
        // and the scheme name is case-insensitive
        let lower = header("saguaro:s3cret:with-colon").replacen("Basic", "basic", 1);
        assert!(auth().verify(Some(&lower)).is_ok());
    }

    #[test]
    fn when_password_or_username_is_wrong_then_invalid_credentials() {
        for creds in ["saguaro:wrong", "other:s3cret:with-colon", "saguaro:", ":"] {
            let err = auth().verify(Some(&header(creds))).unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidCredentials),
                "{creds}: {err:?}"
            );
        }
    }

    #[test]
    fn when_header_is_missing_or_garbled_then_typed_errors() {
        assert!(matches!(auth().verify(None), Err(AuthError::MissingHeader)));
        assert!(matches!(
            auth().verify(Some("  ")),
            Err(AuthError::MissingHeader)
        ));
        assert!(matches!(
            auth().verify(Some("Bearer abc")),
            Err(AuthError::MalformedHeader {
                reason: "scheme is not Basic",
                ..
            })
        ));
        let err = auth().verify(Some("Basic %%%")).unwrap_err();
        assert!(matches!(
            err,
            AuthError::MalformedHeader {
                source: Some(_),
                ..
            }
        ));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn when_auth_is_printed_then_password_is_redacted() {
        let printed = format!(
            "{:?} {:?} {}",
            auth(),
            Password::new("hunter2"),
            Password::new("hunter2")
        );
        assert!(
            !printed.contains("s3cret") && !printed.contains("hunter2"),
            "{printed}"
        );
        assert!(printed.contains("[redacted]"));
    }
}
