//! Shared set-up of the earn function's tests: the program, event and SQS message builders,
//! a store wrapper that counts and fails operations, snapshots of what a store holds, and
//! clients on the moto server that `infra/test.sh` starts (from [`saguaro_testkit`]).

// Each test binary uses only some of these helpers (and re-exports).
#![allow(dead_code, unused_imports, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use jiff::Timestamp;
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, PageRequest, RewardPageRequest, StateStore, StoreError,
};
use saguaro_domain::{
    CustomerId, CustomerState, Event, LedgerLine, Money, Program, Provider, RewardOutbox, Trigger,
};
use saguaro_dynamodb::RequestCounter;

pub use saguaro_testkit::dynamodb::{counted_client as dynamodb, fresh_table};
pub use saguaro_testkit::sqs::counted_client as sqs;
pub use saguaro_testkit::{aws, unique_name};

/// Per-amount earning with a daily cap, a welcome bonus, a referral for the referrer, a
/// Gold tier multiplier and a reward paid with points: every order-dependent outcome.
pub const PROGRAM: &str = r#"
[program]
name = "Exactly once"
timezone = "Europe/Berlin"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { eur = 100 }
cap = { points = 400, per = "day" }

[[earn]]
id = "welcome"
on = "subscription.created"
points = 30

[[earn]]
id = "referrer"
on = "referral.converted"
points = 75
beneficiary = "referrer"

[[tiers]]
name = "Base"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 300
multiplier = "1.5"

[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 120
value = { eur = 500 }
"#;

pub fn program() -> Arc<Program> {
    Arc::new(Program::parse(PROGRAM).unwrap())
}

pub fn customer(id: &str) -> CustomerId {
    CustomerId::new(Provider::Custom, id)
}

/// 2026-06-01T00:00:00Z plus `hours`.
pub fn at(hours: i64) -> Timestamp {
    Timestamp::from_second(1_780_272_000 + hours * 3600).unwrap()
}

pub fn payment(id: &str, who: &CustomerId, minor: i64, hours: i64) -> Event {
    let mut e = Event::new(id, who.clone(), Trigger::PaymentSucceeded, at(hours));
    e.amount = Some(Money::new(minor, "eur".parse().unwrap()));
    e.refs.payment = Some(format!("pay-{id}"));
    e
}

pub fn refund(id: &str, of: &Event, minor: i64, hours: i64) -> Event {
    let mut e = Event::new(id, of.customer.clone(), Trigger::PaymentRefunded, at(hours));
    e.amount = Some(Money::new(minor, "eur".parse().unwrap()));
    e.refs.payment = of.refs.payment.clone();
    e
}

pub fn subscribed(id: &str, who: &CustomerId, referrer: Option<&CustomerId>, hours: i64) -> Event {
    let mut e = Event::new(id, who.clone(), Trigger::SubscriptionCreated, at(hours));
    e.refs.referrer = referrer.cloned();
    e
}

pub fn adjusted(id: &str, who: &CustomerId, points: i64, hours: i64) -> Event {
    let mut e = Event::new(id, who.clone(), Trigger::PointsAdjusted, at(hours));
    e.points = Some(points);
    e
}

/// The body the webhook functions write for `event`.
pub fn body(event: &Event) -> String {
    saguaro_sqs::encode(event).unwrap()
}

/// A message as Lambda's SQS integration hands it over from a FIFO queue.
pub fn message(id: &str, group: Option<&str>, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.receipt_handle = Some(format!("receipt-{id}"));
    m.body = Some(body.to_owned());
    if let Some(g) = group {
        m.attributes
            .insert("MessageGroupId".to_owned(), g.to_owned());
    }
    m.event_source = Some("aws:sqs".to_owned());
    m
}

/// The message carrying `event`, grouped by its customer as the webhook functions send it.
pub fn event_message(id: &str, event: &Event) -> SqsMessage {
    message(id, Some(&event.customer.to_string()), &body(event))
}

pub fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

/// Everything a store holds for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerView {
    pub balance: i64,
    pub tier: Option<String>,
    /// Oldest first.
    pub lines: Vec<LedgerLine>,
    pub rewards: Vec<RewardOutbox>,
}

pub async fn view<S: StateStore + HistoryStore>(store: &S, c: &CustomerId) -> CustomerView {
    let state = store.load(c).await.unwrap();
    let mut lines = store
        .ledger(
            c,
            PageRequest {
                limit: 100_000,
                before: None,
            },
        )
        .await
        .unwrap()
        .lines;
    lines.reverse();
    let mut rewards = store
        .rewards(
            c,
            RewardPageRequest {
                limit: 100_000,
                before: None,
            },
        )
        .await
        .unwrap()
        .rewards;
    rewards.sort_by(|a, b| a.id.cmp(&b.id));
    CustomerView {
        balance: state.as_ref().map_or(0, |s| s.balance),
        tier: state.and_then(|s| s.tier),
        lines,
        rewards,
    }
}

pub async fn views<S: StateStore + HistoryStore>(
    store: &S,
    customers: &[CustomerId],
) -> BTreeMap<CustomerId, CustomerView> {
    let mut out = BTreeMap::new();
    for c in customers {
        out.insert(c.clone(), view(store, c).await);
    }
    out
}

