//! Merchant notifications (`[notify]`) through `saguaro serve`: a payment that moves the
//! customer to Gold and redeems a Stripe credit sends one signed `tier.changed` and one
//! `reward.issued` to the merchant's endpoint (wiremock), with the exact headers and bodies;
//! replaying the event sends nothing more; a credit Stripe refuses sends one
//! `reward.failed`; kinds not listed send nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use saguaro::fulfil::deliveries_from_env;
use saguaro::{Runner, WebhookSecrets};
use saguaro_app::config::Env;
use saguaro_delivery::PerkRewards;
use saguaro_delivery::signing::SigningKey;
use saguaro_domain::Program;
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn program(merchant: &MockServer, kinds: &str) -> Program {
    Program::parse(&format!(
        r#"
[program]
name = "Notify"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = {{ usd = 100 }}

[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 100

[[rewards]]
id = "credit-5"
kind = "billing_credit"
cost = 100
value = {{ usd = 500 }}

[notify]
url = "{}/saguaro"
kinds = [{kinds}]
secret = "NOTIFY"
"#,
        merchant.uri()
    ))
    .unwrap()
}

async fn start(stripe: &MockServer, program: Program) -> String {
    let base = stripe.uri();
    let env = Env::from_lookup(move |name| match name {
        "STRIPE_API_KEY" => Some("sk_test_local".to_owned()),
        "STRIPE_API_BASE_URL" => Some(base.clone()),
        _ => None,
    });
    let mut deliveries = deliveries_from_env(&env).unwrap();
    // The secret the program names, as the environment variable NOTIFY would hold it.
    let perk = PerkRewards::new(Arc::new(|name| {
        (name == "NOTIFY").then(|| SECRET.to_owned())
    }))
    .unwrap()
    .with_retry_delays(vec![Duration::from_millis(10)]);
    deliveries.perk = Some(Arc::new(perk));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let runner = Runner::with_store_and_delivery(
        Arc::new(EmbeddedStore::new()),
        Arc::new(saguaro_app::rejected::RejectedMemory::default()),
        program,
        WebhookSecrets::default(),
        None,
        deliveries,
    );
    tokio::spawn(runner.serve(listener));
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    saguaro_delivery::http::builder().unwrap().build().unwrap()
}

async fn pay(base: &str, id: &str) {
    let event = json!({
        "id": format!("evt-{id}"),
        "type": "payment.succeeded",
        "customer": { "provider": "stripe", "id": id },
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount": { "minor": 10_000, "currency": "usd" },
        "payment": format!("pay-{id}"),
    });
    let res = client()
        .post(format!("{base}/events"))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
}

async fn rewards(base: &str, id: &str) -> Vec<Value> {
    let body: Value = client()
        .get(format!("{base}/customers/stripe/{id}/rewards"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["rewards"].as_array().cloned().unwrap_or_default()
}

/// Waits until every row of the customer is delivered or failed.
async fn settled(base: &str, id: &str, rows: usize) -> Vec<Value> {
    for _ in 0..500 {
        let got = rewards(base, id).await;
        if got.len() == rows
            && got
                .iter()
                .all(|r| r["status"] == "delivered" || r["status"] == "failed")
        {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
    panic!("rows not settled: {:?}", rewards(base, id).await);
}

/// The notification's body, after checking its headers and its signature with the secret.
fn verified(r: &Request) -> Value {
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(r.url.path(), "/saguaro");
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {n}"))
            .to_owned()
    };
    assert_eq!(h("content-type"), "application/json");
    let timestamp: i64 = h("webhook-timestamp").parse().unwrap();
    let expected =
        SigningKey::from_secret(SECRET)
            .unwrap()
            .sign(&h("webhook-id"), timestamp, &r.body);
    assert_eq!(h("webhook-signature"), expected);
    let mut body: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        body["occurred_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    body["webhook-id"] = Value::String(h("webhook-id"));
    body.as_object_mut().unwrap().remove("occurred_at");
    body
}

async fn notifications(merchant: &MockServer) -> Vec<Value> {
    let mut got: Vec<Value> = merchant
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(verified)
        .collect();
    got.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
    got
}

async fn merchant() -> MockServer {
    let merchant = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/saguaro"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&merchant)
        .await;
    merchant
}

async fn stripe_answering(status: u16, body: Value) -> MockServer {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_9/balance_transactions"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&stripe)
        .await;
    stripe
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_payment_changes_the_tier_and_a_credit_is_delivered_then_one_notice_of_each() {
    let merchant = merchant().await;
    let stripe = stripe_answering(200, json!({ "id": "cbtxn_9" })).await;
    let kinds = r#""tier.changed", "reward.issued", "reward.failed""#;
    let base = start(&stripe, program(&merchant, kinds)).await;
    pay(&base, "cus_9").await;
    let rows = settled(&base, "cus_9", 3).await;
    // The route shows the notifications next to the reward, newest first.
    let kinds: Vec<_> = rows.iter().map(|r| r["reward"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reward.issued", "credit-5", "tier.changed"]);
    assert_eq!(rows[0]["kind"], "notification");

    let got = notifications(&merchant).await;
    assert_eq!(
        got,
        [
            json!({
                "type": "reward.issued",
                "webhook-id": "stripe:cus_9/2/reward.issued",
                "program": "Notify",
                "customer": "cus_9",
                "provider": "stripe",
                "data": {
                    "reward_id": "stripe:cus_9/2",
                    "reward": "credit-5",
                    "kind": "billing_credit",
                    "quantity": 1,
                    "value": { "minor": 500, "currency": "usd" },
                    "provider_id": "cbtxn_9",
                },
            }),
            json!({
                "type": "tier.changed",
                "webhook-id": "stripe:cus_9/v1/tier.changed",
                "program": "Notify",
                "customer": "cus_9",
                "provider": "stripe",
                "data": { "from": null, "to": "Gold" },
            }),
        ]
    );

    // The same event again: already applied, nothing new is sent.
    pay(&base, "cus_9").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rewards(&base, "cus_9").await.len(), 3);
    assert_eq!(notifications(&merchant).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_stripe_refuses_a_credit_for_good_then_one_reward_failed_notice() {
    let merchant = merchant().await;
    let refused = json!({ "error": { "type": "invalid_request_error", "message": "No such customer: 'cus_9'" } });
    let stripe = stripe_answering(400, refused).await;
    let base = start(&stripe, program(&merchant, r#""reward.failed""#)).await;
    pay(&base, "cus_9").await;
    let rows = settled(&base, "cus_9", 2).await;
    assert_eq!(rows[1]["status"], "failed");
    let got = notifications(&merchant).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let n = &got[0];
    assert_eq!(n["type"], "reward.failed");
    assert_eq!(n["webhook-id"], "stripe:cus_9/2/reward.failed");
    assert_eq!(n["data"]["reward_id"], "stripe:cus_9/2");
    assert_eq!(n["data"]["attempts"], 1);
    assert_eq!(
        n["data"]["value"],
        json!({ "minor": 500, "currency": "usd" })
    );
    assert_eq!(n["data"]["reason"], rows[1]["last_error"]);
    assert!(n["data"]["reason"].as_str().unwrap().contains("400"), "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_kind_is_not_listed_then_nothing_is_sent_for_it() {
    let merchant = merchant().await;
    let stripe = stripe_answering(200, json!({ "id": "cbtxn_9" })).await;
    // Only failures: the tier change and the delivered credit send nothing.
    let base = start(&stripe, program(&merchant, r#""reward.failed""#)).await;
    pay(&base, "cus_9").await;
    let rows = settled(&base, "cus_9", 1).await;
    assert_eq!(rows[0]["reward"], "credit-5");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(notifications(&merchant).await, Vec::<Value>::new());
}
