//! `payment.succeeded`: a payment earns once, whatever ids it is reported under, and what it
//! earned is recorded so that refunds can mirror it whatever the rules say later. Records are
//! kept for the program's refund window, so that the state does not grow with the customer's
//! history.

use jiff::Span;

use super::tiers::month_key;
use super::{Result, Run};
use crate::ids::PaymentKey;
use crate::program::Beneficiary;
use crate::state::EarnedLine;

impl Run<'_> {
    pub(super) fn payment(&mut self) -> Result<()> {
        let event = self.event;
        let primary = event.refs.payment.as_deref().unwrap_or(event.id.as_str());
        let alias = event.refs.payment_alias.as_deref();
        let key = PaymentKey::of(self.payment_id(primary, alias));
        let paid = |key: &PaymentKey| {
            self.state
                .payments
                .get(key)
                .is_some_and(|p| p.amount.is_some())
        };
        // The same payment reported again under another event id (Stripe's `invoice.paid`
        // and `invoice.payment_succeeded`, a redelivery after the marker expired) earns
        // nothing more, whichever of its two ids the first report was recorded under.
        if paid(&key) || alias.is_some_and(|a| paid(&PaymentKey::of(a))) {
            return Ok(());
        }
        let earned = self.earn_by_rules(event, Beneficiary::Customer)?;
        let month = month_key(self.local.date());
        let record = self.state.payments.entry(key).or_default();
        record.day = Some(self.local.date());
        record.amount = event.amount;
        record.earned = earned
            .into_iter()
            .map(|(line, points)| EarnedLine {
                line,
                points,
                reversed: 0,
                month,
            })
            .collect();
        if let Some(amount) = event.amount {
            self.state.currency = Some(amount.currency);
        }
        // A refund that arrived before its payment is applied now.
        self.reverse_payment(key)?;
        self.convert_on_first_payment()
    }

    /// The id the customer's records hold this payment under: `primary`, else `alias` when
    /// only that one is known, else `primary`.
    pub(super) fn payment_id<'e>(&self, primary: &'e str, alias: Option<&'e str>) -> &'e str {
        match alias {
            Some(a)
                if !self.state.payments.contains_key(&PaymentKey::of(primary))
                    && self.state.payments.contains_key(&PaymentKey::of(a)) =>
            {
                a
            }
            _ => primary,
        }
    }

    /// Drops the records of payments (and of refunds still waiting for their payment) whose
    /// day is more than the refund window before the event's day: a refund of such a payment
    /// finds no record and reverses nothing.
    pub(super) fn prune_payments(&mut self) -> Result<()> {
        let horizon = self
            .local
            .date()
            .checked_sub(Span::new().days(self.program.refund_window_days))?;
        self.state
            .payments
            .retain(|_, record| record.day.is_none_or(|day| day >= horizon));
        Ok(())
    }
}
