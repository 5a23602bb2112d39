//! `payment.succeeded`: a payment earns once, whatever ids it is reported under, and what it
//! earned is recorded so that refunds can mirror it whatever the rules say later.

use super::tiers::month_key;
use super::{Result, Run};
use crate::program::Beneficiary;
use crate::state::EarnedLine;

impl Run<'_> {
    pub(super) fn payment(&mut self) -> Result<()> {
        let event = self.event;
        let primary = event
            .refs
            .payment
            .clone()
            .unwrap_or_else(|| event.id.to_string());
        let key = self.payment_key(primary, event.refs.payment_alias.as_deref());
        if self
            .state
            .payments
            .get(&key)
            .is_some_and(|p| p.amount.is_some())
        {
            // The same payment reported again under another event id earns nothing more.
            return Ok(());
        }
        let earned = self.earn_by_rules(event, Beneficiary::Customer)?;
        let month = month_key(self.local.date());
        let record = self.state.payments.entry(key.clone()).or_default();
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
        self.reverse_payment(&key)?;
        self.convert_on_first_payment()
    }

    /// The id the customer's records hold this payment under: `primary`, else `alias` when
    /// only that one is known, else `primary`.
    pub(super) fn payment_key(&self, primary: String, alias: Option<&str>) -> String {
        match alias {
            Some(a)
                if !self.state.payments.contains_key(&primary)
                    && self.state.payments.contains_key(a) =>
            {
                a.to_owned()
            }
            _ => primary,
        }
    }
}
