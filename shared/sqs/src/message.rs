//! The earn queue's message body: the one format the webhook functions write and the earn
//! function reads. A message outlives the deploy that wrote it (SQS keeps it, and its DLQ
//! keeps it for redrive, up to 14 days), so the body is versioned:
//!
//! ```json
//! {"v": 1, "event": { ...the JSON of saguaro_domain::Event... }}
//! ```
//!
//! A webhook delivery that can never be applied is parked in the earn dead-letter queue
//! with the same envelope and a `rejected` key instead of `event` ([`encode_rejection`]):
//!
//! ```json
//! {"v": 1, "rejected": {"provider", "event_id", "event_type", "reason", "received_at", "body"}}
//! ```
//!
//! [`decode`] refuses it as [`DecodeError::Parked`], so a redrive of the DLQ into the earn
//! queue brings it back to the DLQ, reason and all, rather than losing it.
//!
//! A change to the `Event` JSON that an older reader would misread, or that this reader
//! could not read back, gets a new `v`, and [`decode`] keeps reading every version still in
//! a queue. [`decode`] also reads the body written before the envelope existed (the bare
//! `Event` JSON, which has no `v` key).

use saguaro_app::rejected::Rejection;
use saguaro_domain::Event;
use serde::{Deserialize, Serialize};

/// The version [`encode`] writes.
pub const VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot serialise event {event_id}")]
    Serialise {
        event_id: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Why a body is not an event. Either way it is permanent: the same body fails again, so the
/// earn function reports the message failed without retrying it, and after
/// `maxReceiveCount` receives SQS moves it to the DLQ.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not an envelope or an event. Only serde's classification and position
    /// are in `Display`: serde's own message may quote the body.
    #[error("the message body is not an event ({category} at line {line}, column {column})")]
    Malformed {
        category: &'static str,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// An envelope this build cannot read: written by a newer deploy, or not by Saguaro.
    /// Redrive it from the DLQ once a build that reads it is deployed.
    #[error("the message is format version {found}, this build reads versions up to {VERSION}")]
    UnknownVersion { found: String },
    /// A version 1 envelope with neither an event nor a parked delivery.
    #[error("the message is an envelope with no event")]
    Missing,
    /// A webhook delivery parked as never applicable, not an event: it stays in the DLQ.
    #[error("the message is a parked {provider} delivery {event_id}, not an event: {reason}")]
    Parked {
        provider: String,
        event_id: String,
        reason: String,
    },
}

impl DecodeError {
    fn malformed(source: serde_json::Error) -> Self {
        let category = match source.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        Self::Malformed {
            category,
            line: source.line(),
            column: source.column(),
            source,
        }
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    v: u64,
    event: &'a Event,
}

#[derive(Deserialize)]
struct EnvelopeV1 {
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    rejected: Option<Rejection>,
}

#[derive(Serialize)]
struct ParkedOut<'a> {
    v: u64,
    rejected: &'a Rejection,
}

/// The body that parks `rejection` in the dead-letter queue.
pub fn encode_rejection(rejection: &Rejection) -> String {
    // Plain data with string keys cannot fail to serialise.
    serde_json::to_string(&ParkedOut {
        v: VERSION,
        rejected: rejection,
    })
    .unwrap_or_default()
}

/// Only the version: every other key is skipped, so this reads any JSON object.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    v: Option<serde_json::Value>,
}

/// The body of the message carrying `event`.
pub fn encode(event: &Event) -> Result<String, EncodeError> {
    serde_json::to_string(&EnvelopeOut { v: VERSION, event }).map_err(|source| {
        EncodeError::Serialise {
            event_id: event.id.as_str().to_owned(),
            source,
        }
    })
}

