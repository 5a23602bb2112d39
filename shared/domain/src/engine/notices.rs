//! Merchant notifications the engine writes (`[notify]`, [`crate::notify`]): `tier.changed`
//! in the commit of the event that changed the tier, and `points.expiring` when the daily
//! job's visit finds lots whose last day is `expiring_days` ahead. Both are outbox rows of
//! the event's commit, so each fact is notified exactly once (the event marker).

use jiff::ToSpan;

use super::{Result, Run};
use crate::event::Trigger;
use crate::ids::Provider;
use crate::notify::{Notification, NotifyKind, expiring_event_id};

impl Run<'_> {
    /// A `tier.changed` row if the tier after the event is not the one before it. A customer
    /// seen for the first time who lands in the lowest tier has not changed tier.
    pub(super) fn notify_tier_change(&mut self, before: Option<String>) {
        let Some(notify) = &self.program.notify else {
            return;
        };
        let after = self.state.tier.clone();
        let lowest = self.program.tiers.first().map(|t| &t.name);
        if after == before || (before.is_none() && after.as_ref() == lowest) {
            return;
        }
        let id = format!(
            "{}/v{}/tier.changed",
            self.state.customer,
            self.state.version.saturating_add(1)
        );
        let data = Notification::TierChanged {
            from: before,
            to: after,
        };
        let row = notify.row(
            &self.program.name,
            id,
            &self.state.customer,
            &self.event.id,
            self.event.occurred_at,
            data,
        );
        self.rewards.extend(row);
    }

    /// The daily job's visit (`points.expired` from the scheduler) on day D: a
    /// `points.expiring` row for what is left of the lot whose last day is D +
    /// `expiring_days`, id `expiring:{provider}:{customer}:{D}`.
    pub(super) fn notify_expiring(&mut self) -> Result<()> {
        let Some(notify) = &self.program.notify else {
            return Ok(());
        };
        if !notify.sends(NotifyKind::PointsExpiring) || !self.is_daily_visit() {
            return Ok(());
        }
        let today = self.local.date();
        let due = today.checked_add(notify.expiring_days.days())?;
        let points: i64 = self
            .state
            .lots
            .iter()
            .filter(|l| l.expires_on == Some(due))
            .try_fold(0i64, |sum, l| super::checked(sum.checked_add(l.remaining)))?;
        if points <= 0 {
            return Ok(());
        }
        let row = notify.row(
            &self.program.name,
            expiring_event_id(&self.state.customer, today),
            &self.state.customer,
            &self.event.id,
            self.event.occurred_at,
            Notification::PointsExpiring { points, date: due },
        );
        self.rewards.extend(row);
        Ok(())
    }

    /// The daily job's `points.expired` visit (which writes the day's notice).
    fn is_daily_visit(&self) -> bool {
        self.event.trigger == Trigger::PointsExpired && self.event.provider == Provider::Scheduler
    }

    /// When the daily job must next visit for a `points.expiring` notice: the day before
    /// the day D (after today) whose D + `expiring_days` is the last day of a lot. `None`
    /// when `points.expiring` is not sent. Bounded by the lots (one per expiry day).
    pub(super) fn schedule_expiring_notice(&mut self) -> Result<()> {
        self.state.expiring_notice_on = None;
        let Some(notify) = &self.program.notify else {
            return Ok(());
        };
        if !notify.sends(NotifyKind::PointsExpiring) {
            return Ok(());
        }
        let today = self.local.date();
        let ahead = notify.expiring_days.days();
        // Today's notice is still due unless this is the daily visit that wrote it: another
        // event of the customer's applied before the visit must not move the index past it.
        let visited = self.is_daily_visit();
        let mut soonest = None;
        for lot in &self.state.lots {
            let Some(last) = lot.expires_on else { continue };
            if lot.remaining <= 0 {
                continue;
            }
            let notice = last.checked_sub(ahead)?;
            let due = notice > today || (notice == today && !visited);
            if due && soonest.is_none_or(|s| notice < s) {
                soonest = Some(notice);
            }
        }
        self.state.expiring_notice_on = soonest.map(|d| d.yesterday()).transpose()?;
        Ok(())
    }
}
