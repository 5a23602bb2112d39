//! The Chargebee adapter against a wiremock Chargebee that asserts the exact requests:
//! promotional credits (happy path, 500 then success, 429 with Retry-After, a permanent
//! 400, a crash after Chargebee accepted with a stub that keeps no idempotency keys) and
//! coupons on the active subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{TestClock, fulfiler, row, stored};
use jiff::SignedDuration;
use saguaro_app::fulfil::{Deliveries, Done, RewardDelivery, Sent};
use saguaro_delivery::chargebee::{ChargebeeRewards, ProductCatalog};
use saguaro_domain::ports::RewardStore;
use saguaro_domain::program::RewardKind;
use saguaro_domain::secret::Secret;
use saguaro_domain::{Delivery, Provider};
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "test_cb_key";
/// `Basic base64("test_cb_key:")`.
const AUTH: &str = "Basic dGVzdF9jYl9rZXk6";
const CREDIT_FORM: &str = "customer_id=cus_1&amount=2000&currency_code=USD\
    &description=Loyalty+reward+credit-10+%C3%97+2&credit_type=loyalty_credits\
    &reference=chargebee%3Acus_1%2F7";

fn deliveries(server: &MockServer) -> Deliveries {
    Deliveries {
        chargebee: Some(Arc::new(
            ChargebeeRewards::new(&server.uri(), Secret::new(KEY), ProductCatalog::V2).unwrap(),
        )),
        ..Deliveries::default()
    }
}

/// A Chargebee that keeps every promotional credit it is sent and lists them, and keeps
/// no idempotency keys (as after Chargebee's 30 minutes): a second POST is a second credit.
#[derive(Clone, Default)]
struct Credits(Arc<Mutex<Vec<Value>>>);

impl Respond for Credits {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut credits = self.0.lock().unwrap();
        if request.method.as_str() == "POST" {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let credit = json!({
                "id": format!("pc_{}", credits.len() + 1),
                "reference": get("reference"),
                "amount": get("amount"),
            });
            credits.push(credit.clone());
            ResponseTemplate::new(200).set_body_json(json!({ "promotional_credit": credit }))
        } else {
            let list: Vec<Value> = credits
                .iter()
                .map(|c| json!({ "promotional_credit": c }))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "list": list }))
        }
    }
}

#[tokio::test]
async fn when_a_credit_is_delivered_then_one_post_with_the_exact_form_auth_and_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .and(header("authorization", AUTH))
        .and(header(
            "chargebee-idempotency-key",
            "saguaro:chargebee:cus_1/7:1",
        ))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(CREDIT_FORM))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "promotional_credit": { "id": "pc_42" } })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("pc_42".into()))
    );
    let got = store.reward(&at).await.unwrap().unwrap();
    assert!(matches!(
        got.delivery,
        Delivery::Delivered { attempts: 1, provider_id: Some(ref id), .. } if id == "pc_42"
    ));
    // Delivered once: another fulfil (a duplicate stream record, the sweep) sends nothing.
    assert_eq!(f.fulfil(&at).await.unwrap(), Done::Skipped);
    let requests = server.received_requests().await.unwrap_or_default();
    println!(
        "figure: Chargebee requests per delivered credit (happy path): {}",
        requests.len()
    );
    assert_eq!(requests.len(), 1);
}

#[tokio::test]
async fn when_chargebee_answers_500_then_the_next_attempt_looks_first_and_credits_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .and(header(
            "chargebee-idempotency-key",
            "saguaro:chargebee:cus_1/7:1",
        ))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "message": "oops" })))
        .expect(1)
        .mount(&server)
        .await;
    let credits = Credits::default();
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .and(header(
            "chargebee-idempotency-key",
            "saguaro:chargebee:cus_1/7:2",
        ))
        .and(body_string(CREDIT_FORM))
        .respond_with(credits.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/promotional_credits"))
        .and(query_param("customer_id[is]", "cus_1"))
        .and(header("authorization", AUTH))
        .respond_with(credits.clone())
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(matches!(f.fulfil(&at).await.unwrap(), Done::RetryLater(e) if e.contains("500")));
    let waiting = store.reward(&at).await.unwrap().unwrap();
    assert!(matches!(
        waiting.delivery,
        Delivery::Pending {
            attempts: 1,
            unknown_since: Some(_),
            last_error: Some(_),
            ..
        }
    ));
    clock.advance(SignedDuration::from_mins(16));
    let swept = f.sweep(10).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].1, Done::Delivered(Some("pc_1".into())));
    assert_eq!(credits.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn when_chargebee_answers_429_with_retry_after_then_the_attempt_waits_and_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .and(header(
            "chargebee-idempotency-key",
            "saguaro:chargebee:cus_1/7:1",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "promotional_credit": { "id": "pc_7" } })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    let started = std::time::Instant::now();
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("pc_7".into()))
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited Retry-After"
    );
}

