//! docs/design.md §5.4 on moto: an undecodable message is reported failed every time, SQS moves it
//! to the DLQ after `maxReceiveCount` receives, and the good messages of its batch are
//! applied and deleted the first time.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use earn::{EarnHandler, RetryPolicy};
use saguaro_app::Earner;
use saguaro_dynamodb::{DynamoStore, RequestCounter};

const MAX_RECEIVE_COUNT: u32 = 2;
const POISON: &str = "{\"provider\": \"stripe\", \"id\": ";

#[tokio::test]
async fn when_a_batch_holds_a_poison_message_then_good_ones_apply_and_it_ends_in_the_dlq() {
    let aws = aws().await;
    let counter = RequestCounter::new();
    let dynamodb = dynamodb(&aws, &counter);
    let sqs = sqs(&aws, &counter);
    let table = fresh_table(&dynamodb, "earn-poison").await;
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), table));
    let handler = EarnHandler::new(Earner::new(store.clone(), program())).with_retry(RetryPolicy {
        attempts: 2,
        first_delay: Duration::from_millis(1),
    });

    let dlq = fifo_queue(&sqs, &unique_name("earn-poison-dlq"), 30, None).await;
    let queue = fifo_queue(
        &sqs,
        &unique_name("earn-poison"),
        30,
        Some((&dlq, MAX_RECEIVE_COUNT)),
    )
    .await;
    let ana = customer("poison-ana");
    let ben = customer("poison-ben");
    let good = [
        payment("p-e1", &ana, 12_500, 1),
        payment("p-e2", &ben, 4_200, 1),
        adjusted("p-e3", &ana, 7, 2),
    ];
    send(&sqs, &queue, &ana.to_string(), "p-e1", &body(&good[0])).await;
    let poison_id = send(&sqs, &queue, "custom:poison-zed", "poison", POISON).await;
    send(&sqs, &queue, &ben.to_string(), "p-e2", &body(&good[1])).await;
    send(&sqs, &queue, &ana.to_string(), "p-e3", &body(&good[2])).await;

    let mut receives_of_poison = 0;
    let mut applied_first_batch = None;
    for _round in 0..10 {
        let messages = receive(&sqs, &queue, 10, 30).await.unwrap();
        if messages.is_empty() {
            break;
        }
        let response = handler.handle(lambda_event(&messages)).await.unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            vec![poison_id.as_str()],
            "only the poison message fails"
        );
        receives_of_poison += 1;
        if applied_first_batch.is_none() {
            applied_first_batch = Some(messages.len());
        }
        let (retry, done): (Vec<_>, Vec<_>) = messages
            .iter()
            .partition(|m| m.message_id() == Some(poison_id.as_str()));
        delete(&sqs, &queue, &done).await.unwrap();
        release(&sqs, &queue, &retry).await.unwrap();
    }

    assert_eq!(
        applied_first_batch,
        Some(4),
        "one batch of all four messages first"
    );
    assert_eq!(
        receives_of_poison, MAX_RECEIVE_COUNT,
        "received maxReceiveCount times"
    );
    assert!(
        receive(&sqs, &queue, 10, 30).await.unwrap().is_empty(),
        "the queue is empty"
    );
    let dead = receive(&sqs, &dlq, 10, 30).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id(), Some(poison_id.as_str()));
    assert_eq!(dead[0].body(), Some(POISON));

    // 125 earned, 120 redeemed for a credit, +7 adjusted.
    let ana_view = view(&*store, &ana).await;
    assert_eq!(ana_view.balance, 12);
    assert_eq!(ana_view.rewards.len(), 1);
    assert_eq!(view(&*store, &ben).await.balance, 42);
}
