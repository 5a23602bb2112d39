//! The fulfil function on moto: an event committed through the DynamoDB store, the table's
//! stream read back with the real DynamoDB Streams client (moto implements
//! GetShardIterator/GetRecords but applies no filter criteria, so every record arrives),
//! the records handed to the handler as Lambda would, and a wiremock Stripe that asserts
//! the exact request. Also: a Stripe 500 is a batch item failure naming the record; the
//! sweep delivers a reward whose stream record never reached the function.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{OCCURRED, TestClock, fresh_store, pay, payload, sort_key, stream_records};
use fulfil::{FulfilHandler, RecordOutcome, SweepReport};
use jiff::SignedDuration;
use saguaro_app::fulfil::{Deliveries, Fulfiler};
use saguaro_domain::Delivery;
use saguaro_domain::ports::{HistoryStore, RewardPageRequest};
use saguaro_domain::{CustomerId, Provider};
use saguaro_dynamodb::DynamoStore;
use saguaro_stripe_api::{ApiKey, StripeApi, StripeRewards};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk_test_fulfil";

type Handler = FulfilHandler<Arc<DynamoStore>, Deliveries>;

fn handler(store: &Arc<DynamoStore>, stripe: &MockServer, clock: &Arc<TestClock>) -> Handler {
    let api =
        StripeApi::with_base_url(&ApiKey::new(KEY), &stripe.uri(), Duration::from_secs(2)).unwrap();
    let deliveries = Deliveries {
        stripe: Some(Arc::new(StripeRewards::new(api))),
        ..Deliveries::default()
    };
    FulfilHandler::new(Fulfiler::new(store.clone(), deliveries, clock.clone()))
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

/// The customer's only reward row.
async fn only_reward(store: &DynamoStore, customer: &str) -> saguaro_domain::RewardOutbox {
    let page = store
        .rewards(
            &CustomerId::new(Provider::Stripe, customer),
            RewardPageRequest {
                limit: 10,
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.rewards.len(), 1, "one reward row");
    page.rewards.into_iter().next().unwrap()
}

/// The form body is exactly these pairs (in any order).
struct FormIs(Vec<(String, String)>);

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        form(request) == self.0
    }
}

fn form(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    pairs.sort();
    pairs
}

/// The exact form of the credit for `reward_id` (€5, as a negative balance transaction).
fn credit_form(reward_id: &str) -> FormIs {
    let mut pairs: Vec<(String, String)> = [
        ("amount", "-500"),
        ("currency", "eur"),
        ("description", "Loyalty reward credit"),
        ("metadata[saguaro_reward_id]", reward_id),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    pairs.sort();
    FormIs(pairs)
}

/// What the Stripe stand-in received, for a failure message.
async fn seen(stripe: &MockServer) -> String {
    let requests = stripe.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            format!(
                "{} {} key={:?} form={:?}",
                r.method,
                r.url.path(),
                r.headers.get("idempotency-key"),
                form(r)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn when_the_stream_brings_an_inserted_credit_then_one_stripe_post_and_the_row_is_delivered() {
    let (store, stream) = fresh_store("stream-credit").await;
    pay(&store, "cus_1", "evt_pay_1").await;
    let reward = only_reward(&store, "cus_1").await;
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_1/balance_transactions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header(
            "idempotency-key",
            format!("saguaro:{}:1", reward.id).as_str(),
        ))
        .and(credit_form(&reward.id))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "id": "cbtxn_1", "object": "customer_balance_transaction" }),
            ),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let clock = TestClock::at(OCCURRED);
    clock.advance(SignedDuration::from_secs(1));
    let handler = handler(&store, &stripe, &clock);

    let records = stream_records(&stream).await;
    // moto applies no filter: the customer item, the ledger line, the event marker and the
    // reward row all arrive; only the reward row is delivered.
    let kinds: Vec<String> = records.iter().map(sort_key).collect();
    assert!(kinds.iter().any(|sk| sk == "S#META"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|sk| sk.starts_with("R#")).count(), 1);
    for r in records.iter().filter(|r| !sort_key(r).starts_with("R#")) {
        assert!(matches!(
            handler.record(r).await,
            RecordOutcome::NotAReward(_)
        ));
    }
    let answer = handler
        .handle(payload(records.clone()), deadline())
        .await
        .unwrap();

    assert_eq!(
        answer,
        json!({ "batchItemFailures": [] }),
        "Stripe saw: {}",
        seen(&stripe).await
    );
    let requests = stripe.received_requests().await.unwrap();
    println!(
        "figure: provider requests per delivered reward (stream path, happy): {}",
        requests.len()
    );
    assert_eq!(requests.len(), 1);
    let delivered = only_reward(&store, "cus_1").await;
    assert!(
        matches!(
            delivered.delivery,
            Delivery::Delivered { attempts: 1, provider_id: Some(ref id), .. } if id == "cbtxn_1"
        ),
        "{:?}",
        delivered.delivery
    );
    // As stored in the table: the status attribute, and no longer in the waiting index.
    let (pk, sk) = reward_keys(&records);
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item.get("delivery")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("delivered")
    );
    assert!(!item.contains_key("gsi1pk"));

    // The same batch again (Lambda retrying it), and the MODIFY records the delivery wrote:
    // nothing more is sent.
    let again = stream_records(&stream).await;
    assert!(again.iter().any(|r| r.event_name == "MODIFY"));
    let answer = handler.handle(payload(again), deadline()).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1);
}

