//! Normalisation of a Chargebee event body into an [`Event`] (docs/design.md §3, §7).
//!
//! The body is the event itself: `id`, `occurred_at` (unix seconds), `event_type`,
//! `content{subscription, customer, transaction, invoice, ...}`. Both Product Catalog 1.0
//! (`plan_id`, `plan_unit_price`, `plan_quantity`, `addons[]`) and 2.0
//! (`subscription_items[]`) are read. Fields are read leniently: old accounts send older
//! shapes, and a missing field we do not need must not fail the event. The body is read
//! straight into small borrowing structs ([`crate::lenient`]): what is not read is skipped by
//! the parser, no `serde_json::Value` is built.
//!
//! `subscription_changed` carries no previous values, so it cannot say "upgrade" by itself.
//! It is returned as a [`SubscriptionChange`]: the new state with Chargebee's
//! `resource_version` (milliseconds, increasing with every change). The caller sends it on as
//! a `subscription.changed` event, and the engine classifies it against the subscription
//! snapshot it keeps in the customer's state, using `resource_version` to order the changes so
//! that a late, older delivery neither classifies against nor overwrites a newer state.

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, SubscriptionInfo, Trigger};
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::lenient::{Int, Key, List, Obj, Str};
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
    let root = serde_json::from_slice::<Obj<Root<'_>>>(body)
        .map_err(NormaliseError::MalformedJson)?
        .0
        .unwrap_or_default();
    let event_id = root
        .id
        .get()
        .ok_or(NormaliseError::NotAnEvent { reason: "no id" })?;
    let event_type = root.event_type.get().ok_or(NormaliseError::NotAnEvent {
        reason: "no event_type",
    })?;
    let no_content = Content::default();
    let cx = Context {
        occurred_at: root.occurred_at.0,
        content: root.content.get().unwrap_or(&no_content),
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

/// The event: what is read of it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Root<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    event_type: Str<'a>,
    occurred_at: Int,
    #[serde(borrow)]
    content: Obj<Content<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Content<'a> {
    #[serde(borrow)]
    subscription: Obj<Entity<'a>>,
    #[serde(borrow)]
    customer: Obj<Entity<'a>>,
    #[serde(borrow)]
    transaction: Obj<Transaction<'a>>,
    #[serde(borrow)]
    invoice: Obj<Invoice<'a>>,
}

/// A subscription or a customer: the fields read of either, and its custom fields
/// (`cf_...`), which are looked up by a name known only at run time (the referral key).
#[derive(Default)]
struct Entity<'a> {
    id: Str<'a>,
    customer_id: Str<'a>,
    status: Str<'a>,
    plan_id: Str<'a>,
    plan_amount: Int,
    plan_unit_price: Int,
    plan_quantity: Int,
    addons: List<Obj<Line<'a>>>,
    subscription_items: List<Obj<Line<'a>>>,
    started_at: Int,
    start_date: Int,
    created_at: Int,
    currency_code: Str<'a>,
    billing_period_unit: Str<'a>,
    billing_period: Int,
    resource_version: Int,
    custom_fields: Vec<(Cow<'a, str>, Str<'a>)>,
}

impl Entity<'_> {
    /// The non-empty string of the custom field `name` (a later duplicate wins).
    fn custom_field(&self, name: &str) -> Option<&str> {
        self.custom_fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.get())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Entity<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entity<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Chargebee subscription or customer")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut e = Entity::default();
                while let Some(Key(key)) = map.next_key()? {
                    match &*key {
                        "id" => e.id = map.next_value()?,
                        "customer_id" => e.customer_id = map.next_value()?,
                        "status" => e.status = map.next_value()?,
                        "plan_id" => e.plan_id = map.next_value()?,
                        "plan_amount" => e.plan_amount = map.next_value()?,
                        "plan_unit_price" => e.plan_unit_price = map.next_value()?,
                        "plan_quantity" => e.plan_quantity = map.next_value()?,
                        "addons" => e.addons = map.next_value()?,
                        "subscription_items" => e.subscription_items = map.next_value()?,
                        "started_at" => e.started_at = map.next_value()?,
                        "start_date" => e.start_date = map.next_value()?,
                        "created_at" => e.created_at = map.next_value()?,
                        "currency_code" => e.currency_code = map.next_value()?,
                        "billing_period_unit" => e.billing_period_unit = map.next_value()?,
                        "billing_period" => e.billing_period = map.next_value()?,
                        "resource_version" => e.resource_version = map.next_value()?,
                        custom if custom.starts_with("cf_") => {
                            let value = map.next_value()?;
                            e.custom_fields.push((key, value));
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(e)
            }
        }
        d.deserialize_map(V)
    }
}

/// A PC 1.0 addon or a PC 2.0 subscription item.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Line<'a> {
    #[serde(borrow)]
    item_price_id: Str<'a>,
    #[serde(borrow)]
    item_type: Str<'a>,
    amount: Int,
    unit_price: Int,
    quantity: Int,
}

impl Line<'_> {
    /// `amount`, else `unit_price` × `quantity` (1 when absent).
    fn amount(&self) -> Option<i64> {
        self.amount
            .0
            .or_else(|| self.unit_price.0?.checked_mul(self.quantity.0.unwrap_or(1)))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Transaction<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    customer_id: Str<'a>,
    amount: Int,
    #[serde(borrow)]
    currency_code: Str<'a>,
    #[serde(borrow)]
    refunded_txn_id: Str<'a>,
    #[serde(borrow)]
    linked_invoices: List<Obj<LinkedInvoice<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkedInvoice<'a> {
    #[serde(borrow)]
    invoice_id: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Invoice<'a> {
    #[serde(borrow)]
    id: Str<'a>,
}

