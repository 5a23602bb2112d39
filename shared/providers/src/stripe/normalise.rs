//! Normalisation of a verified Stripe event body into an [`Event`] (docs/design.md §3, §7).
//!
//! Events arrive in the endpoint's API version, which can be years old, so this reads only
//! the fields it needs from a `serde_json::Value` and accepts both the pre-2025 layouts and
//! the "basil"+ ones (`invoice.subscription` / `invoice.parent.subscription_details`, line
//! `price` / `pricing.price_details.price`, `current_period_*` on the subscription or on its
//! items). Typed SDK events are not used: they reject any other API version.
//!
//! The payment key (`refs.payment`), which the engine uses to find the payment a refund
//! reverses, is the PaymentIntent id when the body has one, else the invoice id, and for a
//! charge with neither, the charge id. `invoice.paid` and `charge.refunded` produce the same
//! key on every pre-basil version (both carry `payment_intent`, and a legacy charge without
//! one carries `invoice`). On basil+ an invoice no longer names its PaymentIntent unless
//! `payments` is included, and a charge no longer names its invoice: see [`payment_key`].

use jiff::Timestamp;
use saguaro_domain::{
    Currency, CustomerId, Event, Money, Provider, Refs, SubscriptionInfo, Trigger,
};
use serde_json::Value;

use crate::json::{array_at, as_i64, get, i64_at, id_at, str_at};
use crate::period::Annual;

