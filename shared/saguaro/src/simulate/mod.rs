//! `saguaro simulate`: a program applied to a history before it goes live (issue 12).
//!
//! The history is events in the `POST /events` format, one per line, in any order
//! ([`history`]: parsed by the production parser, sorted by `occurred_at`, ties by id).
//! They are applied by the production [`saguaro_app::Earner`] on the in-memory store, so caps,
//! tiers, promotions, refunds and referrals follow exactly the rules of a live deploy, day by
//! day in the program timezone, with the scheduler's daily job
//! ([`saguaro_app::schedule::run`]: anniversaries, expiry, promotion grants, tier reviews)
//! at the start of every day of the span ([`run`]); a wrapper around the store counts every commit
//! ([`tally`]). The result is a [`summary::Summary`]: points per month, tier membership,
//! rewards and their cost, the liability, the top earners, the refused events and every
//! customer's final standing, printed as text ([`text`]), written as JSON (`--json`) and as a
//! self-contained HTML page (`--report`). With `--compare`, the same history under a second
//! program, side by side ([`summary::Comparison`]).
//!
//! The same history and programs give the same numbers and the same bytes on every run:
//! nothing depends on a clock, a hash order or a thread.

pub mod history;
pub mod report;
pub mod run;
pub mod summary;
pub mod tally;
pub mod text;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::civil::Date;
use saguaro_app::EarnError;
use saguaro_domain::Program;

pub use history::{HistoryError, HistoryEvent};
pub use run::{NoProgress, Progress, simulate};
pub use summary::{Comparison, Summary};

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Program(String),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    #[error("date arithmetic failed")]
    Time(#[from] jiff::Error),
    /// The in-memory store failed (it does not, short of a bug).
    #[error("applying an event failed")]
    Earn(#[from] EarnError),
    #[error("the daily job failed")]
    Schedule(#[from] saguaro_app::schedule::ScheduleError),
    #[error("a total passed i64: the figures cannot be reported")]
    Overflow,
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `saguaro simulate` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub program: PathBuf,
    pub events: PathBuf,
    pub compare: Option<PathBuf>,
    pub until: Option<Date>,
    pub json: Option<PathBuf>,
    pub report: Option<PathBuf>,
}

/// What a run produced: one summary, or two compared.
#[derive(Debug, Clone)]
pub enum Outcome {
    One(Box<Summary>),
    Two(Box<Comparison>),
}

fn load(path: &Path) -> Result<Arc<Program>, SimulateError> {
    saguaro_app::config::load_program(path)
        .map(Arc::new)
        .map_err(|e| SimulateError::Program(crate::program_error(&e)))
}

/// A bar on stderr; hidden when stderr is not a terminal (a log file gets no bar).
pub fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("█▉▊▋▌▍▎▏ "));
    }
    bar
}

/// Runs `saguaro simulate`: reads, simulates (twice with `--compare`), writes `--json`.
pub fn execute(opts: &Options) -> Result<Outcome, SimulateError> {
    let program = load(&opts.program)?;
    let compare = opts.compare.as_deref().map(load).transpose()?;
    let size = std::fs::metadata(&opts.events)
        .map(|m| m.len())
        .unwrap_or(0);
    let reading = bar(
        size,
        "reading  {bar:40.cyan/blue} {bytes}/{total_bytes} ({eta})",
    );
    let events = history::read(&opts.events, &|n| reading.inc(n))?;
    reading.finish_and_clear();
    let one = |program: Arc<Program>, path: &Path| {
        let label = format!(
            "{} {{bar:40.green/white}} {{pos}}/{{len}} events ({{per_sec}}, {{eta}})",
            program.name
        );
        let applying = bar(events.len() as u64, &label);
        let summary = simulate(
            program,
            &path.display().to_string(),
            &events,
            opts.until,
            &applying,
        );
        applying.finish_and_clear();
        summary
    };
    let base = one(program, &opts.program)?;
    let outcome = match (compare, &opts.compare) {
        (Some(q), Some(path)) => Outcome::Two(Box::new(Comparison::new(base, one(q, path)?))),
        _ => Outcome::One(Box::new(base)),
    };
    if let Some(path) = &opts.json {
        let bytes = match &outcome {
            Outcome::One(s) => serde_json::to_vec_pretty(s),
            Outcome::Two(c) => serde_json::to_vec_pretty(c),
        }
        .unwrap_or_default();
        write(path, &bytes)?;
    }
    if let Some(path) = &opts.report {
        let page = match &outcome {
            Outcome::One(s) => report::one(s),
            Outcome::Two(c) => report::two(c),
        };
        write(path, page.as_bytes())?;
    }
    Ok(outcome)
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), SimulateError> {
    std::fs::write(path, bytes).map_err(|source| SimulateError::Write {
        path: path.to_owned(),
        source,
    })
}

/// An error and its causes on one line, for the terminal.
pub fn describe(e: &SimulateError) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
