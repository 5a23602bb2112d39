//! Shared set-up of the function tests: the moto server that `infra/test.sh` starts, a fresh
//! FIFO earn queue per test, API Gateway HTTP API (v2) request events, and a receive helper.
//! The parts every emulator test needs come from [`saguaro_testkit`].

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub use saguaro_testkit::provider_data;
pub use saguaro_testkit::sqs::{client, fresh_queue, receive_json as receive_all};

/// The `User-Agent` the provider's webhook deliveries carry.
const USER_AGENT: &str = "ChargeBee";

/// An API Gateway HTTP API (payload format 2.0) event for `POST {path}`, as Lambda receives
/// it from the provider; see [`saguaro_testkit::apigw::http_api_event`].
pub fn http_api_event(path: &str, headers: &[(&str, &str)], body: &[u8], base64: bool) -> String {
    saguaro_testkit::apigw::http_api_event(path, USER_AGENT, headers, body, base64)
}

/// `event_json` (an HTTP API event) as a request with another method.
pub fn with_method(event_json: &str, method: &str) -> String {
    let mut event: serde_json::Value = serde_json::from_str(event_json).unwrap();
    let path = event["rawPath"].as_str().unwrap().to_owned();
    event["requestContext"]["http"]["method"] = method.into();
    event["routeKey"] = format!("{method} {path}").into();
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event.to_string()
}
