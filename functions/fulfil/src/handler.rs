//! The fulfil handler: one invocation in, what came of it out. Two kinds of invocation
//! reach the one function ([`Invocation::parse`]):
//!
//! - **a batch of the table's stream records** (`{"Records": [...]}`, the event source
//!   mapping's): each record that is an `INSERT` of a reward row (`sk` starting `R#`) is
//!   delivered through the shared [`Fulfiler`]; every other record (the customer item, ledger
//!   lines, markers, `MODIFY`s of delivery states, `REMOVE`s) is skipped. The event source
//!   filter should already have dropped those, but it is checked again here: the filter
//!   language is documented inconsistently, and moto does not apply filters at all. The
//!   answer is `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` naming only
//!   the records whose delivery may succeed when retried (the provider was unavailable, the
//!   store failed); delivered, failed-for-good, held-by-another and not-configured rows are
//!   not retried by Lambda (the last wait for the sweep).
//! - **a sweep** (`{"sweep": {}}` or `{"sweep": {"limit": 50}}`, sent by the scheduler):
//!   re-drives rows still waiting [`saguaro_app::fulfil::SWEEP_AFTER`] after they were
//!   written or last tried (a stream record lost, or past the stream's 24 hours, or a
//!   batch whose retries ran out). At most [`MAX_SWEEP`] rows, and none started after the
//!   invocation's deadline less [`DEADLINE_MARGIN`]. The answer counts the outcomes.
//!
//! Anything else is refused as an invocation error (nothing to retry, but visible).

use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use saguaro_app::fulfil::{Done, Fulfiler, RewardDelivery};
use saguaro_domain::ports::{RewardRef, RewardStore, StoreError};
use saguaro_dynamodb::keys;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{debug, error, info, warn};

/// Rows one sweep takes at most, and by default.
pub const MAX_SWEEP: usize = 100;
/// A sweep starts no row once the invocation has less than this left.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// The scheduler's payload: `{"sweep": {"limit": n}}` (`limit` optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub limit: Option<usize>,
}

/// What one invocation is.
#[derive(Debug)]
pub enum Invocation {
    Stream(Event),
    Sweep(SweepRequest),
}

impl Invocation {
    /// Tells the two payloads apart by their top-level key.
    pub fn parse(payload: Value) -> Result<Self, HandlerError> {
        let Value::Object(mut top) = payload else {
            return Err(HandlerError::UnknownPayload("not a JSON object".to_owned()));
        };
        if let Some(sweep) = top.remove("sweep") {
            let sweep = if sweep.is_null() {
                SweepRequest::default()
            } else {
                serde_json::from_value(sweep)
                    .map_err(|e| HandlerError::UnknownPayload(format!("sweep: {e}")))?
            };
            return Ok(Self::Sweep(sweep));
        }
        if top.contains_key("Records") {
            return serde_json::from_value(Value::Object(top))
                .map(Self::Stream)
                .map_err(|e| HandlerError::UnknownPayload(format!("stream records: {e}")));
        }
        let mut names: Vec<&str> = top.keys().map(String::as_str).collect();
        names.sort_unstable();
        Err(HandlerError::UnknownPayload(format!(
            "neither \"Records\" nor \"sweep\" (keys: {names:?})"
        )))
    }
}

