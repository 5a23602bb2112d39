//! `saguaro backfill --queue-url URL`: a history put on the deployed stack's earn queue (SQS
//! FIFO), where the earn function applies it like live events.
//!
//! - **Order per customer**: events are sent in history order, in `SendMessageBatch`
//!   requests of up to ten that hold at most one event of a customer, and a batch is sent
//!   whole (what SQS could not take is sent again) before the next one. FIFO keeps each
//!   customer's messages in the order sent (the group is the customer).
//! - **Idempotent and resumable**: each message's deduplication id is the event id, so SQS
//!   drops a resend within five minutes, and the earn function's event markers make a later
//!   one a duplicate that changes nothing. A backfill stopped anywhere is resumed by running
//!   it again.
//! - **Cost**: one request per ten events (SQS charges per 64 KB of a request); the earn
//!   function's cost per event is the same as for live events (README, cost per million).

use std::collections::HashSet;
use std::time::Duration;

use saguaro_domain::{CustomerId, Event};
use saguaro_sqs::{MAX_BATCH, SqsError, SqsQueue};

use crate::simulate::history::HistoryEvent;
use crate::simulate::run::Progress;

/// Attempts per batch before the backfill stops (throttling, SQS unavailable).
const ATTEMPTS: u32 = 6;
/// The first wait between attempts; doubled each time.
const FIRST_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnqueueReport {
    pub read: u64,
    /// Events SQS took (a resend it deduplicated counts too).
    pub sent: u64,
    /// `SendMessageBatch` requests made, retries included.
    pub requests: u64,
}

impl EnqueueReport {
    pub fn describe(&self) -> String {
        format!(
            "{} events read: {} on the earn queue, in {} requests (the earn function applies them; \
             events applied before are duplicates that change nothing)",
            self.read, self.sent, self.requests
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// What SQS refused, or could not take after [`ATTEMPTS`]; what was sent before stays.
    #[error("after {sent} events on the queue")]
    Queue {
        sent: u64,
        #[source]
        source: SqsError,
    },
}

/// Sends `events` (sorted) to `queue`, in order per customer.
pub async fn enqueue(
    queue: &SqsQueue,
    events: &[HistoryEvent],
    progress: &dyn Progress,
) -> Result<EnqueueReport, EnqueueError> {
    let mut report = EnqueueReport {
        read: events.len() as u64,
        ..EnqueueReport::default()
    };
    let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
    let mut in_batch: HashSet<CustomerId> = HashSet::with_capacity(MAX_BATCH);
    for he in events {
        if batch.len() == MAX_BATCH || in_batch.contains(&he.event.customer) {
            flush(queue, &mut batch, &mut report, progress).await?;
            in_batch.clear();
        }
        in_batch.insert(he.event.customer.clone());
        batch.push(he.event.clone());
    }
    flush(queue, &mut batch, &mut report, progress).await?;
    Ok(report)
}

/// Sends `batch` until SQS has taken all of it, then empties it.
async fn flush(
    queue: &SqsQueue,
    batch: &mut Vec<Event>,
    report: &mut EnqueueReport,
    progress: &dyn Progress,
) -> Result<(), EnqueueError> {
    let mut wait = FIRST_WAIT;
    let mut attempt = 1;
    while !batch.is_empty() {
        report.requests += 1;
        let outcome = queue.send_batch(batch).await;
        let again = match outcome {
            Ok(again) => again,
            Err(e @ SqsError::SendBatch(_)) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "SendMessageBatch failed; trying again");
                (0..batch.len()).collect()
            }
            Err(source) => {
                return Err(EnqueueError::Queue {
                    sent: report.sent,
                    source,
                });
            }
        };
        let taken = batch.len() - again.len();
        report.sent += taken as u64;
        progress.advance(taken as u64);
        if again.is_empty() {
            batch.clear();
            return Ok(());
        }
        if attempt >= ATTEMPTS {
            let event_id = batch[again[0]].id.as_str().to_owned();
            return Err(EnqueueError::Queue {
                sent: report.sent,
                source: SqsError::Refused {
                    event_id,
                    code: "still throttled".to_owned(),
                    message: format!("not taken after {ATTEMPTS} attempts"),
                },
            });
        }
        let mut keep = again.into_iter();
        let mut next = keep.next();
        let mut i = 0;
        batch.retain(|_| {
            let kept = next == Some(i);
            if kept {
                next = keep.next();
            }
            i += 1;
            kept
        });
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
        attempt += 1;
    }
    Ok(())
}
