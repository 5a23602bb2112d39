//! The `chargebee-webhook` Lambda: `POST /webhooks/chargebee` behind API Gateway (HTTP API).
//! [`config`] reads the environment once at start-up; [`router()`] is what `main.rs` hands to
//! `lambda_http::run`: the application crate's Chargebee webhook route, whose sink is the
//! earn queue ([`saguaro_sqs::SqsQueue`]).

pub mod config;

use axum::Router;
use saguaro_app::ports::EventSink;
use saguaro_app::router;
use saguaro_app::webhooks::ChargebeeWebhook;

/// The function's only route, and 404 `not_found` for any other path.
pub fn router<K: EventSink + 'static>(webhook: ChargebeeWebhook<K>) -> Router {
    router::with_not_found(router::chargebee_webhook(webhook))
}
