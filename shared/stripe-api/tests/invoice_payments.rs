//! `StripeApi::invoice_for_payment_intent` against a local stand-in for Stripe (wiremock):
//! the exact request it sends, and what it makes of each kind of answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use saguaro_app::ports::{LookupError, StripeLookup};
use saguaro_stripe_api::{ApiKey, STRIPE_VERSION, StripeApi, StripeApiError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk_test_51SaguaroLookup";
const PI: &str = "pi_3QBasilRefund";

/// Matches only the request the adapter must send: method, path, the three query
/// parameters, the bearer key and the pinned version.
fn exact_request() -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/v1/invoice_payments"))
        .and(query_param("payment[type]", "payment_intent"))
        .and(query_param("payment[payment_intent]", PI))
        .and(query_param("limit", "1"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("stripe-version", STRIPE_VERSION))
}

fn api(server: &MockServer) -> StripeApi {
    StripeApi::with_base_url(&ApiKey::new(KEY), &server.uri(), Duration::from_secs(2)).unwrap()
}

/// An invoice payment as the list endpoint returns it.
fn invoice_payment(invoice: Value) -> Value {
    json!({
        "id": "inpay_1QBasil",
        "object": "invoice_payment",
        "amount_paid": 3998,
        "amount_requested": 3998,
        "created": 1_743_500_000,
        "currency": "usd",
        "invoice": invoice,
        "is_default": true,
        "livemode": false,
        "payment": { "type": "payment_intent", "payment_intent": PI },
        "status": "paid",
        "status_transitions": { "canceled_at": null, "paid_at": 1_743_500_001 }
    })
}

fn list(data: Vec<Value>) -> Value {
    json!({
        "object": "list",
        "data": data,
        "has_more": false,
        "url": "/v1/invoice_payments"
    })
}

fn stripe_error(kind: &str, message: &str) -> Value {
    json!({ "error": { "type": kind, "message": message } })
}

/// The query string exactly as received, decoded, in order.
async fn received_query(server: &MockServer) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one request expected");
    requests[0]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn when_payment_intent_paid_an_invoice_then_its_id_is_returned() {
    // given
    let server = MockServer::start().await;
    exact_request()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list(vec![invoice_payment(json!("in_1QBasilInvoice"))])),
        )
        .expect(1)
        .mount(&server)
        .await;
    // when
    let invoice = api(&server).invoice_for_payment_intent(PI).await.unwrap();
    // then
    assert_eq!(invoice.as_deref(), Some("in_1QBasilInvoice"));
    let mut query = received_query(&server).await;
    query.sort();
    assert_eq!(
        query,
        [
            ("limit".to_owned(), "1".to_owned()),
            ("payment[payment_intent]".to_owned(), PI.to_owned()),
            ("payment[type]".to_owned(), "payment_intent".to_owned()),
        ]
    );
}

#[tokio::test]
async fn when_invoice_is_expanded_then_the_objects_id_is_returned() {
    let server = MockServer::start().await;
    let expanded = json!({
        "id": "in_1QExpanded",
        "object": "invoice",
        "customer": "cus_Basil",
        "amount_paid": 3998,
        "currency": "usd",
        "status": "paid"
    });
    exact_request()
        .respond_with(
            ResponseTemplate::new(200).set_body_json(list(vec![invoice_payment(expanded)])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let invoice = api(&server).invoice_for_payment_intent(PI).await.unwrap();
    assert_eq!(invoice.as_deref(), Some("in_1QExpanded"));
}

#[tokio::test]
async fn when_no_invoice_payment_matches_then_none() {
    let server = MockServer::start().await;
    exact_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![])))
        .expect(1)
        .mount(&server)
        .await;
    let invoice = api(&server).invoice_for_payment_intent(PI).await.unwrap();
    assert_eq!(invoice, None);
}

#[tokio::test]
async fn when_stripe_answers_401_then_a_status_error_the_webhook_answers_500() {
    let server = MockServer::start().await;
    exact_request()
        .respond_with(ResponseTemplate::new(401).set_body_json(stripe_error(
            "invalid_request_error",
            "Invalid API Key provided: sk_test_****kup",
        )))
        .expect(2)
        .mount(&server)
        .await;
    let err = api(&server)
        .invoice_for_payment_intent(PI)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StripeApiError::Status { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert!(!format!("{err:?} {err}").contains(KEY));
    // through the port: a failure, not a retry-later
    let err = StripeLookup::invoice_for_payment_intent(&api(&server), PI)
        .await
        .unwrap_err();
    assert!(matches!(err, LookupError::Failed(_)), "{err:?}");
}

#[tokio::test]
async fn when_stripe_answers_500_then_a_transient_error_the_webhook_answers_503() {
    let server = MockServer::start().await;
    exact_request()
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(stripe_error("api_error", "Something went wrong")),
        )
        .expect(2)
        .mount(&server)
        .await;
    let err = api(&server)
        .invoice_for_payment_intent(PI)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StripeApiError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    let err = StripeLookup::invoice_for_payment_intent(&api(&server), PI)
        .await
        .unwrap_err();
    assert!(matches!(err, LookupError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn when_stripe_is_slower_than_the_timeout_then_a_timeout_error() {
    let server = MockServer::start().await;
    exact_request()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list(vec![]))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let api =
        StripeApi::with_base_url(&ApiKey::new(KEY), &server.uri(), Duration::from_millis(200))
            .unwrap();
    let started = std::time::Instant::now();
    let err = api.invoice_for_payment_intent(PI).await.unwrap_err();
    assert!(matches!(err, StripeApiError::Timeout(_)), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn when_answer_is_not_a_list_then_unreadable() {
    let server = MockServer::start().await;
    exact_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "object": "list" })))
        .mount(&server)
        .await;
    let err = api(&server)
        .invoice_for_payment_intent(PI)
        .await
        .unwrap_err();
    assert!(matches!(err, StripeApiError::Unreadable(_)), "{err:?}");
}
