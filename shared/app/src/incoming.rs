//! `POST /events`: one event in Saguaro's own format (docs/design.md §8). This is the door for the
//! merchant's application and for billing systems Saguaro has no adapter for. Strict: unknown
//! fields are rejected, lengths count characters (not bytes), currencies are ISO 4217 codes,
//! timestamps are RFC 3339 with an offset of at most ±23:59, and ids holding a control
//! character are refused ([`crate::http::printable`]). An error says what is wrong (the
//! field's path, what was expected, the position) and never quotes the body.

use jiff::Timestamp;
use saguaro_domain::{
    CustomerId, Event, EventId, Money, Provider, Refs, SubscriptionInfo, Trigger,
};
use serde::{Deserialize, Deserializer};

use crate::http::detail::{describe, describe_json};
use crate::http::printable::control_character_in;

/// Why a body is not an acceptable event. Neither quotes the body.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// Not JSON, or not of the event's shape (unknown field, wrong type, missing field):
    /// what is wrong, where ([`describe`]).
    #[error("malformed event body: {0}")]
    Malformed(String),
    /// Well-formed, but not an event Saguaro accepts.
    #[error("invalid event: {0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    id: String,
    #[serde(rename = "type")]
    trigger: Trigger,
    customer: CustomerId,
    #[serde(deserialize_with = "rfc3339")]
    occurred_at: Timestamp,
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    payment: Option<String>,
    /// Another id of the same payment (an invoice paid by a PaymentIntent): the engine
    /// matches a refund under either.
    #[serde(default)]
    payment_alias: Option<String>,
    /// On a refund: the payment's cumulative refunded amount, for sources that report a
    /// running total (the largest seen is used, so redeliveries cannot double count).
    #[serde(default)]
    refunded_total: Option<Money>,
    #[serde(default)]
    subscription: Option<Subscription>,
    #[serde(default)]
    referrer: Option<CustomerId>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscription {
    id: String,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "rfc3339_option")]
    started_at: Option<Timestamp>,
}

/// Ids are at most this many characters (not bytes: `é` is one).
const MAX_ID_LEN: usize = 255;

const RFC3339: &str = "an RFC 3339 timestamp with an offset of at most ±23:59";

/// An RFC 3339 date-time: jiff parses it, but accepts offsets up to ±25:59:59 and forms
/// RFC 3339 has not (`+05`, `+05:00:00`, a `[zone]` suffix), so the offset is checked first.
fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    parse_rfc3339(&s)
        .ok_or_else(|| serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &RFC3339))
}

fn rfc3339_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "rfc3339")] Timestamp);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
}

fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let offset_ok = s.ends_with(['Z', 'z'])
        || s.len()
            .checked_sub(6)
            .and_then(|at| s.get(at..))
            .is_some_and(|offset| {
                let b = offset.as_bytes();
                let two = |i: usize| -> Option<u8> {
                    (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
                        .then(|| (b[i] - b'0') * 10 + (b[i + 1] - b'0'))
                };
                matches!(b[0], b'+' | b'-')
                    && b[3] == b':'
                    && two(1).is_some_and(|h| h <= 23)
                    && two(4).is_some_and(|m| m <= 59)
            });
    if !offset_ok {
        return None;
    }
    s.parse().ok()
}

fn too_long(id: &str) -> bool {
    id.is_empty() || id.chars().count() > MAX_ID_LEN
}

