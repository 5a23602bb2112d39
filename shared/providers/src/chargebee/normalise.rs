//! Normalisation of a Chargebee event body into an [`Event`] (docs/design.md §3, §7).
//!
//! The body is the event itself: `id`, `occurred_at` (unix seconds), `event_type`,
//! `content{subscription, customer, transaction, invoice, ...}`. Both Product Catalog 1.0
//! (`plan_id`, `plan_unit_price`, `plan_quantity`, `addons[]`) and 2.0
//! (`subscription_items[]`) are read. Fields are read leniently: old accounts send older
//! shapes, and a missing field we do not need must not fail the event.
//!
//! `subscription_changed` carries no previous values, so it cannot say "upgrade" by itself.
//! It is returned as a [`SubscriptionChange`]: the new state with Chargebee's
//! `resource_version` (milliseconds, increasing with every change). The caller sends it on as
//! a `subscription.changed` event, and the engine classifies it against the subscription
//! snapshot it keeps in the customer's state, using `resource_version` to order the changes so
//! that a late, older delivery neither classifies against nor overwrites a newer state.

use jiff::Timestamp;
use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, SubscriptionInfo, Trigger};
use serde_json::Value;

use crate::json::{array_at, get, i64_at, str_at};
use crate::period::Annual;

/// The outcome for an authenticated body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalised {
    /// Enqueue this.
    Event(Box<Event>),
    /// `subscription_changed`: the new state, for the engine to classify.
    SubscriptionChanged(Box<SubscriptionChange>),
    /// Answer 2xx and drop.
    Ignored {
        event_type: String,
        reason: &'static str,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum NormaliseError {
    /// The body is not JSON; 400.
    #[error("body is not JSON")]
    MalformedJson(#[source] serde_json::Error),
    /// JSON, but not an event (no `id` or `event_type`); 400.
    #[error("body is not a Chargebee event: {reason}")]
    NotAnEvent { reason: &'static str },
    /// A relevant event lacks something we need: 5xx, so that Chargebee retries.
    #[error("event {event_id} ({event_type}) cannot be processed: {reason}")]
    Unprocessable {
        event_id: String,
        event_type: String,
        reason: &'static str,
    },
}

pub type Result<T, E = NormaliseError> = std::result::Result<T, E>;

/// A `subscription_changed` event: the new state, not yet classified (the engine does that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionChange {
    pub event_id: String,
    pub occurred_at: Timestamp,
    pub customer: CustomerId,
    /// The new state, with `monthly_amount` computed from the items or plan.
    pub subscription: SubscriptionInfo,
    /// Chargebee's `subscription.resource_version` (ms); orders changes of one subscription.
    pub resource_version: Option<i64>,
    pub referrer: Option<CustomerId>,
}

/// Normalises an authenticated event body. `referral_key` is the program's `referral_key`;
/// the referrer is read from the custom field `cf_<referral_key>` on the subscription or the
/// customer.
pub fn normalise(body: &[u8], referral_key: Option<&str>) -> Result<Normalised> {
    let root: Value = serde_json::from_slice(body).map_err(NormaliseError::MalformedJson)?;
    let event_id = str_at(&root, &["id"]).ok_or(NormaliseError::NotAnEvent { reason: "no id" })?;
    let event_type = str_at(&root, &["event_type"]).ok_or(NormaliseError::NotAnEvent {
        reason: "no event_type",
    })?;
    let cx = Context {
        root: &root,
        event_id,
        event_type,
        referral_key: referral_key.filter(|k| !k.is_empty()),
    };
    match event_type {
        "subscription_created" => cx.subscription(Trigger::SubscriptionCreated),
        "subscription_cancelled" => cx.subscription(Trigger::SubscriptionCancelled),
        "subscription_changed" => cx.subscription_changed(),
        "payment_succeeded" => cx.payment_succeeded(),
        "payment_refunded" => cx.payment_refunded(),
        // Renewals are billing cycles, not anniversaries: the scheduler makes those from
        // the stored start date.
        _ => Ok(Normalised::Ignored {
            event_type: event_type.to_owned(),
            reason: "event type not used by Saguaro",
        }),
    }
}

struct Context<'a> {
    root: &'a Value,
    event_id: &'a str,
    event_type: &'a str,
    referral_key: Option<&'a str>,
}

