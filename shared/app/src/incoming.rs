//! `POST /events`: one event in Saguaro's own format (docs/design.md §8). This is the door for the
//! merchant's application and for billing systems Saguaro has no adapter for. Strict: unknown
//! fields are rejected.

use jiff::Timestamp;
use saguaro_domain::{
    CustomerId, Event, EventId, Money, Provider, Refs, SubscriptionInfo, Trigger,
};
use serde::Deserialize;

/// Why a body is not an acceptable event.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// Not JSON, or not of the event's shape (unknown field, wrong type, missing field).
    #[error("malformed event body")]
    Malformed(#[source] serde_json::Error),
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
    occurred_at: Timestamp,
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    payment: Option<String>,
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
    #[serde(default)]
    started_at: Option<Timestamp>,
}

const MAX_ID_LEN: usize = 255;

/// Parses and validates a `POST /events` body into the normalised event.
pub fn parse_event(body: &[u8]) -> Result<Event, IncomingError> {
    let body: Body = serde_json::from_slice(body).map_err(IncomingError::Malformed)?;
    let invalid = |m: &str| Err(IncomingError::Invalid(m.to_owned()));
    if body.id.is_empty() || body.id.len() > MAX_ID_LEN {
        return invalid("id must be 1 to 255 characters");
    }
    if body.trigger.is_internal() {
        return invalid("internal triggers are not accepted");
    }
    for c in std::iter::once(&body.customer).chain(&body.referrer) {
        if c.provider == Provider::Scheduler || c.id.is_empty() || c.id.len() > MAX_ID_LEN {
            return invalid("customer needs a provider (stripe, chargebee, custom) and an id");
        }
    }
    if body.amount.is_some_and(|a| a.minor < 0) {
        return invalid("amount.minor must not be negative");
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
    Ok(Event {
        provider: Provider::Custom,
        id: EventId::new(body.id),
        occurred_at: body.occurred_at,
        customer: body.customer,
        trigger: body.trigger,
        amount: body.amount,
        refunded_total: None,
        points: None,
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
            payment_alias: None,
            invoice: None,
            referrer: body.referrer,
            promotion: None,
        },
    })
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
    fn when_amount_is_a_float_then_it_is_malformed() {
        let body = DESIGN_EXAMPLE.replace("\"minor\": 1999", "\"minor\": 19.99");
        assert!(matches!(
            parse_event(body.as_bytes()),
            Err(IncomingError::Malformed(_))
        ));
    }
}
