//! Shared set-up of the function tests: the moto server that `infra/test.sh` starts, a fresh
//! FIFO earn queue per test, API Gateway HTTP API (v2) request events, and a receive helper.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use base64::Engine as _;
use serde_json::{Value, json};

pub const ENDPOINT_VAR: &str = "SAGUARO_TEST_AWS_ENDPOINT";

/// The emulator's endpoint. A test without it fails: it never passes by skipping.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{ENDPOINT_VAR} is not set: run infra/test.sh, which starts moto server"),
    }
}

pub async fn client() -> Client {
    let shared = aws_config::from_env().endpoint_url(endpoint()).load().await;
    Client::new(&shared)
}

pub async fn fresh_queue(client: &Client, test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    let name = format!(
        "{test}-{}-{nanos}-{}.fifo",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    saguaro_sqs::create_fifo_queue(client, &name)
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
}

/// (body, group id, dedup id) of every message on the queue, waiting at most `wait_secs`.
pub async fn receive_all(
    client: &Client,
    queue_url: &str,
    wait_secs: i32,
) -> Vec<(Value, String, String)> {
    let out = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_secs)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("receiving from {queue_url}: {e:?}"));
    out.messages
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let attr = |n: MessageSystemAttributeName| {
                m.attributes()
                    .and_then(|a| a.get(&n))
                    .cloned()
                    .unwrap_or_default()
            };
            (
                serde_json::from_str(m.body().unwrap_or_default()).unwrap(),
                attr(MessageSystemAttributeName::MessageGroupId),
                attr(MessageSystemAttributeName::MessageDeduplicationId),
            )
        })
        .collect()
}

/// An API Gateway HTTP API (payload format 2.0) event for `POST {path}`, as Lambda receives
/// it; the body base64-encoded when `base64` is true (as API Gateway does for bodies it does
/// not treat as text).
pub fn http_api_event(path: &str, headers: &[(&str, &str)], body: &[u8], base64: bool) -> String {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).unwrap()
    };
    json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api1234567",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "10/Mar/2026:10:00:00 +0000",
            "timeEpoch": 1_773_136_800_000_i64
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}

/// The providers crate's hand-built test data.
pub fn provider_data(rel: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/providers/tests/data")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `/work/shared/fixtures`: real payloads from public sources.
pub fn shared_fixture(rel: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
