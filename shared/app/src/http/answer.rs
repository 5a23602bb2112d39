//! The answers of the HTTP edge. Errors are mapped to statuses here, once: 4xx bodies carry
//! a short machine-readable code (and for `POST /events` a `detail` saying what is wrong,
//! never quoting a value of the body), 5xx bodies say nothing more (the cause goes to the
//! log).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tracing::error;

/// Every error answer, as its status and its body `{"error": "<code>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: not JSON, or not of the expected shape.
    Malformed,
    /// 400: a well-formed event Saguaro does not accept (e.g. an internal trigger).
    InvalidEvent,
    /// 400: a bad `limit` or `cursor`.
    InvalidQuery,
    /// 401: a webhook's signature or credentials do not verify.
    Unauthorized,
    /// 404: no such route, or no such customer.
    NotFound,
    /// 405: the route exists, not with this method (the `Allow` header lists those it takes).
    MethodNotAllowed,
    /// 408: the local runner did not receive the request and answer it in time (a stalled
    /// client); the connection is closed.
    RequestTimeout,
    /// 409: the event id was already used for a different event.
    IdReused,
    /// 413: a body over [`MAX_BODY_BYTES`](crate::http::MAX_BODY_BYTES).
    PayloadTooLarge,
    /// 415: a body that is not `application/json`, or has a `Content-Encoding` other than
    /// `identity`.
    UnsupportedMediaType,
    /// 422: an event the engine cannot apply (e.g. a refund in another currency).
    UnprocessableEvent,
    /// 500: retrying may succeed once an operator has looked.
    Internal,
    /// 503: a dependency (sink, store, Stripe) is unavailable; retry later.
    Unavailable,
    /// 503: the local runner was started without this webhook's secrets.
    NotConfigured,
}

impl ErrorCode {
    pub const fn status(self) -> StatusCode {
        match self {
            Self::Malformed | Self::InvalidEvent | Self::InvalidQuery => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::IdReused => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UnprocessableEvent => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable | Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::InvalidEvent => "invalid_event",
            Self::InvalidQuery => "invalid_query",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::IdReused => "id_reused",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UnprocessableEvent => "unprocessable_event",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::NotConfigured => "not_configured",
        }
    }
}

impl IntoResponse for ErrorCode {
    fn into_response(self) -> Response {
        json(self.status(), &json!({ "error": self.code() }))
    }
}

/// A 4xx answer that says what is wrong: `{"error": "<code>", "detail": "..."}`. `detail`
/// never quotes a value of the request ([`crate::http::detail`]).
pub(crate) fn refused(code: ErrorCode, detail: &str) -> Response {
    json(
        code.status(),
        &json!({ "error": code.code(), "detail": detail }),
    )
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A failure the caller cannot fix: logged with its cause, answered with a bare 500.
pub(crate) fn internal(e: &dyn std::error::Error) -> ErrorCode {
    error!(error = %e, cause = ?e.source().map(ToString::to_string), "request failed");
    ErrorCode::Internal
}
