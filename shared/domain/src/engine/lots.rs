//! Lots: earned points not yet spent, reversed or expired, one per expiry day. New points pay
//! back a deficit first; consumption takes from lots soonest-expiring first; a lot expires
//! with what is left of it. Operator adjustments add or take points the same way.

use jiff::Span;

use super::{EngineError, Result, Run, checked};
use crate::ledger::{LineKind, LineSeq};
use crate::state::Lot;

impl Run<'_> {
    /// New points first pay back a deficit; what is left joins the lot of its expiry day.
    pub(super) fn add_lot(&mut self, line: LineSeq, points: i64) -> Result<()> {
        let repaid = points.min(self.state.deficit);
        self.state.deficit -= repaid;
        let remaining = points - repaid;
        if remaining == 0 {
            return Ok(());
        }
        let expires_on = match self.program.expiry {
            Some(e) => Some(
                self.local
                    .date()
                    .checked_add(Span::new().days(e.after_days))?,
            ),
            None => None,
        };
        // All points earned on one local day expire together: one lot per expiry day keeps
        // the lots bounded by the expiry window, not by how often the customer earns.
        match self
            .state
            .lots
            .iter_mut()
            .find(|l| l.expires_on == expires_on)
        {
            Some(lot) => lot.remaining = checked(lot.remaining.checked_add(remaining))?,
            None => self.state.lots.push(Lot {
                line,
                expires_on,
                remaining,
            }),
        }
        Ok(())
    }

    /// Takes points from lots soonest-expiring first; what the lots cannot cover is a deficit.
    pub(super) fn consume(&mut self, mut points: i64) -> Result<()> {
        self.state
            .lots
            .sort_by_key(|l| (l.expires_on.is_none(), l.expires_on, l.line));
        for lot in &mut self.state.lots {
            if points == 0 {
                break;
            }
            let take = points.min(lot.remaining);
            lot.remaining -= take;
            points -= take;
        }
        self.state.lots.retain(|l| l.remaining > 0);
        self.state.deficit = checked(self.state.deficit.checked_add(points))?;
        Ok(())
    }

    /// `points.expired` (from the scheduler): every lot whose last day is before the event's
    /// day expires with its remainder, in one line (normally one day's lot: the job runs
    /// daily), which refers to the soonest lot's line. One line, however many days a late job
    /// catches up on, keeps the event's commit small.
    pub(super) fn expire(&mut self) -> Result<()> {
        let today = self.local.date();
        let (expired, kept): (Vec<Lot>, Vec<Lot>) = std::mem::take(&mut self.state.lots)
            .into_iter()
            .partition(|lot| lot.expires_on.is_some_and(|d| d < today));
        self.state.lots = kept;
        let soonest = expired
            .iter()
            .min_by_key(|lot| (lot.expires_on, lot.line))
            .map(|lot| lot.line);
        let total = expired
            .iter()
            .try_fold(0i64, |sum, lot| checked(sum.checked_add(lot.remaining)))?;
        if total > 0 {
            self.push_line(
                LineKind::Expiry,
                checked(total.checked_neg())?,
                "expiry".to_owned(),
                soonest,
                None,
            )?;
        }
        Ok(())
    }

    /// `points.adjusted`: an operator's correction, its line carrying the operator's reason.
    /// Positive points make a lot; negative ones are consumed like a redemption, and what the
    /// lots cannot cover becomes a deficit (a negative balance the next positive lines repay,
    /// docs/design.md §4.4). Neither counts towards the tier.
    pub(super) fn adjust(&mut self) -> Result<()> {
        let event = self.event;
        let points = event.points.ok_or(EngineError::MissingField {
            trigger: event.trigger.clone(),
            field: "points",
        })?;
        if points == 0 {
            return Ok(());
        }
        let seq = self.push_line(
            LineKind::Adjustment,
            points,
            "adjustment".to_owned(),
            None,
            None,
        )?;
        if let Some(line) = self.lines.last_mut() {
            line.reason.clone_from(&event.reason);
        }
        if points > 0 {
            self.add_lot(seq, points)?;
        } else {
            self.consume(checked(points.checked_neg())?)?;
        }
        Ok(())
    }
}
