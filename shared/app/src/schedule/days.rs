//! One run of the daily job: the days after the watermark, and each day's synthetic events.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_domain::ids::{CustomerId, Provider};
use saguaro_domain::program::TierWindow;
use saguaro_domain::schedule::{
    ScheduledSubscription, anniversary_event_id, anniversary_month_days, anniversary_years,
    expiry_event_id, expiry_read_from, grant_event_id, start_of_day,
};
use saguaro_domain::{Event, Program, SubscriptionInfo, Trigger};
use tracing::{error, info};

use super::{MAX_DAYS_PER_RUN, PAGE, ScheduleError};
use crate::ports::{EventSink, ScheduleStore, SinkError};

/// What one day made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayReport {
    pub day: Date,
    /// `points.expired` events submitted.
    pub expiries: usize,
    /// `subscription.anniversary` events submitted.
    pub anniversaries: usize,
    /// `promotion.granted` events submitted.
    pub grants: usize,
    /// Events the sink refused as they are (logged with their id; never retried).
    pub refused: usize,
}

impl DayReport {
    pub fn events(&self) -> usize {
        self.expiries + self.anniversaries + self.grants
    }
}

/// Why a run stopped before today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Another run moved the watermark first: it is doing these days.
    Overtaken,
    /// [`MAX_DAYS_PER_RUN`] days were processed; the next run continues.
    DayLimit,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub today: Date,
    /// The days completed by this run, in order.
    pub days: Vec<DayReport>,
    /// The watermark after the run.
    pub watermark: Option<Date>,
    pub stopped: Option<Stop>,
}

impl RunReport {
    /// Whole days between the watermark and today (0 when up to date): alarm above 2.
    pub fn lag_days(&self) -> i64 {
        match self.watermark {
            None => 0,
            Some(w) => i64::from(w.until(self.today).map_or(0, |s| s.get_days()).max(0)),
        }
    }

    pub fn events(&self) -> usize {
        self.days.iter().map(DayReport::events).sum()
    }
}

pub(super) struct Job<'a, S, K> {
    pub store: &'a S,
    pub sink: &'a K,
    pub program: &'a Program,
}

