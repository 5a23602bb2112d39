//! Merchant notifications (`[notify]`) through the fulfil function on moto: a payment
//! committed through the DynamoDB store moves the customer to Gold and redeems a credit; the
//! table's stream, handed to the handler, delivers the credit (one Stripe POST), the
//! `tier.changed` row the commit wrote, and the `reward.issued` row the fulfiler wrote in one
//! `TransactWriteItems` with the credit's transition, each once to the merchant's endpoint.
//! Handing the stream over again (now with the notification's own INSERT) sends nothing more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{OCCURRED, TestClock, fresh_store, payload, sort_key, stream_records};
use fulfil::FulfilHandler;
use jiff::SignedDuration;
use saguaro_app::Earner;
use saguaro_app::fulfil::{Deliveries, Fulfiler};
use saguaro_delivery::PerkRewards;
use saguaro_delivery::signing::SigningKey;
use saguaro_domain::ports::{HistoryStore, RewardPageRequest};
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, Trigger};
use saguaro_dynamodb::DynamoStore;
use saguaro_stripe_api::{ApiKey, StripeApi, StripeRewards};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk_test_fulfil";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn program(merchant: &MockServer) -> Program {
    Program::parse(&format!(
        r#"{}
[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 100

[notify]
url = "{}/saguaro"
kinds = ["tier.changed", "reward.issued", "reward.failed"]
secret = "NOTIFY"
"#,
        common::PROGRAM,
        merchant.uri()
    ))
    .unwrap()
}

async fn pay(store: &Arc<DynamoStore>, program: &Program) {
    let who = CustomerId::new(Provider::Stripe, "cus_1");
    let mut e = Event::new(
        "evt_pay_1",
        who,
        Trigger::PaymentSucceeded,
        OCCURRED.parse().unwrap(),
    );
    e.amount = Some(Money::new(15_000, "eur".parse().unwrap()));
    e.refs.payment = Some("pay-1".to_owned());
    Earner::new(store.clone(), Arc::new(program.clone()))
        .apply(&e)
        .await
        .expect("the payment applies");
}

#[tokio::test]
async fn when_the_stream_brings_a_tier_change_and_a_credit_then_each_notice_is_sent_once() {
    let (store, stream) = fresh_store("notify").await;
    let merchant = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/saguaro"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&merchant)
        .await;
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_1/balance_transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "cbtxn_1" })))
        .expect(1)
        .mount(&stripe)
        .await;
    let program = program(&merchant);
    pay(&store, &program).await;

    let api =
        StripeApi::with_base_url(&ApiKey::new(KEY), &stripe.uri(), Duration::from_secs(2)).unwrap();
    let perk = PerkRewards::new(Arc::new(|n| (n == "NOTIFY").then(|| SECRET.to_owned()))).unwrap();
    let deliveries = Deliveries {
        stripe: Some(Arc::new(StripeRewards::new(api))),
        perk: Some(Arc::new(perk)),
        ..Deliveries::default()
    };
    let clock = TestClock::at(OCCURRED);
    clock.advance(SignedDuration::from_secs(1));
    let handler = FulfilHandler::new(
        Fulfiler::new(store.clone(), deliveries, clock.clone()).with_notify(&program),
    );
    let deadline = Instant::now() + Duration::from_secs(120);

    let records = stream_records(&stream).await;
    let rows = records
        .iter()
        .filter(|r| sort_key(r).starts_with("R#"))
        .count();
    assert_eq!(
        rows, 2,
        "the credit and the tier notice, in the event's commit"
    );
    let answer = handler.handle(payload(records), deadline).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));

    let key = SigningKey::from_secret(SECRET).unwrap();
    let sent = || async {
        let mut got: Vec<Value> = merchant
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let h = |n: &str| r.headers.get(n).unwrap().to_str().unwrap().to_owned();
                let ts: i64 = h("webhook-timestamp").parse().unwrap();
                assert_eq!(
                    h("webhook-signature"),
                    key.sign(&h("webhook-id"), ts, &r.body)
                );
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                json!({ "id": h("webhook-id"), "type": body["type"], "data": body["data"] })
            })
            .collect();
        got.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        got
    };
    let want = vec![
        json!({
            "id": "stripe:cus_1/2/reward.issued",
            "type": "reward.issued",
            "data": {
                "reward_id": "stripe:cus_1/2", "reward": "credit", "kind": "billing_credit",
                "quantity": 1, "value": { "minor": 500, "currency": "eur" },
                "provider_id": "cbtxn_1",
            },
        }),
        json!({
            "id": "stripe:cus_1/v1/tier.changed",
            "type": "tier.changed",
            "data": { "from": null, "to": "Gold" },
        }),
    ];
    assert_eq!(sent().await, want);

    // The stream again, now with the notification's own INSERT and the MODIFYs: nothing
    // more is sent, to Stripe or to the merchant.
    let again = stream_records(&stream).await;
    assert_eq!(
        again
            .iter()
            .filter(|r| r.event_name == "INSERT" && sort_key(r).starts_with("R#"))
            .count(),
        3
    );
    let answer = handler.handle(payload(again), deadline).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(sent().await, want);
    let page = store
        .rewards(
            &CustomerId::new(Provider::Stripe, "cus_1"),
            RewardPageRequest {
                limit: 10,
                before: None,
            },
        )
        .await
        .unwrap();
    let statuses: Vec<_> = page
        .rewards
        .iter()
        .map(|r| (r.reward.as_str(), r.delivery.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("reward.issued", "delivered"),
            ("credit", "delivered"),
            ("tier.changed", "delivered")
        ]
    );
}
