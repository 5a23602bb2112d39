//! The ports adapters implement: the store of customer state, ledger and reward outbox, and
//! the clock.
//!
//! The daily job's reads by day and its watermark are the [`ScheduleStore`] port.
//!
//! Methods return `Send` futures so that async adapters (DynamoDB) and the in-process store
//! fit the same trait; the domain itself stays free of any async runtime.

use std::future::Future;

use jiff::civil::Date;

use crate::engine::Outcome;
use crate::event::Event;
use crate::ids::{CustomerId, EventId};
use crate::ledger::{Delivery, LedgerLine, LineSeq, RewardOutbox};
use crate::schedule::{ScheduledExpiry, ScheduledSubscription};
use crate::state::CustomerState;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer committed this customer first (optimistic concurrency): reload, retry.
    #[error("customer {customer} was changed concurrently (expected version {expected})")]
    Conflict { customer: CustomerId, expected: u64 },
    /// The backing store failed; the cause says how. Retrying later may succeed.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store refused the request as it is (over a size or item limit, invalid for the
    /// backing store, not serialisable): the same request is refused again, so it is not
    /// retried.
    #[error("store rejected the request")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// "This event has been applied to this customer": written in the same atomic commit as the
/// event's ledger lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMarker {
    pub event_id: EventId,
    pub customer: CustomerId,
    /// SHA-256 of the event, to tell a re-delivery from an id reused for another event.
    pub payload_hash: String,
    /// A synthetic event of the scheduler (provider `scheduler`): a store that expires
    /// markers keeps these longer than the catch-up horizon (docs/design.md §6.1).
    pub synthetic: bool,
}

impl EventMarker {
    pub fn for_event(event: &Event, customer: &CustomerId) -> Self {
        Self {
            event_id: event.id.clone(),
            customer: customer.clone(),
            payload_hash: event.payload_hash(),
            synthetic: event.provider == crate::ids::Provider::Scheduler,
        }
    }
}

/// One atomic write: the marker (if any), the new state (its `version` must be
/// `expected_version + 1`), and the lines and rewards to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub marker: Option<EventMarker>,
    pub expected_version: u64,
    pub state: CustomerState,
    pub lines: Vec<LedgerLine>,
    pub rewards: Vec<RewardOutbox>,
}

impl Commit {
    /// The commit for an engine outcome computed from state at `expected_version`.
    pub fn of(marker: Option<EventMarker>, expected_version: u64, outcome: Outcome) -> Self {
        let mut state = outcome.state;
        state.version = expected_version + 1;
        Self {
            marker,
            expected_version,
            state,
            lines: outcome.lines,
            rewards: outcome.rewards,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Applied,
    /// The marker already existed: nothing was written. `same_payload` is false when the id
    /// was first used for a different event.
    AlreadyApplied {
        same_payload: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// Lines strictly older than this sequence number (from the previous page).
    pub before: Option<LineSeq>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPage {
    /// Newest first.
    pub lines: Vec<LedgerLine>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next: Option<LineSeq>,
}

/// Where a reward row was committed: the customer version of the commit and the row's place
/// in it. Orders rows as they were created; a page cursor. Shown as `{version}.{index}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RewardPosition {
    pub version: u64,
    pub index: u32,
}

impl std::fmt::Display for RewardPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.version, self.index)
    }
}