impl<'a> Context<'a> {
    fn unprocessable(&self, reason: &'static str) -> NormaliseError {
        NormaliseError::Unprocessable {
            event_id: self.event_id.to_owned(),
            event_type: self.event_type.to_owned(),
            reason,
        }
    }

    fn content(&self, key: &str) -> Option<&'a Value> {
        get(self.root, &["content", key]).filter(|v| v.is_object())
    }

    fn occurred_at(&self) -> Result<Timestamp> {
        i64_at(self.root, &["occurred_at"])
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| self.unprocessable("no occurred_at"))
    }

    fn customer(&self) -> Result<CustomerId> {
        self.content("customer")
            .and_then(|c| str_at(c, &["id"]))
            .or_else(|| {
                self.content("subscription")
                    .and_then(|s| str_at(s, &["customer_id"]))
            })
            .or_else(|| {
                self.content("transaction")
                    .and_then(|t| str_at(t, &["customer_id"]))
            })
            .map(|id| CustomerId::new(Provider::Chargebee, id))
            .ok_or_else(|| self.unprocessable("no customer"))
    }

    fn referrer(&self) -> Option<CustomerId> {
        let field = format!("cf_{}", self.referral_key?);
        ["subscription", "customer"]
            .iter()
            .find_map(|owner| self.content(owner).and_then(|o| str_at(o, &[&field])))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| CustomerId::new(Provider::Chargebee, id))
    }

    fn event(&self, trigger: Trigger) -> Result<Event> {
        let mut event = Event::new(
            self.event_id,
            self.customer()?,
            trigger,
            self.occurred_at()?,
        );
        event.refs.referrer = self.referrer();
        Ok(event)
    }

    fn subscription_info(&self) -> Option<SubscriptionInfo> {
        self.content("subscription").and_then(subscription_info)
    }

    fn subscription(&self, trigger: Trigger) -> Result<Normalised> {
        let info = self
            .subscription_info()
            .ok_or_else(|| self.unprocessable("no subscription"))?;
        let mut event = self.event(trigger)?;
        event.subscription = Some(info);
        Ok(Normalised::Event(Box::new(event)))
    }

    fn subscription_changed(&self) -> Result<Normalised> {
        let sub = self
            .content("subscription")
            .ok_or_else(|| self.unprocessable("no subscription"))?;
        let subscription =
            subscription_info(sub).ok_or_else(|| self.unprocessable("no subscription id"))?;
        Ok(Normalised::SubscriptionChanged(Box::new(
            SubscriptionChange {
                event_id: self.event_id.to_owned(),
                occurred_at: self.occurred_at()?,
                customer: self.customer()?,
                subscription,
                resource_version: i64_at(sub, &["resource_version"]),
                referrer: self.referrer(),
            },
        )))
    }

    fn transaction(&self) -> Result<&'a Value> {
        self.content("transaction")
            .ok_or_else(|| self.unprocessable("no transaction"))
    }

    fn money(&self, transaction: &Value) -> Result<Money> {
        let minor =
            i64_at(transaction, &["amount"]).ok_or_else(|| self.unprocessable("no amount"))?;
        // Chargebee sends `USD`; `Currency` keeps it lowercase like Stripe's.
        let currency = str_at(transaction, &["currency_code"])
            .and_then(|c| c.parse::<Currency>().ok())
            .ok_or_else(|| self.unprocessable("no currency_code"))?;
        Ok(Money::new(minor, currency))
    }

    fn payment_succeeded(&self) -> Result<Normalised> {
        let txn = self.transaction()?;
        let id = str_at(txn, &["id"]).ok_or_else(|| self.unprocessable("no transaction id"))?;
        let mut event = self.event(Trigger::PaymentSucceeded)?;
        event.amount = Some(self.money(txn)?);
        event.refs.payment = Some(id.to_owned());
        event.refs.invoice = self.invoice_id(txn);
        event.subscription = self.subscription_info();
        Ok(Normalised::Event(Box::new(event)))
    }

    fn payment_refunded(&self) -> Result<Normalised> {
        let txn = self.transaction()?;
        let refunded = str_at(txn, &["refunded_txn_id"])
            .ok_or_else(|| self.unprocessable("no refunded_txn_id"))?;
        let mut event = self.event(Trigger::PaymentRefunded)?;
        // Chargebee reports each refund as its own transaction, not a running total, so
        // `refunded_total` stays empty and the engine adds the amounts.
        event.amount = Some(self.money(txn)?);
        event.refs.payment = Some(refunded.to_owned());
        event.refs.invoice = self.invoice_id(txn);
        event.subscription = self.subscription_info();
        Ok(Normalised::Event(Box::new(event)))
    }

    fn invoice_id(&self, txn: &Value) -> Option<String> {
        self.content("invoice")
            .and_then(|i| str_at(i, &["id"]))
            .or_else(|| {
                array_at(txn, &["linked_invoices"])
                    .iter()
                    .find_map(|l| str_at(l, &["invoice_id"]))
            })
            .map(str::to_owned)
    }
}

