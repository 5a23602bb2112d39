//! Running one program over a sorted history: every event through the production
//! [`Earner`] on the in-memory store, day by day in the program timezone, the tally closed at
//! each month's end; then the final standing of every customer.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_app::ports::{EventSink, SinkError};
use saguaro_app::schedule;
use saguaro_app::{Applied, EarnError, Earner};
use saguaro_domain::engine::qualifying_points;
use saguaro_domain::ports::StateStore;
use saguaro_domain::program::RewardKind;
use saguaro_domain::program::RewardTrigger;
use saguaro_domain::{CustomerId, Event, Program};

use super::SimulateError;
use super::history::HistoryEvent;
use super::summary::{
    CustomerFinal, EventCounts, LIABILITY_RULE, Liability, Month, ProgramInfo, Rejected,
    RewardIssued, Summary, Totals,
};
use super::tally::{ObservedStore, Tally};

/// Refusals listed one by one in the summary (all are counted).
const REJECTED_LISTED: usize = 1000;
/// Customers in `top_earners`.
const TOP_EARNERS: usize = 10;
/// The progress bar is moved every this many events.
const PROGRESS_STEP: u64 = 4096;

/// What the caller wants to see while it runs.
pub trait Progress {
    fn advance(&self, events: u64);
}

impl Progress for indicatif::ProgressBar {
    fn advance(&self, events: u64) {
        self.inc(events);
    }
}

/// No progress shown (tests, benches).
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _: u64) {}
}

/// The simulated days, the first and the last inclusive.
#[derive(Debug, Clone, Copy)]
struct Span {
    first: Date,
    last: Date,
}

/// The span of `events` (and `until`), in `program`'s timezone; `None` without events.
fn span(program: &Program, events: &[HistoryEvent], until: Option<Date>) -> Option<Span> {
    let tz = &program.timezone;
    let first = events
        .first()?
        .event
        .occurred_at
        .to_zoned(tz.clone())
        .date();
    let last_event = events.last()?.event.occurred_at.to_zoned(tz.clone()).date();
    let last = match until {
        Some(u) => u,
        None => last_event,
    };
    (first <= last).then_some(Span { first, last })
}

fn midnight(program: &Program, day: Date) -> Result<Timestamp, SimulateError> {
    Ok(day.to_zoned(program.timezone.clone())?.timestamp())
}

/// Runs `program` (read from `file`) over `events` (sorted), up to and including `until`.
pub fn simulate(
    program: Arc<Program>,
    file: &str,
    events: &[HistoryEvent],
    until: Option<Date>,
    progress: &dyn Progress,
) -> Result<Summary, SimulateError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(SimulateError::Runtime)?;
    runtime.block_on(simulate_async(program, file, events, until, progress))
}

async fn simulate_async(
    program: Arc<Program>,
    file: &str,
    events: &[HistoryEvent],
    until: Option<Date>,
    progress: &dyn Progress,
) -> Result<Summary, SimulateError> {
    let span = span(&program, events, until);
    let mut month_starts = Vec::new();
    if let Some(s) = span {
        let mut m = s.first.first_of_month();
        while m <= s.last {
            month_starts.push(midnight(&program, m)?);
            m = m.checked_add(jiff::Span::new().months(1))?;
        }
    }
    let store = ObservedStore::new(&program, Tally::new(&program, month_starts));
    let earner = Earner::new(store, program.clone());
    let mut counts = EventCounts {
        read: events.len() as u64,
        ..EventCounts::default()
    };
    let mut rejected = Vec::new();
    if let Some(s) = span {
        let end = midnight(&program, s.last.tomorrow()?)?;
        let mut day = s.first;
        let mut month = 0usize;
        let mut next_midnight = midnight(&program, day.tomorrow()?)?;
        daily_job(&earner, &program, day, &mut counts, &mut rejected).await?;
        let mut since_progress = 0u64;
        for (i, he) in events.iter().enumerate() {
            let at = he.event.occurred_at;
            if at >= end {
                counts.after_until = (events.len() - i) as u64;
                break;
            }
            while at >= next_midnight {
                day = day.tomorrow()?;
                if day.day() == 1 {
                    earner.store().with_tally(|t| t.close_month(month));
                    month += 1;
                }
                next_midnight = midnight(&program, day.tomorrow()?)?;
                daily_job(&earner, &program, day, &mut counts, &mut rejected).await?;
            }
            apply(&earner, he, &mut counts, &mut rejected).await?;
            since_progress += 1;
            if since_progress == PROGRESS_STEP {
                progress.advance(since_progress);
                since_progress = 0;
            }
        }
        progress.advance(since_progress);
        // The days after the last event, up to `until`.
        while day < s.last {
            day = day.tomorrow()?;
            if day.day() == 1 {
                earner.store().with_tally(|t| t.close_month(month));
                month += 1;
            }
            daily_job(&earner, &program, day, &mut counts, &mut rejected).await?;
        }
        earner.store().with_tally(|t| t.close_month(month));
    }
    let at = match span {
        Some(s) => midnight(&program, s.last)?,
        None => Timestamp::UNIX_EPOCH,
    };
    finish(&earner, &program, file, span, counts, rejected, at).await
}

