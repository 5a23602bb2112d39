//! The Lambda edge: a `lambda_http` request becomes the `http::Request<Bytes>` the shared
//! webhook handler takes, and its response goes back to API Gateway. `lambda_http` has
//! already decoded a base64 body (`isBase64Encoded: true`) into `Body::Binary`, so the bytes
//! verified are exactly the bytes Stripe signed.

use std::convert::Infallible;

use bytes::Bytes;
use lambda_http::{Body, Request, Response};
use saguaro_app::http::EventSink;
use saguaro_app::webhooks::{StripeLookup, StripeWebhook};
use saguaro_domain::ports::Clock;

pub async fn handle<K: EventSink, C: Clock, L: StripeLookup>(
    webhook: &StripeWebhook<K, C, L>,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let res = webhook.handle(to_http(req)).await;
    Ok(from_http(res))
}

/// The raw body, whatever form API Gateway delivered it in.
pub fn to_http(req: Request) -> http::Request<Bytes> {
    let (parts, body) = req.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        // `Body` is `#[non_exhaustive]`: a future variant is still read as its bytes.
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    http::Request::from_parts(parts, bytes)
}

/// Our responses are JSON, so text; anything else goes back as binary.
pub fn from_http(res: http::Response<Bytes>) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    Response::from_parts(parts, body)
}
