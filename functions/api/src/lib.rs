//! The `api` Lambda: the HTTP contract's routes that are not webhooks (docs/design.md §8),
//! behind API Gateway with IAM auth. The same router code as the local runner
//! ([`saguaro_app::router`]): the three customer reads from the DynamoDB store, and
//! `POST /events` and `POST /customers/{provider}/{id}/adjustments` validated and handed to
//! the earn queue. It writes only through the queue:
//! its role may read the table, never write it. [`config`] reads the environment once.

pub mod config;

use std::sync::Arc;

use axum::Router;
use saguaro_app::ports::{Clock, EventSink, HistoryStore, StateStore};
use saguaro_app::router;
use saguaro_domain::Program;

/// `POST /events` and the adjustments into `sink`, the customer reads from `store`, 404
/// `not_found` elsewhere.
pub fn router<S, K, C>(store: Arc<S>, sink: K, clock: C, program: Arc<Program>) -> Router
where
    S: StateStore + HistoryStore + 'static,
    K: EventSink + 'static,
    C: Clock + Clone + 'static,
{
    let sink = Arc::new(sink);
    router::with_not_found(
        router::events(sink.clone())
            .merge(router::adjustments(sink, clock.clone()))
            .merge(router::customers(store, clock, program)),
    )
}
