//! Every HTTP route of docs/design.md §8, as axum [`Router`]s: one per concern, each constructible
//! alone so that a Lambda function serves only its own, and merged by the local runner.
//!
//! | router | routes |
//! |---|---|
//! | [`events`] | `POST /events` |
//! | [`customers`] | `GET /customers/{provider}/{id}`, `.../ledger`, `.../rewards` |
//! | [`adjustments`] | `POST /customers/{provider}/{id}/adjustments` |
//! | [`stripe_webhook`] | `POST /webhooks/stripe` |
//! | [`chargebee_webhook`] | `POST /webhooks/chargebee` |
//! | [`rejected`] | `GET /rejected` (the local runner's rejected list) |
//!
//! A router answers a wrong method on its paths with 405 `method_not_allowed` and an `Allow`
//! header listing the methods it takes, and reads bodies under our 1 MiB limit (413).
//! [`with_not_found`] adds the 404 `not_found` for paths no route takes; it is applied once,
//! to the router that is served (axum refuses to merge two routers that both have one).
//!
//! The routers are generic over the store and the sink: the local runner applies accepted
//! events at once through an [`Earner`](crate::Earner) over its store, a webhook function
//! enqueues them.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use saguaro_domain::Program;

use crate::http::adjustments::{self, Adjustments};
use crate::http::customers::{self, Customers};
use crate::http::{ErrorCode, JsonBody, body_limit, events as post_events, json};
use crate::ports::{Clock, EventSink, HistoryStore, StateStore, StripeLookup};
use crate::rejected::RejectedEvents;
use crate::webhooks::{Answer, ChargebeeWebhook, StripeWebhook};

pub const EVENTS: &str = "/events";
pub const CUSTOMER: &str = "/customers/{provider}/{id}";
pub const CUSTOMER_LEDGER: &str = "/customers/{provider}/{id}/ledger";
pub const CUSTOMER_REWARDS: &str = "/customers/{provider}/{id}/rewards";
pub const CUSTOMER_ADJUSTMENTS: &str = "/customers/{provider}/{id}/adjustments";
pub const STRIPE_WEBHOOK: &str = "/webhooks/stripe";
pub const CHARGEBEE_WEBHOOK: &str = "/webhooks/chargebee";
pub const REJECTED: &str = "/rejected";

/// At most this many rejections per `GET /rejected` (`?limit=`, default 100).
pub const MAX_REJECTED: usize = 1000;

/// `POST /events`: events in Saguaro's own format, handed to `sink`.
pub fn events<K: EventSink + 'static>(sink: K) -> Router {
    Router::new()
        .route(EVENTS, post(post_events::post::<K>))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(body_limit())
        .with_state(Arc::new(sink))
}

/// `POST /customers/{provider}/{id}/adjustments`: an operator's `points.adjusted`, dated by
/// `clock`, handed to `sink`.
pub fn adjustments<K, C>(sink: K, clock: C) -> Router
where
    K: EventSink + 'static,
    C: Clock + 'static,
{
    Router::new()
        .route(CUSTOMER_ADJUSTMENTS, post(adjustments::post::<K, C>))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(body_limit())
        .with_state(Arc::new(Adjustments { sink, clock }))
}

/// The three customer reads, from `store`; `clock` dates the qualifying-points window.
pub fn customers<S, C>(store: Arc<S>, clock: C, program: Arc<Program>) -> Router
where
    S: StateStore + HistoryStore + 'static,
    C: Clock + 'static,
{
    Router::new()
        .route(CUSTOMER, get(customers::summary::<S, C>))
        .route(CUSTOMER_LEDGER, get(customers::ledger::<S, C>))
        .route(CUSTOMER_REWARDS, get(customers::rewards::<S, C>))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::new(Customers::new(store, clock, program)))
}

/// The read routes, with `waiting_for` on pending rewards: why this process does not
/// deliver them (`waiting`, e.g. "STRIPE_API_KEY is not set").
pub fn customers_with_waiting<S, C>(
    store: Arc<S>,
    clock: C,
    program: Arc<Program>,
    waiting: customers::WaitingReason,
) -> Router
where
    S: StateStore + HistoryStore + 'static,
    C: Clock + 'static,
{
    Router::new()
        .route(CUSTOMER, get(customers::summary::<S, C>))
        .route(CUSTOMER_LEDGER, get(customers::ledger::<S, C>))
        .route(CUSTOMER_REWARDS, get(customers::rewards::<S, C>))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::new(
            Customers::new(store, clock, program).with_waiting(waiting),
        ))
}

/// `POST /webhooks/stripe`.
pub fn stripe_webhook<K, C, L>(hook: StripeWebhook<K, C, L>) -> Router
where
    K: EventSink + 'static,
    C: Clock + 'static,
    L: StripeLookup + 'static,
{
    Router::new()
        .route(STRIPE_WEBHOOK, post(stripe::<K, C, L>))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(body_limit())
        .with_state(Arc::new(hook))
}

/// `POST /webhooks/chargebee`.
pub fn chargebee_webhook<K: EventSink + 'static>(hook: ChargebeeWebhook<K>) -> Router {
    Router::new()
        .route(CHARGEBEE_WEBHOOK, post(chargebee::<K>))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(body_limit())
        .with_state(Arc::new(hook))
}

/// `GET /rejected?limit=`: the newest parked deliveries, newest first, as
/// `{"rejected": [...]}`.
pub fn rejected(list: Arc<dyn RejectedEvents>) -> Router {
    Router::new()
        .route(REJECTED, get(rejected_list))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(list)
}

#[derive(Debug, serde::Deserialize)]
struct RejectedQuery {
    limit: Option<usize>,
}

async fn rejected_list(
    State(list): State<Arc<dyn RejectedEvents>>,
    query: Result<Query<RejectedQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ErrorCode::InvalidQuery.into_response();
    };
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_REJECTED {
        return ErrorCode::InvalidQuery.into_response();
    }
    match list.newest(limit) {
        Ok(rejected) => json(StatusCode::OK, &serde_json::json!({ "rejected": rejected })),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the rejected list");
            ErrorCode::Internal.into_response()
        }
    }
}

/// `POST /webhooks/stripe` of a local runner started without `STRIPE_WEBHOOK_SECRET`: 503
/// `not_configured`, so that the operator sees what is missing.
pub fn stripe_webhook_not_configured() -> Router {
    Router::new()
        .route(STRIPE_WEBHOOK, post(not_configured))
        .method_not_allowed_fallback(method_not_allowed)
}

/// `POST /webhooks/chargebee` of a local runner started without the Basic credentials.
pub fn chargebee_webhook_not_configured() -> Router {
    Router::new()
        .route(CHARGEBEE_WEBHOOK, post(not_configured))
        .method_not_allowed_fallback(method_not_allowed)
}

/// The router to serve: `routes`, and 404 `not_found` for any path none of them takes.
pub fn with_not_found(routes: Router) -> Router {
    routes.fallback(not_found)
}

async fn stripe<K: EventSink, C: Clock, L: StripeLookup>(
    State(hook): State<Arc<StripeWebhook<K, C, L>>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Answer {
    hook.handle(&headers, &body).await
}

async fn chargebee<K: EventSink>(
    State(hook): State<Arc<ChargebeeWebhook<K>>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Answer {
    hook.handle(&headers, &body).await
}

async fn not_found() -> ErrorCode {
    ErrorCode::NotFound
}

/// axum adds the `Allow` header to what this answers.
async fn method_not_allowed() -> ErrorCode {
    ErrorCode::MethodNotAllowed
}

async fn not_configured() -> ErrorCode {
    ErrorCode::NotConfigured
}
