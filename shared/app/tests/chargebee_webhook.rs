//! `POST /webhooks/chargebee` through its router: Basic credentials, normalisation
//! (`subscription_changed` as `subscription.changed` with the new state), and the sink's
//! verdict, each as the status and body Chargebee sees and what reached the sink.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use base64::Engine as _;
use http::{Request, StatusCode};
use jiff::Timestamp;
use saguaro_app::http::MAX_BODY_BYTES;
use saguaro_app::router;
use saguaro_app::webhooks::ChargebeeWebhook;
use saguaro_domain::{Currency, CustomerId, Money, Provider, Trigger};
use saguaro_providers::chargebee::{BasicAuth, Password};
use saguaro_testkit::{fixture, provider_data};
use serde_json::{Value, json};

use common::{Mode, RecordingSink, Routed, answer};

fn chargebee_webhook(mode: Mode) -> Routed {
    let sink = RecordingSink::new(mode);
    let webhook = ChargebeeWebhook::new(
        BasicAuth::new("saguaro", &Password::new("pa55")),
        sink.clone(),
        Some("referred_by".to_owned()),
    );
    Routed::new(router::chargebee_webhook(webhook), sink)
}

fn request(body: Vec<u8>, headers: &[(&str, &str)]) -> Request<Body> {
    common::post("/webhooks/chargebee", body, headers)
}

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn authenticated(body: Vec<u8>) -> Request<Body> {
    request(
        body,
        &[
            ("content-type", "application/json"),
            ("authorization", &basic("saguaro:pa55")),
        ],
    )
}

#[tokio::test]
async fn when_chargebee_payment_is_authenticated_then_it_is_submitted_and_200() {
    let hook = chargebee_webhook(Mode::Accept);
    let res = hook
        .handle(authenticated(provider_data(
            "chargebee/pc2_payment_succeeded.json",
        )))
        .await;
    assert_eq!(
        answer(res).await,
        (StatusCode::OK, json!({ "received": true }))
    );
    let events = hook.sink().events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id.as_str(), "ev_pc2_paid_1");
    assert_eq!(
        events[0].customer,
        CustomerId::new(Provider::Chargebee, "cust_pc2")
    );
    assert_eq!(events[0].trigger, Trigger::PaymentSucceeded);
    assert_eq!(events[0].refs.payment.as_deref(), Some("txn_pc2_paid"));
    assert_eq!(
        events[0].amount,
        Some(Money::new(11667, "inr".parse::<Currency>().unwrap()))
    );
}

#[tokio::test]
async fn when_chargebee_subscription_changes_then_subscription_changed_with_new_state() {
    // given a PC 2.0 change: 2 × 120.00 + 24.00 EUR a year (the 50.00 setup charge is
    // one-time) = 264.00 a year = 2200 cents a month
    let hook = chargebee_webhook(Mode::Accept);
    let body = provider_data("chargebee/pc2_subscription_changed.json");
    // when
    let res = hook.handle(authenticated(body)).await;
    // then
    assert_eq!(
        answer(res).await,
        (StatusCode::OK, json!({ "received": true }))
    );
    let events = hook.sink().events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.trigger, Trigger::SubscriptionChanged);
    assert_eq!(e.id.as_str(), "ev_pc2_changed_1");
    assert_eq!(
        e.occurred_at,
        Timestamp::from_second(1_703_000_000).unwrap()
    );
    let sub = e.subscription.as_ref().unwrap();
    assert_eq!(sub.id, "sub_pc2_1");
    assert_eq!(sub.resource_version, Some(1_703_000_000_123));
    assert_eq!(
        sub.monthly_amount,
        Some(Money::new(2200, "eur".parse::<Currency>().unwrap()))
    );
    assert!(e.refs.referrer.is_some());
}

#[tokio::test]
async fn when_chargebee_credentials_are_wrong_or_missing_then_401() {
    let hook = chargebee_webhook(Mode::Accept);
    let body = provider_data("chargebee/pc2_payment_succeeded.json");
    let wrong = basic("saguaro:nope");
    for headers in [
        vec![
            ("content-type", "application/json"),
            ("authorization", wrong.as_str()),
        ],
        vec![("content-type", "application/json")],
    ] {
        let res = hook.handle(request(body.clone(), &headers)).await;
        assert_eq!(
            answer(res).await,
            (StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
        );
    }
    assert!(hook.sink().events().is_empty());
}

#[tokio::test]
async fn when_chargebee_type_is_not_used_then_200_and_nothing_submitted() {
    let hook = chargebee_webhook(Mode::Accept);
    let body = fixture("chargebee/pc1/invoice_generated.json");
    let res = hook.handle(authenticated(body)).await;
    assert_eq!(
        answer(res).await,
        (StatusCode::OK, json!({ "received": true }))
    );
    assert!(hook.sink().events().is_empty());
}

#[tokio::test]
async fn when_chargebee_body_is_bad_then_400_413_415_or_500() {
    let hook = chargebee_webhook(Mode::Accept);
    let res = hook.handle(authenticated(b"[1,2".to_vec())).await;
    assert_eq!(
        answer(res).await,
        (StatusCode::BAD_REQUEST, json!({ "error": "malformed" }))
    );
    let res = hook
        .handle(authenticated(vec![b' '; MAX_BODY_BYTES + 1]))
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = hook
        .handle(request(
            provider_data("chargebee/pc2_payment_succeeded.json"),
            &[("authorization", &basic("saguaro:pa55"))],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // a payment without its transaction cannot be normalised: Chargebee must retry
    let mut event: Value =
        serde_json::from_slice(&provider_data("chargebee/pc2_payment_succeeded.json")).unwrap();
    event["content"]
        .as_object_mut()
        .unwrap()
        .remove("transaction");
    let res = hook
        .handle(authenticated(serde_json::to_vec(&event).unwrap()))
        .await;
    assert_eq!(
        answer(res).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "internal" })
        )
    );
    assert!(hook.sink().events().is_empty());
}

#[tokio::test]
async fn when_chargebee_sink_is_unavailable_then_503() {
    let hook = chargebee_webhook(Mode::Unavailable);
    let res = hook
        .handle(authenticated(provider_data(
            "chargebee/pc2_payment_succeeded.json",
        )))
        .await;
    assert_eq!(
        answer(res).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "error": "unavailable" })
        )
    );
}
