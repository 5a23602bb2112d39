//! The earn handler: one SQS batch from the FIFO earn queue in, the ids of the messages to
//! redeliver out (`SqsBatchResponse`, partial batch failures).
//!
//! - One [`StateCache`] per batch: each customer's state is read at most once per batch
//!   (a conflict or an error evicts it, and the next read goes to the store).
//! - Messages are applied in order, each in its own tracing span (message id, event id,
//!   customer). Bodies are never logged.
//! - Bodies are in the earn queue's versioned format ([`saguaro_sqs::message`]).
//! - An undecodable body (or one of an unknown format version), an event the engine rejects
//!   and a write the store refuses are permanent: reported failed at once, without retrying
//!   here; SQS redelivers them until `maxReceiveCount`, then moves them to the DLQ
//!   (docs/design.md §5.4).
//! - A retryable error is retried here with bounded exponential backoff, then reported
//!   failed.
//! - FIFO: after a failure in a message group, every later message of that group in the batch
//!   is reported failed without being attempted, so a customer's events are never applied out
//!   of order.
//!
//! The handler is generic over the store port, so tests run it on the embedded store and on
//! DynamoDB alike.

use std::collections::HashSet;
use std::time::Duration;

use crate::metrics::BatchMetrics;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use saguaro_app::{Applied, EarnError, Earner, StateCache};
use saguaro_domain::Event;
use saguaro_domain::ports::StateStore;
use saguaro_sqs::DecodeError;
use tracing::{Instrument, debug, error, field, info, info_span, warn};

/// The SQS system attribute naming a FIFO message's group (the customer).
const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// How often, and how patiently, a retryable error is retried within one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 tries: the first, then after 25, 50 and 100 ms (175 ms at most), well inside a
    /// Lambda timeout; beyond that the queue's redelivery takes over.
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(25),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `attempt` (1-based).
    fn delay_after(&self, attempt: u32) -> Duration {
        self.first_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
    }
}

