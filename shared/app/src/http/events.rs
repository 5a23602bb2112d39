//! `POST /events`: one event in Saguaro's own format ([`crate::incoming`]), handed to the
//! sink; 202 `{"id"}` once the sink has accepted it. A refused body is answered 400 with a
//! `detail` that says what is wrong without quoting the body.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use tracing::{error, warn};

use crate::http::{ErrorCode, JsonBody, json, refused};
use crate::incoming::{IncomingError, parse_event};
use crate::ports::{EventSink, SinkError};

pub(crate) async fn post<K: EventSink>(
    State(sink): State<Arc<K>>,
    JsonBody(body): JsonBody,
) -> Response {
    let event = match parse_event(&body) {
        Ok(e) => e,
        Err(IncomingError::Malformed(detail)) => {
            warn!(detail, "malformed event body");
            return refused(ErrorCode::Malformed, &detail);
        }
        Err(IncomingError::Invalid(detail)) => {
            warn!(detail, "invalid event");
            return refused(ErrorCode::InvalidEvent, &detail);
        }
    };
    let id = event.id.clone();
    match sink.submit(event).await {
        Ok(()) => json(StatusCode::ACCEPTED, &json!({ "id": id })),
        Err(SinkError::Rejected(e)) => {
            warn!(event_id = %id, error = %e, cause = ?e.source().map(ToString::to_string), "event rejected");
            ErrorCode::UnprocessableEvent.into_response()
        }
        Err(SinkError::IdReused) => ErrorCode::IdReused.into_response(),
        Err(SinkError::Unavailable(e)) => {
            error!(event_id = %id, error = %e, "event not accepted");
            ErrorCode::Unavailable.into_response()
        }
    }
}
