//! The function's router from API Gateway HTTP API events to the earn queue on moto, each
//! event taken the way `lambda_http::run` takes it (decoded into a request, the response
//! converted back): a signed event lands on the queue with its customer as group id and its
//! event id as deduplication id; every refused or ignored request leaves the queue empty;
//! another path is a 404, another method a 405 naming the allowed one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use lambda_http::{Body, IntoResponse, Response};
use saguaro_app::ports::SystemClock;
use saguaro_app::webhooks::StripeWebhook;
use saguaro_providers::stripe::{Verifier, WebhookSecret, sign_header};
use saguaro_sqs::{SqsParking, SqsQueue};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use common::{client, fresh_queue, http_api_event, provider_data, receive_all};

const SECRET: &str = "whsec_function_test";
const PATH: &str = "/webhooks/stripe";

struct Fixture {
    client: aws_sdk_sqs::Client,
    url: String,
    router: Router,
}

async fn fixture(test: &str) -> Fixture {
    let client = client().await;
    let url = fresh_queue(&client, test).await;
    let router = stripe_webhook::router(StripeWebhook::new(
        Verifier::new([WebhookSecret::new("whsec_old"), WebhookSecret::new(SECRET)]),
        SqsQueue::new(client.clone(), &url),
        SystemClock,
        Some("referred_by".to_owned()),
    ));
    Fixture {
        client,
        url,
        router,
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn signed_event_to(path: &str, body: &[u8]) -> String {
    let signature = sign_header(&WebhookSecret::new(SECRET), now(), body);
    http_api_event(
        path,
        &[
            ("content-type", "application/json"),
            ("stripe-signature", &signature),
        ],
        body,
        false,
    )
}

fn signed_event(body: &[u8], base64: bool) -> String {
    let signature = sign_header(&WebhookSecret::new(SECRET), now(), body);
    http_api_event(
        PATH,
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("stripe-signature", &signature),
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

    async fn assert_queue_empty(&self) {
        let messages = receive_all(&self.client, &self.url, 1).await;
        assert!(messages.is_empty(), "{messages:?}");
    }
}

#[tokio::test]
async fn when_invoice_paid_is_signed_then_it_lands_on_the_queue() {
    // given
    let f = fixture("stripe-paid").await;
    let body = provider_data("stripe/2020-03-02_invoice.paid.json");
    // when
    let answer = f.call(&signed_event(&body, false)).await;
    // then
    assert_eq!(answer, (200, json!({ "received": true })));
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (event, group, dedup) = &messages[0];
    assert_eq!(group, "stripe:cus_H2020");
    assert_eq!(dedup, "evt_1GqInvoicePaid2020");
    assert_eq!(event["id"], "evt_1GqInvoicePaid2020");
    assert_eq!(event["trigger"], "payment.succeeded");
    assert_eq!(event["amount"], json!({ "minor": 3998, "currency": "usd" }));
}

#[tokio::test]
async fn when_body_is_base64_encoded_then_signature_is_checked_on_decoded_bytes() {
    let f = fixture("stripe-b64").await;
    let body = provider_data("stripe/2020-03-02_customer.subscription.created.json");
    let answer = f.call(&signed_event(&body, true)).await;
    assert_eq!(answer, (200, json!({ "received": true })));
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (event, group, dedup) = &messages[0];
    assert_eq!(
        (group.as_str(), dedup.as_str()),
        ("stripe:cus_H2020", "evt_1GqCreated2020")
    );
    assert_eq!(event["trigger"], "subscription.created");
    assert_eq!(
        event["refs"]["referrer"],
        json!({ "provider": "stripe", "id": "cus_Referrer1" })
    );
}

#[tokio::test]
async fn when_the_same_event_is_delivered_twice_then_one_message() {
    let f = fixture("stripe-twice").await;
    let body = provider_data("stripe/2020-03-02_invoice.paid.json");
    assert_eq!(f.call(&signed_event(&body, false)).await.0, 200);
    assert_eq!(f.call(&signed_event(&body, false)).await.0, 200);
    assert_eq!(receive_all(&f.client, &f.url, 1).await.len(), 1);
}

#[tokio::test]
async fn when_request_is_refused_or_ignored_then_nothing_is_queued() {
    // given
    let f = fixture("stripe-refused").await;
    let body = provider_data("stripe/2020-03-02_invoice.paid.json");
    let forged = sign_header(&WebhookSecret::new("whsec_attacker"), now(), &body);
    let good = sign_header(&WebhookSecret::new(SECRET), now(), &body);
    let big = vec![b' '; saguaro_app::http::MAX_BODY_BYTES + 1];
    let ignored = json!({
        "id": "evt_ignored", "object": "event", "type": "customer.created",
        "api_version": "2020-03-02", "created": 1_591_000_000,
        "data": { "object": serde_json::from_slice::<Value>(
            &saguaro_testkit::fixture("stripe/openapi_fixtures3/customer.json")).unwrap() }
    })
    .to_string();
    let cases = [
        (
            http_api_event(
                PATH,
                &[
                    ("content-type", "application/json"),
                    ("stripe-signature", &forged),
                ],
                &body,
                false,
            ),
            401,
            json!({ "error": "unauthorized" }),
        ),
        (
            http_api_event(PATH, &[("content-type", "application/json")], &body, true),
            401,
            json!({ "error": "unauthorized" }),
        ),
        (
            signed_event(b"{\"id\": \"evt_1\", ", false),
            400,
            json!({ "error": "malformed" }),
        ),
        (
            signed_event(&big, false),
            413,
            json!({ "error": "payload_too_large" }),
        ),
        (
            http_api_event(
                PATH,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("stripe-signature", &good),
                ],
                &body,
                false,
            ),
            415,
            json!({ "error": "unsupported_media_type" }),
        ),
        (
            signed_event(ignored.as_bytes(), false),
            200,
            json!({ "received": true }),
        ),
    ];
    // when
    for (event, status, answer) in cases {
        assert_eq!(f.call(&event).await, (status, answer.clone()), "{answer}");
    }
    // then
    f.assert_queue_empty().await;
}

#[tokio::test]
async fn when_path_or_method_is_not_the_webhook_then_404_or_405_with_allow() {
    // given
    let f = fixture("stripe-routes").await;
    let body = provider_data("stripe/2020-03-02_invoice.paid.json");
    let elsewhere = signed_event_to("/webhooks/chargebee", &body);
    let get = common::with_method(&signed_event(&body, false), "GET");
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
    f.assert_queue_empty().await;
}

#[tokio::test]
async fn when_a_delivery_can_never_be_normalised_then_it_is_acknowledged_and_parked_in_the_earn_dlq()
 {
    // given the function parking in a dead-letter queue (the template's earn DLQ)
    let client = client().await;
    let url = fresh_queue(&client, "stripe-park-earn").await;
    let dlq = fresh_queue(&client, "stripe-park-dlq").await;
    let router = stripe_webhook::router(
        StripeWebhook::new(
            Verifier::new([WebhookSecret::new(SECRET)]),
            SqsQueue::new(client.clone(), &url),
            SystemClock,
            None,
        )
        .with_parking(std::sync::Arc::new(SqsParking::new(client.clone(), &dlq))),
    );
    let f = Fixture {
        client,
        url,
        router,
    };
    // and an invoice.paid whose `created` is past year 9999 (the fixture, changed here)
    let mut far: Value =
        serde_json::from_slice(&provider_data("stripe/2020-03-02_invoice.paid.json")).unwrap();
    far["id"] = json!("evt_far_future");
    far["created"] = json!(999_999_999_999_i64);
    let body = serde_json::to_vec(&far).unwrap();
    // when it is delivered twice (Stripe retries what it did not see acknowledged)
    for _ in 0..2 {
        let answer = f.call(&signed_event(&body, false)).await;
        // then it is acknowledged: Stripe stops retrying
        assert_eq!(answer, (200, json!({ "received": true })));
    }
    // nothing reaches the earn queue
    f.assert_queue_empty().await;
    // and the DLQ holds it once, with the reason and the body to replay
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
    use saguaro_testkit::sqs::{attribute, receive};
    let parked = receive(&f.client, &dlq, 2).await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    let raw = parked[0].body().unwrap();
    let message: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        attribute(&parked[0], Attr::MessageGroupId).as_deref(),
        Some("rejected:stripe")
    );
    assert_eq!(
        attribute(&parked[0], Attr::MessageDeduplicationId).as_deref(),
        Some("stripe:evt_far_future")
    );
    assert_eq!(message["v"], 1);
    let rejected = &message["rejected"];
    assert_eq!(rejected["event_id"], "evt_far_future");
    assert_eq!(rejected["event_type"], "invoice.paid");
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap()
            .starts_with("cannot be normalised"),
        "{rejected}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(rejected["body"].as_str().unwrap()).unwrap(),
        far
    );
    // and the earn function, should the DLQ be redriven into the earn queue, refuses it as
    // a parked delivery (so it goes back to the DLQ) rather than misreading it
    assert!(matches!(
        saguaro_sqs::decode(raw),
        Err(saguaro_sqs::DecodeError::Parked { event_id, .. }) if event_id == "evt_far_future"
    ));
}

