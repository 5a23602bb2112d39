//! Identifiers: newtypes so that a customer id is never passed where an event id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a customer or an event comes from. A customer's ledger is keyed by provider and id:
/// `stripe:cus_1` and `chargebee:cus_1` are two customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Stripe,
    Chargebee,
    /// The merchant's own application, through `POST /events`.
    Custom,
    /// Saguaro's scheduler (anniversaries, expiry, promotion grants).
    Scheduler,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Chargebee => "chargebee",
            Self::Custom => "custom",
            Self::Scheduler => "scheduler",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{0}` (expected stripe, chargebee or custom)")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stripe" => Ok(Self::Stripe),
            "chargebee" => Ok(Self::Chargebee),
            "custom" => Ok(Self::Custom),
            "scheduler" => Ok(Self::Scheduler),
            other => Err(UnknownProvider(other.to_owned())),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ledger key: a provider's customer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerId {
    pub provider: Provider,
    pub id: String,
}

impl CustomerId {
    pub fn new(provider: Provider, id: impl Into<String>) -> Self {
        Self {
            provider,
            id: id.into(),
        }
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)
    }
}

/// A provider's event id (`evt_...`, `ev_...`), the merchant's own id, or a deterministic id
/// for synthetic events (`anniv:stripe:sub_1:2`). Same id = same event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub String);

impl EventId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a customer's payment records are keyed by: the first 8 bytes of the SHA-256 of the
/// provider's payment id (PaymentIntent, invoice, charge). Provider ids run to 30 bytes, and a
/// customer's state holds a refund window of them in the item written on every event; the
/// digest keeps each key at 8 bytes. Two ids of one customer colliding has odds of about
/// n²/2⁶⁵ for n records (14 monthly payments: 5·10⁻¹⁸; 18,000: 10⁻¹¹). Shown and serialised as
/// 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaymentKey(pub u64);

impl PaymentKey {
    /// The key of the payment the provider calls `id`.
    pub fn of(id: &str) -> Self {
        let digest = Sha256::digest(id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_be_bytes(first))
    }
}

impl fmt::Display for PaymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A payment key that is not 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a payment key (16 hex digits)")]
pub struct InvalidPaymentKey(pub String);

impl FromStr for PaymentKey {
    type Err = InvalidPaymentKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(InvalidPaymentKey(s.to_owned()));
        }
        u64::from_str_radix(s, 16)
            .map(Self)
            .map_err(|_| InvalidPaymentKey(s.to_owned()))
    }
}

impl Serialize for PaymentKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PaymentKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_payment_key_is_serialised_then_it_reads_back_as_16_hex_digits() {
        let key = PaymentKey::of("pi_3QxYzAbCdEfGhIjKlMnO0001");
        assert_eq!(key, PaymentKey::of("pi_3QxYzAbCdEfGhIjKlMnO0001"));
        assert_ne!(key, PaymentKey::of("pi_3QxYzAbCdEfGhIjKlMnO0002"));
        let json = serde_json::to_string(&key).unwrap_or_default();
        assert_eq!(json.len(), 18, "{json}");
        assert_eq!(serde_json::from_str::<PaymentKey>(&json).ok(), Some(key));
        assert!(serde_json::from_str::<PaymentKey>("\"abc\"").is_err());
    }
}