/// Parses and validates a `POST /events` body into the normalised event.
pub fn parse_event(body: &[u8]) -> Result<Event, IncomingError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let body: Body = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| IncomingError::Malformed(describe(&e)))?;
    // Anything after the event but whitespace is malformed too.
    de.end()
        .map_err(|e| IncomingError::Malformed(describe_json(&e)))?;
    let invalid = |m: &str| Err(IncomingError::Invalid(m.to_owned()));
    if too_long(&body.id) {
        return invalid("id must be 1 to 255 characters");
    }
    if body.trigger.is_internal() {
        return invalid("internal triggers are not accepted");
    }
    for c in std::iter::once(&body.customer).chain(&body.referrer) {
        if c.provider == Provider::Scheduler || too_long(&c.id) {
            return invalid("customer needs a provider (stripe, chargebee, custom) and an id");
        }
    }
    if body.amount.is_some_and(|a| a.minor < 0) {
        return invalid("amount.minor must not be negative");
    }
    if let Some(total) = body.refunded_total {
        if body.trigger != Trigger::PaymentRefunded {
            return invalid("refunded_total is only for payment.refunded");
        }
        if total.minor < 0 {
            return invalid("refunded_total.minor must not be negative");
        }
        if body.amount.is_some_and(|a| a.currency != total.currency) {
            return invalid("refunded_total must be in the currency of amount");
        }
    }
    if body.payment_alias.as_deref().is_some_and(too_long) {
        return invalid("payment_alias must be 1 to 255 characters");
    }
    match body.trigger {
        Trigger::PaymentSucceeded if body.amount.is_none() => {
            return invalid("payment.succeeded needs amount");
        }
        Trigger::PaymentRefunded if body.amount.is_none() || body.payment.is_none() => {
            return invalid("payment.refunded needs amount and payment");
        }
        _ => {}
    }
    let event = Event {
        provider: Provider::Custom,
        id: EventId::new(body.id),
        occurred_at: body.occurred_at,
        customer: body.customer,
        trigger: body.trigger,
        amount: body.amount,
        refunded_total: body.refunded_total,
        points: None,
        reason: None,
        subscription: body.subscription.map(|s| SubscriptionInfo {
            id: s.id,
            plan: s.plan,
            status: s.status,
            started_at: s.started_at,
            monthly_amount: None,
            resource_version: None,
        }),
        refs: Refs {
            payment: body.payment,
            payment_alias: body.payment_alias,
            invoice: None,
            referrer: body.referrer,
            promotion: None,
        },
    };
    if let Some(field) = control_character_in(&event) {
        return Err(IncomingError::Invalid(format!(
            "`{field}` contains a control character"
        )));
    }
    Ok(event)
}