/// Basil's `invoice_payment.paid` (the shape of `invoice_payment` in Stripe's OpenAPI
/// fixtures, tests/fixtures/stripe/openapi_fixtures3/invoice_payment.json) and the refund of
/// the same PaymentIntent, which names no invoice.
fn basil_link_and_refund() -> (Vec<u8>, Vec<u8>) {
    let paid = json!({
        "id": "evt_1QLinkPaid", "object": "event", "api_version": "2025-03-31.basil",
        "created": now(), "type": "invoice_payment.paid",
        "data": { "object": {
            "id": "inpay_1QLink", "object": "invoice_payment", "amount_paid": 5000,
            "currency": "usd", "invoice": "in_1QLink", "is_default": true,
            "payment": { "type": "payment_intent", "payment_intent": "pi_3QLink" },
            "status": "paid"
        }}
    });
    let refund = json!({
        "id": "evt_1QLinkRefund", "object": "event", "api_version": "2025-03-31.basil",
        "created": now(), "type": "charge.refunded",
        "data": { "object": {
            "id": "ch_3QLink", "object": "charge", "customer": "cus_Link", "amount": 5000,
            "amount_refunded": 1250, "currency": "usd", "payment_intent": "pi_3QLink"
        }}
    });
    (
        serde_json::to_vec(&paid).unwrap(),
        serde_json::to_vec(&refund).unwrap(),
    )
}

