//! The daily job (docs/design.md §4.5): which days to process, and which synthetic events
//! each day makes. It never writes balances: it reads what is due from the
//! [`ScheduleStore`] indexes and hands each event to an [`EventSink`] (the earn queue in the
//! scheduler Lambda; the [`Earner`](crate::Earner) itself for `saguaro tick`), which applies
//! it like any other event.
//!
//! - **Days.** A watermark keeps the last program-timezone day completed. A run processes
//!   every day after it up to today, in order, at most [`MAX_DAYS_PER_RUN`], and moves the
//!   watermark with a conditional update after each day; a run whose update fails (another
//!   run moved it) stops. The first run ever processes today only.
//! - **Ids.** Every event has a deterministic id and payload ([`saguaro_domain::schedule`]),
//!   so a day processed twice (a double run, two concurrent runs, a crash before the
//!   watermark moved) submits the same events again, which the queue and the markers drop.
//!   Hence a missed run, a double run and two concurrent runs end with the same ledger.
//! - **A day's events**, all at the day's local midnight:
//!   - expiry: customers whose soonest lot's last day is before the day (the day before,
//!     and any still waiting since the first of the previous month) get `points.expired`,
//!     which expires every lot due;
//!   - anniversaries: active subscriptions whose local start month-day is the day (29
//!     February starts on 28 February of common years), at least a year old, get
//!     `subscription.anniversary`;
//!   - grants: a promotion with `grant` whose `starts` falls in the day is granted
//!     (`promotion.granted`, at `starts`) once to every customer with an active
//!     subscription, read a page at a time from the anniversary index (every month-day).

mod days;

pub use days::{DayReport, RunReport, Stop};

use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_domain::Program;

use crate::ports::{ScheduleStore, SinkError, StoreError};

/// Days one run processes at most; a run that is further behind continues at the next.
pub const MAX_DAYS_PER_RUN: usize = 31;

/// Index entries read per request.
pub const PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("store failed")]
    Store(#[from] StoreError),
    /// The sink (the earn queue) is unavailable: the day is processed again by the next run.
    #[error("could not submit event {event_id}")]
    Sink {
        event_id: String,
        #[source]
        source: SinkError,
    },
    #[error("date arithmetic failed")]
    Time(#[from] jiff::Error),
}

/// Today in the program timezone.
pub fn today(program: &Program, now: Timestamp) -> Date {
    now.to_zoned(program.timezone.clone()).date()
}

/// Runs the job once: every day after the watermark up to `today` (at most
/// [`MAX_DAYS_PER_RUN`]), each day's events submitted to `sink`.
pub async fn run<S, K>(
    store: &S,
    sink: &K,
    program: &Program,
    today: Date,
) -> Result<RunReport, ScheduleError>
where
    S: ScheduleStore,
    K: crate::ports::EventSink,
{
    days::Job {
        store,
        sink,
        program,
    }
    .run(today)
    .await
}
