//! The Stripe reward adapter (async-stripe) against a wiremock Stripe that asserts the exact
//! requests: credits (happy path, a stored 500 then success, a permanent 400, a crash after
//! Stripe accepted and a retry after the idempotency window) and coupons that keep the
//! subscription's existing discounts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestClock, fulfiler, row, stored};
use jiff::SignedDuration;
use saguaro_app::fulfil::{Deliveries, Done, LEASE, RewardDelivery, Sent};
use saguaro_domain::ports::{Clock, RewardStore};
use saguaro_domain::program::RewardKind;
use saguaro_domain::{Delivery, Provider};
use saguaro_embedded::EmbeddedStore;
use saguaro_stripe_api::{ApiKey, StripeApi, StripeRewards};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "sk_test_rewards";

fn adapter(server: &MockServer) -> StripeRewards {
    StripeRewards::new(
        StripeApi::with_base_url(&ApiKey::new(KEY), &server.uri(), Duration::from_secs(2)).unwrap(),
    )
}

fn deliveries(server: &MockServer) -> Deliveries {
    Deliveries {
        stripe: Some(Arc::new(adapter(server))),
        ..Deliveries::default()
    }
}

fn form(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    pairs.sort();
    pairs
}

/// The form body is exactly these pairs (in any order).
struct FormIs(Vec<(String, String)>);

impl FormIs {
    fn new(pairs: &[(&str, &str)]) -> Self {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        v.sort();
        Self(v)
    }
}

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        form(request) == self.0
    }
}

fn credit_form() -> FormIs {
    FormIs::new(&[
        ("amount", "-2000"),
        ("currency", "usd"),
        ("description", "Loyalty reward credit-10 × 2"),
        ("metadata[saguaro_reward_id]", "stripe:cus_1/7"),
    ])
}

/// A Stripe customer balance: keeps every transaction and lists them newest first.
/// With `replay`, answers a repeated idempotency key with the answer stored for it (as
/// Stripe does for 24 hours), including a 500; without, it keeps no keys (past 24 hours).
#[derive(Clone, Default)]
struct Balance {
    txs: Arc<Mutex<Vec<Value>>>,
    keys: Arc<Mutex<HashMap<String, (u16, Value)>>>,
    fail_first: Arc<Mutex<bool>>,
    replay: bool,
}

impl Respond for Balance {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.method.as_str() == "GET" {
            let txs = self.txs.lock().unwrap();
            let data: Vec<Value> = txs.iter().rev().cloned().collect();
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "object": "list", "data": data, "has_more": false }));
        }
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if self.replay
            && let Some((status, body)) = self.keys.lock().unwrap().get(&key)
        {
            return ResponseTemplate::new(*status).set_body_json(body.clone());
        }
        let (status, body) = if std::mem::take(&mut *self.fail_first.lock().unwrap()) {
            (
                500,
                json!({ "error": { "type": "api_error", "message": "boom" } }),
            )
        } else {
            let mut txs = self.txs.lock().unwrap();
            let pairs = form(request);
            let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let tx = json!({
                "id": format!("cbtxn_{}", txs.len() + 1),
                "object": "customer_balance_transaction",
                "amount": get("amount").and_then(|a| a.parse::<i64>().ok()),
                "metadata": { "saguaro_reward_id": get("metadata[saguaro_reward_id]") },
            });
            txs.push(tx.clone());
            (200, tx)
        };
        self.keys
            .lock()
            .unwrap()
            .insert(key, (status, body.clone()));
        ResponseTemplate::new(status).set_body_json(body)
    }
}

#[tokio::test]
async fn when_a_credit_is_delivered_then_one_post_with_negative_amount_metadata_and_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_1/balance_transactions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("idempotency-key", "saguaro:stripe:cus_1/7:1"))
        .and(credit_form())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "id": "cbtxn_42", "object": "customer_balance_transaction" }),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Stripe, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("cbtxn_42".into()))
    );
    let got = store.reward(&at).await.unwrap().unwrap();
    assert!(matches!(
        got.delivery,
        Delivery::Delivered { attempts: 1, provider_id: Some(ref id), .. } if id == "cbtxn_42"
    ));
    let requests = server.received_requests().await.unwrap_or_default();
    println!(
        "figure: Stripe requests per delivered credit (happy path): {}",
        requests.len()
    );
    assert_eq!(requests.len(), 1);
}

