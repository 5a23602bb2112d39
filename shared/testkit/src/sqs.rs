//! SQS on the emulator: clients, a fresh FIFO queue per test, and receiving.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use saguaro_dynamodb::RequestCounter;
use serde_json::Value;

use crate::{aws, unique_name};

pub async fn client() -> Client {
    Client::new(&aws().await)
}

/// An SQS client; `counter` counts its requests by operation too (SQS's JSON protocol names
/// the operation in the same `x-amz-target` header as DynamoDB's).
pub fn counted_client(shared: &aws_config::SdkConfig, counter: &RequestCounter) -> Client {
    let config = aws_sdk_sqs::config::Builder::from(shared)
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

/// A FIFO queue, made as the application makes its earn queue, that no other test (or
/// earlier run against the same server) uses. Returns its URL.
pub async fn fresh_queue(client: &Client, test: &str) -> String {
    let name = format!("{}.fifo", unique_name(test));
    saguaro_sqs::create_fifo_queue(client, &name)
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
}

/// One `ReceiveMessage` of up to ten messages with all system attributes, waiting at most
/// `wait_secs` for the first.
pub async fn receive(client: &Client, queue_url: &str, wait_secs: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_secs)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("receiving from {queue_url}: {e:?}"))
        .messages
        .unwrap_or_default()
}

/// A system attribute of a received message (group id, deduplication id, ...).
pub fn attribute(m: &Message, name: MessageSystemAttributeName) -> Option<String> {
    m.attributes().and_then(|a| a.get(&name)).cloned()
}

/// (the event's JSON, group id, dedup id) of the messages one [`receive`] returns. Each body
/// must be in the earn queue's current format (a `v` 1 envelope) and decode to an event.
pub async fn receive_json(
    client: &Client,
    queue_url: &str,
    wait_secs: i32,
) -> Vec<(Value, String, String)> {
    receive(client, queue_url, wait_secs)
        .await
        .iter()
        .map(|m| {
            let body = m.body().unwrap_or_default();
            let envelope: Value = serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("message body is not JSON ({e}): {body}"));
            assert_eq!(
                envelope["v"], 1,
                "message body is not a v1 envelope: {body}"
            );
            let event = saguaro_sqs::decode(body)
                .unwrap_or_else(|e| panic!("message body is not an event ({e}): {body}"));
            (
                serde_json::to_value(&event)
                    .unwrap_or_else(|e| panic!("event does not serialise ({e}): {body}")),
                attribute(m, MessageSystemAttributeName::MessageGroupId).unwrap_or_default(),
                attribute(m, MessageSystemAttributeName::MessageDeduplicationId)
                    .unwrap_or_default(),
            )
        })
        .collect()
}