#[tokio::test]
async fn when_basil_reports_an_invoice_payment_then_the_link_item_is_kept_and_the_refund_is_queued_linked()
 {
    // given the function with the table (TABLE_NAME) and no STRIPE_API_KEY
    let f = fixture("stripe-link").await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&saguaro_testkit::aws().await);
    let table = saguaro_testkit::dynamodb::fresh_table(&dynamodb, "stripe-link").await;
    let router = stripe_webhook::router(
        StripeWebhook::new(
            Verifier::new([WebhookSecret::new(SECRET)]),
            SqsQueue::new(f.client.clone(), &f.url),
            SystemClock,
            None,
        )
        .with_links(saguaro_dynamodb::DynamoStore::new(dynamodb.clone(), &table)),
    );
    let f = Fixture { router, ..f };
    let (paid, refund) = basil_link_and_refund();
    // when the invoice payment arrives: 200, nothing queued, one LINK# item
    assert_eq!(
        f.call(&signed_event(&paid, false)).await,
        (200, json!({ "received": true }))
    );
    f.assert_queue_empty().await;
    let items = dynamodb.scan().table_name(&table).send().await.unwrap();
    let items = items.items();
    assert_eq!(items.len(), 1, "{items:?}");
    let s = |name: &str| items[0][name].as_s().unwrap().clone();
    assert_eq!(
        (s("pk"), s("sk"), s("invoice")),
        (
            "LINK#pi_3QLink".to_owned(),
            "LINK".to_owned(),
            "in_1QLink".to_owned()
        )
    );
    // it expires after the refund window: 540 days after the payment
    let ttl: i64 = items[0]["ttl"].as_n().unwrap().parse().unwrap();
    assert!((ttl - now() - 540 * 86_400).abs() < 60, "ttl {ttl}");
    // when the refund arrives: queued with the invoice as its alias
    assert_eq!(
        f.call(&signed_event(&refund, false)).await,
        (200, json!({ "received": true }))
    );
    let messages = receive_all(&f.client, &f.url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (event, group, _) = &messages[0];
    assert_eq!(group, "stripe:cus_Link");
    assert_eq!(event["refs"]["payment"], "pi_3QLink");
    assert_eq!(event["refs"]["payment_alias"], "in_1QLink");
}
