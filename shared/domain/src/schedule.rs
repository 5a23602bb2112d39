//! What the daily job looks up by day, and the calendar rules it applies (docs/design.md
//! §4.5): the index entries a customer's state makes (the day their soonest lot expires; each
//! subscription's local start date, plan and whether it is active), which month-days are read
//! on a given day (a 29 February start celebrates on 28 February in common years), how many
//! years an anniversary counts, and the deterministic ids of the synthetic events.
//!
//! Every store derives its index from the state with [`ScheduleIndex::of`], so the three
//! stores index the same things; the start date is the one the engine recorded in the program
//! timezone ([`SubscriptionSnapshot::started_on`]), so no store needs the timezone.

pub use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;
use crate::state::{CustomerState, SubscriptionSnapshot};

/// A subscription as the anniversary index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledSubscription {
    pub customer: CustomerId,
    pub subscription: String,
    /// The local start date (program timezone) the anniversary is counted from.
    pub started_on: Date,
    pub plan: Option<String>,
    /// See [`SubscriptionSnapshot::is_active`].
    pub active: bool,
}

impl ScheduledSubscription {
    /// The month and day it is filed under.
    pub fn month_day(&self) -> (i8, i8) {
        (self.started_on.month(), self.started_on.day())
    }
}

/// A customer in the expiry index: the last day of their soonest-expiring lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledExpiry {
    pub customer: CustomerId,
    pub day: Date,
}

/// Everything a customer's state puts in the daily job's indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleIndex {
    /// The day the daily job next visits the customer with `points.expired` (after it):
    /// the last day of the soonest-expiring lot, or, in a rolling-12-month program, the
    /// last day before a month leaves the window and may lower the tier
    /// ([`CustomerState::tier_review_on`]), or the day before a `points.expiring` notice is
    /// due ([`CustomerState::expiring_notice_on`]), whichever comes first.
    pub expires: Option<Date>,
    /// One entry per subscription whose start is known, by subscription id.
    pub subscriptions: Vec<ScheduledSubscription>,
}

impl ScheduleIndex {
    pub fn of(state: &CustomerState) -> Self {
        Self {
            expires: state
                .lots
                .iter()
                .filter_map(|l| l.expires_on)
                .chain(state.tier_review_on)
                .chain(state.expiring_notice_on)
                .min(),
            subscriptions: state
                .subscriptions
                .iter()
                .filter_map(|(id, s)| {
                    Some(ScheduledSubscription {
                        customer: state.customer.clone(),
                        subscription: id.clone(),
                        started_on: s.local_start()?,
                        plan: s.plan.clone(),
                        active: s.is_active(),
                    })
                })
                .collect(),
        }
    }
}

impl SubscriptionSnapshot {
    /// Active for the scheduler: `active`, `past_due` (Stripe: still running while a payment
    /// is retried), `non_renewing` (Chargebee: running to the end of its term), or no status
    /// known (an event that never said, e.g. from `POST /events`). Cancelled, paused, unpaid,
    /// trials and anything else are not.
    pub fn is_active(&self) -> bool {
        match self.status.as_deref() {
            None => true,
            Some(s) => matches!(s, "active" | "past_due" | "non_renewing"),
        }
    }

    /// The start date in the program timezone as the engine recorded it; for snapshots
    /// written before it did, the UTC date of `started_at`.
    pub fn local_start(&self) -> Option<Date> {
        self.started_on
            .or_else(|| self.started_at.map(|t| t.to_zoned(TimeZone::UTC).date()))
    }
}

/// The month-days whose subscriptions celebrate on `day`: its own, and on 28 February of a
/// common year also 29 February.
pub fn anniversary_month_days(day: Date) -> Vec<(i8, i8)> {
    let mut out = vec![(day.month(), day.day())];
    if day.month() == 2 && day.day() == 28 && !day.in_leap_year() {
        out.push((2, 29));
    }
    out
}