#[tokio::test]
async fn when_chargebee_refuses_with_400_then_the_reward_fails_visibly_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({ "message": "currency_code : invalid" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::BillingCredit)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("currency_code")));
    let got = store.reward(&at).await.unwrap().unwrap();
    assert!(
        matches!(got.delivery, Delivery::Failed { attempts: 1, ref reason } if reason.contains("400"))
    );
    clock.advance(SignedDuration::from_hours(1));
    assert!(f.sweep(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_fulfiler_dies_after_chargebee_accepted_then_recovery_finds_the_credit_and_sends_nothing()
 {
    let server = MockServer::start().await;
    let credits = Credits::default();
    Mock::given(method("POST"))
        .and(path("/api/v2/promotional_credits/add"))
        .respond_with(credits.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/promotional_credits"))
        .respond_with(credits.clone())
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let original = row(Provider::Chargebee, RewardKind::BillingCredit);
    let at = stored(&store, original.clone()).await;
    // A fulfiler claims the row, Chargebee accepts the credit, and the process dies before
    // it writes "delivered".
    let claim = original
        .delivery
        .claim(clock_now(&clock), saguaro_app::fulfil::LEASE)
        .unwrap();
    assert!(
        store
            .set_delivery(&at, &original.delivery, &claim.state(), None)
            .await
            .unwrap()
    );
    let adapter =
        ChargebeeRewards::new(&server.uri(), Secret::new(KEY), ProductCatalog::V2).unwrap();
    assert!(matches!(
        adapter.send(&original, 1).await,
        Sent::Delivered(_)
    ));
    // Past the lease, and past Chargebee's 30-minute idempotency window (the stub keeps no
    // keys at all): the sweep takes the row over and looks before sending.
    clock.advance(SignedDuration::from_mins(45));
    let f = fulfiler(&store, deliveries(&server), &clock);
    let swept = f.sweep(10).await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].1, Done::Delivered(Some("pc_1".into())));
    assert_eq!(
        credits.0.lock().unwrap().len(),
        1,
        "exactly one credit at Chargebee"
    );
}

fn clock_now(clock: &TestClock) -> jiff::Timestamp {
    saguaro_domain::ports::Clock::now(clock)
}

#[tokio::test]
async fn when_a_coupon_is_delivered_then_it_goes_on_the_active_subscription() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/subscriptions"))
        .and(query_param("customer_id[is]", "cus_1"))
        .and(query_param("status[is]", "active"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "list": [{ "subscription": { "id": "sub_9", "coupons": [{ "coupon_id": "OLD" }] } }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/subscriptions/sub_9/update_for_items"))
        .and(header("authorization", AUTH))
        .and(header(
            "chargebee-idempotency-key",
            "saguaro:chargebee:cus_1/7:1",
        ))
        .and(body_string("coupon_ids%5B0%5D=LOYAL20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "subscription": {} })))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::Coupon)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("sub_9".into()))
    );
}

#[tokio::test]
async fn when_the_customer_has_no_active_subscription_then_the_coupon_fails_visibly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "list": [] })))
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::Coupon)).await;
    let f = fulfiler(&store, deliveries(&server), &clock);
    assert!(
        matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("no active subscription"))
    );
}

#[tokio::test]
async fn when_no_chargebee_key_is_configured_then_the_reward_stays_pending_and_says_why() {
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, row(Provider::Chargebee, RewardKind::BillingCredit)).await;
    let deliveries = Deliveries {
        chargebee_missing: "CHARGEBEE_SITE and CHARGEBEE_API_KEY are not set".to_owned(),
        ..Deliveries::default()
    };
    let f = fulfiler(&store, deliveries, &clock);
    assert!(
        matches!(f.fulfil(&at).await.unwrap(), Done::Unavailable(w) if w.contains("CHARGEBEE_API_KEY"))
    );
    assert_eq!(
        store.reward(&at).await.unwrap().unwrap().delivery,
        Delivery::pending()
    );
    // An access reward needs no provider: its grant is already held.
    let access = stored(&store, {
        let mut r = row(Provider::Custom, RewardKind::Access);
        r.customer = saguaro_domain::CustomerId::new(Provider::Custom, "cus_2");
        r
    })
    .await;
    assert_eq!(
        f.fulfil(&access).await.unwrap(),
        Done::Delivered(Some("grant:gold-lounge".into()))
    );
}
