//! The function's router from API Gateway HTTP API events to the earn queue on moto, each
//! event taken the way `lambda_http::run` takes it (decoded into a request, the response
//! converted back): an authenticated event lands on the queue with its customer as group id
//! and its event id as deduplication id; every refused or ignored request leaves the queue
//! empty; another path is a 404, another method a 405 naming the allowed one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use base64::Engine as _;
use lambda_http::{Body, IntoResponse, Response};
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_providers::chargebee::{BasicAuth, Password};
use saguaro_sqs::SqsQueue;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use common::{client, fresh_queue, http_api_event, provider_data, receive_all};

const PATH: &str = "/webhooks/chargebee";

struct Fixture {
    client: aws_sdk_sqs::Client,
    url: String,
    router: Router,
}

async fn fixture(test: &str) -> Fixture {
    let client = client().await;
    let url = fresh_queue(&client, test).await;
    let router = chargebee_webhook::router(ChargebeeWebhook::new(
        BasicAuth::new("saguaro", &Password::new("pa55word")),
        SqsQueue::new(client.clone(), &url),
        Some("referred_by".to_owned()),
    ));
    Fixture {
        client,
        url,
        router,
    }
}

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn authenticated_event(body: &[u8], base64: bool) -> String {
    http_api_event(
        PATH,
        &[
            ("content-type", "application/json"),
            ("authorization", &basic("saguaro:pa55word")),
        ],
        body,
        base64,
    )
}

impl Fixture {
    /// The API Gateway response to `event_json`, as `lambda_http::run` builds it.
    async fn respond(&self, event_json: &str) -> Response<Body> {
        let req = lambda_http::request::from_str(event_json).unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        res.into_response().await
    }

    async fn call(&self, event_json: &str) -> (u16, Value) {
        let res = self.respond(event_json).await;
        let body = match res.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        };
        (res.status().as_u16(), body)
    }
}

#[tokio::test]
async fn when_payment_succeeded_is_authenticated_then_it_lands_on_the_queue() {
    // given
    let f = fixture("cb-paid").await;
    let body = provider_data("chargebee/pc2_payment_succeeded.json");
    // when
    let answer = f.call(&authenticated_event(&body, false)).await;
    // then
    assert_eq!(answer, (200, json!({ "received": true })));
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (event, group, dedup) = &messages[0];
    assert_eq!(group, "chargebee:cust_pc2");
    assert_eq!(dedup, "ev_pc2_paid_1");
    assert_eq!(event["trigger"], "payment.succeeded");
    assert_eq!(
        event["amount"],
        json!({ "minor": 11667, "currency": "inr" })
    );
    assert_eq!(event["refs"]["payment"], "txn_pc2_paid");
}

#[tokio::test]
async fn when_subscription_changed_arrives_base64_encoded_then_it_is_queued_as_changed() {
    // given a real PC 1.0 `subscription_created` sample (Chargebee's docs), base64-encoded
    let f = fixture("cb-b64").await;
    let body = saguaro_testkit::fixture("chargebee/pc1/subscription_created.json");
    assert_eq!(
        f.call(&authenticated_event(&body, true)).await,
        (200, json!({ "received": true }))
    );
    // and a PC 2.0 change
    let change = provider_data("chargebee/pc2_subscription_changed.json");
    assert_eq!(
        f.call(&authenticated_event(&change, true)).await,
        (200, json!({ "received": true }))
    );
    // then both are queued, each in its customer's group
    let messages = receive_all(&f.client, &f.url, 1).await;
    let ids: Vec<(&str, &str, &str)> = messages
        .iter()
        .map(|(e, g, d)| (e["trigger"].as_str().unwrap(), g.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (
                "subscription.created",
                "chargebee:16CHTnSAxXWqMAg8",
                "ev_AzqgumSAxXl56AxY"
            ),
            (
                "subscription.changed",
                "chargebee:cust_pc2",
                "ev_pc2_changed_1"
            ),
        ]
    );
    // the change carries its new state; the engine compares it with its snapshot
    let changed = &messages[1].0;
    assert_eq!(
        changed["subscription"]["resource_version"],
        1_703_000_000_123_i64
    );
    assert_eq!(
        changed["subscription"]["monthly_amount"],
        json!({ "minor": 2200, "currency": "eur" })
    );
}

#[tokio::test]
async fn when_request_is_refused_or_ignored_then_nothing_is_queued() {
    // given
    let f = fixture("cb-refused").await;
    let body = provider_data("chargebee/pc2_payment_succeeded.json");
    let wrong = basic("saguaro:guess");
    let good = basic("saguaro:pa55word");
    let big = vec![b' '; saguaro_app::http::MAX_BODY_BYTES + 1];
    let ignored = saguaro_testkit::fixture("chargebee/pc1/invoice_generated.json");
    let cases = [
        (
            http_api_event(
                PATH,
                &[
                    ("content-type", "application/json"),
                    ("authorization", &wrong),
                ],
                &body,
                false,
            ),
            401,
            json!({ "error": "unauthorized" }),
        ),
        (
            http_api_event(PATH, &[("content-type", "application/json")], &body, false),
            401,
            json!({ "error": "unauthorized" }),
        ),
        (
            authenticated_event(br#"{"event_type": "payment_succeeded"}"#, false),
            400,
            json!({ "error": "malformed" }),
        ),
        (
            authenticated_event(&big, true),
            413,
            json!({ "error": "payload_too_large" }),
        ),
        (
            http_api_event(
                PATH,
                &[("content-type", "text/plain"), ("authorization", &good)],
                &body,
                false,
            ),
            415,
            json!({ "error": "unsupported_media_type" }),
        ),
        (
            authenticated_event(&ignored, false),
            200,
            json!({ "received": true }),
        ),
    ];
    // when
    for (event, status, answer) in cases {
        assert_eq!(f.call(&event).await, (status, answer.clone()), "{answer}");
    }
    // then
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert!(messages.is_empty(), "{messages:?}");
}

#[tokio::test]
async fn when_path_or_method_is_not_the_webhook_then_404_or_405_with_allow() {
    // given
    let f = fixture("cb-routes").await;
    let body = provider_data("chargebee/pc2_payment_succeeded.json");
    let elsewhere = http_api_event(
        "/webhooks/stripe",
        &[
            ("content-type", "application/json"),
            ("authorization", &basic("saguaro:pa55word")),
        ],
        &body,
        false,
    );
    let get = common::with_method(&authenticated_event(&body, false), "GET");
    // when
    let not_found = f.respond(&elsewhere).await;
    let not_allowed = f.respond(&get).await;
    // then
    assert_eq!(not_found.status(), 404);
    assert_eq!(
        not_found.body(),
        &Body::Text(json!({ "error": "not_found" }).to_string())
    );
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(not_allowed.headers()["allow"], "POST");
    assert_eq!(
        not_allowed.body(),
        &Body::Text(json!({ "error": "method_not_allowed" }).to_string())
    );
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert!(messages.is_empty(), "{messages:?}");
}