/// Why an invocation fails as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("unknown invocation payload: {0}")]
    UnknownPayload(String),
    /// A record to retry has no sequence number, so it cannot be named in the batch
    /// response; failing the invocation makes Lambda retry the whole batch (harmless: a
    /// delivered reward is skipped).
    #[error("{count} record(s) to retry have no sequence number")]
    UnidentifiedFailure { count: usize },
    #[error("the sweep could not read the store")]
    Sweep(#[source] StoreError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::UnknownPayload(_) => "UnknownPayload",
            HandlerError::UnidentifiedFailure { .. } => "UnidentifiedFailure",
            HandlerError::Sweep(_) => "SweepStoreError",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What became of one stream record.
#[derive(Debug)]
pub enum RecordOutcome {
    /// Not an inserted reward row (the reason, for the debug log).
    NotAReward(&'static str),
    /// A reward row whose keys cannot be read: logged at error; retrying cannot help.
    BadKey {
        pk: String,
        sk: String,
    },
    Fulfilled(RewardRef, Done),
    Store(RewardRef, StoreError),
}

impl RecordOutcome {
    /// Whether Lambda should hand the record over again.
    pub fn retry(&self) -> bool {
        matches!(
            self,
            Self::Fulfilled(_, Done::RetryLater(_)) | Self::Store(..)
        )
    }
}

/// The sweep's answer: how many rows came to what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub swept: usize,
    pub delivered: usize,
    pub failed: usize,
    pub retry_later: usize,
    pub unavailable: usize,
    pub skipped: usize,
}

/// Delivers reward rows from stream batches and sweeps through a [`Fulfiler`].
#[derive(Debug)]
pub struct FulfilHandler<S, D> {
    fulfiler: Fulfiler<S, D>,
}

impl<S: RewardStore, D: RewardDelivery> FulfilHandler<S, D> {
    pub fn new(fulfiler: Fulfiler<S, D>) -> Self {
        Self { fulfiler }
    }

    /// One invocation: a stream batch or a sweep, told apart by [`Invocation::parse`].
    /// `deadline` is the invocation's (the Lambda context's).
    pub async fn handle(&self, payload: Value, deadline: Instant) -> Result<Value, HandlerError> {
        match Invocation::parse(payload)? {
            Invocation::Stream(event) => {
                let response = self.stream(event).await?;
                Ok(serde_json::to_value(response).unwrap_or(Value::Null))
            }
            Invocation::Sweep(request) => {
                let report = self.sweep(&request, deadline).await?;
                Ok(serde_json::to_value(report).unwrap_or(Value::Null))
            }
        }
    }

    /// A batch of stream records: every record is looked at, in order; the response names
    /// the ones to retry.
    pub async fn stream(&self, event: Event) -> Result<DynamoDbEventResponse, HandlerError> {
        let mut response = DynamoDbEventResponse::default();
        let mut unidentified = 0;
        for record in &event.records {
            let outcome = self.record(record).await;
            log(record, &outcome);
            if outcome.retry() {
                match &record.change.sequence_number {
                    Some(seq) => {
                        let mut failure = DynamoDbBatchItemFailure::default();
                        failure.item_identifier = Some(seq.clone());
                        response.batch_item_failures.push(failure);
                    }
                    None => unidentified += 1,
                }
            }
        }
        if unidentified > 0 {
            return Err(HandlerError::UnidentifiedFailure {
                count: unidentified,
            });
        }
        Ok(response)
    }

    /// One stream record.
    pub async fn record(&self, record: &EventRecord) -> RecordOutcome {
        if record.event_name != "INSERT" {
            return RecordOutcome::NotAReward("not an INSERT");
        }
        let key = |name: &str| match record
            .change
            .keys
            .get(name)
            .or_else(|| record.change.new_image.get(name))
        {
            Some(serde_dynamo::AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let Some(sk) = key(keys::SK) else {
            return RecordOutcome::NotAReward("no string sort key");
        };
        if !sk.starts_with(keys::REWARD_PREFIX) {
            return RecordOutcome::NotAReward("not a reward row");
        }
        let pk = key(keys::PK).unwrap_or_default();
        let customer = keys::parse_customer_pk(&pk);
        let position = keys::parse_reward_sk(&sk);
        let (Some(customer), Some(at)) = (customer, position) else {
            return RecordOutcome::BadKey { pk, sk };
        };
        let at = RewardRef { customer, at };
        match self.fulfiler.fulfil(&at).await {
            Ok(done) => RecordOutcome::Fulfilled(at, done),
            Err(e) => RecordOutcome::Store(at, e),
        }
    }

    /// A sweep: rows waiting [`saguaro_app::fulfil::SWEEP_AFTER`], at most
    /// `request.limit` (≤ [`MAX_SWEEP`]), none started after `deadline - DEADLINE_MARGIN`.
    pub async fn sweep(
        &self,
        request: &SweepRequest,
        deadline: Instant,
    ) -> Result<SweepReport, HandlerError> {
        let limit = request.limit.unwrap_or(MAX_SWEEP).clamp(1, MAX_SWEEP);
        let until = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
        let done = self
            .fulfiler
            .sweep_within(limit, Some(until))
            .await
            .map_err(HandlerError::Sweep)?;
        let mut report = SweepReport {
            swept: done.len(),
            ..SweepReport::default()
        };
        for (at, done) in &done {
            match done {
                Done::Delivered(_) => report.delivered += 1,
                Done::Failed(reason) => {
                    warn!(customer = %at.customer, version = at.at.version, index = at.at.index, %reason, "sweep: reward failed for good");
                    report.failed += 1;
                }
                Done::RetryLater(_) => report.retry_later += 1,
                Done::Unavailable(_) => report.unavailable += 1,
                Done::Skipped | Done::Missing => report.skipped += 1,
            }
        }
        info!(
            swept = report.swept,
            delivered = report.delivered,
            failed = report.failed,
            retry_later = report.retry_later,
            unavailable = report.unavailable,
            skipped = report.skipped,
            "sweep done"
        );
        Ok(report)
    }
}

fn log(record: &EventRecord, outcome: &RecordOutcome) {
    let seq = record.change.sequence_number.as_deref().unwrap_or("-");
    match outcome {
        RecordOutcome::NotAReward(why) => debug!(seq, why, "stream record skipped"),
        RecordOutcome::BadKey { pk, sk } => {
            error!(
                seq,
                pk, sk, "reward row with unreadable keys: not delivered, left for an operator"
            );
        }
        RecordOutcome::Fulfilled(at, done) => match done {
            Done::Failed(reason) => {
                warn!(seq, customer = %at.customer, version = at.at.version, index = at.at.index, %reason, "reward failed for good");
            }
            Done::RetryLater(reason) => {
                warn!(seq, customer = %at.customer, version = at.at.version, index = at.at.index, %reason, "reward not delivered; Lambda retries the record");
            }
            done => {
                info!(seq, customer = %at.customer, version = at.at.version, index = at.at.index, outcome = ?done, "reward record handled");
            }
        },
        RecordOutcome::Store(at, e) => {
            warn!(seq, customer = %at.customer, version = at.at.version, index = at.at.index, error = %e, "store error; Lambda retries the record");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn when_the_payload_is_a_sweep_then_its_limit_is_read_and_may_be_omitted() {
        assert!(matches!(
            Invocation::parse(json!({ "sweep": {} })),
            Ok(Invocation::Sweep(SweepRequest { limit: None }))
        ));
        assert!(matches!(
            Invocation::parse(json!({ "sweep": null })),
            Ok(Invocation::Sweep(SweepRequest { limit: None }))
        ));
        assert!(matches!(
            Invocation::parse(json!({ "sweep": { "limit": 7 } })),
            Ok(Invocation::Sweep(SweepRequest { limit: Some(7) }))
        ));
    }

    #[test]
    fn when_the_payload_is_neither_then_the_error_names_its_keys_not_its_values() {
        let err = Invocation::parse(json!({ "detail": "secret-ish", "source": "x" })).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown invocation payload: neither \"Records\" nor \"sweep\" (keys: [\"detail\", \"source\"])"
        );
        assert!(matches!(
            Invocation::parse(json!([1, 2])),
            Err(HandlerError::UnknownPayload(_))
        ));
        assert!(matches!(
            Invocation::parse(json!({ "sweep": { "limt": 1 } })),
            Err(HandlerError::UnknownPayload(_))
        ));
        assert!(matches!(
            Invocation::parse(json!({ "Records": "no" })),
            Err(HandlerError::UnknownPayload(_))
        ));
    }

    #[test]
    fn when_a_stream_payload_has_records_then_they_are_read() {
        let payload = json!({ "Records": [{
            "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": {
                "Keys": { "pk": { "S": "CUST#stripe#cus_1" }, "sk": { "S": "R#00000000000000000001#0000" } },
                "SequenceNumber": "100", "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"
            }
        }]});
        let Ok(Invocation::Stream(event)) = Invocation::parse(payload) else {
            panic!("a stream batch");
        };
        assert_eq!(event.records.len(), 1);
        assert_eq!(
            event.records[0].change.sequence_number.as_deref(),
            Some("100")
        );
    }
}