/// The years a subscription started on `started_on` completes on `day`, if `day` is one of
/// its anniversaries (the same month-day, or 28 February for a 29 February start in a common
/// year) and at least one year has passed.
pub fn anniversary_years(started_on: Date, day: Date) -> Option<i16> {
    let years = day.year().checked_sub(started_on.year())?;
    if years < 1 {
        return None;
    }
    let same = (started_on.month(), started_on.day()) == (day.month(), day.day());
    let leap_start_in_common_year = (started_on.month(), started_on.day()) == (2, 29)
        && (day.month(), day.day()) == (2, 28)
        && !day.in_leap_year();
    (same || leap_start_in_common_year).then_some(years)
}

/// The start of `day` in `tz` (the first instant of the day, even when a DST change skips
/// midnight): the `occurred_at` of the day's synthetic events.
pub fn start_of_day(day: Date, tz: &TimeZone) -> Result<Timestamp, jiff::Error> {
    Ok(day.to_zoned(tz.clone())?.start_of_day()?.timestamp())
}

/// The first day the expiry job reads for `day`: the first of the previous month of the day
/// before. Customers still filed under an earlier day are those whose previous expiry has not
/// been applied yet (the earn queue is behind); reading back that far catches them up.
pub fn expiry_read_from(day: Date) -> Result<Date, jiff::Error> {
    let yesterday = day.yesterday()?;
    yesterday.first_of_month().checked_sub(1.month())
}

/// `anniv:{provider}:{subscription}:{years}` (the customer's provider).
pub fn anniversary_event_id(s: &ScheduledSubscription, years: i16) -> String {
    format!("anniv:{}:{}:{years}", s.customer.provider, s.subscription)
}

/// `expire:{provider}:{customer}:{yyyy-mm-dd}` for the expiry run of `day`.
pub fn expiry_event_id(customer: &CustomerId, day: Date) -> String {
    format!("expire:{}:{}:{day}", customer.provider, customer.id)
}

/// `grant:{promotion}:{provider}:{customer}`: a promotion grants once per customer.
pub fn grant_event_id(promotion: &str, customer: &CustomerId) -> String {
    format!("grant:{promotion}:{}:{}", customer.provider, customer.id)
}

/// An index page cursor: the JSON of the last key read. Stores that have no cursor of their
/// own (the embedded and SQLite ones) use it.
pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

/// The key an [`encode_cursor`] cursor holds; `None` if it is not one.
pub fn decode_cursor<T: serde::de::DeserializeOwned>(cursor: &str) -> Option<T> {
    serde_json::from_str(cursor).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn when_a_leap_day_start_meets_a_common_year_then_it_celebrates_on_28_february() {
        let start = date(2024, 2, 29);
        assert_eq!(anniversary_years(start, date(2025, 2, 28)), Some(1));
        assert_eq!(anniversary_years(start, date(2025, 3, 1)), None);
        assert_eq!(anniversary_years(start, date(2028, 2, 28)), None);
        assert_eq!(anniversary_years(start, date(2028, 2, 29)), Some(4));
        assert_eq!(
            anniversary_month_days(date(2025, 2, 28)),
            [(2, 28), (2, 29)]
        );
        assert_eq!(anniversary_month_days(date(2028, 2, 28)), [(2, 28)]);
        // A 28 February start is not moved in leap years.
        assert_eq!(
            anniversary_years(date(2023, 2, 28), date(2024, 2, 28)),
            Some(1)
        );
        assert_eq!(
            anniversary_years(date(2023, 2, 28), date(2024, 2, 29)),
            None
        );
    }

    #[test]
    fn when_less_than_a_year_has_passed_then_there_is_no_anniversary() {
        assert_eq!(anniversary_years(date(2026, 5, 1), date(2026, 5, 1)), None);
        assert_eq!(
            anniversary_years(date(2025, 5, 1), date(2027, 5, 1)),
            Some(2)
        );
    }

    #[test]
    fn when_the_day_starts_then_its_instant_is_local_midnight() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let t = start_of_day(date(2026, 12, 5), &ny).unwrap();
        assert_eq!(t.to_string(), "2026-12-05T05:00:00Z");
        assert_eq!(
            expiry_read_from(date(2026, 3, 1)).unwrap(),
            date(2026, 1, 1)
        );
        assert_eq!(
            expiry_read_from(date(2026, 3, 2)).unwrap(),
            date(2026, 2, 1)
        );
    }
}
