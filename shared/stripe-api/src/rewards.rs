//! Stripe rewards through async-stripe ([`StripeRewards`], the
//! [`saguaro_app::fulfil::RewardDelivery`] adapter for Stripe customers):
//!
//! - `billing_credit`: `POST /v1/customers/{id}/balance_transactions` with a negative
//!   `amount` (the row's value, already × quantity, in minor units) in the reward's
//!   currency (the engine issues it in the customer's latest payment currency: a credit in
//!   another currency never applies to their invoices), a `description` naming the reward,
//!   `metadata[saguaro_reward_id]` = the row id and `Idempotency-Key` =
//!   [`saguaro_app::fulfil::idempotency_key`]. Stripe keeps keys 24 hours and replays a
//!   stored 5xx for the same key, and its balance transactions cannot be searched by
//!   metadata: after an attempt whose outcome is unknown the fulfiler first lists the
//!   customer's balance transactions created since the attempt began (less a margin) and
//!   matches the metadata; only if none matches does it send, with the next attempt's key.
//! - `coupon`: the customer's active subscription (`GET /v1/subscriptions?customer=…&
//!   status=active`), then `POST /v1/subscriptions/{id}` with `discounts`: a populated
//!   array replaces what is there, so every existing discount is sent again as
//!   `{discount: di_…}` followed by the new `{coupon}`. No active subscription is a
//!   permanent failure.

use jiff::Timestamp;
use miniserde::json::Value;
use saguaro_app::fulfil::{BoxFuture, Found, RewardDelivery, Sent, idempotency_key};
use saguaro_domain::RewardOutbox;
use saguaro_domain::program::RewardKind;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_billing::subscription::{
    DiscountsDataParam, ListSubscription, ListSubscriptionStatus, UpdateSubscription,
};
use stripe_core::customer_balance_transaction::{
    CreateCustomerCustomerBalanceTransaction, ListCustomerCustomerBalanceTransaction,
};
use stripe_types::RangeQueryTs;

use crate::StripeApi;

/// Balance transaction pages read when looking for an earlier attempt (100 each).
const MAX_PAGES: usize = 10;
/// The metadata key that names the reward row on what Saguaro creates at Stripe.
pub const REWARD_ID_METADATA: &str = "saguaro_reward_id";

/// The Stripe reward adapter.
#[derive(Debug, Clone)]
pub struct StripeRewards {
    api: StripeApi,
}

impl StripeRewards {
    pub fn new(api: StripeApi) -> Self {
        Self { api }
    }

    fn strategy(row: &RewardOutbox, attempt: u32) -> RequestStrategy {
        let key = idempotency_key(row, attempt);
        let key = if key.len() <= 255 {
            key
        } else {
            // Stripe takes at most 255 characters; a digest keeps it derived from the id.
            use sha2::Digest;
            format!(
                "saguaro:{}",
                hex::encode(sha2::Sha256::digest(key.as_bytes()))
            )
        };
        match IdempotencyKey::new(key) {
            Ok(k) => RequestStrategy::Idempotent(k),
            Err(_) => RequestStrategy::Once,
        }
    }

    fn refused(&self, what: &str, e: StripeError) -> Sent {
        let message = e.to_string();
        match e {
            StripeError::Stripe(_, status) => match status {
                500.. => Sent::Retry {
                    error: format!("{what}: Stripe answered {status}: {message}"),
                    maybe_applied: true,
                },
                429 | 409 => Sent::Retry {
                    error: format!("{what}: Stripe answered {status}: {message}"),
                    maybe_applied: status == 409,
                },
                _ => Sent::Failed(format!("{what}: Stripe answered {status}: {message}")),
            },
            StripeError::JSONDeserialize(_) => Sent::Retry {
                error: format!("{what}: unreadable answer: {message}"),
                maybe_applied: true,
            },
            _ => Sent::Retry {
                error: format!("{what}: no answer from Stripe: {message}"),
                maybe_applied: true,
            },
        }
    }

    async fn credit(&self, row: &RewardOutbox, attempt: u32) -> Sent {
        let Some(value) = row.value else {
            return Sent::Failed("billing credit without a value".to_owned());
        };
        // Stripe's currency type keeps codes it does not know as they are.
        let Ok(currency) = value.currency.as_str().parse::<stripe_types::Currency>();
        let Some(amount) = value.minor.checked_neg() else {
            return Sent::Failed("credit amount out of range".to_owned());
        };
        let metadata =
            std::collections::HashMap::from([(REWARD_ID_METADATA.to_owned(), row.id.clone())]);
        let sent = CreateCustomerCustomerBalanceTransaction::new(
            row.customer.id.as_str(),
            amount,
            currency,
        )
        .description(description(row))
        .metadata(metadata)
        .build()
        .customize::<Value>()
        .request_strategy(Self::strategy(row, attempt))
        .send(&self.api.client)
        .await;
        match sent {
            Ok(v) => Sent::Delivered(text(&v, "id")),
            Err(e) => self.refused("Stripe balance transaction", e),
        }
    }

