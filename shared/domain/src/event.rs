//! The normalised event (docs/design.md §3): the one type everything downstream of a webhook sees.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::ids::{CustomerId, EventId, Provider};
use crate::money::Money;

/// What happened. Internal triggers are produced by Saguaro itself and are not accepted
/// from outside.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    SubscriptionCreated,
    PaymentSucceeded,
    SubscriptionUpgraded,
    SubscriptionDowngraded,
    SubscriptionCancelled,
    SubscriptionAnniversary,
    /// A subscription changed and the provider did not say how (Chargebee's
    /// `subscription_changed`): the engine compares the new monthly amount with the stored
    /// snapshot and applies the `subscription.upgraded` or `subscription.downgraded` rules.
    SubscriptionChanged,
    ReferralConverted,
    PaymentRefunded,
    /// `custom.<name>`: the merchant's own events.
    Custom(String),
    PointsExpired,
    PromotionGranted,
    PointsAdjusted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trigger `{0}`")]
pub struct UnknownTrigger(pub String);

impl Trigger {
    /// Produced only by Saguaro (its scheduler, operators, or the Chargebee webhook for
    /// `subscription.changed`); never accepted on `POST /events`.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::PointsExpired
                | Self::PromotionGranted
                | Self::PointsAdjusted
                | Self::SubscriptionChanged
        )
    }

    /// May an `[[earn]]` rule name this trigger in `on`? A refund reverses points and the
    /// internal triggers carry their own points, so none of them can earn through a rule.
    pub fn can_earn(&self) -> bool {
        !self.is_internal() && *self != Self::PaymentRefunded
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::SubscriptionCreated => "subscription.created",
            Self::PaymentSucceeded => "payment.succeeded",
            Self::SubscriptionUpgraded => "subscription.upgraded",
            Self::SubscriptionDowngraded => "subscription.downgraded",
            Self::SubscriptionCancelled => "subscription.cancelled",
            Self::SubscriptionAnniversary => "subscription.anniversary",
            Self::SubscriptionChanged => "subscription.changed",
            Self::ReferralConverted => "referral.converted",
            Self::PaymentRefunded => "payment.refunded",
            Self::Custom(name) => name,
            Self::PointsExpired => "points.expired",
            Self::PromotionGranted => "promotion.granted",
            Self::PointsAdjusted => "points.adjusted",
        }
    }
}

impl FromStr for Trigger {
    type Err = UnknownTrigger;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "subscription.created" => Self::SubscriptionCreated,
            "payment.succeeded" => Self::PaymentSucceeded,
            "subscription.upgraded" => Self::SubscriptionUpgraded,
            "subscription.downgraded" => Self::SubscriptionDowngraded,
            "subscription.cancelled" => Self::SubscriptionCancelled,
            "subscription.anniversary" => Self::SubscriptionAnniversary,
            "subscription.changed" => Self::SubscriptionChanged,
            "referral.converted" => Self::ReferralConverted,
            "payment.refunded" => Self::PaymentRefunded,
            "points.expired" => Self::PointsExpired,
            "promotion.granted" => Self::PromotionGranted,
            "points.adjusted" => Self::PointsAdjusted,
            custom => match custom.strip_prefix("custom.") {
                Some(name)
                    if !name.is_empty()
                        && name.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
                        }) =>
                {
                    Self::Custom(custom.to_owned())
                }
                _ => return Err(UnknownTrigger(s.to_owned())),
            },
        })
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Trigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What the event says about the subscription it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    pub id: String,
    /// Plan (Chargebee PC 1.0), item price (PC 2.0) or price (Stripe) id; `plans` filters
    /// in the program match against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// The recurring amount normalised per month, where the provider tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_amount: Option<Money>,
    /// The provider's ordering of changes to this subscription (Chargebee's
    /// `resource_version`, ms). When both sides have one, it decides which state is newer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<i64>,
}

