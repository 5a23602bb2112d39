//! Tiers: qualifying points (earned minus reversed, all time or over the rolling 12 months),
//! the tier they put the customer in after an event, and the monthly buckets behind the
//! rolling window.

use jiff::civil::Date;
use jiff::{Span, Timestamp};

use super::{Result, Run, checked};
use crate::program::{Program, TierWindow};
use crate::state::CustomerState;

/// Monthly qualifying buckets older than this are dropped (the rolling window needs 12).
const QUALIFYING_MONTHS_KEPT: i64 = 24;

/// The customer's qualifying points at `at`, which decide their tier: all time, or the
/// calendar month of `at` and the eleven before it (program timezone), as the program's
/// `tier_window` says.
/// For display: a window sum past `i64` (which the engine refuses to produce) reads as the
/// nearest bound.
pub fn qualifying_points(program: &Program, state: &CustomerState, at: Timestamp) -> i64 {
    let local = at.to_zoned(program.timezone.clone());
    window(program, state, local.date()).fold(0i64, |sum, p| sum.saturating_add(p))
}

/// The qualifying points on `date`; a sum past `i64` is an overflow.
pub(super) fn qualifying_at(program: &Program, state: &CustomerState, date: Date) -> Result<i64> {
    window(program, state, date).try_fold(0i64, |sum, p| checked(sum.checked_add(p)))
}

/// The amounts that add up to the qualifying points on `date`: the lifetime total, or the
/// monthly buckets of the rolling window.
fn window<'a>(
    program: &Program,
    state: &'a CustomerState,
    date: Date,
) -> impl Iterator<Item = i64> + 'a {
    let (lifetime, months) = match program.tier_window {
        TierWindow::Lifetime => (Some(state.qualifying_lifetime), None),
        TierWindow::Rolling12Months => {
            let current = month_key(date);
            let first = date
                .first_of_month()
                .checked_sub(Span::new().months(11))
                .map(month_key)
                .unwrap_or_default();
            (None, Some(state.qualifying_by_month.range(first..=current)))
        }
    };
    lifetime
        .into_iter()
        .chain(months.into_iter().flatten().map(|(_, p)| *p))
}

/// The first day of the month a [`month_key`] names.
fn month_start(key: u32) -> Option<Date> {
    let year = i16::try_from(key / 100).ok()?;
    let month = i8::try_from(key % 100).ok()?;
    Date::new(year, month, 1).ok()
}

/// `yyyymm`: orders like the months it names.
pub(super) fn month_key(d: Date) -> u32 {
    // Years of a civil::Date are -9999..=9999; ledger dates are never before year 0.
    u32::try_from(d.year()).unwrap_or(0) * 100 + u32::try_from(d.month()).unwrap_or(0)
}

impl Run<'_> {
    /// Counts `points` (negative for a reversal) towards the tier, in the month they were
    /// earned.
    pub(super) fn qualify(&mut self, points: i64, month: u32) -> Result<()> {
        self.state.qualifying_lifetime =
            checked(self.state.qualifying_lifetime.checked_add(points))?;
        // Monthly buckets only matter to the rolling window.
        if self.program.tier_window == TierWindow::Rolling12Months {
            let bucket = self.state.qualifying_by_month.entry(month).or_default();
            *bucket = checked(bucket.checked_add(points))?;
        }
        Ok(())
    }

    /// The tier after the event; a tier entered for the first time issues its `on_tier`
    /// rewards.
    pub(super) fn recompute_tier(&mut self) -> Result<()> {
        let qualifying = qualifying_at(self.program, &self.state, self.local.date())?;
        let tier = self.program.tier_for(qualifying).map(|t| t.name.clone());
        if let Some(name) = &tier
            && self.state.tiers_reached.insert(name.clone())
        {
            self.issue_tier_rewards(name)?;
        }
        self.state.tier = tier;
        Ok(())
    }

    /// Rolling-12-month programs: when the customer's tier can next fall without an event
    /// of theirs, which is when the oldest month with qualifying points leaves the window
    /// (the first of the twelfth month after it). The daily job visits the customer the day
    /// after [`CustomerState::tier_review_on`], and the `points.expired` it sends makes the
    /// engine recompute the tier at that date. None when the tier cannot fall (the lowest
    /// tier, or no tier needing points) or the program counts lifetime points.
    pub(super) fn schedule_tier_review(&mut self) -> Result<()> {
        self.state.tier_review_on = None;
        if self.program.tier_window != TierWindow::Rolling12Months {
            return Ok(());
        }
        let floor = self
            .state
            .tier
            .as_deref()
            .and_then(|name| self.program.tiers.iter().find(|t| t.name == name))
            .map_or(0, |t| t.min_points);
        if floor <= 0 {
            return Ok(());
        }
        let today = self.local.date();
        let Ok(first) = today.first_of_month().checked_sub(Span::new().months(11)) else {
            return Ok(());
        };
        let oldest = self
            .state
            .qualifying_by_month
            .range(month_key(first)..=month_key(today))
            .find(|(_, p)| **p != 0)
            .map(|(m, _)| *m);
        if let Some(month) = oldest
            && let Some(start) = month_start(month)
            && let Ok(leaves) = start.checked_add(Span::new().months(12))
        {
            // The last day the month still counts: the daily job reads days before its own.
            self.state.tier_review_on = leaves.yesterday().ok();
        }
        Ok(())
    }

    /// Drops the monthly buckets the rolling window can no longer reach.
    pub(super) fn prune_qualifying_months(&mut self) {
        if self.program.tier_window == TierWindow::Rolling12Months
            && let Ok(oldest) = self
                .local
                .date()
                .first_of_month()
                .checked_sub(Span::new().months(QUALIFYING_MONTHS_KEPT))
        {
            let oldest = month_key(oldest);
            self.state.qualifying_by_month.retain(|&m, _| m >= oldest);
        }
    }
}