    async fn find_credit(&self, row: &RewardOutbox, since: Timestamp) -> Found {
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut list = ListCustomerCustomerBalanceTransaction::new(row.customer.id.as_str())
                .created(RangeQueryTs::gte(since.as_second()))
                .limit(100);
            if let Some(a) = &after {
                list = list.starting_after(a.clone());
            }
            let page = match list
                .build()
                .customize::<Value>()
                .send(&self.api.client)
                .await
            {
                Ok(v) => v,
                Err(e) => return Found::Unknown(e.to_string()),
            };
            let data = array(&page, "data");
            for tx in data {
                let reward = field(tx, "metadata").and_then(|m| text(m, REWARD_ID_METADATA));
                if reward.as_deref() == Some(row.id.as_str()) {
                    return Found::Yes(text(tx, "id"));
                }
            }
            let more = matches!(field(&page, "has_more"), Some(Value::Bool(true)));
            match data.last().and_then(|tx| text(tx, "id")) {
                Some(last) if more => after = Some(last),
                _ => return Found::No,
            }
        }
        Found::Unknown("too many balance transactions to look through".to_owned())
    }

    async fn active_subscription(&self, row: &RewardOutbox) -> Result<Option<Value>, Sent> {
        let page = ListSubscription::new()
            .customer(row.customer.id.as_str())
            .status(ListSubscriptionStatus::Active)
            .limit(1)
            .build()
            .customize::<Value>()
            .send(&self.api.client)
            .await
            .map_err(|e| self.refused("Stripe subscriptions", e))?;
        Ok(array(&page, "data").first().cloned())
    }

    async fn coupon(&self, row: &RewardOutbox, attempt: u32) -> Sent {
        let Some(coupon) = row.coupon.as_deref() else {
            return Sent::Failed("coupon reward without a coupon".to_owned());
        };
        let sub = match self.active_subscription(row).await {
            Ok(Some(sub)) => sub,
            Ok(None) => {
                return Sent::Failed(format!(
                    "customer {} has no active subscription for coupon {coupon}",
                    row.customer.id
                ));
            }
            Err(sent) => return sent,
        };
        let Some(id) = text(&sub, "id") else {
            return Sent::Failed("Stripe subscription without an id".to_owned());
        };
        // Sent again, or the new array would remove them.
        let mut discounts: Vec<DiscountsDataParam> = discount_ids(&sub)
            .into_iter()
            .map(|d| DiscountsDataParam {
                discount: Some(d),
                ..DiscountsDataParam::new()
            })
            .collect();
        discounts.push(DiscountsDataParam {
            coupon: Some(coupon.to_owned()),
            ..DiscountsDataParam::new()
        });
        let sent = UpdateSubscription::new(id.as_str())
            .discounts(discounts)
            .build()
            .customize::<Value>()
            .request_strategy(Self::strategy(row, attempt))
            .send(&self.api.client)
            .await;
        match sent {
            Ok(_) => Sent::Delivered(Some(id)),
            Err(e) => self.refused("Stripe subscription discounts", e),
        }
    }

    /// Whether the active subscription has a discount of the row's coupon that started
    /// since `since`.
    async fn find_coupon(&self, row: &RewardOutbox, since: Timestamp) -> Found {
        let sub = match self.active_subscription(row).await {
            Ok(Some(sub)) => sub,
            Ok(None) => return Found::No,
            Err(sent) => return Found::Unknown(format!("{sent:?}")),
        };
        let found = array(&sub, "discounts").iter().any(|d| {
            let coupon = field(d, "coupon")
                .and_then(|c| match c {
                    Value::String(s) => Some(s.clone()),
                    other => text(other, "id"),
                })
                .or_else(|| {
                    field(d, "source")
                        .and_then(|s| field(s, "coupon"))
                        .and_then(|c| {
                            text(c, "id").or_else(|| match c {
                                Value::String(s) => Some(s.clone()),
                                _ => None,
                            })
                        })
                });
            let start = match field(d, "start") {
                Some(Value::Number(n)) => n.to_string().parse::<i64>().ok(),
                _ => None,
            };
            coupon.as_deref() == row.coupon.as_deref()
                && start.is_some_and(|s| s >= since.as_second())
        });
        if found {
            Found::Yes(text(&sub, "id"))
        } else {
            Found::No
        }
    }
}

/// A billing credit's description: the reward and the quantity.
pub fn description(row: &RewardOutbox) -> String {
    if row.quantity > 1 {
        format!("Loyalty reward {} × {}", row.reward, row.quantity)
    } else {
        format!("Loyalty reward {}", row.reward)
    }
}

/// The ids of a subscription's discounts (`discounts` is a list of ids, or of expanded
/// discount objects).
fn discount_ids(sub: &Value) -> Vec<String> {
    array(sub, "discounts")
        .iter()
        .filter_map(|d| match d {
            Value::String(id) => Some(id.clone()),
            other => text(other, "id"),
        })
        .collect()
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Object(o) => o.get(name),
        _ => None,
    }
}

fn text(v: &Value, name: &str) -> Option<String> {
    match field(v, name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn array<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    match field(v, name) {
        Some(Value::Array(a)) => a.as_slice(),
        _ => &[],
    }
}

impl RewardDelivery for StripeRewards {
    fn unavailable(&self, _row: &RewardOutbox) -> Option<String> {
        None
    }

    fn find<'a>(&'a self, row: &'a RewardOutbox, since: Timestamp) -> BoxFuture<'a, Found> {
        Box::pin(async move {
            match row.kind {
                RewardKind::BillingCredit => self.find_credit(row, since).await,
                RewardKind::Coupon => self.find_coupon(row, since).await,
                _ => Found::No,
            }
        })
    }

    fn send<'a>(&'a self, row: &'a RewardOutbox, attempt: u32) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            match row.kind {
                RewardKind::BillingCredit => self.credit(row, attempt).await,
                RewardKind::Coupon => self.coupon(row, attempt).await,
                _ => Sent::Failed("not a Stripe reward".to_owned()),
            }
        })
    }
}
