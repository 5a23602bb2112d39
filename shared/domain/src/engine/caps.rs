//! Caps: a rule's points per customer per calendar day, month or year of the program timezone,
//! or ever, counted in the state's cap counters.

use jiff::civil::Date;
use jiff::{Span, Timestamp};

use super::{Result, Run, checked};
use crate::program::{CapPeriod, EarnRule};
use crate::state::CapCounter;

/// Cap counters are kept this long after their period ends (counted back from the newest
/// event applied), so that a late event still finds the counter of its period: longer than
/// the dead-letter queue keeps a message for redrive (14 days) plus the providers' retry
/// windows (Stripe 3 days, Chargebee about 3 days 7 hours). An event older than that finds no
/// counter and starts its period afresh: it can earn up to a whole cap again.
pub const CAP_RETENTION_DAYS: i64 = 21;

impl Run<'_> {
    /// What is left of `points` under the rule's cap for the event's period, counted as used.
    pub(super) fn apply_cap(&mut self, rule: &EarnRule, points: i64) -> Result<i64> {
        let Some(cap) = rule.cap else {
            return Ok(points);
        };
        let date = self.local.date();
        let tz = &self.program.timezone;
        let (period, ends) = match cap.per {
            CapPeriod::Day => (date.to_string(), Some(date.tomorrow()?)),
            CapPeriod::Month => (
                format!("{:04}-{:02}", date.year(), date.month()),
                Some(date.first_of_month().checked_add(Span::new().months(1))?),
            ),
            CapPeriod::Year => (
                format!("{:04}", date.year()),
                Some(Date::new(date.year() + 1, 1, 1)?),
            ),
            CapPeriod::Ever => ("ever".to_owned(), None),
        };
        let ends = ends
            .map(|d| d.to_zoned(tz.clone()).map(|z| z.timestamp()))
            .transpose()?;
        let counter = match self
            .state
            .caps
            .iter_mut()
            .find(|c| c.rule == rule.id && c.period == period)
        {
            Some(c) => c,
            None => {
                self.state.caps.push(CapCounter {
                    rule: rule.id.clone(),
                    period,
                    ends,
                    used: 0,
                });
                let last = self.state.caps.len() - 1;
                &mut self.state.caps[last]
            }
        };
        let left = checked(cap.points.checked_sub(counter.used))?.max(0);
        let given = points.min(left);
        counter.used = checked(counter.used.checked_add(given))?;
        Ok(given)
    }

    /// Drops the counters of periods that ended more than [`CAP_RETENTION_DAYS`] before the
    /// event.
    pub(super) fn prune_caps(&mut self) {
        let horizon = self
            .event
            .occurred_at
            .checked_sub(Span::new().hours(24 * CAP_RETENTION_DAYS))
            .unwrap_or(Timestamp::MIN);
        self.state
            .caps
            .retain(|c| c.ends.is_none_or(|e| e >= horizon));
    }
}
