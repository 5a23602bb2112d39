//! Identifiers: newtypes so that a customer id is never passed where an event id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
