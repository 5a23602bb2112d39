//! The earn handler on the embedded store: partial batch failures, FIFO group blocking,
//! bounded retries, one read per customer per batch, idempotent redelivery.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use earn::{EarnHandler, HandlerError, MessageError, MessageOutcome, RetryPolicy};
use saguaro_app::{Applied, EarnError, Earner};
use saguaro_domain::LineKind;
use saguaro_embedded::EmbeddedStore;
use saguaro_sqs::DecodeError;

type Store = Arc<Counting<EmbeddedStore>>;

fn handler() -> (EarnHandler<Store>, Store) {
    let store = Arc::new(Counting::new(EmbeddedStore::new()));
    let handler = EarnHandler::new(Earner::new(store.clone(), program())).with_retry(RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(1),
    });
    (handler, store)
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn when_every_message_applies_then_no_failure_is_reported() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let ben = customer("ben");
    let response = handler
        .handle(batch(vec![
            event_message("m1", &payment("e1", &ana, 12_000, 1)),
            event_message("m2", &payment("e2", &ben, 5_000, 1)),
            event_message("m3", &payment("e3", &ana, 3_000, 2)),
        ]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    // ana: 120 earned, one 120-point credit redeemed; then 30 more.
    let ana_view = view(&store.inner, &ana).await;
    assert_eq!(ana_view.balance, 30);
    assert_eq!(ana_view.rewards.len(), 1);
    assert_eq!(view(&store.inner, &ben).await.balance, 50);
}

#[tokio::test]
async fn when_a_body_is_undecodable_then_only_that_message_is_reported_failed() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let response = handler
        .handle(batch(vec![
            event_message("m1", &payment("e1", &ana, 5_000, 1)),
            message("poison", Some("custom:zed"), "{\"not\": \"an event\""),
            event_message("m3", &payment("e3", &ana, 2_000, 2)),
        ]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["poison"]);
    assert_eq!(view(&store.inner, &ana).await.balance, 70);
}

#[tokio::test]
async fn when_a_body_is_missing_or_not_json_then_the_outcome_says_so_without_panicking() {
    let (handler, _store) = handler();
    let mut no_body = message("m1", None, "");
    no_body.body = None;
    let outcomes = handler
        .apply_batch(&batch(vec![
            no_body,
            message("m2", None, "\u{0}\u{ff}garbage"),
            message("m3", None, "{\"id\": 42}"),
        ]))
        .await;
    assert!(matches!(
        outcomes[0],
        MessageOutcome::Failed(MessageError::MissingBody)
    ));
    assert!(matches!(
        outcomes[1],
        MessageOutcome::Failed(MessageError::Undecodable(DecodeError::Malformed {
            category: "syntax",
            line: 1,
            ..
        }))
    ));
    assert!(matches!(
        outcomes[2],
        MessageOutcome::Failed(MessageError::Undecodable(DecodeError::Malformed {
            category: "data",
            ..
        }))
    ));
}

#[tokio::test]
async fn when_a_message_was_written_before_the_versioned_format_then_it_is_applied() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let event = payment("e1", &ana, 5_000, 1);
    // the body as the webhook functions wrote it before the envelope: the bare event
    let bare = serde_json::to_string(&event).unwrap();
    let response = handler
        .handle(batch(vec![message("m1", Some(&ana.to_string()), &bare)]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(view(&store.inner, &ana).await.balance, 50);
}

#[tokio::test]
async fn when_a_message_has_an_unknown_format_version_then_it_fails_at_once_without_a_store_call() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let event = payment("e1", &ana, 5_000, 1);
    let body = format!(
        "{{\"v\":2,\"event\":{}}}",
        serde_json::to_string(&event).unwrap()
    );
    let outcomes = handler
        .apply_batch(&batch(vec![message("m1", Some(&ana.to_string()), &body)]))
        .await;
    assert!(
        matches!(
            &outcomes[0],
            MessageOutcome::Failed(MessageError::Undecodable(DecodeError::UnknownVersion { found }))
                if found == "2"
        ),
        "{outcomes:?}"
    );
    assert_eq!((store.loads(), store.commits()), (0, 0));
}

#[tokio::test]
async fn when_a_message_fails_then_later_messages_of_its_group_fail_without_being_attempted() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let ben = customer("ben");
    let group = ana.to_string();
    let response = handler
        .handle(batch(vec![
            event_message("a1", &payment("e1", &ana, 5_000, 1)),
            message("a2", Some(&group), "not json"),
            event_message("b1", &payment("e3", &ben, 4_000, 1)),
            event_message("a3", &payment("e4", &ana, 9_000, 2)),
            event_message("a4", &adjusted("e5", &ana, 10, 3)),
        ]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["a2", "a3", "a4"]);
    let ana_view = view(&store.inner, &ana).await;
    assert_eq!(ana_view.balance, 50, "only a1 is applied to ana");
    assert_eq!(ana_view.lines.len(), 1);
    assert_eq!(view(&store.inner, &ben).await.balance, 40);
}

#[tokio::test]
async fn when_the_store_fails_transiently_then_the_message_is_retried_and_applied() {
    let (handler, store) = handler();
    let ana = customer("ana");
    store.fail_next_commits.store(2, Ordering::SeqCst);
    let response = handler
        .handle(batch(vec![event_message(
            "m1",
            &payment("e1", &ana, 5_000, 1),
        )]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        store.commits(),
        3,
        "two failed tries, then the one that applied"
    );
    assert_eq!(view(&store.inner, &ana).await.balance, 50);
}

#[tokio::test]
async fn when_the_store_keeps_failing_then_the_message_is_reported_failed_after_bounded_retries() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let ben = customer("ben");
    store.fail_next_commits.store(3, Ordering::SeqCst);
    let outcomes = handler
        .apply_batch(&batch(vec![
            event_message("a1", &payment("e1", &ana, 5_000, 1)),
            event_message("a2", &payment("e2", &ana, 5_000, 2)),
            event_message("b1", &payment("e3", &ben, 2_000, 1)),
        ]))
        .await;
    match &outcomes[0] {
        MessageOutcome::Failed(MessageError::Earn(e)) => assert!(e.is_retryable()),
        other => panic!("expected a store failure, got {other:?}"),
    }
    assert!(matches!(
        outcomes[1],
        MessageOutcome::Failed(MessageError::GroupBlocked { .. })
    ));
    assert!(matches!(
        outcomes[2],
        MessageOutcome::Applied(Applied::New { lines: 1, .. })
    ));
    assert_eq!(store.commits(), 4, "3 tries for a1, none for a2, 1 for b1");
    assert_eq!(view(&store.inner, &ana).await.lines.len(), 0);
}

#[tokio::test]
async fn when_the_store_rejects_the_commit_then_the_message_fails_at_once_without_retries() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let ben = customer("ben");
    store.reject_next_commits.store(1, Ordering::SeqCst);
    let outcomes = handler
        .apply_batch(&batch(vec![
            event_message("a1", &payment("e1", &ana, 5_000, 1)),
            event_message("b1", &payment("e2", &ben, 2_000, 1)),
        ]))
        .await;
    // reported failed (SQS redelivers it until maxReceiveCount, then the DLQ), not retried
    match &outcomes[0] {
        MessageOutcome::Failed(MessageError::Earn(e)) => assert!(!e.is_retryable(), "{e:?}"),
        other => panic!("expected a store rejection, got {other:?}"),
    }
    assert!(matches!(
        outcomes[1],
        MessageOutcome::Applied(Applied::New { lines: 1, .. })
    ));
    assert_eq!(store.commits(), 2, "one try for a1, one for b1");
    assert_eq!(view(&store.inner, &ana).await.lines.len(), 0);
}