/// The event in a message body: a versioned envelope, or a bare event from before the
/// envelope.
pub fn decode(body: &str) -> Result<Event, DecodeError> {
    let probe: Probe = serde_json::from_str(body).map_err(DecodeError::malformed)?;
    match probe.v {
        // `Event` has no `v`: a body without one is the bare event written before `v` 1.
        None => serde_json::from_str::<Event>(body).map_err(DecodeError::malformed),
        Some(v) if v.as_u64() == Some(1) => {
            match serde_json::from_str::<EnvelopeV1>(body).map_err(DecodeError::malformed)? {
                EnvelopeV1 {
                    event: Some(event), ..
                } => Ok(event),
                EnvelopeV1 {
                    rejected: Some(r), ..
                } => Err(DecodeError::Parked {
                    provider: r.provider,
                    event_id: r.event_id,
                    reason: r.reason,
                }),
                EnvelopeV1 { .. } => Err(DecodeError::Missing),
            }
        }
        Some(other) => Err(DecodeError::UnknownVersion {
            found: other.to_string(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use saguaro_domain::{Currency, CustomerId, Money, Provider, SubscriptionInfo, Trigger};

    use super::*;

    /// Bodies written by the webhook functions before the envelope (`serde_json::to_string`
    /// of the event, as `SqsQueue::send` did), produced once by that code and kept verbatim:
    /// they may still sit in the queue or its DLQ.
    const BARE_PAYMENT: &str = r#"{"provider":"stripe","id":"evt_pay","occurred_at":"2025-12-05T10:30:00Z","customer":{"provider":"stripe","id":"cus_Friend"},"trigger":"payment.succeeded","amount":{"minor":1999,"currency":"usd"},"subscription":{"id":"sub_1","plan":"price_gold","status":"active","started_at":"2025-12-05T10:20:00Z","monthly_amount":{"minor":1999,"currency":"usd"}},"refs":{"payment":"pi_1","invoice":"in_1"}}"#;
    const BARE_REFUND: &str = r#"{"provider":"stripe","id":"evt_refund","occurred_at":"2025-12-05T10:36:40Z","customer":{"provider":"stripe","id":"cus_Friend"},"trigger":"payment.refunded","amount":{"minor":500,"currency":"usd"},"refunded_total":{"minor":500,"currency":"usd"},"refs":{"payment":"pi_1","payment_alias":"in_1"}}"#;
    const BARE_ADJUSTMENT: &str = r#"{"provider":"custom","id":"evt_adj","occurred_at":"2025-12-05T10:36:40Z","customer":{"provider":"custom","id":"c-42"},"trigger":"points.adjusted","points":-25,"refs":{"promotion":"double-december"}}"#;

    fn usd(minor: i64) -> Money {
        Money::new(minor, "usd".parse::<Currency>().unwrap())
    }

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn friend() -> CustomerId {
        CustomerId::new(Provider::Stripe, "cus_Friend")
    }

    fn payment() -> Event {
        let mut e = Event::new(
            "evt_pay",
            friend(),
            Trigger::PaymentSucceeded,
            at("2025-12-05T10:30:00Z"),
        );
        e.amount = Some(usd(1999));
        e.subscription = Some(SubscriptionInfo {
            id: "sub_1".to_owned(),
            plan: Some("price_gold".to_owned()),
            status: Some("active".to_owned()),
            started_at: Some(at("2025-12-05T10:20:00Z")),
            monthly_amount: Some(usd(1999)),
            resource_version: None,
        });
        e.refs.payment = Some("pi_1".to_owned());
        e.refs.invoice = Some("in_1".to_owned());
        e
    }

    fn refund() -> Event {
        let mut e = Event::new(
            "evt_refund",
            friend(),
            Trigger::PaymentRefunded,
            at("2025-12-05T10:36:40Z"),
        );
        e.amount = Some(usd(500));
        e.refunded_total = Some(usd(500));
        e.refs.payment = Some("pi_1".to_owned());
        e.refs.payment_alias = Some("in_1".to_owned());
        e
    }

    fn adjustment() -> Event {
        let mut e = Event::new(
            "evt_adj",
            CustomerId::new(Provider::Custom, "c-42"),
            Trigger::PointsAdjusted,
            at("2025-12-05T10:36:40Z"),
        );
        e.points = Some(-25);
        e.refs.promotion = Some("double-december".to_owned());
        e
    }

    #[test]
    fn when_a_message_was_written_before_the_envelope_then_it_decodes_to_the_same_event() {
        assert_eq!(decode(BARE_PAYMENT).unwrap(), payment());
        assert_eq!(decode(BARE_REFUND).unwrap(), refund());
        assert_eq!(decode(BARE_ADJUSTMENT).unwrap(), adjustment());
    }

    #[test]
    fn when_an_event_is_encoded_then_it_is_a_v1_envelope_that_decodes_to_it() {
        for event in [payment(), refund(), adjustment()] {
            let body = encode(&event).unwrap();
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(json["v"], 1, "{body}");
            assert_eq!(json["event"], serde_json::to_value(&event).unwrap());
            assert_eq!(decode(&body).unwrap(), event);
        }
        // the envelope around today's exact event JSON
        assert_eq!(
            encode(&payment()).unwrap(),
            format!("{{\"v\":1,\"event\":{BARE_PAYMENT}}}")
        );
    }

    #[test]
    fn when_the_version_is_unknown_then_a_permanent_error_names_it() {
        for (body, found) in [
            (format!("{{\"v\":2,\"event\":{BARE_PAYMENT}}}"), "2"),
            (r#"{"v":"1","event":{}}"#.to_owned(), "\"1\""),
            (r#"{"event":{},"v":0}"#.to_owned(), "0"),
        ] {
            let err = decode(&body).unwrap_err();
            assert!(
                matches!(&err, DecodeError::UnknownVersion { found: f } if f == found),
                "{body}: {err:?}"
            );
        }
        let err = decode(&format!("{{\"v\":2,\"event\":{BARE_PAYMENT}}}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the message is format version 2, this build reads versions up to 1"
        );
    }

    #[test]
    fn when_a_body_is_not_an_event_then_malformed_without_quoting_it() {
        let err = decode("{\"not\": \"an event\"").unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Malformed {
                    category: "eof",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = decode(r#"{"id": "secret-customer-data"}"#).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Malformed {
                    category: "data",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secret-customer-data"), "{err}");
        let err = decode(r#"{"v": 1, "event": {"id": 42}}"#).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Malformed {
                    category: "data",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            decode("[1, 2]").unwrap_err(),
            DecodeError::Malformed { .. }
        ));
    }
}
