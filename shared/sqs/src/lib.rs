//! The earn queue (docs/design.md §1): an SQS FIFO queue fed by the webhook functions. [`SqsQueue`]
//! is the [`EventSink`] they submit to: one message per event, its body in the versioned
//! format of [`message`] (which the earn function decodes), `MessageGroupId` = the customer (so one customer's events are applied one at a time, in
//! order) and `MessageDeduplicationId` = the provider's event id (so a provider's quick
//! redelivery is dropped by SQS itself; later ones are caught by the earn function's marker).

pub mod message;

pub use message::{DecodeError, EncodeError, decode, encode, encode_rejection};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use saguaro_app::ports::{EventSink, SinkError};
use saguaro_app::rejected::{ParkFuture, ParkRejected, RejectedError, Rejection};
use saguaro_domain::Event;
use sha2::{Digest, Sha256};
use tracing::debug;

/// FIFO group and deduplication ids: 1 to 128 characters.
pub const MAX_FIFO_ID_LEN: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("cannot encode the message")]
    Encode(#[source] EncodeError),
    #[error("SendMessage failed for event {event_id}")]
    Send {
        event_id: String,
        #[source]
        source: aws_sdk_sqs::Error,
    },
    #[error("SendMessageBatch failed")]
    SendBatch(#[source] aws_sdk_sqs::Error),
    #[error("SQS refused event {event_id}: {code}: {message}")]
    Refused {
        event_id: String,
        code: String,
        message: String,
    },
    #[error("CreateQueue failed for {name}")]
    CreateQueue {
        name: String,
        #[source]
        source: aws_sdk_sqs::Error,
    },
    #[error("CreateQueue for {name} returned no queue URL")]
    NoQueueUrl { name: String },
}

pub type Result<T, E = SqsError> = std::result::Result<T, E>;

/// The earn queue. Build it once at start-up; the client is cheap to share.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends one event; see the module docs for the ids.
    pub async fn send(&self, event: &Event) -> Result<()> {
        let event_id = event.id.as_str().to_owned();
        let body = encode(event).map_err(SqsError::Encode)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(fifo_id(&event.customer.to_string()))
            .message_deduplication_id(fifo_id(&event_id))
            .send()
            .await
            .map_err(|e| SqsError::Send {
                event_id: event_id.clone(),
                source: e.into(),
            })?;
        debug!(event_id, message_id = ?out.message_id(), "enqueued");
        Ok(())
    }
}

impl SqsQueue {
    /// Sends up to [`MAX_BATCH`] events in one `SendMessageBatch` request (the ids as for
    /// [`SqsQueue::send`]). Returns the indexes of the events SQS could not take this time
    /// (throttled, internal errors): send them again. An event SQS refuses for what it is
    /// (the sender's fault) is an error. Callers keep order per customer by putting at most
    /// one event of a customer in a batch.
    pub async fn send_batch(&self, events: &[Event]) -> Result<Vec<usize>> {
        let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
        for (i, event) in events.iter().enumerate().take(MAX_BATCH) {
            let body = encode(event).map_err(SqsError::Encode)?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .message_group_id(fifo_id(&event.customer.to_string()))
                .message_deduplication_id(fifo_id(event.id.as_str()))
                .build()
                .map_err(|e| {
                    SqsError::SendBatch(aws_sdk_sqs::Error::from(
                        aws_sdk_sqs::error::BuildError::other(e),
                    ))
                })?;
            request = request.entries(entry);
        }
        let out = request
            .send()
            .await
            .map_err(|e| SqsError::SendBatch(e.into()))?;
        let mut again = Vec::new();
        for failed in out.failed() {
            let Ok(i) = failed.id().parse::<usize>() else {
                continue;
            };
            let Some(event) = events.get(i) else {
                continue;
            };
            if failed.sender_fault() {
                return Err(SqsError::Refused {
                    event_id: event.id.as_str().to_owned(),
                    code: failed.code().to_owned(),
                    message: failed.message().unwrap_or_default().to_owned(),
                });
            }
            again.push(i);
        }
        again.sort_unstable();
        Ok(again)
    }
}