fn subscription_info(sub: &Value) -> Option<SubscriptionInfo> {
    let id = str_at(sub, &["id"])?;
    let items = array_at(sub, &["subscription_items"]);
    let plan = str_at(sub, &["plan_id"]).or_else(|| {
        items
            .iter()
            .filter(|i| str_at(i, &["item_type"]) == Some("plan"))
            .chain(items.iter())
            .find_map(|i| str_at(i, &["item_price_id"]))
    });
    Some(SubscriptionInfo {
        id: id.to_owned(),
        plan: plan.map(str::to_owned),
        status: str_at(sub, &["status"]).map(str::to_owned),
        // `started_at` once active; `start_date` while still in the future.
        started_at: ["started_at", "start_date", "created_at"]
            .iter()
            .find_map(|k| i64_at(sub, &[k]))
            .and_then(|s| Timestamp::from_second(s).ok()),
        monthly_amount: monthly_amount(sub),
        resource_version: i64_at(sub, &["resource_version"]),
    })
}

/// The recurring amount per month: the plan and recurring addons (PC 1.0) or the plan and
/// addon items (PC 2.0; one-time `charge` items excluded), over the subscription's billing
/// period.
fn monthly_amount(sub: &Value) -> Option<Money> {
    let currency: Currency = str_at(sub, &["currency_code"])?.parse().ok()?;
    let unit = str_at(sub, &["billing_period_unit"])?;
    let count = i64_at(sub, &["billing_period"]).unwrap_or(1);
    let line = |v: &Value, price: &str, quantity: &str| -> Option<i64> {
        i64_at(v, &["amount"])
            .or_else(|| i64_at(v, &[price])?.checked_mul(i64_at(v, &[quantity]).unwrap_or(1)))
    };
    let items = array_at(sub, &["subscription_items"]);
    let per_period = if items.is_empty() {
        let plan = i64_at(sub, &["plan_amount"]).or_else(|| {
            i64_at(sub, &["plan_unit_price"])?
                .checked_mul(i64_at(sub, &["plan_quantity"]).unwrap_or(1))
        })?;
        array_at(sub, &["addons"])
            .iter()
            .try_fold(plan, |sum, addon| {
                sum.checked_add(line(addon, "unit_price", "quantity")?)
            })?
    } else {
        items
            .iter()
            .filter(|i| str_at(i, &["item_type"]) != Some("charge"))
            .try_fold(0i64, |sum, item| {
                sum.checked_add(line(item, "unit_price", "quantity")?)
            })?
    };
    let minor = Annual::of(per_period, unit, count)?.monthly_floor()?;
    Some(Money::new(minor, currency))
}
