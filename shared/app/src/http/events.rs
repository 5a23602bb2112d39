//! `POST /events`: one event in Saguaro's own format ([`crate::incoming`]), handed to the
//! sink; 202 `{"id"}` once the sink has accepted it.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use tracing::{error, warn};

use crate::http::{ErrorCode, JsonBody, json};
use crate::incoming::{IncomingError, parse_event};
use crate::ports::{EventSink, SinkError};

pub(crate) async fn post<K: EventSink>(
    State(sink): State<Arc<K>>,
    JsonBody(body): JsonBody,
) -> Result<Response, ErrorCode> {
    let event = match parse_event(&body) {
        Ok(e) => e,
        Err(IncomingError::Malformed(e)) => {
            warn!(error = %e, "malformed event body");
            return Err(ErrorCode::Malformed);
        }
        Err(e @ IncomingError::Invalid(_)) => {
            warn!(error = %e, "invalid event");
            return Err(ErrorCode::InvalidEvent);
        }
    };
    let id = event.id.clone();
    match sink.submit(event).await {
        Ok(()) => Ok(json(StatusCode::ACCEPTED, &json!({ "id": id }))),
        Err(SinkError::Rejected(e)) => {
            warn!(event_id = %id, error = %e, cause = ?e.source().map(ToString::to_string), "event rejected");
            Err(ErrorCode::UnprocessableEvent)
        }
        Err(SinkError::IdReused) => Err(ErrorCode::IdReused),
        Err(SinkError::Unavailable(e)) => {
            error!(event_id = %id, error = %e, "event not accepted");
            Err(ErrorCode::Unavailable)
        }
    }
}