#[tokio::test]
async fn when_stripe_answers_500_then_the_next_attempt_looks_and_credits_once_never_replaying() {
    let server = MockServer::start().await;
    let balance = Balance {
        fail_first: Arc::new(Mutex::new(true)),
        replay: true,
        ..Balance::default()
    };
    Mock::given(path("/v1/customers/cus_1/balance_transactions"))
        .respond_with(balance.clone())
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Stripe, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(matches!(f.fulfil(&at).await.unwrap(), Done::RetryLater(e) if e.contains("500")));
    clock.advance(SignedDuration::from_mins(16));
    let swept = f.sweep(10).await.unwrap();
    assert_eq!(swept[0].1, Done::Delivered(Some("cbtxn_1".into())));
    assert_eq!(balance.txs.lock().unwrap().len(), 1);
    let requests = server.received_requests().await.unwrap_or_default();
    let seen: Vec<(String, Option<String>)> = requests
        .iter()
        .map(|r| {
            let key = r
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok());
            (r.method.to_string(), key.map(str::to_owned))
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "POST".to_owned(),
                Some("saguaro:stripe:cus_1/7:1".to_owned())
            ),
            ("GET".to_owned(), None),
            (
                "POST".to_owned(),
                Some("saguaro:stripe:cus_1/7:2".to_owned())
            ),
        ],
        "the stored 500 is never replayed: look, then a new key"
    );
    let list = &requests[1];
    let created: Vec<(String, String)> = list
        .url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k.starts_with("created"))
        .collect();
    assert_eq!(created.len(), 1, "{:?}", list.url);
}

#[tokio::test]
async fn when_stripe_refuses_with_400_then_the_credit_fails_visibly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_1/balance_transactions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": { "type": "invalid_request_error", "message": "No such customer: 'cus_1'" }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Stripe, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("400")));
    let got = store.reward(&at).await.unwrap().unwrap();
    assert!(matches!(got.delivery, Delivery::Failed { attempts: 1, .. }));
}

#[tokio::test]
async fn when_the_fulfiler_dies_after_stripe_accepted_then_a_retry_days_later_credits_nothing_more()
{
    let server = MockServer::start().await;
    // No keys kept: as after Stripe's 24 hours.
    let balance = Balance::default();
    Mock::given(path("/v1/customers/cus_1/balance_transactions"))
        .respond_with(balance.clone())
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let original = row(Provider::Stripe, RewardKind::BillingCredit);
    let at = stored(&store, original.clone()).await;
    let claim = original.delivery.claim(clock.now(), LEASE).unwrap();
    assert!(
        store
            .set_delivery(&at, &original.delivery, &claim.state(), None)
            .await
            .unwrap()
    );
    assert!(matches!(
        adapter(&server).send(&original, 1).await,
        Sent::Delivered(_)
    ));
    // The process died before writing "delivered". Two days later the sweep takes over.
    clock.advance(SignedDuration::from_hours(48));
    let f = fulfiler(&store, deliveries(&server), &clock);
    let swept = f.sweep(10).await.unwrap();
    assert_eq!(swept[0].1, Done::Delivered(Some("cbtxn_1".into())));
    assert_eq!(
        balance.txs.lock().unwrap().len(),
        1,
        "exactly one credit at Stripe"
    );
}

#[tokio::test]
async fn when_a_coupon_is_delivered_then_the_existing_discount_is_sent_again_with_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", "cus_1"))
        .and(query_param("status", "active"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "has_more": false,
            "data": [{ "id": "sub_1", "object": "subscription", "discounts": ["di_old"] }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .and(header("idempotency-key", "saguaro:stripe:cus_1/7:1"))
        .and(FormIs::new(&[
            ("discounts[0][discount]", "di_old"),
            ("discounts[1][coupon]", "LOYAL20"),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "sub_1" })))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Stripe, RewardKind::Coupon)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("sub_1".into()))
    );
}

#[tokio::test]
async fn when_the_customer_has_no_active_subscription_then_the_coupon_fails_visibly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "has_more": false, "data": []
        })))
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Stripe, RewardKind::Coupon)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(
        matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("no active subscription"))
    );
    let got = store.reward(&at).await.unwrap().unwrap();
    assert!(matches!(got.delivery, Delivery::Failed { .. }));
}
