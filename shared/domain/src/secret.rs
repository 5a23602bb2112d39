//! A secret from the configuration: a webhook signing secret, a webhook password, an API key.
//! It never prints (`Debug` and `Display` show `[redacted]`), so it cannot leak into a log
//! through `{:?}` on a config struct, and it compares in constant time. The value is only
//! reached through [`Secret::expose`], which makes every use of it easy to find.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret value. Build it from the configuration once, at start-up.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it (an HMAC key, a credential digest,
    /// an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Constant time in the contents; the length of two secrets of different lengths shows.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_secret_is_printed_then_it_is_redacted() {
        let secret = Secret::new("whsec_hunter2");
        let shown = format!("{secret:?} {secret} {:?}", Some(&secret));
        assert_eq!(shown, "[redacted] [redacted] Some([redacted])");
        assert_eq!(secret.expose(), "whsec_hunter2");
    }

    #[test]
    fn when_secrets_are_compared_then_only_equal_values_are_equal() {
        assert_eq!(Secret::new("rk_live_a"), Secret::new("rk_live_a"));
        assert_ne!(Secret::new("rk_live_a"), Secret::new("rk_live_b"));
        assert_ne!(Secret::new("rk_live_a"), Secret::new("rk_live_ab"));
    }
}
