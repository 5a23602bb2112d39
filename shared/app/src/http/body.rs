//! Request bodies. Webhook signatures are computed over the exact bytes the provider sent, so
//! a body is read as [`Bytes`], never re-encoded, and nothing parses it before the handler
//! has verified it.

use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use bytes::Bytes;
use http::{HeaderMap, header};
use tracing::debug;

use crate::http::ErrorCode;

/// Bodies over this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Our limit in place of axum's (2 MB), for every route that reads a body: the [`Bytes`]
/// extractor then fails past [`MAX_BODY_BYTES`], and [`JsonBody`] answers 413 as we do.
pub(crate) fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

/// The exact bytes of a JSON request body. Refused with 413 `payload_too_large` over
/// [`MAX_BODY_BYTES`], with 400 `malformed` when it cannot be read (a malformed chunk, a
/// client gone before the end), then with 415 `unsupported_media_type` when it is encoded
/// (a `Content-Encoding` other than `identity`: signatures are over the bytes as sent, and
/// nothing here inflates a gzip bomb) or its content type is not `application/json`
/// (parameters such as `charset` allowed): the size first, so that an oversized body is
/// refused whatever it claims to be.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ErrorCode;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let identity = is_identity(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            debug!(reason = %e, "request body not read");
            match e {
                BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                    ErrorCode::PayloadTooLarge
                }
                // A body that could not be read whole for another reason (a malformed chunk,
                // the client went away) cannot be verified or parsed.
                _ => ErrorCode::Malformed,
            }
        })?;
        if !identity || !json {
            return Err(ErrorCode::UnsupportedMediaType);
        }
        Ok(Self(bytes))
    }
}

/// No `Content-Encoding`, or only `identity`.
fn is_identity(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().all(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
        })
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}
