//! `saguaro serve` delivers rewards in-process right after each commit: a payment that
//! redeems a Stripe billing credit is credited at a wiremock Stripe (one POST) and the
//! rewards route shows it delivered; a Chargebee customer's reward, without Chargebee keys,
//! stays pending and the route says why. Prints the time from commit to delivery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use saguaro::fulfil::deliveries_from_env;
use saguaro::{Runner, WebhookSecrets};
use saguaro_app::config::Env;
use saguaro_domain::Program;
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROGRAM: &str = r#"
[program]
name = "Delivery"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }

[[rewards]]
id = "credit-5"
kind = "billing_credit"
cost = 100
value = { usd = 500 }
"#;

async fn start(stripe: &MockServer) -> String {
    let base = stripe.uri();
    let env = Env::from_lookup(move |name| match name {
        "STRIPE_API_KEY" => Some("sk_test_local".to_owned()),
        "STRIPE_API_BASE_URL" => Some(base.clone()),
        _ => None,
    });
    let deliveries = deliveries_from_env(&env).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let runner = Runner::with_store_and_delivery(
        Arc::new(EmbeddedStore::new()),
        Arc::new(saguaro_app::rejected::RejectedMemory::default()),
        Program::parse(PROGRAM).unwrap(),
        WebhookSecrets::default(),
        None,
        deliveries,
    );
    tokio::spawn(runner.serve(listener));
    format!("http://{addr}")
}

async fn pay(base: &str, provider: &str, id: &str) {
    let event = json!({
        "id": format!("evt-{provider}-{id}"),
        "type": "payment.succeeded",
        "customer": { "provider": provider, "id": id },
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount": { "minor": 10_000, "currency": "usd" },
        "payment": format!("pay-{id}"),
    });
    let res = saguaro_delivery::http::builder()
        .unwrap()
        .build()
        .unwrap()
        .post(format!("{base}/events"))
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
}

async fn rewards(base: &str, provider: &str, id: &str) -> Vec<Value> {
    let body: Value = saguaro_delivery::http::builder()
        .unwrap()
        .build()
        .unwrap()
        .get(format!("{base}/customers/{provider}/{id}/rewards"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["rewards"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_payment_redeems_a_stripe_credit_then_serve_delivers_it_with_one_post() {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_9/balance_transactions"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header("idempotency-key", "saguaro:stripe:cus_9/2:1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "cbtxn_9" })))
        .expect(1)
        .mount(&stripe)
        .await;
    let base = start(&stripe).await;
    let committed = Instant::now();
    pay(&base, "stripe", "cus_9").await;
    let mut delivered = None;
    for _ in 0..500 {
        let rows = rewards(&base, "stripe", "cus_9").await;
        if rows.first().is_some_and(|r| r["status"] == "delivered") {
            delivered = Some((committed.elapsed(), rows[0].clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (took, row) = delivered.expect("delivered within a second");
    println!("figure: commit to delivery locally (POST /events answered → delivered): {took:?}");
    assert_eq!(row["provider_id"], "cbtxn_9");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["quantity"], 1);
    assert_eq!(
        stripe.received_requests().await.unwrap_or_default().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_provider_has_no_keys_then_its_rewards_stay_pending_and_the_route_says_why() {
    let stripe = MockServer::start().await;
    let base = start(&stripe).await;
    pay(&base, "chargebee", "cb_1").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rows = rewards(&base, "chargebee", "cb_1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "pending");
    assert_eq!(rows[0]["attempts"], 0);
    assert_eq!(
        rows[0]["waiting_for"],
        "CHARGEBEE_SITE and CHARGEBEE_API_KEY are not both set"
    );
}