/// Ids needed later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refs {
    /// `payment.succeeded`: this payment's id. `payment.refunded`: the refunded payment's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    /// Another id the same payment is known by (Stripe: the invoice, when `payment` is the
    /// PaymentIntent). A payment and its refunds meet under whichever of the two ids the
    /// customer's records already hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// The customer who referred this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<CustomerId>,
    /// `promotion.granted`: the promotion's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
}

/// The normalised event. Its JSON form is the earn queue's message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub provider: Provider,
    pub id: EventId,
    /// When it happened at the provider, not when it was received: promotions and caps use it.
    pub occurred_at: Timestamp,
    pub customer: CustomerId,
    pub trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// `payment.refunded` from providers that report the running total (Stripe's
    /// `amount_refunded`): the payment's cumulative refunded amount. When present it is used
    /// instead of adding `amount`, so re-ordered refund events cannot double count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_total: Option<Money>,
    /// `points.adjusted` only: the signed number of points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
    /// `points.adjusted` only: the operator's reason, shown on the ledger line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionInfo>,
    #[serde(default)]
    pub refs: Refs,
}

impl Event {
    /// A short event of `trigger` for `customer`; the other fields are set by the caller.
    pub fn new(
        id: impl Into<String>,
        customer: CustomerId,
        trigger: Trigger,
        occurred_at: Timestamp,
    ) -> Self {
        Self {
            provider: customer.provider,
            id: EventId::new(id),
            occurred_at,
            customer,
            trigger,
            amount: None,
            refunded_total: None,
            points: None,
            reason: None,
            subscription: None,
            refs: Refs::default(),
        }
    }

    /// SHA-256 of the event's canonical JSON: stored with the "applied" marker so that an id
    /// reused for a different event is noticed instead of silently ignored. An adjustment is
    /// dated when the operator's request is received, so a replay of the same request (same
    /// key, points and reason) later is the same adjustment: its `occurred_at` is not hashed.
    pub fn payload_hash(&self) -> String {
        // Serialised straight into the hasher: no buffer. Plain data with string keys cannot
        // fail to serialise.
        let mut hasher = Sha256::new();
        if self.trigger == Trigger::PointsAdjusted {
            let undated = Self {
                occurred_at: Timestamp::UNIX_EPOCH,
                ..self.clone()
            };
            let _ = serde_json::to_writer(&mut hasher, &undated);
        } else {
            let _ = serde_json::to_writer(&mut hasher, self);
        }
        hex::encode(hasher.finalize())
    }

    /// The subscription's plan, when the event names one.
    pub fn plan(&self) -> Option<&str> {
        self.subscription.as_ref().and_then(|s| s.plan.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_trigger_round_trips_then_name_is_kept() {
        for name in [
            "subscription.created",
            "payment.succeeded",
            "subscription.upgraded",
            "subscription.downgraded",
            "subscription.cancelled",
            "subscription.anniversary",
            "referral.converted",
            "payment.refunded",
            "custom.review_written",
            "subscription.changed",
            "points.expired",
            "promotion.granted",
            "points.adjusted",
        ] {
            let t: Trigger = name.parse().unwrap();
            assert_eq!(t.as_str(), name);
        }
    }

    #[test]
    fn when_trigger_is_unknown_or_custom_is_empty_then_it_is_rejected() {
        assert!("invoice.paid".parse::<Trigger>().is_err());
        assert!("custom.".parse::<Trigger>().is_err());
        assert!("custom.a b".parse::<Trigger>().is_err());
    }

    #[test]
    fn when_events_differ_then_hashes_differ() {
        let c = CustomerId::new(Provider::Custom, "c-1");
        let t = Timestamp::from_second(1_700_000_000).unwrap();
        let a = Event::new("e1", c.clone(), Trigger::SubscriptionCreated, t);
        let mut b = a.clone();
        assert_eq!(a.payload_hash(), b.payload_hash());
        b.points = Some(1);
        assert_ne!(a.payload_hash(), b.payload_hash());
    }
}
