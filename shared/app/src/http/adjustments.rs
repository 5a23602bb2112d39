//! `POST /customers/{provider}/{id}/adjustments`: an operator's correction of a customer's
//! points (docs/design.md §8.5), `{"points", "reason", "id"?}`, handed to the sink as a
//! `points.adjusted` event dated when it is received; 202 `{"id"}` (the event id). The
//! `id` is the caller's idempotency key: the same key, points and reason again (a retry) is
//! the same event, applied once, and answered 202 again; the same key with other points or
//! another reason is 409 `id_reused`. Without a key every request is a new adjustment.
//! A negative adjustment may take the balance below zero: what the lots cannot cover
//! becomes a deficit that the next positive lines repay (§4.4), as for a refund.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use saguaro_domain::{CustomerId, Event, Trigger};
use serde::Deserialize;
use serde_json::json;
use tracing::{error, info, warn};

use crate::http::customers::CustomerPath;
use crate::http::detail::{describe, describe_json};
use crate::http::printable::control_character_in;
use crate::http::{ErrorCode, JsonBody, json, refused};
use crate::incoming::IncomingError;
use crate::ports::{Clock, EventSink, SinkError};

/// `points` is at most this far from zero either way.
pub const MAX_ADJUSTMENT: i64 = 100_000_000;
/// `reason` is 1 to this many characters (not bytes), not only blanks.
pub const MAX_REASON_LEN: usize = 500;
/// `id` (the idempotency key) is 1 to this many characters.
pub const MAX_KEY_LEN: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    points: i64,
    reason: String,
    #[serde(default)]
    id: Option<String>,
}

/// Customer ids are at most this many characters, as on `POST /events`.
const MAX_CUSTOMER_LEN: usize = 255;

/// The body's name of an event field (the key is in the event's `id`).
fn body_field(event_field: &'static str) -> &'static str {
    if event_field == "reason" {
        "reason"
    } else {
        "id"
    }
}

/// The handler's state: where events go, and the clock that dates them.
pub(crate) struct Adjustments<K, C> {
    pub(crate) sink: K,
    pub(crate) clock: C,
}

/// Parses and validates an adjustment body for `customer` into its `points.adjusted` event,
/// dated `now`: id `adjust:{provider}:{customer}:key:{id}` with a key,
/// `adjust:{provider}:{customer}:at:{unix nanoseconds}` without.
pub fn parse_adjustment(
    customer: CustomerId,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Event, IncomingError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let body: Body = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| IncomingError::Malformed(describe(&e)))?;
    de.end()
        .map_err(|e| IncomingError::Malformed(describe_json(&e)))?;
    let invalid = |m: String| Err(IncomingError::Invalid(m));
    if body.points == 0 || body.points.unsigned_abs() > MAX_ADJUSTMENT.unsigned_abs() {
        return invalid(format!(
            "points must be non-zero and between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}"
        ));
    }
    let reason_len = body.reason.chars().count();
    if body.reason.trim().is_empty() || reason_len > MAX_REASON_LEN {
        return invalid(format!(
            "reason must be 1 to {MAX_REASON_LEN} characters, not only blanks"
        ));
    }
    if let Some(key) = &body.id
        && (key.is_empty() || key.chars().count() > MAX_KEY_LEN)
    {
        return invalid(format!("id must be 1 to {MAX_KEY_LEN} characters"));
    }
    if customer.id.chars().count() > MAX_CUSTOMER_LEN {
        return invalid(format!(
            "the customer id must be 1 to {MAX_CUSTOMER_LEN} characters"
        ));
    }
    let id = match &body.id {
        Some(key) => format!("adjust:{customer}:key:{key}"),
        None => format!("adjust:{customer}:at:{}", now.as_nanosecond()),
    };
    let mut event = Event::new(id, customer, Trigger::PointsAdjusted, now);
    event.points = Some(body.points);
    event.reason = Some(body.reason);
    if let Some(field) = control_character_in(&event) {
        let field = if field == "customer.id" {
            field
        } else {
            body_field(field)
        };
        return invalid(format!("`{field}` contains a control character"));
    }
    Ok(event)
}

pub(crate) async fn post<K: EventSink, C: Clock>(
    State(state): State<Arc<Adjustments<K, C>>>,
    CustomerPath(customer): CustomerPath,
    JsonBody(body): JsonBody,
) -> Response {
    let event = match parse_adjustment(customer, &body, state.clock.now()) {
        Ok(e) => e,
        Err(IncomingError::Malformed(detail)) => {
            warn!(detail, "malformed adjustment body");
            return refused(ErrorCode::Malformed, &detail);
        }
        Err(IncomingError::Invalid(detail)) => {
            warn!(detail, "invalid adjustment");
            return refused(ErrorCode::InvalidEvent, &detail);
        }
    };
    let (id, points) = (event.id.clone(), event.points);
    match state.sink.submit(event).await {
        Ok(()) => {
            info!(event_id = %id, points, "adjustment accepted");
            json(StatusCode::ACCEPTED, &json!({ "id": id }))
        }
        Err(SinkError::Rejected(e)) => {
            warn!(event_id = %id, error = %e, "adjustment rejected");
            ErrorCode::UnprocessableEvent.into_response()
        }
        Err(SinkError::IdReused) => ErrorCode::IdReused.into_response(),
        Err(SinkError::Unavailable(e)) => {
            error!(event_id = %id, error = %e, "adjustment not accepted");
            ErrorCode::Unavailable.into_response()
        }
    }
}