#[tokio::test]
async fn when_an_event_id_is_reused_for_another_event_then_it_fails_without_retry() {
    let (handler, store) = handler();
    let ana = customer("ana");
    handler
        .handle(batch(vec![event_message(
            "m1",
            &payment("e1", &ana, 5_000, 1),
        )]))
        .await
        .unwrap();
    let commits_before = store.commits();
    let outcomes = handler
        .apply_batch(&batch(vec![event_message(
            "m2",
            &payment("e1", &ana, 9_999, 1),
        )]))
        .await;
    assert!(matches!(
        &outcomes[0],
        MessageOutcome::Failed(MessageError::Earn(EarnError::IdReused(id))) if id.as_str() == "e1"
    ));
    assert_eq!(store.commits() - commits_before, 1, "not retried");
    assert_eq!(view(&store.inner, &ana).await.balance, 50);
}

#[tokio::test]
async fn when_an_event_id_is_reused_for_another_customer_then_it_is_reported_failed_without_retry()
{
    // One event id is one event: the id applied to ana is refused for bea. A permanent
    // failure: reported to SQS (which redelivers it up to maxReceiveCount, then moves it
    // to the DLQ), never acknowledged, and not retried within the invocation.
    let (handler, store) = handler();
    let (ana, bea) = (customer("ana"), customer("bea"));
    handler
        .handle(batch(vec![event_message(
            "m1",
            &payment("e1", &ana, 5_000, 1),
        )]))
        .await
        .unwrap();
    let commits_before = store.commits();
    let response = handler
        .handle(batch(vec![event_message(
            "m2",
            &payment("e1", &bea, 5_000, 1),
        )]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), vec!["m2"]);
    assert_eq!(store.commits() - commits_before, 1, "not retried");
    let outcomes = handler
        .apply_batch(&batch(vec![event_message(
            "m2",
            &payment("e1", &bea, 5_000, 1),
        )]))
        .await;
    assert!(matches!(
        &outcomes[0],
        MessageOutcome::Failed(MessageError::Earn(EarnError::IdReused(id))) if id.as_str() == "e1"
    ));
    assert_eq!(view(&store.inner, &bea).await.balance, 0);
    assert!(view(&store.inner, &bea).await.lines.is_empty());
    assert_eq!(view(&store.inner, &ana).await.balance, 50);
}

