//! Normalisation of a verified Stripe event body into an [`Event`] (docs/design.md §3, §7).
//!
//! Events arrive in the endpoint's API version, which can be years old, so this reads only
//! the fields it needs, straight from the bytes into small borrowing structs (`wire.rs`; see
//! [`crate::lenient`]: everything else is skipped by the parser, no `serde_json::Value` is
//! built), and accepts both the pre-2025 layouts and
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
use saguaro_domain::links::InvoiceLink;
use saguaro_domain::{
    Currency, CustomerId, Event, Money, Provider, Refs, SubscriptionInfo, Trigger,
};

use super::wire::{Items, Line, Object, Previous, Price, Root};
use crate::lenient::{Int, Metadata, Obj};
use crate::period::Annual;

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
    /// Keep this link and answer 2xx: basil's `invoice_payment.paid`, which says which
    /// invoice a PaymentIntent paid and names no customer (`saguaro_domain::links`).
    InvoiceLink(InvoiceLink),
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
    let root = serde_json::from_slice::<Obj<Root<'_>>>(body)
        .map_err(NormaliseError::MalformedJson)?
        .0
        .unwrap_or_default();
    let event_id = root
        .id
        .get()
        .ok_or(NormaliseError::NotAnEvent { reason: "no id" })?;
    let event_type = root
        .kind
        .get()
        .ok_or(NormaliseError::NotAnEvent { reason: "no type" })?;
    let data = root.data.get();
    let cx = Context {
        created: root.created.0,
        object: data.and_then(|d| d.object.get()),
        previous: data.and_then(|d| d.previous_attributes.present()),
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
        "invoice_payment.paid" => cx.invoice_payment_paid(),
        _ => Ok(Normalised::Ignored {
            event_type: event_type.to_owned(),
            reason: "event type not used by Saguaro",
        }),
    }
}

