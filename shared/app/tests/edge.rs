//! The edge against hostile or careless clients (issue 8, parts 2 and 3), through the public
//! routes: customer ids with special characters read back at their percent-encoded paths;
//! bodies that are compressed, too long in characters, in no ISO 4217 currency or with an
//! impossible offset; ids that would forge log lines; error answers that never quote a value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use saguaro_app::Earner;
use saguaro_app::ports::SystemClock;
use saguaro_app::router;
use saguaro_domain::Program;
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use common::answer;

const PROGRAM: &str = r#"
[program]
name = "Edge"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#;

fn app() -> Router {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let store = Arc::new(EmbeddedStore::new());
    router::with_not_found(
        router::events(Earner::new(store.clone(), program.clone())).merge(router::customers(
            store,
            SystemClock,
            program,
        )),
    )
}

fn payment(id: &str, customer: &str) -> Value {
    json!({
        "id": id, "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": customer },
        "occurred_at": "2026-05-01T10:00:00Z",
        "amount": { "minor": 1999, "currency": "usd" }, "payment": format!("pay-{id}"),
    })
}

async fn post(app: &Router, body: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/events")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    answer(app.clone().oneshot(req).await.unwrap()).await
}

async fn get(app: &Router, path: &str) -> (StatusCode, Value) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    answer(app.clone().oneshot(req).await.unwrap()).await
}