/// A store wrapper that counts loads and commits and can fail the next commits.
#[derive(Debug)]
pub struct Counting<S> {
    pub inner: S,
    pub loads: AtomicU64,
    pub commits: AtomicU64,
    /// The next this-many commits fail with `StoreError::Unavailable` (not sent).
    pub fail_next_commits: AtomicU32,
    /// The next this-many commits fail with `StoreError::Rejected` (not sent): a permanent
    /// failure, such as an item over DynamoDB's size limit.
    pub reject_next_commits: AtomicU32,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            fail_next_commits: AtomicU32::new(0),
            reject_next_commits: AtomicU32::new(0),
        }
    }

    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }
}

impl<S: StateStore> StateStore for Counting<S> {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .fail_next_commits
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Unavailable("injected outage".into()));
        }
        let rejected = self
            .reject_next_commits
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if rejected {
            return Err(StoreError::Rejected(
                "injected: item over the size limit".into(),
            ));
        }
        self.inner.commit(commit).await
    }
}

/// Writes straight to the test's stderr, past libtest's output capture, so that
/// `infra/test.sh` shows it even when the test passes.
pub fn report(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Creates a FIFO queue (`name` gets the `.fifo` suffix) and returns its URL. With
/// `dead_letter`, messages received more than `max_receive_count` times move there.
pub async fn fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_timeout_s: u32,
    dead_letter: Option<(&str, u32)>,
) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut request = sqs
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "false")
        .attributes(A::VisibilityTimeout, visibility_timeout_s.to_string());
    if let Some((dlq_url, max)) = dead_letter {
        let arn = queue_arn(sqs, dlq_url).await;
        request = request.attributes(
            A::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max}"}}"#),
        );
    }
    let out = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateQueue {name}: {e:?}"));
    out.queue_url().unwrap().to_owned()
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"));
    out.attributes()
        .and_then(|a| a.get(&A::QueueArn))
        .unwrap()
        .clone()
}

/// Sends `body` to a FIFO queue; returns the message id.
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    group: &str,
    deduplication_id: &str,
    body: &str,
) -> String {
    let out = sqs
        .send_message()
        .queue_url(url)
        .message_group_id(group)
        .message_deduplication_id(deduplication_id)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("SendMessage: {e:?}"));
    out.message_id().unwrap().to_owned()
}

/// Sends `(group, deduplication id, body)` messages to a FIFO queue, ten per request, in
/// order (SQS keeps a batch's order within each group).
pub async fn send_all(sqs: &aws_sdk_sqs::Client, url: &str, messages: &[(String, String, String)]) {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    for chunk in messages.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, (group, dedup, body))| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_group_id(group)
                    .message_deduplication_id(dedup)
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        let out = sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap_or_else(|e| panic!("SendMessageBatch: {e:?}"));
        assert!(
            out.failed().is_empty(),
            "SendMessageBatch failed: {:?}",
            out.failed()
        );
        assert_eq!(out.successful().len(), chunk.len());
    }
}

/// Short-polls up to `max` messages (long polling would block moto's single thread).
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    max: i32,
    visibility_timeout_s: i32,
) -> Result<Vec<aws_sdk_sqs::types::Message>, String> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(visibility_timeout_s)
        .wait_time_seconds(0)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| format!("ReceiveMessage: {e:?}"))?;
    Ok(out.messages().to_vec())
}

/// The batch Lambda's SQS event source mapping would invoke the function with.
pub fn lambda_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    batch(
        messages
            .iter()
            .map(|m| {
                let mut out = SqsMessage::default();
                out.message_id = m.message_id().map(str::to_owned);
                out.receipt_handle = m.receipt_handle().map(str::to_owned);
                out.body = m.body().map(str::to_owned);
                out.md5_of_body = m.md5_of_body().map(str::to_owned);
                if let Some(attributes) = m.attributes() {
                    out.attributes = attributes
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect();
                }
                out.event_source = Some("aws:sqs".to_owned());
                out
            })
            .collect(),
    )
}

/// Deletes `messages`; returns the ids of those deleted.
pub async fn delete(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[&aws_sdk_sqs::types::Message],
) -> Result<Vec<String>, String> {
    use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let entries = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
                .map_err(|e| format!("{e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = sqs
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| format!("DeleteMessageBatch: {e:?}"))?;
    Ok(out
        .successful()
        .iter()
        .filter_map(|s| s.id().parse::<usize>().ok())
        .filter_map(|i| {
            messages
                .get(i)
                .and_then(|m| m.message_id())
                .map(str::to_owned)
        })
        .collect())
}

/// Makes `messages` visible again at once (a failed or abandoned batch), instead of waiting
/// for their visibility timeout.
pub async fn release(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[&aws_sdk_sqs::types::Message],
) -> Result<(), String> {
    use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
    if messages.is_empty() {
        return Ok(());
    }
    let entries = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .visibility_timeout(0)
                .build()
                .map_err(|e| format!("{e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    sqs.change_message_visibility_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| format!("ChangeMessageVisibilityBatch: {e:?}"))?;
    Ok(())
}