/// Entries of one `SendMessageBatch` request.
pub const MAX_BATCH: usize = 10;

impl EventSink for SqsQueue {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        match self.send(&event).await {
            Ok(()) => Ok(()),
            // An event that cannot be written as JSON will not be fixed by a retry.
            Err(e @ SqsError::Encode(_)) => Err(SinkError::Rejected(Box::new(e))),
            Err(e) => Err(SinkError::Unavailable(Box::new(e))),
        }
    }
}

/// `key` as a FIFO group or deduplication id: itself when it is 1 to 128 printable ASCII
/// characters other than space (alphanumerics and punctuation, what SQS allows), otherwise
/// the SHA-256 hex of it (64 characters), which is stable, so redeliveries still collapse.
pub fn fifo_id(key: &str) -> String {
    let fits =
        (1..=MAX_FIFO_ID_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        key.to_owned()
    } else {
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

/// Creates a FIFO queue (name ending in `.fifo`) with explicit deduplication ids required,
/// and returns its URL: for tests and local set-up; the deployed queue comes from the template.
pub async fn create_fifo_queue(client: &Client, name: &str) -> Result<String> {
    let out = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .send()
        .await
        .map_err(|e| SqsError::CreateQueue {
            name: name.to_owned(),
            source: e.into(),
        })?;
    out.queue_url()
        .map(str::to_owned)
        .ok_or_else(|| SqsError::NoQueueUrl {
            name: name.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_key_fits_then_it_is_used_as_it_is() {
        assert_eq!(fifo_id("stripe:cus_H2020"), "stripe:cus_H2020");
        assert_eq!(fifo_id("evt_1GqInvoicePaid2020"), "evt_1GqInvoicePaid2020");
        let longest = "a".repeat(MAX_FIFO_ID_LEN);
        assert_eq!(fifo_id(&longest), longest);
    }

    #[test]
    fn when_key_is_too_long_empty_or_has_other_characters_then_sha256_hex() {
        // SHA-256 of the empty string, a well-known value
        assert_eq!(
            fifo_id(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for key in [
            "a".repeat(MAX_FIFO_ID_LEN + 1),
            "chargebee:Jean Dupont".to_owned(),
            "custom:café".to_owned(),
        ] {
            let id = fifo_id(&key);
            assert_eq!(id.len(), 64, "{key}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
            assert_eq!(fifo_id(&key), id, "stable for {key}");
        }
        assert_ne!(fifo_id("custom:a b"), fifo_id("custom:a c"));
    }
}

/// The webhook functions' parking place (`saguaro_app::rejected`): what they can never
/// normalise goes to the earn dead-letter queue, where the earn function's own failures end
/// up and whose alarm fires, as a [`message::encode_rejection`] body. The DLQ of a FIFO
/// queue is FIFO: the group is the provider (order does not matter there), and the
/// deduplication id the provider's event id, so a provider's retry is parked once.
#[derive(Debug, Clone)]
pub struct SqsParking {
    client: Client,
    queue_url: String,
}

impl SqsParking {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl ParkRejected for SqsParking {
    fn park<'a>(&'a self, rejection: &'a Rejection) -> ParkFuture<'a> {
        Box::pin(async move {
            self.client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(message::encode_rejection(rejection))
                .message_group_id(fifo_id(&format!("rejected:{}", rejection.provider)))
                .message_deduplication_id(fifo_id(&format!(
                    "{}:{}",
                    rejection.provider, rejection.event_id
                )))
                .send()
                .await
                .map(drop)
                .map_err(|e| RejectedError::Queue {
                    source: Box::new(aws_sdk_sqs::Error::from(e)),
                })
        })
    }
}
