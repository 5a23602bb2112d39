//! `saguaro serve`'s merged router over a real socket: what no route takes (404), a route
//! asked with the wrong method (405 with `Allow`), and the body limit at its edge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use reqwest::{Method, StatusCode};
use saguaro::{Runner, WebhookSecrets};
use saguaro_app::config::load_program;
use saguaro_app::http::MAX_BODY_BYTES;
use saguaro_providers::chargebee::{BasicAuth, Password};
use serde_json::{Value, json};

/// A runner on a free port, with the Chargebee webhook configured and the Stripe one not.
async fn start() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    );
    let program = load_program(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let secrets = WebhookSecrets {
        stripe: None,
        chargebee: Some(BasicAuth::new("saguaro", &Password::new("pa55"))),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Runner::with_webhooks(program, secrets).serve(listener));
    format!("http://{addr}")
}

/// Status, `Allow` header and JSON body of one request.
async fn send(
    base: &str,
    method: Method,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Option<String>, Value) {
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
    let allow = res
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, allow, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn when_no_route_takes_the_path_then_404_not_found() {
    let base = start().await;
    for (method, path) in [
        (Method::GET, "/nowhere"),
        (Method::POST, "/nowhere"),
        (Method::GET, "/customers/custom"),
        (Method::GET, "/customers/custom/c-1/points"),
        (Method::POST, "/webhooks/paypal"),
        (Method::POST, "/events/extra"),
    ] {
        assert_eq!(
            send(&base, method.clone(), path, None).await,
            (StatusCode::NOT_FOUND, None, json!({ "error": "not_found" })),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn when_a_route_is_asked_with_another_method_then_405_with_the_allowed_ones() {
    let base = start().await;
    for (method, path, allow) in [
        (Method::GET, "/events", "POST"),
        (Method::PUT, "/events", "POST"),
        (Method::POST, "/customers/custom/c-1", "GET,HEAD"),
        (Method::DELETE, "/customers/custom/c-1/ledger", "GET,HEAD"),
        (Method::PATCH, "/customers/custom/c-1/rewards", "GET,HEAD"),
        // configured and not configured webhooks alike
        (Method::GET, "/webhooks/stripe", "POST"),
        (Method::GET, "/webhooks/chargebee", "POST"),
    ] {
        assert_eq!(
            send(&base, method.clone(), path, None).await,
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Some(allow.to_owned()),
                json!({ "error": "method_not_allowed" })
            ),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn when_body_is_at_the_limit_then_it_is_read_and_one_byte_more_is_413() {
    // given an event padded with spaces (still valid JSON) to exactly the limit
    let base = start().await;
    let event = json!({
        "id": "evt-limit",
        "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "c-limit" },
        "occurred_at": "2026-11-05T10:00:00Z",
        "amount": { "minor": 1000, "currency": "usd" },
        "payment": "pay-limit"
    })
    .to_string();
    let at_limit = event.clone() + &" ".repeat(MAX_BODY_BYTES - event.len());
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    // when
    let accepted = send(&base, Method::POST, "/events", Some(at_limit.clone())).await;
    let refused = send(&base, Method::POST, "/events", Some(format!("{at_limit} "))).await;
    // then
    assert_eq!(
        accepted,
        (StatusCode::ACCEPTED, None, json!({ "id": "evt-limit" }))
    );
    assert_eq!(
        refused,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            json!({ "error": "payload_too_large" })
        )
    );
}
