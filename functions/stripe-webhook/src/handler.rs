//! The Lambda edge: a `lambda_http` request becomes the `http::Request<Bytes>` the shared
//! webhook handler takes, and its response goes back to API Gateway ([`saguaro_lambda::http`]). `lambda_http` has
//! already decoded a base64 body (`isBase64Encoded: true`) into `Body::Binary`, so the bytes
//! verified are exactly the bytes Stripe signed.

use std::convert::Infallible;

use lambda_http::{Body, Request, Response};
use saguaro_app::http::EventSink;
use saguaro_app::webhooks::{StripeLookup, StripeWebhook};
use saguaro_domain::ports::Clock;
use saguaro_lambda::http::{from_http_response, to_http_request};

pub async fn handle<K: EventSink, C: Clock, L: StripeLookup>(
    webhook: &StripeWebhook<K, C, L>,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let res = webhook.handle(to_http_request(req)).await;
    Ok(from_http_response(res))
}
