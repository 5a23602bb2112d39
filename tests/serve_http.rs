//! `saguaro serve` over real HTTP: the routes of docs/design.md §8 with the example program.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::path::PathBuf;

use reqwest::StatusCode;
use saguaro::Runner;
use saguaro_app::config::load_program;
use serde_json::{Value, json};

struct Server {
    base: String,
}

async fn start() -> Server {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/program.example.toml");
    let program = load_program(&path).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Runner::new(program).serve(listener));
    Server {
        base: format!("http://{addr}"),
    }
}

impl Server {
    async fn post(&self, body: &str) -> (StatusCode, Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/events", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

fn payment(id: &str, customer: &str, minor: i64, at: &str) -> String {
    json!({
        "id": id,
        "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": customer },
        "occurred_at": at,
        "amount": { "minor": minor, "currency": "usd" },
        "payment": format!("pay-{id}"),
        "subscription": { "id": "sub-9", "plan": "price_gold", "status": "active",
                          "started_at": "2025-02-28T09:00:00Z" }
    })
    .to_string()
}

#[tokio::test]
async fn when_events_are_posted_then_the_next_get_shows_their_effect() {
    let s = start().await;
    // 19.99 in double December: floor(19.99 × 1 × 2) = 39 points
    let (status, body) = s
        .post(&payment("evt-1001", "c-42", 1999, "2026-12-05T10:00:00Z"))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({ "id": "evt-1001" }))
    );
    let (status, body) = s.get("/customers/custom/c-42").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "balance": 39,
            "qualifying_points": 39,
            "tier": "Member",
            "grants": [],
            // earned 5 December 2026 (New York), [expiry] after_days = 365
            "next_expiry": [{ "date": "2027-12-05", "points": 39 }]
        })
    );

    // 10,000 usd in November (no promotion): 20,000-point cap per month → Gold
    let (status, _) = s
        .post(&payment(
            "evt-1002",
            "c-42",
            10_000_000,
            "2026-11-05T10:00:00Z",
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, body) = s.get("/customers/custom/c-42").await;
    // 20,039 earned; credit-10 (1,000 points) was redeemed twenty times at once, automatically
    assert_eq!(body["qualifying_points"], json!(20_039));
    assert_eq!(body["balance"], json!(39));
    assert_eq!(body["tier"], json!("Gold"));
    assert_eq!(
        body["grants"],
        json!(["early-access", "gold-lounge", "priority-support"])
    );

    let (status, body) = s.get("/customers/custom/c-42/ledger?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let lines = body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["seq"].as_u64() > lines[1]["seq"].as_u64(),
        "newest first"
    );
    assert_eq!(lines[0]["kind"], json!("redemption"));
    assert_eq!(lines[0]["rule"], json!("credit-10"));
    assert_eq!(lines[0]["points"], json!(-20_000));
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (_, next) = s
        .get(&format!(
            "/customers/custom/c-42/ledger?limit=100&cursor={cursor}"
        ))
        .await;
    let all = next["lines"].as_array().unwrap();
    assert_eq!(
        all.len(),
        3 - 2,
        "2 earn lines + 1 redemption of 20 credits, minus the first page"
    );
    assert_eq!(next["next_cursor"], Value::Null);
    assert_eq!(all.last().unwrap()["points"], json!(39));

    let (status, body) = s.get("/customers/custom/c-42/rewards").await;
    assert_eq!(status, StatusCode::OK);
    let rewards = body["rewards"].as_array().unwrap();
    assert_eq!(
        rewards.len(),
        2,
        "one row of 20 credits + the Gold lounge access"
    );
    let credits: Vec<&Value> = rewards
        .iter()
        .filter(|r| r["reward"] == json!("credit-10"))
        .collect();
    assert_eq!(credits.len(), 1);
    assert_eq!(credits[0]["quantity"], json!(20));
    assert_eq!(credits[0]["points"], json!(20_000));
    assert_eq!(
        credits[0]["value"],
        json!({ "minor": 20_000, "currency": "usd" })
    );
    assert!(rewards.iter().all(|r| r["status"] == json!("pending")));
    let lounge: Vec<&Value> = rewards
        .iter()
        .filter(|r| r["kind"] == json!("access"))
        .collect();
    assert_eq!(lounge.len(), 1);
    assert_eq!(lounge[0]["grant"], json!("gold-lounge"));
}

