//! `POST /customers/{provider}/{id}/adjustments` on `saguaro serve`'s router over a real
//! socket: a keyed adjustment replayed is applied once and the ledger line carries its
//! reason; a negative one may take the balance below zero (a deficit the next positive line
//! repays); a bad body is a 400 that says what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use reqwest::{Method, StatusCode};
use saguaro::{Runner, WebhookSecrets};
use saguaro_app::config::load_program;
use serde_json::{Value, json};

const PATH: &str = "/customers/custom/c-1/adjustments";

/// A runner on a free port (no webhooks configured).
async fn start() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    );
    let program = load_program(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let secrets = WebhookSecrets {
        stripe: None,
        chargebee: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Runner::with_webhooks(program, secrets).serve(listener));
    format!("http://{addr}")
}

/// Status and JSON body of one request.
async fn send(base: &str, method: Method, path: &str, body: Option<String>) -> (StatusCode, Value) {
    let mut req = saguaro_delivery::http::builder()
        .unwrap()
        .build()
        .unwrap()
        .request(method, format!("{base}{path}"));
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn adjust(base: &str, body: &Value) -> (StatusCode, Value) {
    send(base, Method::POST, PATH, Some(body.to_string())).await
}

async fn balance(base: &str) -> i64 {
    let (status, body) = send(base, Method::GET, "/customers/custom/c-1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["balance"].as_i64().unwrap()
}

async fn ledger(base: &str) -> Vec<Value> {
    let (status, body) = send(base, Method::GET, "/customers/custom/c-1/ledger", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["lines"].as_array().unwrap().clone()
}

#[tokio::test]
async fn when_a_keyed_adjustment_is_replayed_then_it_is_applied_once_with_its_reason() {
    // given
    let base = start().await;
    let body = json!({ "points": 50, "reason": "goodwill: ticket #881", "id": "t-881" });
    // when
    let first = adjust(&base, &body).await;
    let replay = adjust(&base, &body).await;
    // then: both accepted under the same event id, one line
    let id = "adjust:custom:c-1:key:t-881";
    assert_eq!(first, (StatusCode::ACCEPTED, json!({ "id": id })));
    assert_eq!(replay, first);
    assert_eq!(balance(&base).await, 50);
    let lines = ledger(&base).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["kind"], "adjustment");
    assert_eq!(lines[0]["points"], 50);
    assert_eq!(lines[0]["reason"], "goodwill: ticket #881");
    assert_eq!(lines[0]["event_id"], id);
    // and the same key for another adjustment is a conflict, not applied
    let other = json!({ "points": 60, "reason": "goodwill: ticket #881", "id": "t-881" });
    assert_eq!(
        adjust(&base, &other).await,
        (StatusCode::CONFLICT, json!({ "error": "id_reused" }))
    );
    assert_eq!(balance(&base).await, 50);
}

#[tokio::test]
async fn when_adjustments_have_no_key_then_each_is_applied() {
    let base = start().await;
    let body = json!({ "points": 5, "reason": "welcome" });
    let (a, first) = adjust(&base, &body).await;
    let (b, second) = adjust(&base, &body).await;
    assert_eq!((a, b), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_ne!(first["id"], second["id"]);
    assert_eq!(balance(&base).await, 10);
}

#[tokio::test]
async fn when_a_negative_adjustment_exceeds_the_balance_then_it_goes_below_zero_until_repaid() {
    // given: 50 points
    let base = start().await;
    let grant = json!({ "points": 50, "reason": "migration", "id": "m-1" });
    assert_eq!(adjust(&base, &grant).await.0, StatusCode::ACCEPTED);
    // when: 80 taken back (fraud), then 45 given
    let claw = json!({ "points": -80, "reason": "chargeback fraud", "id": "f-1" });
    assert_eq!(adjust(&base, &claw).await.0, StatusCode::ACCEPTED);
    let below = balance(&base).await;
    let repay = json!({ "points": 45, "reason": "reinstated", "id": "r-1" });
    assert_eq!(adjust(&base, &repay).await.0, StatusCode::ACCEPTED);
    // then: a deficit of 30, which the next positive line repays first
    assert_eq!(below, -30);
    assert_eq!(balance(&base).await, 15);
    let lines = ledger(&base).await;
    let after: Vec<(i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["points"].as_i64().unwrap(),
                l["balance_after"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(after, [(45, 15), (-80, -30), (50, 50)]); // newest first
    assert_eq!(lines[1]["reason"], "chargeback fraud");
}

#[tokio::test]
async fn when_the_body_is_bad_then_400_says_what_is_wrong_and_nothing_is_applied() {
    let base = start().await;
    let max = saguaro_app::http::adjustments::MAX_ADJUSTMENT;
    let points = format!("points must be non-zero and between -{max} and {max}");
    let reason = "reason must be 1 to 500 characters, not only blanks";
    let cases: [(Value, &str, &str); 9] = [
        (
            json!({ "points": 0, "reason": "x" }),
            "invalid_event",
            &points,
        ),
        (
            json!({ "points": max + 1, "reason": "x" }),
            "invalid_event",
            &points,
        ),
        (
            json!({ "points": -max - 1, "reason": "x" }),
            "invalid_event",
            &points,
        ),
        (
            json!({ "points": 5, "reason": "  " }),
            "invalid_event",
            reason,
        ),
        (
            json!({ "points": 5, "reason": "é".repeat(501) }),
            "invalid_event",
            reason,
        ),
        (
            json!({ "points": 5, "reason": "a\nforged log line" }),
            "invalid_event",
            "`reason` contains a control character",
        ),
        (
            json!({ "points": 5, "reason": "x", "id": "k".repeat(201) }),
            "invalid_event",
            "id must be 1 to 200 characters",
        ),
        (
            json!({ "points": 5 }),
            "malformed",
            "missing field `reason`",
        ),
        (
            json!({ "points": "5", "reason": "x" }),
            "malformed",
            "points",
        ),
    ];
    for (body, code, detail) in cases {
        let (status, answer) = adjust(&base, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], code, "{body}: {answer}");
        let said = answer["detail"].as_str().unwrap();
        assert!(
            said.contains(detail),
            "{body}: {said:?} should say {detail:?}"
        );
    }
    let (status, _) = adjust(
        &base,
        &json!({ "points": 5, "reason": "x", "tier": "gold" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // no customer was made
    let (status, _) = send(&base, Method::GET, "/customers/custom/c-1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // a provider without customers is no route
    let (status, _) = send(
        &base,
        Method::POST,
        "/customers/scheduler/c-1/adjustments",
        Some(json!({ "points": 5, "reason": "x" }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