struct Context<'a> {
    occurred_at: Option<i64>,
    content: &'a Content<'a>,
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

    fn occurred_at(&self) -> Result<Timestamp> {
        self.occurred_at
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| self.unprocessable("no occurred_at"))
    }

    fn customer(&self) -> Result<CustomerId> {
        let c = self.content;
        c.customer
            .get()
            .and_then(|c| c.id.get())
            .or_else(|| c.subscription.get().and_then(|s| s.customer_id.get()))
            .or_else(|| c.transaction.get().and_then(|t| t.customer_id.get()))
            .map(|id| CustomerId::new(Provider::Chargebee, id))
            .ok_or_else(|| self.unprocessable("no customer"))
    }

    fn referrer(&self) -> Option<CustomerId> {
        let field = format!("cf_{}", self.referral_key?);
        [&self.content.subscription, &self.content.customer]
            .iter()
            .find_map(|owner| owner.get().and_then(|o| o.custom_field(&field)))
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
        self.content.subscription.get().and_then(subscription_info)
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
            .content
            .subscription
            .get()
            .ok_or_else(|| self.unprocessable("no subscription"))?;
        let subscription =
            subscription_info(sub).ok_or_else(|| self.unprocessable("no subscription id"))?;
        Ok(Normalised::SubscriptionChanged(Box::new(
            SubscriptionChange {
                event_id: self.event_id.to_owned(),
                occurred_at: self.occurred_at()?,
                customer: self.customer()?,
                subscription,
                resource_version: sub.resource_version.0,
                referrer: self.referrer(),
            },
        )))
    }

    fn transaction(&self) -> Result<&'a Transaction<'a>> {
        self.content
            .transaction
            .get()
            .ok_or_else(|| self.unprocessable("no transaction"))
    }

    fn money(&self, transaction: &Transaction<'_>) -> Result<Money> {
        let minor = transaction
            .amount
            .0
            .ok_or_else(|| self.unprocessable("no amount"))?;
        // Chargebee sends `USD`; `Currency` keeps it lowercase like Stripe's.
        let currency = transaction
            .currency_code
            .get()
            .and_then(|c| c.parse::<Currency>().ok())
            .ok_or_else(|| self.unprocessable("no currency_code"))?;
        Ok(Money::new(minor, currency))
    }

    fn payment_succeeded(&self) -> Result<Normalised> {
        let txn = self.transaction()?;
        let id = txn
            .id
            .get()
            .ok_or_else(|| self.unprocessable("no transaction id"))?;
        let mut event = self.event(Trigger::PaymentSucceeded)?;
        event.amount = Some(self.money(txn)?);
        event.refs.payment = Some(id.to_owned());
        event.refs.invoice = self.invoice_id(txn);
        event.subscription = self.subscription_info();
        Ok(Normalised::Event(Box::new(event)))
    }

    fn payment_refunded(&self) -> Result<Normalised> {
        let txn = self.transaction()?;
        let refunded = txn
            .refunded_txn_id
            .get()
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

    fn invoice_id(&self, txn: &Transaction<'_>) -> Option<String> {
        self.content
            .invoice
            .get()
            .and_then(|i| i.id.get())
            .or_else(|| {
                txn.linked_invoices
                    .0
                    .iter()
                    .filter_map(Obj::get)
                    .find_map(|l| l.invoice_id.get())
            })
            .map(str::to_owned)
    }
}

fn subscription_info(sub: &Entity<'_>) -> Option<SubscriptionInfo> {
    let id = sub.id.get()?;
    let items = || sub.subscription_items.0.iter().filter_map(Obj::get);
    let plan = sub.plan_id.get().or_else(|| {
        items()
            .filter(|i| i.item_type.get() == Some("plan"))
            .chain(items())
            .find_map(|i| i.item_price_id.get())
    });
    Some(SubscriptionInfo {
        id: id.to_owned(),
        plan: plan.map(str::to_owned),
        status: sub.status.get().map(str::to_owned),
        // `started_at` once active; `start_date` while still in the future.
        started_at: sub
            .started_at
            .0
            .or(sub.start_date.0)
            .or(sub.created_at.0)
            .and_then(|s| Timestamp::from_second(s).ok()),
        monthly_amount: monthly_amount(sub),
        resource_version: sub.resource_version.0,
    })
}

/// The recurring amount per month: the plan and recurring addons (PC 1.0) or the plan and
/// addon items (PC 2.0; one-time `charge` items excluded), over the subscription's billing
/// period.
fn monthly_amount(sub: &Entity<'_>) -> Option<Money> {
    let currency: Currency = sub.currency_code.get()?.parse().ok()?;
    let unit = sub.billing_period_unit.get()?;
    let count = sub.billing_period.0.unwrap_or(1);
    let items = &sub.subscription_items.0;
    let per_period = if items.is_empty() {
        let plan = sub.plan_amount.0.or_else(|| {
            sub.plan_unit_price
                .0?
                .checked_mul(sub.plan_quantity.0.unwrap_or(1))
        })?;
        sub.addons
            .0
            .iter()
            .try_fold(plan, |sum, addon| sum.checked_add(addon.get()?.amount()?))?
    } else {
        items
            .iter()
            .filter(|i| i.get().and_then(|i| i.item_type.get()) != Some("charge"))
            .try_fold(0i64, |sum, item| sum.checked_add(item.get()?.amount()?))?
    };
    let minor = Annual::of(per_period, unit, count)?.monthly_floor()?;
    Some(Money::new(minor, currency))
}
