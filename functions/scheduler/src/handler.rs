//! One invocation: today in the program timezone, the daily job up to it, one metric line.
//! A failed run returns an error: Lambda retries the asynchronous invocation, then sends it
//! to the function's dead-letter queue (alarmed). Whatever a failed run submitted is
//! submitted again by the next one under the same ids, which the queue and the markers drop.

use std::sync::Arc;

use saguaro_app::ports::{Clock, EventSink, ScheduleStore};
use saguaro_app::schedule::{self, RunReport, ScheduleError};
use saguaro_domain::Program;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::metrics;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the daily job failed")]
    Schedule(#[from] ScheduleError),
}

/// The job's store, sink, program and clock, built once per cold start.
#[derive(Debug)]
pub struct SchedulerHandler<S, K, C> {
    store: S,
    sink: K,
    program: Arc<Program>,
    clock: C,
}

impl<S: ScheduleStore, K: EventSink, C: Clock> SchedulerHandler<S, K, C> {
    pub fn new(store: S, sink: K, program: Arc<Program>, clock: C) -> Self {
        Self {
            store,
            sink,
            program,
            clock,
        }
    }

    /// Runs the job once; the answer summarises it (the schedule ignores it).
    pub async fn handle(&self) -> Result<Value, HandlerError> {
        let now = self.clock.now();
        let today = schedule::today(&self.program, now);
        let report = schedule::run(&self.store, &self.sink, &self.program, today).await?;
        println!("{}", metrics::emf(&report, now.as_millisecond()));
        if report.lag_days() > 2 {
            warn!(lag_days = report.lag_days(), "the daily job is behind");
        }
        info!(
            days = report.days.len(),
            events = report.events(),
            watermark = ?report.watermark,
            "run complete"
        );
        Ok(summary(&report))
    }
}

fn summary(report: &RunReport) -> Value {
    json!({
        "today": report.today.to_string(),
        "watermark": report.watermark.map(|d| d.to_string()),
        "days": report.days.iter().map(|d| json!({
            "day": d.day.to_string(),
            "expiries": d.expiries,
            "anniversaries": d.anniversaries,
            "grants": d.grants,
            "refused": d.refused,
        })).collect::<Vec<_>>(),
        "lag_days": report.lag_days(),
    })
}
