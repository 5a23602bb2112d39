//! The stream handler's record checks on the embedded store (no moto): what is skipped, what
//! is retried, and a retry without a sequence number failing the whole batch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use fulfil::{FulfilHandler, HandlerError, RecordOutcome};
use jiff::Timestamp;
use saguaro_app::fulfil::{BoxFuture, Found, Fulfiler, RewardDelivery, Sent};
use saguaro_domain::ports::{Commit, StateStore, SystemClock};
use saguaro_domain::program::RewardKind;
use saguaro_domain::{CustomerId, CustomerState, Delivery, EventId, Provider, RewardOutbox};
use saguaro_dynamodb::keys;
use saguaro_embedded::EmbeddedStore;
use serde_dynamo::AttributeValue;

/// A provider that is down: every send is to be retried, nothing was applied.
struct Down;

impl RewardDelivery for Down {
    fn unavailable(&self, _: &RewardOutbox) -> Option<String> {
        None
    }
    fn find<'a>(&'a self, _: &'a RewardOutbox, _: Timestamp) -> BoxFuture<'a, Found> {
        Box::pin(async { Found::No })
    }
    fn send<'a>(&'a self, _: &'a RewardOutbox, _: u32) -> BoxFuture<'a, Sent> {
        Box::pin(async {
            Sent::Retry {
                error: "provider down".to_owned(),
                maybe_applied: false,
            }
        })
    }
}

fn customer() -> CustomerId {
    CustomerId::new(Provider::Stripe, "cus_1")
}

async fn store_with_one_reward() -> Arc<EmbeddedStore> {
    let store = Arc::new(EmbeddedStore::new());
    let mut state = CustomerState::new(customer());
    state.version = 1;
    let row = RewardOutbox {
        id: "stripe:cus_1/1".to_owned(),
        customer: customer(),
        reward: "credit".to_owned(),
        kind: RewardKind::BillingCredit,
        points: 120,
        quantity: 1,
        line: Some(1),
        event_id: EventId::new("evt_1"),
        created_at: Timestamp::now(),
        value: None,
        coupon: None,
        grant: None,
        url: None,
        secret: None,
        notice: None,
        delivery: Delivery::pending(),
    };
    store
        .commit(Commit {
            marker: None,
            expected_version: 0,
            state,
            lines: Vec::new(),
            rewards: vec![row],
        })
        .await
        .unwrap();
    store
}

fn record(name: &str, pk: &str, sk: &str, seq: Option<&str>) -> EventRecord {
    let mut r = EventRecord::default();
    r.event_name = name.to_owned();
    r.change
        .keys
        .insert(keys::PK.to_owned(), AttributeValue::S(pk.to_owned()));
    r.change
        .keys
        .insert(keys::SK.to_owned(), AttributeValue::S(sk.to_owned()));
    r.change.sequence_number = seq.map(str::to_owned);
    r
}

fn handler(store: &Arc<EmbeddedStore>) -> FulfilHandler<Arc<EmbeddedStore>, Down> {
    FulfilHandler::new(Fulfiler::new(store.clone(), Down, Arc::new(SystemClock)))
}

fn reward_sk() -> String {
    keys::reward_sk(saguaro_domain::ports::RewardPosition {
        version: 1,
        index: 0,
    })
}

#[tokio::test]
async fn when_records_are_not_inserted_reward_rows_then_they_are_skipped_and_never_retried() {
    let store = store_with_one_reward().await;
    let h = handler(&store);
    let pk = keys::customer_pk(&customer());
    let skipped = [
        record("MODIFY", &pk, &reward_sk(), Some("1")),
        record("REMOVE", &pk, &reward_sk(), Some("2")),
        record("INSERT", &pk, keys::META_SK, Some("3")),
        record("INSERT", &pk, "L#00000000000000000001", Some("4")),
        record("INSERT", "EVT#evt_1", keys::MARKER_SK, Some("5")),
    ];
    for r in &skipped {
        assert!(
            matches!(h.record(r).await, RecordOutcome::NotAReward(_)),
            "{} {:?}",
            r.event_name,
            r.change.keys
        );
    }
    // A reward key that cannot be read is left for an operator, not retried.
    let bad = record("INSERT", "CUST#nope", "R#x", Some("6"));
    assert!(matches!(h.record(&bad).await, RecordOutcome::BadKey { .. }));
    let mut event = Event::default();
    event.records = skipped.into_iter().chain([bad]).collect();
    let response = h.stream(event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn when_the_provider_is_down_then_only_the_reward_record_is_a_failure() {
    let store = store_with_one_reward().await;
    let h = handler(&store);
    let pk = keys::customer_pk(&customer());
    let mut event = Event::default();
    event.records = vec![
        record("INSERT", &pk, keys::META_SK, Some("10")),
        record("INSERT", &pk, &reward_sk(), Some("11")),
    ];
    let response = h.stream(event).await.unwrap();
    let failed: Vec<Option<&str>> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_deref())
        .collect();
    assert_eq!(failed, vec![Some("11")]);
}

#[tokio::test]
async fn when_a_record_to_retry_has_no_sequence_number_then_the_whole_batch_fails() {
    let store = store_with_one_reward().await;
    let h = handler(&store);
    let pk = keys::customer_pk(&customer());
    let mut event = Event::default();
    event.records = vec![record("INSERT", &pk, &reward_sk(), None)];
    let err = h.stream(event).await.unwrap_err();
    assert!(matches!(
        err,
        HandlerError::UnidentifiedFailure { count: 1 }
    ));
    // And the sweep payload is told apart from a batch by the same entry point.
    let report = h
        .handle(
            serde_json::json!({ "sweep": { "limit": 5 } }),
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        report["swept"], 0,
        "written just now: not due for 15 minutes"
    );
}
