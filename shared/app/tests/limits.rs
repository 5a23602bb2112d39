//! Limits seen through the earn service and the HTTP API (issue 13): an event that would
//! overflow the points arithmetic is refused as unprocessable with nothing applied; the
//! referrer's follow-up is applied once by its event marker, with no set of referred
//! customers in the state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use saguaro_app::Earner;
use saguaro_app::router;
use saguaro_domain::ports::{Commit, CommitOutcome, StateStore, StoreError, SystemClock};
use saguaro_domain::{CustomerId, CustomerState, Program, Provider};
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};

const PROGRAM: &str = r#"
[program]
name = "Limits"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 1 }

[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 1000
multiplier = "1.25"
"#;

fn api() -> common::BytesApi {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let store = Arc::new(EmbeddedStore::new());
    common::BytesApi(
        router::events(Earner::new(store.clone(), program.clone())).merge(router::customers(
            store,
            SystemClock,
            program,
        )),
    )
}

fn payment(id: &str, minor: i64) -> Request<Bytes> {
    let body = json!({
        "id": id, "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "c-1" },
        "occurred_at": "2026-05-01T10:00:00Z",
        "amount": { "minor": minor, "currency": "usd" }, "payment": format!("pay-{id}"),
    });
    Request::post("/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

async fn get(api: &common::BytesApi, path: &str) -> (StatusCode, Value) {
    let res = api
        .handle(Request::get(path).body(Bytes::new()).unwrap())
        .await;
    let status = res.status();
    (status, serde_json::from_slice(res.body()).unwrap())
}

#[tokio::test]
async fn when_an_event_would_overflow_the_balance_then_422_and_nothing_is_applied() {
    let api = api();
    // 5·10¹⁸ points at Member, then Gold: 4·10¹⁸ × 1.25 more would make 10¹⁹.
    let first = api.handle(payment("e1", 5_000_000_000_000_000_000)).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let (_, before) = get(&api, "/customers/custom/c-1").await;

    let second = api.handle(payment("e2", 4_000_000_000_000_000_000)).await;

    assert_eq!(second.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(second.body()).unwrap();
    assert_eq!(body, json!({ "error": "unprocessable_event" }));
    let (_, after) = get(&api, "/customers/custom/c-1").await;
    assert_eq!(after, before);
    assert_eq!(after["balance"], json!(5_000_000_000_000_000_000_i64));
    assert_eq!(after["tier"], json!("Gold"));
    let (_, ledger) = get(&api, "/customers/custom/c-1/ledger").await;
    assert_eq!(ledger["lines"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn when_an_event_would_overflow_then_the_earn_service_calls_it_permanent() {
    // The earn Lambda sends a non-retryable failure to the dead-letter queue, never retries.
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let earner = Earner::new(Arc::new(EmbeddedStore::new()), program);
    let event = |id: &str, minor: i64| {
        let req = payment(id, minor);
        saguaro_app::incoming::parse_event(req.body()).unwrap()
    };
    earner
        .apply(&event("e1", 5_000_000_000_000_000_000))
        .await
        .unwrap();
    let err = earner
        .apply(&event("e2", 4_000_000_000_000_000_000))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(matches!(
        err,
        saguaro_app::EarnError::Rejected {
            source: saguaro_domain::EngineError::Overflow,
            ..
        }
    ));
}

/// The embedded store, failing the first commit without a marker (the one that clears a
/// customer's delivered follow-ups), as a crash right after the referrer's commit would.
#[derive(Debug)]
struct CrashBeforeClearing {
    inner: Arc<EmbeddedStore>,
    crashed: AtomicBool,
}

impl StateStore for CrashBeforeClearing {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        self.inner.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        if commit.marker.is_none() && !self.crashed.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Unavailable("crashed".into()));
        }
        self.inner.commit(commit).await
    }
}

#[tokio::test]
async fn when_the_referral_follow_up_is_delivered_twice_then_the_referrer_is_credited_once() {
    let program = Arc::new(
        Program::parse(
            r#"
[program]
name = "Referrals"
timezone = "UTC"

[[earn]]
id = "referral-referrer"
on = "referral.converted"
points = 1000
beneficiary = "referrer"
"#,
        )
        .unwrap(),
    );
    let inner = Arc::new(EmbeddedStore::new());
    let earner = Earner::new(
        CrashBeforeClearing {
            inner: inner.clone(),
            crashed: AtomicBool::new(false),
        },
        program,
    );
    let body = json!({
        "id": "evt-1", "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "friend" },
        "occurred_at": "2026-05-01T10:00:00Z",
        "amount": { "minor": 1999, "currency": "usd" }, "payment": "pay-1",
        "referrer": { "provider": "custom", "id": "referrer" },
    });
    let event = saguaro_app::incoming::parse_event(body.to_string().as_bytes()).unwrap();
    // The referrer is credited, then the crash leaves the follow-up pending.
    assert!(earner.apply(&event).await.is_err());
    let friend = CustomerId::new(Provider::Custom, "friend");
    let referrer = CustomerId::new(Provider::Custom, "referrer");
    let pending = inner.load(&friend).await.unwrap().unwrap().pending;
    assert_eq!(pending.len(), 1);

    // The redelivery delivers the follow-up again: its marker makes it a no-op.
    earner.apply(&event).await.unwrap();

    let referrer_state = inner.load(&referrer).await.unwrap().unwrap();
    assert_eq!(referrer_state.balance, 1000);
    assert!(
        inner
            .load(&friend)
            .await
            .unwrap()
            .unwrap()
            .pending
            .is_empty()
    );
}
