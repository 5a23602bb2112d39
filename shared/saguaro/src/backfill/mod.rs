//! `saguaro backfill --events history.jsonl [--data DIR]`: a history applied to the local
//! store for good (what `saguaro serve` then serves), with the production
//! [`saguaro_app::Earner`]. With `--queue-url` it goes to the deployed stack's earn queue
//! instead ([`queue`]).
//!
//! - **Order**: the history is read and sorted as `simulate` sorts it (by `occurred_at`,
//!   ties by id, stably), so each customer's events are applied in their order.
//! - **Idempotent**: every event commits its marker with it (keyed by the event id), so an
//!   event applied before (by an earlier backfill, or received live) is a duplicate that
//!   changes nothing; the same id with another body is refused and listed.
//! - **Resumable**: a backfill stopped anywhere (Ctrl-C, `kill -9`, a power cut: SQLite
//!   commits are fsynced) is resumed by running it again: what was committed is skipped as
//!   duplicates, the rest is applied. Each event is applied once.
//! - An event the engine refuses is listed with its line and counted; the rest goes on.
//!
//! Rewards redeemed by the backfill are reward rows like any other: `saguaro serve` delivers
//! them.

pub mod queue;

use std::sync::Arc;

use saguaro_app::{Applied, EarnError, Earner};
use saguaro_domain::Program;

use crate::LocalStore;
use crate::simulate::history::HistoryEvent;
use crate::simulate::run::Progress;

/// Refusals listed one by one (all are counted).
const REJECTED_LISTED: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub read: u64,
    pub applied: u64,
    /// Applied before (an earlier, interrupted run, or live): nothing changed.
    pub already_applied: u64,
    pub rejected: u64,
    /// `(line, event id, reason)` of the first refusals.
    pub rejected_list: Vec<(usize, String, String)>,
}

impl BackfillReport {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} events read: {} applied, {} already applied, {} refused",
            self.read, self.applied, self.already_applied, self.rejected
        );
        for (line, id, reason) in &self.rejected_list {
            s.push_str(&format!("\n  line {line}: {id}: {reason}"));
        }
        s
    }
}

/// Applies `events` (sorted) to `store` under `program`, one at a time.
pub async fn backfill(
    store: LocalStore,
    program: Arc<Program>,
    events: &[HistoryEvent],
    progress: &dyn Progress,
) -> Result<BackfillReport, EarnError> {
    let earner = Earner::new(store, program);
    let mut report = BackfillReport {
        read: events.len() as u64,
        ..BackfillReport::default()
    };
    for he in events {
        match earner.apply(&he.event).await {
            Ok(Applied::New { .. }) => report.applied += 1,
            Ok(Applied::Duplicate) => report.already_applied += 1,
            Err(e) if !e.is_retryable() => {
                report.rejected += 1;
                if report.rejected_list.len() < REJECTED_LISTED {
                    report.rejected_list.push((
                        he.line,
                        he.event.id.as_str().to_owned(),
                        crate::simulate::run::chain(&e),
                    ));
                }
            }
            Err(e) => return Err(e),
        }
        progress.advance(1);
    }
    Ok(report)
}
