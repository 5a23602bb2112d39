//! API Gateway request events, as the webhook Lambdas receive them.

use base64::Engine as _;
use serde_json::{Value, json};

/// An API Gateway HTTP API (payload format 2.0) event for `POST {path}` from `user_agent`, as
/// Lambda receives it; the body base64-encoded when `base64` is true (as API Gateway does for
/// bodies it does not treat as text).
pub fn http_api_event(
    path: &str,
    user_agent: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64: bool,
) -> String {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec())
            .unwrap_or_else(|e| panic!("a body sent as text must be UTF-8: {e}"))
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
                "userAgent": user_agent
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