/// What the daily job's events go to: the same earner, counting what it applies and
/// listing what it refuses (with the event's id).
struct JobSink<'e, 'p> {
    earner: &'e Earner<ObservedStore<'p>>,
    log: std::sync::Mutex<(EventCounts, Vec<Rejected>)>,
}

impl EventSink for JobSink<'_, '_> {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        let he = HistoryEvent { line: 0, event };
        let outcome = {
            let mut counts = EventCounts::default();
            let mut rejected = Vec::new();
            let r = apply(self.earner, &he, &mut counts, &mut rejected).await;
            (r, counts, rejected)
        };
        let (result, counts, rejected) = outcome;
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        log.0.scheduled += counts.applied;
        log.0.duplicates += counts.duplicates;
        log.0.rejected += counts.rejected;
        let refused = !rejected.is_empty();
        log.1.extend(rejected);
        drop(log);
        match result {
            Err(e) => Err(SinkError::Unavailable(Box::new(e))),
            // Listed above; the job counts it as refused and goes on with the day.
            Ok(()) if refused => Err(SinkError::IdReused),
            Ok(()) => Ok(()),
        }
    }
}

/// The daily job for `day` (anniversaries, expiry, promotion grants), exactly as the
/// scheduler runs it ([`saguaro_app::schedule::run`]), its events applied at once; the
/// watermark makes each call do that one day.
async fn daily_job(
    earner: &Earner<ObservedStore<'_>>,
    program: &Program,
    day: Date,
    counts: &mut EventCounts,
    rejected: &mut Vec<Rejected>,
) -> Result<(), SimulateError> {
    let sink = JobSink {
        earner,
        log: std::sync::Mutex::new((EventCounts::default(), Vec::new())),
    };
    schedule::run(&earner.store().inner, &sink, program, day).await?;
    let (got, refused) = sink
        .log
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    counts.scheduled += got.scheduled;
    counts.duplicates += got.duplicates;
    counts.rejected += got.rejected;
    for r in refused {
        if rejected.len() < REJECTED_LISTED {
            rejected.push(r);
        }
    }
    Ok(())
}

async fn apply(
    earner: &Earner<ObservedStore<'_>>,
    he: &HistoryEvent,
    counts: &mut EventCounts,
    rejected: &mut Vec<Rejected>,
) -> Result<(), SimulateError> {
    match earner.apply(&he.event).await {
        Ok(Applied::New { .. }) => counts.applied += 1,
        Ok(Applied::Duplicate) => counts.duplicates += 1,
        Err(e @ (EarnError::Rejected { .. } | EarnError::IdReused(_))) => {
            counts.rejected += 1;
            if rejected.len() < REJECTED_LISTED {
                rejected.push(Rejected {
                    line: he.line,
                    event_id: he.event.id.as_str().to_owned(),
                    reason: chain(&e),
                });
            }
        }
        Err(e) => return Err(SimulateError::Earn(e)),
    }
    Ok(())
}