impl<S: ScheduleStore, K: EventSink> Job<'_, S, K> {
    pub async fn run(&self, today: Date) -> Result<RunReport, ScheduleError> {
        let mut watermark = self.store.watermark().await?;
        let mut day = match watermark {
            Some(w) => w.tomorrow()?,
            None => today,
        };
        let mut report = RunReport {
            today,
            days: Vec::new(),
            watermark,
            stopped: None,
        };
        while day <= today {
            if report.days.len() >= MAX_DAYS_PER_RUN {
                report.stopped = Some(Stop::DayLimit);
                break;
            }
            let done = self.day(day).await?;
            if !self.store.advance_watermark(watermark, day).await? {
                info!(%day, "another run moved the watermark first; stopping");
                report.stopped = Some(Stop::Overtaken);
                report.watermark = self.store.watermark().await?;
                return Ok(report);
            }
            info!(
                %day,
                expiries = done.expiries,
                anniversaries = done.anniversaries,
                grants = done.grants,
                refused = done.refused,
                "day completed"
            );
            report.days.push(done);
            watermark = Some(day);
            report.watermark = watermark;
            day = day.tomorrow()?;
        }
        Ok(report)
    }

    /// Every event of `day`, submitted.
    async fn day(&self, day: Date) -> Result<DayReport, ScheduleError> {
        let mut report = DayReport {
            day,
            ..DayReport::default()
        };
        let midnight = start_of_day(day, &self.program.timezone)?;
        self.expiries(day, midnight, &mut report).await?;
        self.anniversaries(day, midnight, &mut report).await?;
        self.grants(day, &mut report).await?;
        Ok(report)
    }

    async fn expiries(
        &self,
        day: Date,
        midnight: Timestamp,
        report: &mut DayReport,
    ) -> Result<(), ScheduleError> {
        // The index also holds rolling-window tier reviews (ScheduleIndex::expires).
        if self.program.expiry.is_none() && self.program.tier_window != TierWindow::Rolling12Months
        {
            return Ok(());
        }
        let (from, through) = (expiry_read_from(day)?, day.yesterday()?);
        let mut cursor = None;
        loop {
            let page = self.store.expiring(from, through, cursor, PAGE).await?;
            for due in page.items {
                let event = synthetic(
                    expiry_event_id(&due.customer, day),
                    due.customer,
                    Trigger::PointsExpired,
                    midnight,
                );
                if self.submit(event).await? {
                    report.expiries += 1;
                } else {
                    report.refused += 1;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn anniversaries(
        &self,
        day: Date,
        midnight: Timestamp,
        report: &mut DayReport,
    ) -> Result<(), ScheduleError> {
        for (month, d) in anniversary_month_days(day) {
            let mut cursor = None;
            loop {
                let page = self.store.anniversaries(month, d, cursor, PAGE).await?;
                for sub in page.items {
                    let Some(years) = anniversary_years(sub.started_on, day) else {
                        continue;
                    };
                    if !sub.active {
                        continue;
                    }
                    if self.submit(anniversary(&sub, years, midnight)).await? {
                        report.anniversaries += 1;
                    } else {
                        report.refused += 1;
                    }
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Promotions with a `grant` that start on `day`: every customer with an active
    /// subscription, once, read from the anniversary index month-day by month-day.
    async fn grants(&self, day: Date, report: &mut DayReport) -> Result<(), ScheduleError> {
        let tz = &self.program.timezone;
        for promotion in &self.program.promotions {
            if promotion.grant.is_none() || promotion.starts.to_zoned(tz.clone()).date() != day {
                continue;
            }
            // A customer with several subscriptions is granted once (the id would drop the
            // second anyway; this saves the message).
            let mut granted: BTreeSet<CustomerId> = BTreeSet::new();
            for (month, d) in every_month_day() {
                let mut cursor = None;
                loop {
                    let page = self.store.anniversaries(month, d, cursor, PAGE).await?;
                    for sub in page.items {
                        if !sub.active || granted.contains(&sub.customer) {
                            continue;
                        }
                        let mut event = synthetic(
                            grant_event_id(&promotion.id, &sub.customer),
                            sub.customer.clone(),
                            Trigger::PromotionGranted,
                            promotion.starts,
                        );
                        event.refs.promotion = Some(promotion.id.clone());
                        granted.insert(sub.customer);
                        if self.submit(event).await? {
                            report.grants += 1;
                        } else {
                            report.refused += 1;
                        }
                    }
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        Ok(())
    }

    /// `Ok(false)`: the sink refused this event as it is (it can never be applied); it is
    /// logged with its id for an operator and the day goes on. An unavailable sink stops
    /// the run: the day is processed again by the next one.
    async fn submit(&self, event: Event) -> Result<bool, ScheduleError> {
        let event_id = event.id.as_str().to_owned();
        match self.sink.submit(event).await {
            Ok(()) => Ok(true),
            Err(e @ (SinkError::Rejected(_) | SinkError::IdReused)) => {
                error!(event_id, error = %e, "scheduled event refused; an operator must look");
                Ok(false)
            }
            Err(source) => Err(ScheduleError::Sink { event_id, source }),
        }
    }
}

/// An event of the scheduler (provider `scheduler`) for `customer`.
fn synthetic(id: String, customer: CustomerId, trigger: Trigger, at: Timestamp) -> Event {
    let mut event = Event::new(id, customer, trigger, at);
    event.provider = Provider::Scheduler;
    event
}

/// The anniversary event names the subscription only: the engine reads its plan from the
/// snapshot, so the payload of a day processed twice is the same.
fn anniversary(sub: &ScheduledSubscription, years: i16, at: Timestamp) -> Event {
    let mut event = synthetic(
        anniversary_event_id(sub, years),
        sub.customer.clone(),
        Trigger::SubscriptionAnniversary,
        at,
    );
    event.subscription = Some(SubscriptionInfo {
        id: sub.subscription.clone(),
        plan: None,
        status: None,
        started_at: None,
        monthly_amount: None,
        resource_version: None,
    });
    event
}

/// Every month-day of a leap year, 29 February included.
fn every_month_day() -> impl Iterator<Item = (i8, i8)> {
    (1..=12i8).flat_map(|m| {
        let days = jiff::civil::date(2024, m, 1).days_in_month();
        (1..=days).map(move |d| (m, d))
    })
}
