//! Bounded work per event (issue 13): a payment of `i64::MAX` minor units under a program
//! without a cap is answered within a second with one outbox row, and memory stays flat.
//! Before, every redemption was its own row: 10⁹ minor units made a million rows and 710 MB,
//! `i64::MAX` ran the process out of memory.
//!
//! Its own test binary, one test: the peak resident set size it reads (`VmHWM`) is then this
//! test's alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use saguaro_app::Earner;
use saguaro_app::router;
use saguaro_domain::Program;
use saguaro_domain::ports::SystemClock;
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};

/// The example program's earning and credit, with no cap.
const PROGRAM: &str = r#"
[program]
name = "No cap"
timezone = "America/New_York"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }

[[rewards]]
id = "credit-10"
kind = "billing_credit"
cost = 1000
value = { usd = 1000 }

[[rewards]]
id = "tote-bag"
kind = "perk"
cost = 1000
url = "https://example.com/tote"
"#;

/// Peak resident set size of this process so far, in KiB (Linux `/proc/self/status`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn when_a_payment_is_i64_max_minor_units_then_one_row_within_a_second_and_memory_flat() {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let store = Arc::new(EmbeddedStore::new());
    let api = common::BytesApi(
        router::events(Earner::new(store.clone(), program.clone())).merge(router::customers(
            store,
            SystemClock,
            program,
        )),
    );
    let body = json!({
        "id": "evt-max", "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "whale" },
        "occurred_at": "2026-05-01T10:00:00Z",
        "amount": { "minor": i64::MAX, "currency": "usd" }, "payment": "pay-max",
    });
    let request = Request::post("/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let rss_before = peak_rss_kib();

    let started = Instant::now();
    let res = api.handle(request).await;
    let elapsed = started.elapsed();

    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(elapsed < Duration::from_secs(1), "answered in {elapsed:?}");
    let grown = peak_rss_kib().saturating_sub(rss_before);
    assert!(grown < 8 * 1024, "peak memory grew by {grown} KiB");

    let rewards = api
        .handle(
            Request::get("/customers/custom/whale/rewards")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    let rewards: Value = serde_json::from_slice(rewards.body()).unwrap();
    let rows = rewards["rewards"].as_array().unwrap();
    // floor(i64::MAX / 100) = 92,233,720,368,547,758 points: 92,233,720,368,547 credits of
    // 1,000 in one row (10.00 usd each), and the perk at most once per event (not affordable
    // after the credit).
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["reward"], json!("credit-10"));
    assert_eq!(rows[0]["quantity"], json!(92_233_720_368_547_u64));
    assert_eq!(rows[0]["points"], json!(92_233_720_368_547_000_i64));
    assert_eq!(
        rows[0]["value"],
        json!({ "minor": 92_233_720_368_547_000_i64, "currency": "usd" })
    );
    let customer = api
        .handle(
            Request::get("/customers/custom/whale")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    let customer: Value = serde_json::from_slice(customer.body()).unwrap();
    assert_eq!(customer["balance"], json!(758));
}