#[tokio::test]
async fn when_an_event_is_posted_twice_then_it_counts_once_and_a_reused_id_is_a_conflict() {
    let s = start().await;
    let body = payment("evt-dup", "c-1", 50_000, "2026-11-05T10:00:00Z");
    assert_eq!(s.post(&body).await.0, StatusCode::ACCEPTED);
    assert_eq!(s.post(&body).await.0, StatusCode::ACCEPTED);
    let (_, customer) = s.get("/customers/custom/c-1").await;
    assert_eq!(customer["qualifying_points"], json!(500));
    let other = payment("evt-dup", "c-1", 70_000, "2026-11-05T10:00:00Z");
    assert_eq!(
        s.post(&other).await,
        (StatusCode::CONFLICT, json!({ "error": "id_reused" }))
    );
    let (_, customer) = s.get("/customers/custom/c-1").await;
    assert_eq!(customer["qualifying_points"], json!(500));
}

#[tokio::test]
async fn when_a_request_is_rejected_then_nothing_is_applied() {
    let s = start().await;
    let good = payment("evt-x", "c-9", 5_000, "2026-11-05T10:00:00Z");
    let cases: Vec<(String, &str, StatusCode, &str)> = vec![
        (
            "{ not json".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            good.replace("\"payment\":", "\"paymnt\":"),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            good.replace("\"minor\":5000", "\"minor\":50.5"),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            good.replace("payment.succeeded", "points.adjusted"),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_event",
        ),
        (
            good.replace("payment.succeeded", "invoice.paid"),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            good.clone(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            format!("{{\"id\":\"{}\"}}", "x".repeat(1024 * 1024)),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let res = reqwest::Client::new()
            .post(format!("{}/events", s.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{code}");
        let answer = res.json::<Value>().await.unwrap();
        assert_eq!(answer["error"], json!(code));
        // A 400 of `POST /events` says what is wrong in `detail`; other errors carry only
        // their code.
        let keys = if status == StatusCode::BAD_REQUEST {
            2
        } else {
            1
        };
        assert_eq!(answer.as_object().unwrap().len(), keys, "{answer}");
        assert_eq!(
            s.get("/customers/custom/c-9").await.0,
            StatusCode::NOT_FOUND,
            "{code}: nothing applied"
        );
    }
}

#[tokio::test]
async fn when_customer_is_unknown_then_404() {
    let s = start().await;
    for path in [
        "/customers/custom/ghost",
        "/customers/custom/ghost/ledger",
        "/customers/custom/ghost/rewards",
        "/customers/paypal/ghost",
        "/nowhere",
    ] {
        assert_eq!(
            s.get(path).await,
            (StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
            "{path}"
        );
    }
}

#[tokio::test]
async fn when_a_referred_customer_first_pays_then_the_referrer_is_credited() {
    let s = start().await;
    let mut first =
        serde_json::from_str::<Value>(&payment("evt-r1", "friend", 2_000, "2026-11-05T10:00:00Z"))
            .unwrap();
    first["referrer"] = json!({ "provider": "custom", "id": "host" });
    assert_eq!(s.post(&first.to_string()).await.0, StatusCode::ACCEPTED);
    // friend: 20 for spend + 200 for the referral; host: 1000 → redeemed as one credit-10
    assert_eq!(
        s.get("/customers/custom/friend").await.1["balance"],
        json!(220)
    );
    let (status, host) = s.get("/customers/custom/host").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(host["qualifying_points"], json!(1000));
    assert_eq!(
        host["balance"],
        json!(1000),
        "no currency known for host yet: the credit waits"
    );
}