struct Context<'a> {
    created: Option<i64>,
    object: Option<&'a Object<'a>>,
    previous: Option<&'a Obj<Previous<'a>>>,
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

    fn object(&self) -> Result<&'a Object<'a>> {
        self.object
            .ok_or_else(|| self.unprocessable("no data.object"))
    }

    /// The event's skeleton: id, `created`, the object's customer, and the referrer named by
    /// `metadata` (the subscription's, the invoice's subscription details', the charge's).
    fn event(
        &self,
        object: &Object<'_>,
        trigger: Trigger,
        metadata: &Metadata<'_>,
    ) -> Result<Event> {
        let created = self
            .created
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| self.unprocessable("no created"))?;
        let customer = object
            .customer
            .id
            .as_deref()
            .ok_or_else(|| self.unprocessable("no customer"))?;
        let mut event = Event::new(
            self.event_id,
            CustomerId::new(Provider::Stripe, customer),
            trigger,
            created,
        );
        event.refs.referrer = self.referrer(metadata, object);
        Ok(event)
    }

    /// The referrer named by `referral_key` in the subscription's metadata, else in the
    /// customer's (when the customer is expanded).
    fn referrer(&self, metadata: &Metadata<'_>, object: &Object<'_>) -> Option<CustomerId> {
        let key = self.referral_key?;
        metadata
            .get(key)
            .or_else(|| object.customer.metadata.get(key))
            .map(|id| CustomerId::new(Provider::Stripe, id.trim()))
            .filter(|c| !c.id.is_empty())
    }

    /// Creation rules apply once the subscription has started: created `active` or
    /// `trialing` (or with no status, on old versions). One created `incomplete` waits for its
    /// first payment, and starts with the update that makes it active; one that expires
    /// unpaid never earns.
    fn subscription_created(&self) -> Result<Normalised> {
        let status = self.object()?.status.get();
        if status.is_some_and(|s| !is_started(s)) {
            return Ok(self.ignored("subscription not started (incomplete or not active)"));
        }
        self.subscription(Trigger::SubscriptionCreated)
    }

    fn subscription(&self, trigger: Trigger) -> Result<Normalised> {
        let sub = self.object()?;
        let mut event = self.event(sub, trigger, &sub.metadata)?;
        event.subscription = Some(self.subscription_info(sub)?);
        Ok(Normalised::Event(Box::new(event)))
    }

    fn subscription_info(&self, sub: &Object<'_>) -> Result<SubscriptionInfo> {
        let id = sub
            .id
            .get()
            .ok_or_else(|| self.unprocessable("no subscription id"))?;
        let items = items(&sub.items);
        Ok(SubscriptionInfo {
            id: id.to_owned(),
            plan: items.first().and_then(|i| i.price).map(str::to_owned),
            status: sub.status.get().map(str::to_owned),
            started_at: sub
                .start_date
                .0
                .or(sub.created.0)
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
        let previous = self.previous.map(|p| p.get());
        let status = sub.status.get();
        let was = previous.flatten().and_then(|p| p.status.get());
        // `incomplete` → `active`/`trialing`: the first payment went through, and this is
        // the subscription's start (its creation was not counted).
        if was == Some("incomplete") && status.is_some_and(is_started) {
            return self.subscription(Trigger::SubscriptionCreated);
        }
        if matches!(status, Some("incomplete" | "incomplete_expired")) {
            return Ok(self.ignored("subscription not started (incomplete)"));
        }
        let new_items = items(&sub.items);
        let old_items = match previous.flatten() {
            Some(prev) if prev.items.present().is_some() => {
                prev.items.present().map(items).unwrap_or_default()
            }
            // Versions before items existed report a single-plan change as `plan` and/or
            // `quantity` on the subscription itself.
            Some(prev)
                if new_items.len() == 1
                    && (prev.plan.present().is_some() || prev.quantity.present().is_some()) =>
            {
                let mut old = new_items[0].clone();
                if let Some(plan) = prev.plan.present().and_then(Obj::get) {
                    old = Item::from_price(plan, old.quantity);
                }
                if let Some(q) = prev.quantity.present().and_then(|q| q.0) {
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
        let invoice_id = invoice
            .id
            .get()
            .ok_or_else(|| self.unprocessable("no invoice id"))?;
        let amount = self.money(invoice.amount_paid, invoice)?;
        // Subscription metadata travels on the invoice: `subscription_details` (2023+) or
        // `parent.subscription_details` (basil+).
        let details = invoice
            .parent
            .get()
            .and_then(|p| p.subscription_details.present())
            .or_else(|| invoice.subscription_details.present())
            .and_then(Obj::get);
        let no_metadata = Metadata::default();
        let mut event = self.event(
            invoice,
            Trigger::PaymentSucceeded,
            details.map_or(&no_metadata, |d| &d.metadata),
        )?;
        event.amount = Some(amount);
        let payment_intent = invoice_payment_intent(invoice);
        event.refs = Refs {
            payment: Some(payment_key(payment_intent, Some(invoice_id), None)),
            // Keyed by the PaymentIntent, the invoice id is the alias a refund may know it by.
            payment_alias: payment_intent.map(|_| invoice_id.to_owned()),
            invoice: Some(invoice_id.to_owned()),
            ..event.refs
        };
        let subscription = invoice
            .subscription
            .get()
            .or_else(|| details.and_then(|d| d.subscription.get()));
        if let Some(id) = subscription {
            let plan = invoice
                .lines
                .get()
                .and_then(|l| l.data.0.iter().filter_map(Obj::get).find_map(Line::price));
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
        if charge.customer.id.is_none() {
            return Ok(Normalised::NoCustomer {
                event_id: self.event_id.to_owned(),
                event_type: self.event_type.to_owned(),
            });
        }
        let charge_id = charge
            .id
            .get()
            .ok_or_else(|| self.unprocessable("no charge id"))?;
        // Stripe reports the running total; the engine keeps max(seen, total), so refund
        // events that arrive twice or out of order cannot double count.
        let total = self.money(charge.amount_refunded, charge)?;
        let mut event = self.event(charge, Trigger::PaymentRefunded, &charge.metadata)?;
        let invoice = charge.invoice.get();
        event.amount = Some(total);
        event.refunded_total = Some(total);
        event.refs.payment = Some(payment_key(
            charge.payment_intent.get(),
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

    /// Basil's `invoice_payment.paid`: the invoice and the PaymentIntent that paid it. A
    /// payment of another type (out of band, a charge without PaymentIntent) links nothing a
    /// refund could name, and is ignored.
    fn invoice_payment_paid(&self) -> Result<Normalised> {
        let payment = self.object()?;
        let invoice = payment
            .invoice
            .get()
            .ok_or_else(|| self.unprocessable("no invoice"))?;
        let Some(payment_intent) = payment.payment.get().and_then(|p| p.payment_intent.get())
        else {
            return Ok(self.ignored("invoice payment by no PaymentIntent"));
        };
        if payment.status.get().is_some_and(|s| s != "paid") {
            return Ok(self.ignored("invoice payment not paid"));
        }
        let paid_at = self
            .created
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or_else(|| self.unprocessable("no created"))?;
        Ok(Normalised::InvoiceLink(InvoiceLink {
            payment_intent: payment_intent.to_owned(),
            invoice: invoice.to_owned(),
            paid_at,
        }))
    }

    fn money(&self, minor: Int, object: &Object<'_>) -> Result<Money> {
        let minor = minor.0.ok_or_else(|| self.unprocessable("no amount"))?;
        let currency = object
            .currency
            .get()
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
/// the PaymentIntent. Closing it needs state or I/O, which do not belong in this pure crate:
/// the webhook keeps the links basil's `invoice_payment.paid` reports
/// ([`Normalised::InvoiceLink`]) and, failing that, asks Stripe, then sets the refund's
/// `payment_alias`.
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

fn invoice_payment_intent<'a>(invoice: &'a Object<'_>) -> Option<&'a str> {
    invoice.payment_intent.get().or_else(|| {
        invoice
            .payments
            .get()?
            .data
            .0
            .iter()
            .filter_map(Obj::get)
            .filter(|p| p.status.get().is_none_or(|s| s == "paid"))
            .find_map(|p| p.payment.get().and_then(|r| r.payment_intent.get()))
    })
}

/// Whether a subscription in this status has started: creation rules apply to it.
fn is_started(status: &str) -> bool {
    matches!(status, "active" | "trialing")
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
    fn from_price(price: &'a Price<'_>, quantity: i64) -> Self {
        let (interval, interval_count, usage_type) = match price.recurring.get() {
            Some(r) => (&r.interval, r.interval_count, &r.usage_type),
            None => (&price.interval, price.interval_count, &price.usage_type),
        };
        Self {
            price: price.id.get(),
            unit_amount: price
                .unit_amount
                .0
                .or(price.amount.0)
                .or(price.unit_amount_decimal.0),
            currency: price.currency.get(),
            interval: interval.get(),
            interval_count: interval_count.0.unwrap_or(1),
            quantity,
            metered: usage_type.get() == Some("metered"),
        }
    }
}

fn items<'a>(list: &'a Items<'_>) -> Vec<Item<'a>> {
    list.0
        .iter()
        .filter_map(Obj::get)
        .filter_map(|item| {
            let quantity = item.quantity.0.unwrap_or(1);
            let price = item.price.get().or_else(|| item.plan.get())?;
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