/// Why one message was not applied.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("the message has no body")]
    MissingBody,
    /// The body is not an event in a format this build reads; the cause says which and where
    /// (never quoting the body).
    #[error("undecodable message")]
    Undecodable(#[source] DecodeError),
    #[error("an earlier message of group {group} failed in this batch")]
    GroupBlocked { group: String },
    #[error("the event could not be applied")]
    Earn(#[source] EarnError),
}

/// Why a whole batch must be retried.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A failed message has no message id, so it cannot be named in the batch response;
    /// failing the invocation makes SQS redeliver the whole batch (harmless: applying an
    /// event is idempotent).
    #[error("{count} failed message(s) have no message id")]
    UnidentifiedFailure { count: usize },
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        Self {
            error_type: "UnidentifiedFailure".to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What happened to one message of a batch.
#[derive(Debug)]
pub enum MessageOutcome {
    Applied(Applied),
    Failed(MessageError),
}

/// Applies SQS batches of earn events through an [`Earner`].
#[derive(Debug)]
pub struct EarnHandler<S> {
    earner: Earner<S>,
    retry: RetryPolicy,
}

impl<S: StateStore> EarnHandler<S> {
    pub fn new(earner: Earner<S>) -> Self {
        Self {
            earner,
            retry: RetryPolicy::default(),
        }
    }

    /// Retries retryable errors with `retry` instead of [`RetryPolicy::default`].
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn earner(&self) -> &Earner<S> {
        &self.earner
    }

    /// Handles one batch: the response names the messages SQS must redeliver.
    pub async fn handle(&self, batch: SqsEvent) -> Result<SqsBatchResponse, HandlerError> {
        let outcomes = self.apply_batch(&batch).await;
        let mut failed = Vec::new();
        let mut unidentified = 0;
        for (message, outcome) in batch.records.iter().zip(&outcomes) {
            if let MessageOutcome::Failed(_) = outcome {
                match &message.message_id {
                    Some(id) => failed.push(id.clone()),
                    None => unidentified += 1,
                }
            }
        }
        let duplicates = outcomes
            .iter()
            .filter(|o| matches!(o, MessageOutcome::Applied(Applied::Duplicate)))
            .count();
        let metrics = BatchMetrics {
            messages: outcomes.len(),
            applied: outcomes.len() - failed.len() - unidentified - duplicates,
            duplicates,
            failed: failed.len() + unidentified,
        };
        info!(
            messages = metrics.messages,
            applied = metrics.applied,
            duplicates,
            failed = metrics.failed,
            "batch handled"
        );
        // One EMF line per batch; stdout is where CloudWatch Logs reads it.
        let now_ms = jiff::Timestamp::now().as_millisecond();
        println!("{}", metrics.emf(now_ms));
        if unidentified > 0 {
            error!(count = unidentified, "failed messages without a message id");
            return Err(HandlerError::UnidentifiedFailure {
                count: unidentified,
            });
        }
        let mut response = SqsBatchResponse::default();
        response.set_failures(failed);
        Ok(response)
    }

    /// Applies every message of `batch` in order; one outcome per message, same order.
    pub async fn apply_batch(&self, batch: &SqsEvent) -> Vec<MessageOutcome> {
        let mut cache = StateCache::default();
        let mut blocked_groups: HashSet<&str> = HashSet::new();
        let mut outcomes = Vec::with_capacity(batch.records.len());
        for message in &batch.records {
            let group = message.attributes.get(MESSAGE_GROUP_ID).map(String::as_str);
            let span = info_span!(
                "message",
                message_id = message.message_id.as_deref().unwrap_or(""),
                event_id = field::Empty,
                customer = field::Empty,
            );
            let outcome = match group.filter(|g| blocked_groups.contains(g)) {
                Some(g) => {
                    span.in_scope(|| debug!(group = g, "skipped: the group failed earlier"));
                    MessageOutcome::Failed(MessageError::GroupBlocked {
                        group: g.to_owned(),
                    })
                }
                None => {
                    self.apply_message(message, &mut cache)
                        .instrument(span)
                        .await
                }
            };
            if let (MessageOutcome::Failed(_), Some(g)) = (&outcome, group) {
                blocked_groups.insert(g);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn apply_message(&self, message: &SqsMessage, cache: &mut StateCache) -> MessageOutcome {
        let event = match decode(message) {
            Ok(event) => event,
            Err(e) => {
                // Logged without the body (it may carry personal data): the DLQ keeps it.
                // Only the error's own text (kind and position): serde's message, its
                // source, quotes the values it refused.
                warn!(error = %e, "undecodable message");
                return MessageOutcome::Failed(e);
            }
        };
        let span = tracing::Span::current();
        span.record("event_id", field::display(&event.id));
        span.record("customer", field::display(&event.customer));
        let mut attempt = 1;
        loop {
            match self.earner.apply_cached(&event, cache).await {
                Ok(applied) => return MessageOutcome::Applied(applied),
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    let delay = self.retry.delay_after(attempt);
                    warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    error!(error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), retryable = e.is_retryable(), attempts = attempt, "not applied");
                    return MessageOutcome::Failed(MessageError::Earn(e));
                }
            }
        }
    }
}

/// The event in a message body ([`saguaro_sqs::decode`]).
pub fn decode(message: &SqsMessage) -> Result<Event, MessageError> {
    let body = message.body.as_deref().ok_or(MessageError::MissingBody)?;
    saguaro_sqs::decode(body).map_err(MessageError::Undecodable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_retry_policy_is_default_then_waits_are_25_50_100_ms() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.attempts, 4);
        let waits: Vec<u128> = (1..policy.attempts)
            .map(|a| policy.delay_after(a).as_millis())
            .collect();
        assert_eq!(waits, vec![25, 50, 100]);
    }

    #[test]
    fn when_attempts_are_huge_then_the_wait_saturates_instead_of_overflowing() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay_after(200),
            Duration::from_millis(25).saturating_mul(u32::MAX)
        );
    }
}