fn reward_keys(records: &[aws_lambda_events::event::dynamodb::EventRecord]) -> (String, String) {
    let r = records
        .iter()
        .find(|r| sort_key(r).starts_with("R#"))
        .unwrap();
    let pk = match r.change.keys.get("pk") {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        other => panic!("{other:?}"),
    };
    (pk, sort_key(r))
}

#[tokio::test]
async fn when_stripe_answers_500_then_the_reward_record_is_a_batch_item_failure() {
    let (store, stream) = fresh_store("stream-500").await;
    pay(&store, "cus_2", "evt_pay_2").await;
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_2/balance_transactions"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({ "error": { "type": "api_error", "message": "boom" } })),
        )
        .mount(&stripe)
        .await;
    let clock = TestClock::at(OCCURRED);
    let handler = handler(&store, &stripe, &clock);

    let records = stream_records(&stream).await;
    let reward_seq = records
        .iter()
        .find(|r| sort_key(r).starts_with("R#"))
        .and_then(|r| r.change.sequence_number.clone())
        .unwrap();
    let answer = handler.handle(payload(records), deadline()).await.unwrap();

    assert_eq!(
        answer,
        json!({ "batchItemFailures": [{ "itemIdentifier": reward_seq }] })
    );
    let row = only_reward(&store, "cus_2").await;
    assert!(
        matches!(&row.delivery, Delivery::Pending { attempts: 1, last_error: Some(e), .. } if e.contains("500")),
        "{:?}",
        row.delivery
    );
}

#[tokio::test]
async fn when_a_rewards_stream_record_is_lost_then_the_sweep_delivers_it_after_15_minutes() {
    let (store, _stream) = fresh_store("stream-sweep").await;
    pay(&store, "cus_3", "evt_pay_3").await;
    let reward = only_reward(&store, "cus_3").await;
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers/cus_3/balance_transactions"))
        .and(header(
            "idempotency-key",
            format!("saguaro:{}:1", reward.id).as_str(),
        ))
        .and(credit_form(&reward.id))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "id": "cbtxn_9", "object": "customer_balance_transaction" }),
            ),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let clock = TestClock::at(OCCURRED);
    let handler = handler(&store, &stripe, &clock);
    let sweep: Value = json!({ "sweep": {} });

    // Within 15 minutes the row is not due (its stream record may still be on its way).
    clock.advance(SignedDuration::from_mins(14));
    let early = handler.handle(sweep.clone(), deadline()).await.unwrap();
    assert_eq!(early, serde_json::to_value(SweepReport::default()).unwrap());
    assert!(stripe.received_requests().await.unwrap().is_empty());

    clock.advance(SignedDuration::from_mins(2));
    let answer = handler.handle(sweep, deadline()).await.unwrap();

    assert_eq!(
        answer,
        serde_json::to_value(SweepReport {
            swept: 1,
            delivered: 1,
            ..SweepReport::default()
        })
        .unwrap(),
        "Stripe saw: {}",
        seen(&stripe).await
    );
    let row = only_reward(&store, "cus_3").await;
    assert!(
        matches!(row.delivery, Delivery::Delivered { ref provider_id, .. } if provider_id.as_deref() == Some("cbtxn_9")),
        "{:?}",
        row.delivery
    );
    // Delivered rows leave the waiting index: the next sweep finds nothing.
    clock.advance(SignedDuration::from_mins(30));
    let later = handler
        .handle(json!({ "sweep": null }), deadline())
        .await
        .unwrap();
    assert_eq!(later, serde_json::to_value(SweepReport::default()).unwrap());
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1);
}
