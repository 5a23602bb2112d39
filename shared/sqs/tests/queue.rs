//! [`SqsQueue`] against the moto server: the message the earn function will receive, and
//! FIFO deduplication of a redelivered event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use saguaro_app::ports::EventSink;
use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, Trigger};
use saguaro_sqs::{SqsQueue, fifo_id};

use common::{client, fresh_queue, receive_all};

fn payment(id: &str, customer: &str) -> Event {
    let mut e = Event::new(
        id,
        CustomerId::new(Provider::Stripe, customer),
        Trigger::PaymentSucceeded,
        jiff::Timestamp::from_second(1_591_000_100).unwrap(),
    );
    e.amount = Some(Money::new(3998, "usd".parse::<Currency>().unwrap()));
    e.refs.payment = Some("in_H2020".to_owned());
    e
}

#[tokio::test]
async fn when_event_is_submitted_then_message_has_versioned_body_group_and_dedup_ids() {
    // given
    let client = client().await;
    let url = fresh_queue(&client, "submit").await;
    let queue = SqsQueue::new(client.clone(), &url);
    let event = payment("evt_1GqInvoicePaid2020", "cus_H2020");
    // when
    queue.submit(event.clone()).await.unwrap();
    // then
    let messages = receive_all(&client, &url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(saguaro_sqs::decode(&m.body).unwrap(), event);
    let envelope: serde_json::Value = serde_json::from_str(&m.body).unwrap();
    assert_eq!(envelope["v"], 1, "{}", m.body);
    assert_eq!(m.group_id.as_deref(), Some("stripe:cus_H2020"));
    assert_eq!(m.dedup_id.as_deref(), Some("evt_1GqInvoicePaid2020"));
}

#[tokio::test]
async fn when_same_event_is_submitted_twice_then_one_message() {
    let client = client().await;
    let url = fresh_queue(&client, "dedup").await;
    let queue = SqsQueue::new(client.clone(), &url);
    let event = payment("evt_twice", "cus_A");
    queue.submit(event.clone()).await.unwrap();
    queue.submit(event).await.unwrap();
    let messages = receive_all(&client, &url, 1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].dedup_id.as_deref(), Some("evt_twice"));
}

#[tokio::test]
async fn when_customer_id_does_not_fit_a_group_id_then_its_sha256_is_used() {
    let client = client().await;
    let url = fresh_queue(&client, "hashed").await;
    let queue = SqsQueue::new(client.clone(), &url);
    let long = "c".repeat(200);
    queue.submit(payment("evt_long", &long)).await.unwrap();
    let messages = receive_all(&client, &url, 1).await;
    assert_eq!(messages.len(), 1);
    let group = messages[0].group_id.clone().unwrap();
    assert_eq!(group, fifo_id(&format!("stripe:{long}")));
    assert_eq!(group.len(), 64);
}

#[tokio::test]
async fn when_queue_does_not_exist_then_unavailable_with_source() {
    let client = client().await;
    let queue = SqsQueue::new(
        client,
        format!("{}/123456789012/missing-queue.fifo", common::endpoint()),
    );
    let err = queue.submit(payment("evt_x", "cus_A")).await.unwrap_err();
    assert!(
        matches!(err, saguaro_app::ports::SinkError::Unavailable(_)),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn when_a_batch_is_sent_then_each_event_is_one_message_with_its_ids_in_order() {
    let client = client().await;
    let url = fresh_queue(&client, "batch").await;
    let queue = SqsQueue::new(client.clone(), &url);
    let events: Vec<Event> = (0..saguaro_sqs::MAX_BATCH)
        .map(|n| payment(&format!("evt_batch_{n}"), &format!("cus_{n}")))
        .collect();
    // when it is sent, and sent again (a resumed backfill) before anything is received
    let again = queue.send_batch(&events).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert!(queue.send_batch(&events).await.unwrap().is_empty());
    // then SQS holds each event once (the resend was deduplicated by the event ids), each
    // with its customer's group and its event's dedup id
    let messages = receive_all(&client, &url, 1).await;
    assert_eq!(messages.len(), events.len(), "{messages:?}");
    for (m, e) in messages.iter().zip(&events) {
        assert_eq!(saguaro_sqs::decode(&m.body).unwrap(), *e);
        assert_eq!(m.group_id.as_deref(), Some(e.customer.to_string().as_str()));
        assert_eq!(m.dedup_id.as_deref(), Some(e.id.as_str()));
    }
}
