//! Shared set-up of the queue tests: a real SDK client on the moto server that
//! `infra/test.sh` starts (from [`saguaro_testkit`]), a fresh FIFO queue per test, and a
//! receive helper that drains the queue.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use saguaro_testkit::sqs::{attribute, receive};

pub use saguaro_testkit::endpoint;
pub use saguaro_testkit::sqs::{client, fresh_queue};

/// A message as the earn function would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// Everything on the queue, waiting at most `wait_secs` for the first message.
pub async fn receive_all(client: &Client, queue_url: &str, wait_secs: i32) -> Vec<Received> {
    let mut all = Vec::new();
    let mut wait = wait_secs;
    loop {
        let messages = receive(client, queue_url, wait).await;
        if messages.is_empty() {
            return all;
        }
        for m in &messages {
            all.push(received(m));
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        wait = 0;
    }
}

fn received(m: &Message) -> Received {
    Received {
        body: m.body().unwrap_or_default().to_owned(),
        group_id: attribute(m, MessageSystemAttributeName::MessageGroupId),
        dedup_id: attribute(m, MessageSystemAttributeName::MessageDeduplicationId),
    }
}