#[tokio::test]
async fn when_a_customer_id_has_special_characters_then_its_encoded_path_reads_it() {
    let app = app();
    for (n, (id, encoded)) in [
        ("a b", "a%20b"),
        ("a/b", "a%2Fb"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("100%", "100%25"),
        ("alice@example.com", "alice%40example.com"),
        ("alice@example.com", "alice@example.com"),
        ("zoë-東京", "zo%C3%AB-%E6%9D%B1%E4%BA%AC"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, _) = post(&app, &payment(&format!("evt-{n}"), id).to_string()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{id}");
        let (status, summary) = get(&app, &format!("/customers/custom/{encoded}")).await;
        assert_eq!(status, StatusCode::OK, "{id} at {encoded}");
        assert!(
            summary["balance"].as_i64().unwrap() >= 19,
            "{id}: {summary}"
        );
        let (status, ledger) = get(&app, &format!("/customers/custom/{encoded}/ledger")).await;
        assert_eq!(status, StatusCode::OK, "{id} at {encoded}/ledger");
        assert_eq!(ledger["lines"][0]["event_id"], format!("evt-{n}"), "{id}");
        let (status, rewards) = get(&app, &format!("/customers/custom/{encoded}/rewards")).await;
        assert_eq!(status, StatusCode::OK, "{id} at {encoded}/rewards");
        assert_eq!(rewards["rewards"], json!([]), "{id}");
    }
}

async fn post_encoded(app: &Router, body: &str, encoding: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/events")
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(Body::from(body.to_owned()))
        .unwrap();
    answer(app.clone().oneshot(req).await.unwrap()).await
}

#[tokio::test]
async fn when_a_body_is_content_encoded_then_415_unless_identity() {
    let app = app();
    for encoding in ["gzip", "br", "deflate", "identity, gzip"] {
        let (status, body) =
            post_encoded(&app, &payment("evt-z", "c-z").to_string(), encoding).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{encoding}");
        assert_eq!(
            body,
            json!({ "error": "unsupported_media_type" }),
            "{encoding}"
        );
    }
    assert_eq!(
        get(&app, "/customers/custom/c-z").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = post_encoded(&app, &payment("evt-z", "c-z").to_string(), "Identity").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn when_an_id_is_255_characters_of_two_bytes_then_accepted_and_256_refused() {
    let app = app();
    let at_limit = "é".repeat(255);
    let (status, _) = post(&app, &payment(&at_limit, &at_limit).to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let over = "é".repeat(256);
    for body in [payment(&over, "c-1"), payment("evt-2", &over)] {
        let (status, answer) = post(&app, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error"], "invalid_event");
    }
    assert_eq!(
        get(&app, "/customers/custom/c-1").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn when_a_currency_is_no_iso_4217_code_then_400_naming_the_field() {
    let app = app();
    for code in ["abc", "xyz", "usa"] {
        let mut body = payment("evt-c", "c-c");
        body["amount"]["currency"] = json!(code);
        let (status, answer) = post(&app, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(answer["error"], "malformed", "{code}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(
                "`amount.currency`: invalid value, expected an ISO 4217 currency code"
            ),
            "{detail}"
        );
        assert!(!detail.contains(code), "{detail}");
    }
    assert_eq!(
        get(&app, "/customers/custom/c-c").await.0,
        StatusCode::NOT_FOUND
    );
    let mut body = payment("evt-c", "c-c");
    body["amount"]["currency"] = json!("USD");
    assert_eq!(post(&app, &body.to_string()).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn when_an_offset_is_past_23_59_then_400_and_at_23_59_accepted() {
    let app = app();
    for at in ["2026-05-01T10:00:00+24:00", "2026-05-01T10:00:00-25:00"] {
        let mut body = payment("evt-o", "c-o");
        body["occurred_at"] = json!(at);
        let (status, answer) = post(&app, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{at}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("`occurred_at`: invalid value, expected an RFC 3339 timestamp"),
            "{detail}"
        );
    }
    let mut body = payment("evt-o", "c-o");
    body["occurred_at"] = json!("2026-05-01T10:00:00+23:59");
    assert_eq!(post(&app, &body.to_string()).await.0, StatusCode::ACCEPTED);
    let (_, ledger) = get(&app, "/customers/custom/c-o/ledger").await;
    assert_eq!(ledger["lines"][0]["occurred_at"], "2026-04-30T10:01:00Z");
}

#[tokio::test]
async fn when_an_id_would_forge_a_log_line_then_400_and_nothing_applied() {
    let app = app();
    let cases: Vec<(Value, &str)> = vec![
        (payment("evt-1\nINFO forged line", "c-1"), "id"),
        (payment("\u{1b}[31mevt-2", "c-2"), "id"),
        (payment("evt-3", "c-3\n"), "customer.id"),
        (payment("evt-4", "\u{1b}[2Jc-4"), "customer.id"),
        (
            {
                let mut p = payment("evt-5", "c-5");
                p["payment"] = json!("pay\r\n5");
                p
            },
            "payment",
        ),
        (
            {
                let mut p = payment("evt-6", "c-6");
                p["subscription"] = json!({ "id": "sub-6", "plan": "gold\u{7}" });
                p
            },
            "subscription.plan",
        ),
    ];
    for (n, (body, field)) in cases.into_iter().enumerate() {
        let (status, answer) = post(&app, &body.to_string()).await;
        assert_eq!(
            (status, answer.clone()),
            (
                StatusCode::BAD_REQUEST,
                json!({ "error": "invalid_event", "detail": format!("`{field}` contains a control character") })
            ),
            "{body}"
        );
        let customer = body["customer"]["id"].as_str().unwrap();
        let encoded: String = customer.bytes().map(|b| format!("%{b:02X}")).collect();
        assert_eq!(
            get(&app, &format!("/customers/custom/{encoded}")).await.0,
            StatusCode::NOT_FOUND,
            "case {n}"
        );
    }
}

#[tokio::test]
async fn when_a_body_is_malformed_then_the_answer_says_where_without_the_value() {
    let app = app();
    let secret = "alice.smith@example.com, 221B Baker St";
    let mut wrong_type = payment("evt-m", "c-m");
    wrong_type["amount"]["minor"] = json!(secret);
    let mut wrong_trigger = payment("evt-m", "c-m");
    wrong_trigger["type"] = json!(secret);
    let mut unknown_field = payment("evt-m", "c-m");
    unknown_field[secret] = json!(1);
    let mut wrong_provider = payment("evt-m", "c-m");
    wrong_provider["customer"]["provider"] = json!(secret);
    let mut wrong_time = payment("evt-m", "c-m");
    wrong_time["occurred_at"] = json!(secret);
    for (body, expected) in [
        (
            wrong_type,
            "`amount.minor`: invalid type, expected i64 (line 1, column ",
        ),
        (wrong_trigger, "`type`: invalid value (line 1, column "),
        (
            wrong_provider,
            "`customer.provider`: unknown variant, expected one of `stripe`",
        ),
        (unknown_field, "unknown field, expected one of `id`, `type`"),
        (
            wrong_time,
            "`occurred_at`: invalid value, expected an RFC 3339 timestamp with an offset of at most ±23:59 (line 1, column ",
        ),
    ] {
        let (status, answer) = post(&app, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error"], "malformed");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.starts_with(expected), "{detail}");
        let text = answer.to_string();
        for part in ["alice", "smith", "example.com", "Baker"] {
            assert!(!text.contains(part), "{text}");
        }
    }
    let (status, answer) = post(&app, "{\"id\": \"evt-1\",").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["detail"],
        "EOF while parsing a value (line 1, column 15)"
    );
}

#[tokio::test]
async fn when_a_webhook_event_id_holds_a_control_character_then_400_and_nothing_submitted() {
    use base64::Engine as _;
    use saguaro_app::webhooks::ChargebeeWebhook;
    use saguaro_providers::chargebee::{BasicAuth, Password};

    let sink = common::RecordingSink::new(common::Mode::Accept);
    let hook = common::Routed::new(
        router::chargebee_webhook(ChargebeeWebhook::new(
            BasicAuth::new("saguaro", &Password::new("pa55")),
            sink.clone(),
            None,
        )),
        sink,
    );
    let original = String::from_utf8(saguaro_testkit::provider_data(
        "chargebee/pc2_payment_succeeded.json",
    ))
    .unwrap();
    assert!(original.contains("\"ev_pc2_paid_1\""));
    for forged in ["ev_pc2\\nINFO forged", "ev_pc2\\u001b[31m"] {
        let body = original.replace("\"ev_pc2_paid_1\"", &format!("\"{forged}\""));
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("saguaro:pa55")
        );
        let res = hook
            .handle(common::post(
                "/webhooks/chargebee",
                body.into_bytes(),
                &[
                    ("content-type", "application/json"),
                    ("authorization", &auth),
                ],
            ))
            .await;
        assert_eq!(
            answer(res).await,
            (StatusCode::BAD_REQUEST, json!({ "error": "invalid_event" })),
            "{forged}"
        );
    }
    assert!(hook.sink().events().is_empty());
}
