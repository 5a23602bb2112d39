//! Perks: the Standard Webhooks signing vector, and the signed POST against a wiremock
//! endpoint (headers, body, a retry after a 500, 410 Gone failing for good).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestClock, fulfiler, row, stored};
use saguaro_app::fulfil::{Deliveries, Done};
use saguaro_delivery::perk::PerkRewards;
use saguaro_delivery::signing::SigningKey;
use saguaro_domain::Provider;
use saguaro_domain::program::RewardKind;
use saguaro_embedded::EmbeddedStore;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn when_the_specifications_vector_is_signed_then_the_signature_is_the_published_one() {
    let v: Value = serde_json::from_slice(&saguaro_testkit::fixture(
        "standard-webhooks/sign_vector.json",
    ))
    .unwrap();
    let key = SigningKey::from_secret(v["secret"].as_str().unwrap()).unwrap();
    let signed = key.sign(
        v["id"].as_str().unwrap(),
        v["timestamp"].as_i64().unwrap(),
        v["payload"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(signed, v["expected"].as_str().unwrap());
    // The prefix is optional, as in the reference libraries; garbage is refused.
    let bare = SigningKey::from_secret(SECRET.trim_start_matches("whsec_")).unwrap();
    assert_eq!(
        bare.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b"{\"test\": 2432232314}"
        ),
        signed
    );
    assert!(SigningKey::from_secret("whsec_!!!").is_err());
    assert!(SigningKey::from_secret("whsec_").is_err());
}

fn perk_row(server: &MockServer) -> saguaro_domain::RewardOutbox {
    let mut r = row(Provider::Stripe, RewardKind::Perk);
    r.url = Some(format!("{}/hooks", server.uri()));
    r.secret = Some("PERK_ACME".to_owned());
    r.value = None;
    r.quantity = 1;
    r
}

fn deliveries() -> Deliveries {
    let perk = PerkRewards::new(Arc::new(|name| {
        (name == "PERK_ACME").then(|| SECRET.to_owned())
    }))
    .unwrap()
    .with_retry_delays(vec![Duration::from_millis(10)]);
    Deliveries {
        perk: Some(Arc::new(perk)),
        ..Deliveries::default()
    }
}

#[tokio::test]
async fn when_a_perk_is_delivered_then_one_signed_post_the_receiver_can_verify() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .and(header("webhook-id", "stripe:cus_1/7"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, perk_row(&server)).await;
    let f = fulfiler(&store, deliveries(), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("HTTP 204".into()))
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap()
            .to_owned()
    };
    let timestamp: i64 = h("webhook-timestamp").parse().unwrap();
    let expected =
        SigningKey::from_secret(SECRET)
            .unwrap()
            .sign(&h("webhook-id"), timestamp, &r.body);
    assert_eq!(h("webhook-signature"), expected);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "reward.issued");
    assert_eq!(body["id"], "stripe:cus_1/7");
    assert_eq!(body["reward"], "credit-10");
    assert_eq!(body["quantity"], 1);
    assert_eq!(body["customer"]["provider"], "stripe");
    assert_eq!(body["customer"]["id"], "cus_1");
    assert_eq!(body["event"], "evt_1");
}

#[tokio::test]
async fn when_the_perk_endpoint_fails_once_then_the_attempt_retries_and_delivers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, perk_row(&server)).await;
    let f = fulfiler(&store, deliveries(), &clock);
    assert_eq!(
        f.fulfil(&at).await.unwrap(),
        Done::Delivered(Some("HTTP 200".into()))
    );
}

#[tokio::test]
async fn when_the_perk_endpoint_answers_410_then_the_reward_fails_for_good() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(410))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, perk_row(&server)).await;
    let f = fulfiler(&store, deliveries(), &clock);
    assert!(matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("410")));
}

#[tokio::test]
async fn when_the_perks_secret_is_not_set_then_nothing_is_sent_and_it_waits_saying_why() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let mut r = perk_row(&server);
    r.secret = Some("PERK_OTHER".to_owned());
    let at = stored(&store, r).await;
    let f = fulfiler(&store, deliveries(), &clock);
    assert!(
        matches!(f.fulfil(&at).await.unwrap(), Done::Unavailable(r) if r.contains("PERK_OTHER is not set"))
    );
    let row = saguaro_domain::ports::RewardStore::reward(&*store, &at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.delivery, saguaro_domain::Delivery::pending());
    // A perk that names no secret at all can never be signed: it fails visibly.
    let mut unsigned = perk_row(&server);
    unsigned.secret = None;
    unsigned.customer = saguaro_domain::CustomerId::new(Provider::Stripe, "cus_2");
    let at = stored(&store, unsigned).await;
    assert!(
        matches!(f.fulfil(&at).await.unwrap(), Done::Failed(r) if r.contains("names no secret"))
    );
}
