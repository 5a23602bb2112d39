//! The `stripe-webhook` Lambda: `POST /webhooks/stripe` behind API Gateway (HTTP API).
//! [`config`] reads the environment once at start-up; [`router()`] is what `main.rs` hands to
//! `lambda_http::run`: the application crate's Stripe webhook route, whose sink is the earn
//! queue ([`saguaro_sqs::SqsQueue`]). `lambda_http` has already decoded a base64 body
//! (`isBase64Encoded: true`), so the bytes verified are exactly the bytes Stripe signed.

pub mod config;

use axum::Router;
use saguaro_app::ports::{Clock, EventSink, StripeLookup};
use saguaro_app::router;
use saguaro_app::webhooks::StripeWebhook;

/// The function's only route, and 404 `not_found` for any other path.
pub fn router<K, C, L>(webhook: StripeWebhook<K, C, L>) -> Router
where
    K: EventSink + 'static,
    C: Clock + 'static,
    L: StripeLookup + 'static,
{
    router::with_not_found(router::stripe_webhook(webhook))
}