/// An error and its causes, on one line, joined by `: `.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The summary: the tally's months and rewards, and every customer's final state read back
/// from the store.
async fn finish(
    earner: &Earner<ObservedStore<'_>>,
    program: &Program,
    file: &str,
    span: Option<Span>,
    counts: EventCounts,
    rejected: Vec<Rejected>,
    at: Timestamp,
) -> Result<Summary, SimulateError> {
    let store = earner.store();
    let (months, rewards, customers, overflow) = store.with_tally(|t| {
        let mut ids: Vec<(CustomerId, i64)> = t
            .customers
            .iter()
            .map(|(id, c)| (id.clone(), c.earned))
            .collect();
        ids.sort();
        (t.months.clone(), t.rewards.clone(), ids, t.overflow)
    });
    if overflow {
        return Err(SimulateError::Overflow);
    }
    let tiers: Vec<String> = program.tiers.iter().map(|t| t.name.clone()).collect();
    let tz = program.timezone.clone();
    let mut outstanding = 0i64;
    let mut total = Totals::default();
    let mut out_months = Vec::with_capacity(months.len());
    for (i, m) in months.iter().enumerate() {
        outstanding = outstanding
            .checked_add(m.points.outstanding)
            .ok_or(SimulateError::Overflow)?;
        total = add_totals(&total, &m.points)?;
        let start = store
            .with_tally(|t| t.month_starts.get(i).copied())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let date = start.to_zoned(tz.clone()).date();
        out_months.push(Month {
            month: format!("{:04}-{:02}", date.year(), date.month()),
            points: Totals {
                outstanding,
                ..m.points
            },
            customers: m.customers,
            tiers: tiers
                .iter()
                .enumerate()
                .map(|(k, name)| (name.clone(), m.tiers.get(k).copied().unwrap_or(0)))
                .collect(),
            rewards: m.rewards,
        });
    }
    total.outstanding = outstanding;

    let mut finals = Vec::with_capacity(customers.len());
    let mut earners = Vec::with_capacity(customers.len());
    let mut liability = Liability {
        rule: LIABILITY_RULE,
        value: BTreeMap::new(),
        points_valued: 0,
        points_without_rate: 0,
    };
    for (id, earned) in customers {
        let Some(state) = store.inner.load(&id).await.map_err(EarnError::from)? else {
            continue;
        };
        if state.balance > 0 {
            value_balance(program, &state, &mut liability)?;
        }
        earners.push(super::summary::Earner {
            customer: id.clone(),
            earned,
            balance: state.balance,
            tier: state.tier.clone(),
        });
        finals.push(CustomerFinal {
            qualifying_points: qualifying_points(program, &state, at),
            customer: id,
            balance: state.balance,
            tier: state.tier,
        });
    }
    earners.sort_by(|a, b| {
        b.earned
            .cmp(&a.earned)
            .then_with(|| a.customer.cmp(&b.customer))
    });
    earners.truncate(TOP_EARNERS);

    Ok(Summary {
        program: ProgramInfo {
            name: program.name.clone(),
            version: program.version.0.clone(),
            file: file.to_owned(),
            timezone: program.timezone.iana_name().unwrap_or("").to_owned(),
        },
        from: span.map(|s| s.first.to_string()),
        until: span.map(|s| s.last.to_string()),
        events: counts,
        totals: total,
        months: out_months,
        tiers,
        rewards: program
            .rewards
            .iter()
            .zip(rewards)
            .map(|(r, t)| RewardIssued {
                id: r.id.clone(),
                kind: r.kind,
                issued: t.issued,
                points: t.points,
                value: t.value.into_iter().collect(),
            })
            .collect(),
        liability,
        top_earners: earners,
        rejected,
        customers: finals,
    })
}

fn add_totals(a: &Totals, b: &Totals) -> Result<Totals, SimulateError> {
    let f = |x: i64, y: i64| x.checked_add(y).ok_or(SimulateError::Overflow);
    Ok(Totals {
        earned: f(a.earned, b.earned)?,
        granted: f(a.granted, b.granted)?,
        redeemed: f(a.redeemed, b.redeemed)?,
        reversed: f(a.reversed, b.reversed)?,
        expired: f(a.expired, b.expired)?,
        adjusted: f(a.adjusted, b.adjusted)?,
        outstanding: f(a.outstanding, b.outstanding)?,
    })
}

/// Adds a positive balance to the liability ([`LIABILITY_RULE`]): floor(balance × value ÷
/// cost) of the first billing credit listing the customer's currency, in 128 bits.
pub(crate) fn value_balance(
    program: &Program,
    state: &saguaro_domain::CustomerState,
    liability: &mut Liability,
) -> Result<(), SimulateError> {
    let rate = state.currency.and_then(|currency| {
        program
            .rewards
            .iter()
            .find_map(|r| match (r.kind, &r.trigger) {
                (RewardKind::BillingCredit, RewardTrigger::Cost(cost)) => {
                    r.value_in(currency).map(|v| (v, *cost))
                }
                _ => None,
            })
    });
    let overflow = SimulateError::Overflow;
    match rate {
        Some((value, cost)) => {
            let minor = i128::from(state.balance) * i128::from(value.minor) / i128::from(cost);
            let minor = i64::try_from(minor).map_err(|_| SimulateError::Overflow)?;
            let e = liability
                .value
                .entry(value.currency.to_string())
                .or_default();
            *e = e.checked_add(minor).ok_or(SimulateError::Overflow)?;
            liability.points_valued = liability
                .points_valued
                .checked_add(state.balance)
                .ok_or(overflow)?;
        }
        None => {
            liability.points_without_rate = liability
                .points_without_rate
                .checked_add(state.balance)
                .ok_or(overflow)?;
        }
    }
    Ok(())
}
