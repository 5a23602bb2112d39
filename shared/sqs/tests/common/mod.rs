//! Shared set-up of the queue tests: a real SDK client on the moto server that
//! `infra/test.sh` starts, a fresh FIFO queue per test, and a receive helper.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};

pub const ENDPOINT_VAR: &str = "SAGUARO_TEST_AWS_ENDPOINT";

/// The emulator's endpoint. A test without it fails: it never passes by skipping.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{ENDPOINT_VAR} is not set: run infra/test.sh, which starts moto server"),
    }
}

pub async fn client() -> Client {
    let shared = aws_config::from_env().endpoint_url(endpoint()).load().await;
    Client::new(&shared)
}

/// A FIFO queue no other test (or earlier run against the same server) uses.
pub async fn fresh_queue(client: &Client, test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    let name = format!(
        "{test}-{}-{nanos}-{}.fifo",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    saguaro_sqs::create_fifo_queue(client, &name)
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
}

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
        let out = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receiving from {queue_url}: {e:?}"));
        let messages = out.messages.unwrap_or_default();
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
    let attr =
        |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name)).cloned();
    Received {
        body: m.body().unwrap_or_default().to_owned(),
        group_id: attr(MessageSystemAttributeName::MessageGroupId),
        dedup_id: attr(MessageSystemAttributeName::MessageDeduplicationId),
    }
}
