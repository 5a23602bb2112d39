//! `payment.refunded`: a refund reverses, per earn line of the payment, `floor(P × refunded /
//! A)` minus what earlier refunds reversed. A refund seen before its payment waits in the
//! payment's record until the payment arrives (for the refund window at most); a refund of a
//! payment older than the refund window finds no record and reverses nothing.

use super::{EngineError, Notice, Result, Run, checked};
use crate::ids::PaymentKey;
use crate::ledger::LineKind;

impl Run<'_> {
    pub(super) fn refund(&mut self) -> Result<()> {
        let event = self.event;
        let missing = |field| EngineError::MissingField {
            trigger: event.trigger.clone(),
            field,
        };
        let primary = event
            .refs
            .payment
            .as_deref()
            .ok_or_else(|| missing("payment"))?;
        let alias = event.refs.payment_alias.as_deref();
        let known = self.payment_id(primary, alias);
        // A refund of a payment not seen yet waits under the alias (the invoice), which the
        // payment event also names, whichever id it is keyed by.
        let id = if self.state.payments.contains_key(&PaymentKey::of(known)) {
            known
        } else {
            alias.unwrap_or(primary)
        };
        let key = PaymentKey::of(id);
        let refund = event
            .refunded_total
            .or(event.amount)
            .ok_or_else(|| missing("amount"))?;
        if !self.state.payments.contains_key(&key) {
            // Too old to be kept, or not delivered yet: the refund waits for its payment for
            // the refund window.
            self.notices.push(Notice::RefundOfUnknownPayment {
                payment: id.to_owned(),
            });
        }
        let day = self.local.date();
        let record = self.state.payments.entry(key).or_default();
        record.day.get_or_insert(day);
        if let Some(paid) = record.amount
            && paid.currency != refund.currency
        {
            return Err(EngineError::CurrencyMismatch {
                payment: paid.currency.to_string(),
                refund: refund.currency.to_string(),
            });
        }
        // A running total (Stripe's `amount_refunded`) replaces what is known, so re-ordered
        // events cannot double count; otherwise the refund's own amount adds to it. Saturating
        // is exact here: what is reversed is bounded by the payment's amount anyway.
        record.refunded = if event.refunded_total.is_some() {
            record.refunded.max(refund.minor)
        } else {
            record.refunded.saturating_add(refund.minor.max(0))
        };
        self.reverse_payment(key)
    }

    /// Brings a payment's reversals up to floor(P × refunded / A) for each line it earned.
    pub(super) fn reverse_payment(&mut self, key: PaymentKey) -> Result<()> {
        let Some(record) = self.state.payments.get(&key) else {
            return Ok(());
        };
        let Some(paid) = record.amount.filter(|a| a.minor > 0) else {
            return Ok(());
        };
        let refunded = i128::from(record.refunded.min(paid.minor));
        let mut reversals = Vec::new();
        for line in &record.earned {
            // Both factors are below 2⁶³: the product fits an i128.
            let target = i128::from(line.points) * refunded / i128::from(paid.minor);
            let target = i64::try_from(target).map_err(|_| EngineError::Overflow)?;
            let delta = checked(target.checked_sub(line.reversed))?;
            if delta > 0 {
                reversals.push((line.line, delta, line.month));
            }
        }
        for (line, delta, month) in reversals {
            self.push_line(
                LineKind::Reversal,
                -delta,
                "refund".to_owned(),
                Some(line),
                None,
            )?;
            self.consume(delta)?;
            self.qualify(-delta, month)?;
            if let Some(record) = self.state.payments.get_mut(&key)
                && let Some(earned) = record.earned.iter_mut().find(|l| l.line == line)
            {
                earned.reversed = checked(earned.reversed.checked_add(delta))?;
            }
        }
        Ok(())
    }
}