#[tokio::test]
async fn when_a_message_is_redelivered_then_it_is_acknowledged_and_changes_nothing() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let e1 = payment("e1", &ana, 15_000, 1);
    handler
        .handle(batch(vec![event_message("m1", &e1)]))
        .await
        .unwrap();
    let before = view(&store.inner, &ana).await;
    let outcomes = handler
        .apply_batch(&batch(vec![
            event_message("m1-again", &e1),
            event_message("m1-third", &e1),
        ]))
        .await;
    assert!(matches!(
        outcomes[0],
        MessageOutcome::Applied(Applied::Duplicate)
    ));
    assert!(matches!(
        outcomes[1],
        MessageOutcome::Applied(Applied::Duplicate)
    ));
    assert_eq!(view(&store.inner, &ana).await, before);
    assert_eq!(before.balance, 30);
    assert_eq!(
        before.lines.iter().map(|l| l.kind).collect::<Vec<_>>(),
        vec![LineKind::Earn, LineKind::Redemption]
    );
}

#[tokio::test]
async fn when_a_batch_has_several_events_per_customer_then_each_customer_is_read_once() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let ben = customer("ben");
    let cy = customer("cy");
    let mut messages = Vec::new();
    for i in 0..10i64 {
        let who = [&ana, &ben, &cy][(i % 3) as usize];
        messages.push(event_message(
            &format!("m{i}"),
            &payment(&format!("e{i}"), who, 1_000 + i, i),
        ));
    }
    let response = handler.handle(batch(messages)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(store.loads(), 3);
    assert_eq!(store.commits(), 10);
}

#[tokio::test]
async fn when_a_referral_converts_then_the_referrer_is_credited_in_the_same_batch() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let rita = customer("rita");
    let response = handler
        .handle(batch(vec![
            event_message("m1", &subscribed("e1", &ana, Some(&rita), 1)),
            event_message("m2", &payment("e2", &ana, 2_000, 2)),
        ]))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let rita_view = view(&store.inner, &rita).await;
    assert_eq!(rita_view.balance, 75);
    assert_eq!(rita_view.lines[0].rule, "referrer");
}

#[tokio::test]
async fn when_a_failed_message_has_no_id_then_the_whole_batch_fails() {
    let (handler, store) = handler();
    let ana = customer("ana");
    let mut anonymous = message("x", None, "nope");
    anonymous.message_id = None;
    let result = handler
        .handle(batch(vec![
            event_message("m1", &payment("e1", &ana, 5_000, 1)),
            anonymous,
        ]))
        .await;
    assert!(matches!(
        result,
        Err(HandlerError::UnidentifiedFailure { count: 1 })
    ));
    // The good message was applied: its redelivery will be a no-op.
    assert_eq!(view(&store.inner, &ana).await.balance, 50);
}

#[tokio::test]
async fn when_the_batch_is_empty_then_the_response_is_empty() {
    let (handler, store) = handler();
    let response = handler.handle(batch(Vec::new())).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(store.loads() + store.commits(), 0);
}