/// The `POST /events` body of an event: what [`parse_event`] reads back as the same event
/// (for the fields the format has). Written by `saguaro import`, one per line of a history.
/// Fields the format does not carry (a subscription's `monthly_amount` and
/// `resource_version`, `refs.invoice`, `refs.promotion`) are left out.
pub fn event_body(event: &Event) -> serde_json::Value {
    let mut body = serde_json::json!({
        "id": event.id.as_str(),
        "type": event.trigger.as_str(),
        "customer": event.customer,
        "occurred_at": event.occurred_at.to_string(),
    });
    let set = |body: &mut serde_json::Value, key: &str, v: serde_json::Value| {
        if let Some(map) = body.as_object_mut() {
            map.insert(key.to_owned(), v);
        }
    };
    if let Some(a) = event.amount {
        set(&mut body, "amount", serde_json::json!(a));
    }
    if let Some(t) = event.refunded_total {
        set(&mut body, "refunded_total", serde_json::json!(t));
    }
    if let Some(p) = &event.refs.payment {
        set(&mut body, "payment", serde_json::json!(p));
    }
    if let Some(p) = &event.refs.payment_alias {
        set(&mut body, "payment_alias", serde_json::json!(p));
    }
    if let Some(s) = &event.subscription {
        let mut sub = serde_json::json!({ "id": s.id });
        for (key, v) in [("plan", &s.plan), ("status", &s.status)] {
            if let Some(v) = v {
                set(&mut sub, key, serde_json::json!(v));
            }
        }
        if let Some(at) = s.started_at {
            set(&mut sub, "started_at", serde_json::json!(at.to_string()));
        }
        set(&mut body, "subscription", sub);
    }
    if let Some(r) = &event.refs.referrer {
        set(&mut body, "referrer", serde_json::json!(r));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"{
      "id": "evt-1001",
      "type": "payment.succeeded",
      "customer": { "provider": "custom", "id": "c-42" },
      "occurred_at": "2026-12-05T10:00:00Z",
      "amount": { "minor": 1999, "currency": "usd" },
      "payment": "pay-77",
      "subscription": { "id": "sub-9", "plan": "price_gold", "status": "active",
                        "started_at": "2025-02-28T09:00:00Z" },
      "referrer": { "provider": "custom", "id": "c-7" }
    }"#;

    #[test]
    fn when_an_event_is_written_as_a_body_then_it_reads_back_the_same() {
        let e = parse_event(DESIGN_EXAMPLE.as_bytes()).unwrap();
        let back = parse_event(event_body(&e).to_string().as_bytes()).unwrap();
        assert_eq!(back, e);
        let refund = r#"{"id":"r1","type":"payment.refunded","customer":{"provider":"stripe","id":"cus_1"},
            "occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":500,"currency":"usd"},
            "refunded_total":{"minor":800,"currency":"usd"},"payment":"pi_1","payment_alias":"in_1"}"#;
        let e = parse_event(refund.as_bytes()).unwrap();
        assert_eq!(e.refunded_total.unwrap().minor, 800);
        assert_eq!(e.refs.payment_alias.as_deref(), Some("in_1"));
        assert_eq!(
            parse_event(event_body(&e).to_string().as_bytes()).unwrap(),
            e
        );
    }

    #[test]
    fn when_refunded_total_is_not_on_a_refund_or_in_another_currency_then_it_is_invalid() {
        let pay = r#"{"id":"p","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},
            "occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":5,"currency":"usd"},
            "refunded_total":{"minor":5,"currency":"usd"}}"#;
        assert!(matches!(
            parse_event(pay.as_bytes()),
            Err(IncomingError::Invalid(_))
        ));
        let refund = r#"{"id":"r","type":"payment.refunded","customer":{"provider":"custom","id":"c"},
            "occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":5,"currency":"usd"},"payment":"p",
            "refunded_total":{"minor":5,"currency":"eur"}}"#;
        assert!(matches!(
            parse_event(refund.as_bytes()),
            Err(IncomingError::Invalid(_))
        ));
    }

    #[test]
    fn when_body_is_the_design_example_then_every_field_is_read() {
        let e = parse_event(DESIGN_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(e.id.as_str(), "evt-1001");
        assert_eq!(e.trigger, Trigger::PaymentSucceeded);
        assert_eq!(e.customer, CustomerId::new(Provider::Custom, "c-42"));
        assert_eq!(e.amount.unwrap().minor, 1999);
        assert_eq!(e.amount.unwrap().currency.as_str(), "usd");
        assert_eq!(e.refs.payment.as_deref(), Some("pay-77"));
        assert_eq!(e.plan(), Some("price_gold"));
        assert_eq!(
            e.refs.referrer,
            Some(CustomerId::new(Provider::Custom, "c-7"))
        );
        assert_eq!(e.occurred_at.to_string(), "2026-12-05T10:00:00Z");
    }

    #[test]
    fn when_body_has_an_unknown_field_then_it_is_malformed() {
        let body = DESIGN_EXAMPLE.replace("\"payment\":", "\"paymnt\":");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Malformed(_))
        ));
        let nested = DESIGN_EXAMPLE.replace("\"plan\":", "\"tier\": 1, \"plan\":");
        assert!(matches!(
            parse_event(nested.as_bytes()),
            Err(IncomingError::Malformed(_))
        ));
    }

    #[test]
    fn when_trigger_is_internal_then_it_is_invalid() {
        let body = DESIGN_EXAMPLE.replace("payment.succeeded", "points.adjusted");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Invalid(_))
        ));
    }

    #[test]
    fn when_refund_lacks_payment_then_it_is_invalid() {
        let body = DESIGN_EXAMPLE
            .replace("payment.succeeded", "payment.refunded")
            .replace("\"payment\": \"pay-77\",", "");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Invalid(_))
        ));
    }

    #[test]
    fn when_an_offset_is_past_23_59_then_malformed_though_jiff_reads_it() {
        // jiff alone takes offsets up to ±25:59:59; RFC 3339 stops at ±23:59.
        assert!("2026-12-05T10:00:00+25:00".parse::<Timestamp>().is_ok());
        for at in [
            "2026-12-05T10:00:00+24:00",
            "2026-12-05T10:00:00-25:59",
            "2026-12-05T10:00:00+23:60",
            "2026-12-05T10:00:00+05",
            "2026-12-05T10:00:00+05:00:00",
            "2026-12-05T10:00:00+05:00[Asia/Kolkata]",
        ] {
            let body = DESIGN_EXAMPLE.replace("2026-12-05T10:00:00Z", at);
            assert!(
                matches!(
                    parse_event(body.as_bytes()),
                    Err(IncomingError::Malformed(_))
                ),
                "{at}"
            );
        }
        for at in ["2026-12-05T10:00:00+23:59", "2026-12-05T10:00:00-23:59"] {
            let body = DESIGN_EXAMPLE.replace("2026-12-05T10:00:00Z", at);
            assert!(parse_event(body.as_bytes()).is_ok(), "{at}");
        }
        let body = DESIGN_EXAMPLE.replace("2025-02-28T09:00:00Z", "2025-02-28T09:00:00+24:00");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Malformed(d)) if d.starts_with("`subscription.started_at`: invalid value, expected an RFC 3339")
        ));
    }

    #[test]
    fn when_something_follows_the_event_then_it_is_malformed() {
        let body = format!("{DESIGN_EXAMPLE} {{}}");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Malformed(d)) if d.starts_with("trailing characters")
        ));
    }

    #[test]
    fn when_amount_is_a_float_then_it_is_malformed() {
        let body = DESIGN_EXAMPLE.replace("\"minor\": 1999", "\"minor\": 19.99");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Malformed(_))
        ));
    }
}