/// The outcome for a verified body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalised {
    /// Enqueue this.
    Event(Box<Event>),
    /// Answer 2xx and drop: a type Saguaro does not use, or a change that earns nothing.
    Ignored {
        event_type: String,
        reason: &'static str,
    },
    /// Answer 2xx, log at info and drop: a payment event with no customer (a guest payment
    /// through Payment Links or Checkout), which has nothing to do with loyalty.
    NoCustomer {
        event_id: String,
        event_type: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum NormaliseError {
    /// The body is not JSON. It was signed by Stripe, so this is not an attack; 400.
    #[error("body is not JSON")]
    MalformedJson(#[source] serde_json::Error),
    /// JSON, but not an event (no `id` or `type`); 400.
    #[error("body is not a Stripe event: {reason}")]
    NotAnEvent { reason: &'static str },
    /// A relevant event lacks something we need: 5xx, so that Stripe retries (a later
    /// deploy may read it) and the event is not lost.
    #[error("event {event_id} ({event_type}) cannot be processed: {reason}")]
    Unprocessable {
        event_id: String,
        event_type: String,
        reason: &'static str,
    },
}

pub type Result<T, E = NormaliseError> = std::result::Result<T, E>;

/// Normalises a verified event body. `referral_key` is the program's `referral_key`: the
/// metadata key on the subscription or customer that names the referrer's customer id.
pub fn normalise(body: &[u8], referral_key: Option<&str>) -> Result<Normalised> {
    let root: Value = serde_json::from_slice(body).map_err(NormaliseError::MalformedJson)?;
    let event_id = str_at(&root, &["id"]).ok_or(NormaliseError::NotAnEvent { reason: "no id" })?;
    let event_type =
        str_at(&root, &["type"]).ok_or(NormaliseError::NotAnEvent { reason: "no type" })?;
    let cx = Context {
        root: &root,
        event_id,
        event_type,
        referral_key: referral_key.filter(|k| !k.is_empty()),
    };
    match event_type {
        "customer.subscription.created" => cx.subscription_created(),
        "customer.subscription.deleted" => cx.subscription(Trigger::SubscriptionCancelled),
        "customer.subscription.updated" => cx.subscription_updated(),
        // Merchants subscribe to either (or both); the same invoice gives the same payment
        // key, so the engine earns on it once whichever arrive.
        "invoice.paid" | "invoice.payment_succeeded" => cx.invoice_paid(),
        "charge.refunded" => cx.charge_refunded(),
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

    fn ignored(&self, reason: &'static str) -> Normalised {
        Normalised::Ignored {
            event_type: self.event_type.to_owned(),
            reason,
        }
    }

    fn object(&self) -> Result<&'a Value> {
        get(self.root, &["data", "object"])
            .filter(|o| o.is_object())
            .ok_or_else(|| self.unprocessable("no data.object"))
    }

    /// The event's skeleton: id, `created`, the object's customer, and the referrer.
    fn event(&self, object: &Value, trigger: Trigger, metadata_owner: &Value) -> Result<Event> {
        let created = i64_at(self.root, &["created"])
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| self.unprocessable("no created"))?;
        let customer =
            id_at(object, &["customer"]).ok_or_else(|| self.unprocessable("no customer"))?;
        let mut event = Event::new(
            self.event_id,
            CustomerId::new(Provider::Stripe, customer),
            trigger,
            created,
        );
        event.refs.referrer = self.referrer(metadata_owner, object);
        Ok(event)
    }

    /// The referrer named by `referral_key` in the subscription's metadata, else in the
    /// customer's (when the customer is expanded).
    fn referrer(&self, metadata_owner: &Value, object: &Value) -> Option<CustomerId> {
        let key = self.referral_key?;
        str_at(metadata_owner, &["metadata", key])
            .or_else(|| str_at(object, &["customer", "metadata", key]))
            .map(|id| CustomerId::new(Provider::Stripe, id.trim()))
            .filter(|c| !c.id.is_empty())
    }

    /// Creation rules apply once the subscription has started: created `active` or
    /// `trialing` (or with no status, on old versions). One created `incomplete` waits for its
    /// first payment, and starts with the update that makes it active; one that expires
    /// unpaid never earns.
    fn subscription_created(&self) -> Result<Normalised> {
        let status = str_at(self.object()?, &["status"]);
        if status.is_some_and(|s| !is_started(s)) {
            return Ok(self.ignored("subscription not started (incomplete or not active)"));
        }
        self.subscription(Trigger::SubscriptionCreated)
    }

    fn subscription(&self, trigger: Trigger) -> Result<Normalised> {
        let sub = self.object()?;
        let mut event = self.event(sub, trigger, sub)?;
        event.subscription = Some(self.subscription_info(sub)?);
        Ok(Normalised::Event(Box::new(event)))
    }

    fn subscription_info(&self, sub: &Value) -> Result<SubscriptionInfo> {
        let id = str_at(sub, &["id"]).ok_or_else(|| self.unprocessable("no subscription id"))?;
        let items = items(get(sub, &["items"]));
        Ok(SubscriptionInfo {
            id: id.to_owned(),
            plan: items.first().and_then(|i| i.price).map(str::to_owned),
            status: str_at(sub, &["status"]).map(str::to_owned),
            started_at: i64_at(sub, &["start_date"])
                .or_else(|| i64_at(sub, &["created"]))
                .and_then(|s| Timestamp::from_second(s).ok()),
            monthly_amount: annual_value(&items).and_then(|(annual, currency)| {
                annual
                    .monthly_floor()
                    .map(|minor| Money::new(minor, currency))
            }),
            resource_version: None,
        })
    }

    /// Upgrade or downgrade by the annualised value of the items, old against new. Since
    /// basil every renewal repeats `items` in `previous_attributes`, so the presence of the
    /// key means nothing: only a change of value does.
    fn subscription_updated(&self) -> Result<Normalised> {
        let sub = self.object()?;
        let previous = get(self.root, &["data", "previous_attributes"]);
        let status = str_at(sub, &["status"]);
        let was = previous.and_then(|p| str_at(p, &["status"]));
        // `incomplete` → `active`/`trialing`: the first payment went through, and this is
        // the subscription's start (its creation was not counted).
        if was == Some("incomplete") && status.is_some_and(is_started) {
            return self.subscription(Trigger::SubscriptionCreated);
        }
        if matches!(status, Some("incomplete" | "incomplete_expired")) {
            return Ok(self.ignored("subscription not started (incomplete)"));
        }
        let new_items = items(get(sub, &["items"]));
        let old_items = match previous {
            Some(prev) if prev.get("items").is_some() => items(prev.get("items")),
            // Versions before items existed report a single-plan change as `plan` and/or
            // `quantity` on the subscription itself.
            Some(prev)
                if new_items.len() == 1
                    && (prev.get("plan").is_some() || prev.get("quantity").is_some()) =>
            {
                let mut old = new_items[0].clone();
                if let Some(plan) = prev.get("plan").filter(|p| p.is_object()) {
                    old = Item::from_price(plan, old.quantity);
                }
                if let Some(q) = prev.get("quantity").and_then(as_i64) {
                    old.quantity = q;
                }
                vec![old]
            }
            _ => return Ok(self.ignored("no change to the items")),
        };
        let (Some((old, old_currency)), Some((new, new_currency))) =
            (annual_value(&old_items), annual_value(&new_items))
        else {
            return Ok(
                self.ignored("item value not comparable (metered, tiered or unknown interval)")
            );
        };
        if old_currency != new_currency {
            return Ok(self.ignored("currency changed"));
        }
        let trigger = match new.cmp(&old) {
            std::cmp::Ordering::Greater => Trigger::SubscriptionUpgraded,
            std::cmp::Ordering::Less => Trigger::SubscriptionDowngraded,
            std::cmp::Ordering::Equal => return Ok(self.ignored("same annual value")),
        };
        self.subscription(trigger)
    }

    fn invoice_paid(&self) -> Result<Normalised> {
        let invoice = self.object()?;
        let invoice_id =
            str_at(invoice, &["id"]).ok_or_else(|| self.unprocessable("no invoice id"))?;
        let amount = self.money(invoice, "amount_paid")?;
        // Subscription metadata travels on the invoice: `subscription_details` (2023+) or
        // `parent.subscription_details` (basil+).
        let details = get(invoice, &["parent", "subscription_details"])
            .or_else(|| get(invoice, &["subscription_details"]))
            .unwrap_or(&Value::Null);
        let mut event = self.event(invoice, Trigger::PaymentSucceeded, details)?;
        event.amount = Some(amount);
        let payment_intent = invoice_payment_intent(invoice);
        event.refs = Refs {
            payment: Some(payment_key(payment_intent, Some(invoice_id), None)),
            // Keyed by the PaymentIntent, the invoice id is the alias a refund may know it by.
            payment_alias: payment_intent.map(|_| invoice_id.to_owned()),
            invoice: Some(invoice_id.to_owned()),
            ..event.refs
        };
        let subscription =
            id_at(invoice, &["subscription"]).or_else(|| id_at(details, &["subscription"]));
        if let Some(id) = subscription {
            let plan = array_at(invoice, &["lines", "data"])
                .iter()
                .find_map(line_price);
            event.subscription = Some(SubscriptionInfo {
                id: id.to_owned(),
                plan: plan.map(str::to_owned),
                status: None,
                started_at: None,
                monthly_amount: None,
                resource_version: None,
            });
        }
        Ok(Normalised::Event(Box::new(event)))
    }

    fn charge_refunded(&self) -> Result<Normalised> {
        let charge = self.object()?;
        if id_at(charge, &["customer"]).is_none() {
            return Ok(Normalised::NoCustomer {
                event_id: self.event_id.to_owned(),
                event_type: self.event_type.to_owned(),
            });
        }
        let charge_id =
            str_at(charge, &["id"]).ok_or_else(|| self.unprocessable("no charge id"))?;
        // Stripe reports the running total; the engine keeps max(seen, total), so refund
        // events that arrive twice or out of order cannot double count.
        let total = self.money(charge, "amount_refunded")?;
        let mut event = self.event(charge, Trigger::PaymentRefunded, charge)?;
        let invoice = id_at(charge, &["invoice"]);
        event.amount = Some(total);
        event.refunded_total = Some(total);
        event.refs.payment = Some(payment_key(
            id_at(charge, &["payment_intent"]),
            invoice,
            Some(charge_id),
        ));
        event.refs.invoice = invoice.map(str::to_owned);
        // The charge's invoice (pre-basil layouts) is how a payment keyed by invoice is found.
        event.refs.payment_alias = invoice
            .filter(|i| Some(*i) != event.refs.payment.as_deref())
            .map(str::to_owned);
        Ok(Normalised::Event(Box::new(event)))
    }

    fn money(&self, object: &Value, field: &str) -> Result<Money> {
        let minor = i64_at(object, &[field]).ok_or_else(|| self.unprocessable("no amount"))?;
        let currency = str_at(object, &["currency"])
            .and_then(|c| c.parse::<Currency>().ok())
            .ok_or_else(|| self.unprocessable("no currency"))?;
        Ok(Money::new(minor, currency))
    }
}

/// The key under which the engine records a payment, so that its refund finds it: the
/// PaymentIntent when known, else the invoice, else the charge. Both `invoice.paid` and
/// `charge.refunded` apply the same order.
///
/// The other id goes in `refs.payment_alias` (the invoice on `invoice.paid` keyed by
/// PaymentIntent, the charge's invoice on `charge.refunded`): the engine matches a payment and
/// its refund under either.
///
/// Known gap on basil+ API versions: an invoice names its PaymentIntent only in
/// `payments.data[].payment` (read when present), and a charge no longer names its invoice,
/// so a basil `invoice.paid` without `payments` keys by invoice id while its refund knows only
/// the PaymentIntent. Closing it needs I/O (the edge looks the invoice payment up and sets
/// the refund's `payment_alias`), which does not belong in this pure crate.
pub fn payment_key(
    payment_intent: Option<&str>,
    invoice: Option<&str>,
    charge: Option<&str>,
) -> String {
    payment_intent
        .or(invoice)
        .or(charge)
        .unwrap_or_default()
        .to_owned()
}

fn invoice_payment_intent(invoice: &Value) -> Option<&str> {
    id_at(invoice, &["payment_intent"]).or_else(|| {
        array_at(invoice, &["payments", "data"])
            .iter()
            .filter(|p| str_at(p, &["status"]).is_none_or(|s| s == "paid"))
            .find_map(|p| id_at(p, &["payment", "payment_intent"]))
    })
}

/// Whether a subscription in this status has started: creation rules apply to it.
fn is_started(status: &str) -> bool {
    matches!(status, "active" | "trialing")
}

/// A line's price id: `price` (pre-basil, id or object), `pricing.price_details.price`
/// (basil+), or the legacy `plan`.
fn line_price(line: &Value) -> Option<&str> {
    id_at(line, &["price"])
        .or_else(|| id_at(line, &["pricing", "price_details", "price"]))
        .or_else(|| id_at(line, &["plan"]))
}

/// What we need of one subscription item.
#[derive(Debug, Clone)]
struct Item<'a> {
    price: Option<&'a str>,
    unit_amount: Option<i64>,
    currency: Option<&'a str>,
    interval: Option<&'a str>,
    interval_count: i64,
    quantity: i64,
    metered: bool,
}

impl<'a> Item<'a> {
    /// From a `price` object (`unit_amount`, `recurring.interval`) or a legacy `plan`
    /// object (`amount`, `interval`).
    fn from_price(price: &'a Value, quantity: i64) -> Self {
        let recurring = price.get("recurring").filter(|r| r.is_object());
        let field = |name: &str| match recurring {
            Some(r) => r.get(name),
            None => price.get(name),
        };
        Self {
            price: str_at(price, &["id"]),
            unit_amount: i64_at(price, &["unit_amount"])
                .or_else(|| i64_at(price, &["amount"]))
                .or_else(|| i64_at(price, &["unit_amount_decimal"])),
            currency: str_at(price, &["currency"]),
            interval: field("interval").and_then(Value::as_str),
            interval_count: field("interval_count").and_then(as_i64).unwrap_or(1),
            quantity,
            metered: field("usage_type").and_then(Value::as_str) == Some("metered"),
        }
    }
}

fn items(list: Option<&Value>) -> Vec<Item<'_>> {
    let data = match list {
        Some(Value::Array(a)) => a.as_slice(),
        Some(v) => array_at(v, &["data"]),
        None => &[],
    };
    data.iter()
        .filter_map(|item| {
            let quantity = item.get("quantity").and_then(as_i64).unwrap_or(1);
            let price = item
                .get("price")
                .filter(|p| p.is_object())
                .or_else(|| item.get("plan").filter(|p| p.is_object()))?;
            Some(Item::from_price(price, quantity))
        })
        .collect()
}

/// The items' value per year, with their currency. Metered items are left out (usage cannot
/// be known from the subscription); any other item whose value is unknown makes the whole
/// value unknown, since comparing a partial sum could report a false downgrade.
fn annual_value(items: &[Item<'_>]) -> Option<(Annual, Currency)> {
    let mut total = Annual::ZERO;
    let mut currency = None;
    let mut counted = false;
    for item in items.iter().filter(|i| !i.metered) {
        let amount = item.unit_amount?.checked_mul(item.quantity)?;
        total = total.checked_add(Annual::of(amount, item.interval?, item.interval_count)?)?;
        let c: Currency = item.currency?.parse().ok()?;
        if currency.is_some_and(|seen| seen != c) {
            return None;
        }
        currency = Some(c);
        counted = true;
    }
    counted.then_some(())?;
    Some((total, currency?))
}
