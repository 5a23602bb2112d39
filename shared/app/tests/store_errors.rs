//! How a store failure reaches the sender of `POST /events` (the local runner's sink is the
//! earner): a store that rejects the commit as it is gives 422 after one try, one that is
//! unavailable gives 503 so that the sender tries again later.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use http::{Request, StatusCode};
use saguaro_app::{Earner, router};
use saguaro_domain::ports::{Commit, CommitOutcome, StateStore, StoreError};
use saguaro_domain::{CustomerId, CustomerState, Program};
use tower::ServiceExt as _;

const PROGRAM: &str = r#"
[program]
name = "Errors"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#;

const PAYMENT: &str = r#"{
  "id": "evt-1", "type": "payment.succeeded",
  "customer": { "provider": "custom", "id": "c-1" },
  "occurred_at": "2026-12-05T10:00:00Z",
  "amount": { "minor": 1999, "currency": "usd" }, "payment": "pay-1" }"#;

/// Which failure every commit meets.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Rejected,
    Unavailable,
}

#[derive(Debug)]
struct FailingStore {
    failure: Failure,
    commits: AtomicU64,
}

impl StateStore for FailingStore {
    async fn load(&self, _: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        Ok(None)
    }

    async fn commit(&self, _: Commit) -> Result<CommitOutcome, StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        Err(match self.failure {
            Failure::Rejected => StoreError::Rejected("item size over the limit".into()),
            Failure::Unavailable => StoreError::Unavailable("throttled".into()),
        })
    }
}

async fn post_payment(failure: Failure) -> (StatusCode, String, u64) {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let store = Arc::new(FailingStore {
        failure,
        commits: AtomicU64::new(0),
    });
    let routes = router::events(Earner::new(store.clone(), program));
    let req = Request::post("/events")
        .header("content-type", "application/json")
        .body(Body::from(PAYMENT))
        .unwrap();
    let res = routes.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    (status, body, store.commits.load(Ordering::SeqCst))
}

#[tokio::test]
async fn when_the_store_rejects_the_commit_then_422_after_one_try() {
    let (status, body, commits) = post_payment(Failure::Rejected).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body, r#"{"error":"unprocessable_event"}"#);
    assert_eq!(commits, 1);
}

#[tokio::test]
async fn when_the_store_is_unavailable_then_503() {
    let (status, body, _) = post_payment(Failure::Unavailable).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, r#"{"error":"unavailable"}"#);
}
