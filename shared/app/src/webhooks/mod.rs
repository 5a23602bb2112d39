//! The two webhook handlers of docs/design.md §8, behind `POST /webhooks/stripe` ([`StripeWebhook`])
//! and `POST /webhooks/chargebee` ([`ChargebeeWebhook`]), shared by the Lambda functions and
//! the local runner; [`crate::router`] puts them on their paths.
//!
//! Each request goes through the same steps, in this order: size (413) and content type
//! (415), by [`JsonBody`](crate::http::JsonBody); verification on the raw bytes before
//! anything is parsed (401; the reason is logged, never the secret); normalisation (400 for
//! a body that is not an event, 200 and nothing submitted for a type Saguaro does not use,
//! and for a relevant event that can never be normalised, 200 once it is parked in the
//! rejected list ([`crate::rejected`]; 500 where there is none, so the provider retries));
//! then the
//! sink (200 `{"received":true}` only once the event is accepted: docs/design.md §5.4, "a webhook is
//! acknowledged only after the event is on the queue").
//!
//! Stripe refunds need one more step on "basil" and later API versions (2025-03-31+): a
//! refund known only by its PaymentIntent gets the invoice that PaymentIntent paid, asked of
//! a [`StripeLookup`](crate::ports::StripeLookup) before the refund is submitted (`lookup.rs`:
//! first the links basil's `invoice_payment.paid` reported, kept by [`KeptLinks`], then
//! Stripe's API; a failed lookup answers 5xx so that Stripe retries).
//!
//! Before the sink, a normalised event whose ids hold a control character is refused with
//! 400 `invalid_event` ([`crate::http::printable`]): they would forge log lines. What is
//! logged before that check (an ignored or unreadable event's id and type) is escaped.
//!
//! Here: what both providers' answers have in common, from an ignored event to the sink's
//! verdict.

mod chargebee;
mod lookup;
mod stripe;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use saguaro_domain::Event;
use serde_json::json;
use tracing::{debug, error, info, warn};

pub use chargebee::ChargebeeWebhook;
pub use lookup::KeptLinks;
pub use stripe::{STRIPE_SIGNATURE, StripeWebhook, stripe_verifier};

use crate::http::printable::{control_character_in, escaped};
use crate::http::{ErrorCode, json};
use crate::ports::{EventSink, SinkError};
use crate::rejected::{ParkRejected, Rejection};

/// 200 `{"received":true}`: the provider may stop delivering this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received;

impl IntoResponse for Received {
    fn into_response(self) -> Response {
        json(StatusCode::OK, &json!({ "received": true }))
    }
}

/// What a webhook handler answers.
pub type Answer = Result<Received, ErrorCode>;

fn ignored(provider: &str, event_type: &str, reason: &str) -> Answer {
    debug!(provider, event_type = %escaped(event_type), reason, "webhook ignored");
    Ok(Received)
}

/// Where a webhook parks what it can never apply ([`crate::rejected`]); `None`: nowhere, so
/// such deliveries are answered 500 and the provider keeps them (the Lambda functions, whose
/// engine failures reach the earn DLQ instead).
pub type Parking = Option<Arc<dyn ParkRejected>>;

/// A relevant event we cannot read (a field missing, a timestamp out of range): retrying the
/// same body cannot help, so it is parked with the reason and acknowledged. Without a
/// parking place, or when parking fails, a bare 500, so that the provider keeps retrying it
/// while the log tells the operator which event to look at.
async fn unprocessable(
    parking: &Parking,
    provider: &str,
    event_id: &str,
    event_type: &str,
    reason: &str,
    body: &[u8],
) -> Answer {
    error!(
        provider,
        event_id = %escaped(event_id),
        event_type = %escaped(event_type),
        reason,
        "relevant webhook event cannot be normalised"
    );
    park(
        parking,
        Rejection {
            provider: provider.to_owned(),
            event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            reason: format!("cannot be normalised: {reason}"),
            received_at: jiff::Timestamp::now(),
            body: String::from_utf8_lossy(body).into_owned(),
        },
    )
    .await
}

/// 400 `invalid_event` for an event whose ids hold a control character; the log names the
/// field, not its text.
fn printable(provider: &str, event: &Event) -> Result<(), ErrorCode> {
    match control_character_in(event) {
        Some(field) => {
            warn!(
                provider,
                field, "webhook event refused: an id holds a control character"
            );
            Err(ErrorCode::InvalidEvent)
        }
        None => Ok(()),
    }
}

/// Parks `rejection`: 200 once it is kept, else 500 (the provider retries, nothing is lost).
async fn park(parking: &Parking, rejection: Rejection) -> Answer {
    let Some(parking) = parking else {
        return Err(ErrorCode::Internal);
    };
    match parking.park(&rejection).await {
        Ok(()) => {
            warn!(provider = %rejection.provider, event_id = %rejection.event_id, reason = %rejection.reason, "event parked (locally GET /rejected and saguaro rejected; on AWS the earn DLQ)");
            Ok(Received)
        }
        Err(e) => {
            error!(provider = %rejection.provider, event_id = %rejection.event_id, error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "cannot park a rejected event; the provider will retry");
            Err(ErrorCode::Internal)
        }
    }
}

/// The error and its causes, one sentence.
fn reason_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

async fn submit<K: EventSink>(sink: &K, parking: &Parking, provider: &str, event: Event) -> Answer {
    printable(provider, &event)?;
    let event_id = event.id.clone();
    let customer = event.customer.to_string();
    let trigger = event.trigger.clone();
    // Kept for the rejected list, should the sink refuse it for good.
    let json = parking
        .as_ref()
        .map(|_| serde_json::to_string(&event).unwrap_or_default());
    match sink.submit(event).await {
        Ok(()) => {
            info!(provider, event_id = %event_id, customer, trigger = %trigger, "webhook accepted");
            Ok(Received)
        }
        Err(SinkError::Unavailable(e)) => {
            error!(provider, event_id = %event_id, error = %e, cause = ?e.source().map(ToString::to_string), "sink unavailable");
            Err(ErrorCode::Unavailable)
        }
        // Retrying cannot help: parked with the reason where an operator sees it, and
        // acknowledged; without a parking place (or if parking fails) 500, so that the
        // provider keeps it, where a 4xx would lose it.
        Err(SinkError::Rejected(e)) => {
            error!(provider, event_id = %event_id, error = %e, cause = ?e.source().map(ToString::to_string), "event rejected by the sink");
            park(
                parking,
                Rejection {
                    provider: provider.to_owned(),
                    event_id: event_id.to_string(),
                    event_type: trigger.to_string(),
                    reason: reason_chain(e.as_ref()),
                    received_at: jiff::Timestamp::now(),
                    body: json.unwrap_or_default(),
                },
            )
            .await
        }
        // Providers never reuse an event id for another event; if it happens, say so and
        // let the provider's retry be visible rather than acknowledging a lost event.
        Err(SinkError::IdReused) => {
            error!(provider, event_id = %event_id, "event id already used for a different event");
            Err(ErrorCode::IdReused)
        }
    }
}
