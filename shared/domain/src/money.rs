//! Money is an integer count of a currency's minor units, never a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO-4217 currency code, kept lowercase (`usd`, `jpy`, `kwd`) as Stripe sends it.
/// Chargebee's upper-case codes are normalised on the way in. Only codes of the ISO 4217
/// table are accepted (the `iso_currency` crate's: the current codes, and the recently
/// superseded ones such as `bgn` or `hrk` that refunds of old payments still carry); three
/// letters that are no currency (`abc`) are refused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO-4217 currency code")]
pub struct InvalidCurrency(pub String);

impl Currency {
    pub fn as_str(&self) -> &str {
        // Only ASCII lowercase letters are ever stored (see `from_str`).
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(InvalidCurrency(s.to_owned()));
        }
        let mut code = [0u8; 3];
        for (slot, b) in code.iter_mut().zip(bytes) {
            *slot = b.to_ascii_uppercase();
        }
        let known = std::str::from_utf8(&code)
            .ok()
            .and_then(iso_currency::Currency::from_code)
            .is_some();
        if !known {
            return Err(InvalidCurrency(s.to_owned()));
        }
        code.make_ascii_lowercase();
        Ok(Self(code))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        // Said as serde's own "invalid value" so that an error answer can name what was
        // expected without quoting what was sent.
        s.parse().map_err(|_| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&s),
                &"an ISO 4217 currency code",
            )
        })
    }
}

/// An amount in a currency's minor units: 1999 usd is $19.99, 1999 jpy is ¥1999,
/// 1999 kwd is 1.999 KD. The number of decimals never matters to Saguaro: every rule is
/// written in minor units of the currency it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_code_is_upper_case_then_it_is_kept_lowercase() {
        let c: Currency = "USD".parse().unwrap();
        assert_eq!(c.as_str(), "usd");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"usd\"");
    }

    #[test]
    fn when_code_is_not_three_letters_then_it_is_rejected() {
        assert!("us".parse::<Currency>().is_err());
        assert!("usdx".parse::<Currency>().is_err());
        assert!("u$d".parse::<Currency>().is_err());
    }

    #[test]
    fn when_code_is_three_letters_but_no_iso_4217_currency_then_it_is_rejected() {
        for code in ["abc", "xyz", "QQQ", "usa"] {
            assert!(code.parse::<Currency>().is_err(), "{code}");
        }
        for code in ["usd", "EUR", "jpy", "kwd", "inr", "bgn", "ved"] {
            assert!(code.parse::<Currency>().is_ok(), "{code}");
        }
        let err = serde_json::from_str::<Currency>("\"abc\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an ISO 4217 currency code"),
            "{err}"
        );
    }
}