impl std::str::FromStr for RewardPosition {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (version, index) = s.split_once('.').unwrap_or((s, ""));
        Ok(Self {
            version: version.parse()?,
            index: index.parse()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardPageRequest {
    pub limit: usize,
    /// Rows strictly older than this position (from the previous page).
    pub before: Option<RewardPosition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardPage {
    /// Newest first.
    pub rewards: Vec<RewardOutbox>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next: Option<RewardPosition>,
}

/// Customer state with its atomic, idempotent commit.
pub trait StateStore: Send + Sync {
    /// The customer's state, or `None` if nothing was ever committed for them.
    fn load(
        &self,
        customer: &CustomerId,
    ) -> impl Future<Output = Result<Option<CustomerState>, StoreError>> + Send;

    /// Writes everything in `commit` or nothing. The marker check wins over the version check:
    /// a commit whose marker exists is `AlreadyApplied` whatever the version.
    fn commit(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;
}

/// Read side: ledger history and rewards.
pub trait HistoryStore: Send + Sync {
    fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> impl Future<Output = Result<LedgerPage, StoreError>> + Send;

    /// The customer's reward rows, newest first, a page at a time.
    fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> impl Future<Output = Result<RewardPage, StoreError>> + Send;
}

impl<T: StateStore> StateStore for std::sync::Arc<T> {
    fn load(
        &self,
        customer: &CustomerId,
    ) -> impl Future<Output = Result<Option<CustomerState>, StoreError>> + Send {
        (**self).load(customer)
    }

    fn commit(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send {
        (**self).commit(commit)
    }
}

impl<T: HistoryStore> HistoryStore for std::sync::Arc<T> {
    fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> impl Future<Output = Result<LedgerPage, StoreError>> + Send {
        (**self).ledger(customer, page)
    }

    fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> impl Future<Output = Result<RewardPage, StoreError>> + Send {
        (**self).rewards(customer, page)
    }
}

/// One page of an index read by the daily job. `next` is an opaque cursor, passed back to
/// read the next page; `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where the daily job reads what is due (docs/design.md §4.5, §6): indexes keyed by day, so
/// that a run reads what the day needs and not the table. Each store keeps these indexes in
/// the same commit as the state they derive from ([`crate::schedule::ScheduleIndex::of`]).
///
/// Pages hold at most `limit` items (at least one when more exist); reads may be eventually
/// consistent (a commit may show up a moment later).
pub trait ScheduleStore: Send + Sync {
    /// Customers whose soonest-expiring lot's last day is in `from..=through`, ordered by
    /// that day.
    fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<IndexPage<ScheduledExpiry>, StoreError>> + Send;

    /// Subscriptions whose local start date is `month`-`day` of some year (a 29 February start
    /// only under (2, 29)), active or not.
    fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<IndexPage<ScheduledSubscription>, StoreError>> + Send;

    /// The last program-timezone day the daily job completed; `None` before its first run.
    fn watermark(&self) -> impl Future<Output = Result<Option<Date>, StoreError>> + Send;

    /// Moves the watermark from `from` to `to` if it still is `from` (`None`: not set yet).
    /// `false`: another run moved it first, and nothing was written.
    fn advance_watermark(
        &self,
        from: Option<Date>,
        to: Date,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl<T: ScheduleStore> ScheduleStore for std::sync::Arc<T> {
    fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<IndexPage<ScheduledExpiry>, StoreError>> + Send {
        (**self).expiring(from, through, cursor, limit)
    }

    fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<IndexPage<ScheduledSubscription>, StoreError>> + Send {
        (**self).anniversaries(month, day, cursor, limit)
    }

    fn watermark(&self) -> impl Future<Output = Result<Option<Date>, StoreError>> + Send {
        (**self).watermark()
    }

    fn advance_watermark(
        &self,
        from: Option<Date>,
        to: Date,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).advance_watermark(from, to)
    }
}

/// What time it is. Handlers ask this port, so tests can fix the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

// ---- Reward delivery state (issue 9, docs/design.md §5.3) ----------------------------------

/// Where one reward row lives: its customer and where it was committed. The store's key of
/// the row (DynamoDB: `R#{version}#{index}` under the customer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RewardRef {
    pub customer: CustomerId,
    pub at: RewardPosition,
}

/// The delivery state of reward rows, for the fulfilers and the sweep. Every write is
/// conditional on the state the writer last read, so two fulfilers cannot both claim a row
/// and a late writer cannot overwrite a newer outcome.
pub trait RewardStore: Send + Sync {
    /// The row, or `None` if there is none at `at`.
    fn reward(
        &self,
        at: &RewardRef,
    ) -> impl Future<Output = Result<Option<RewardOutbox>, StoreError>> + Send;

    /// Sets the row's delivery to `next` if it is exactly `expected` now: `true` if written,
    /// `false` if the row is in another state (someone else moved it) or absent.
    ///
    /// `notice` (a merchant notification of the outcome, `[notify]`) is inserted in the same
    /// atomic write, at [`crate::notify::notice_position`] of `at`, and only if the update is
    /// written: a lost race writes none, and a repeated transition finds the row moved.
    fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` rows still waiting ([`RewardOutbox::waiting_since`]) since before
    /// `before`, oldest first: what the sweep re-drives.
    fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(RewardRef, RewardOutbox)>, StoreError>> + Send;
}

impl<T: RewardStore> RewardStore for std::sync::Arc<T> {
    fn reward(
        &self,
        at: &RewardRef,
    ) -> impl Future<Output = Result<Option<RewardOutbox>, StoreError>> + Send {
        (**self).reward(at)
    }

    fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).set_delivery(at, expected, next, notice)
    }

    fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(RewardRef, RewardOutbox)>, StoreError>> + Send {
        (**self).waiting_rewards(before, limit)
    }
}
