//! Referrals: a referred customer converts once (on `referral.converted`, or on their first
//! paid payment when a referrer is known); their own referral rules apply at once, and the
//! referrer's are a follow-up event applied to the referrer's ledger.

use super::{Result, Run};
use crate::event::{Event, Trigger};
use crate::ids::{CustomerId, EventId};
use crate::program::Beneficiary;

/// The id of the referrer's side of `referred`'s referral conversion: deterministic, and
/// unique because a customer's referral converts once.
fn referral_follow_up_id(referred: &CustomerId) -> String {
    format!("referral:{}:{}", referred.provider, referred.id)
}

impl Run<'_> {
    /// Keeps the first referrer an event names (never the customer themself).
    pub(super) fn remember_referrer(&mut self) {
        if self.state.referrer.is_none() {
            self.state.referrer = self
                .event
                .refs
                .referrer
                .clone()
                .filter(|r| *r != self.state.customer);
        }
    }

    /// A paid payment of a referred customer who has not converted yet converts them.
    pub(super) fn convert_on_first_payment(&mut self) -> Result<()> {
        let event = self.event;
        let paid = event.amount.is_some_and(|a| a.minor > 0);
        if paid && !self.state.referral_converted && self.state.referrer.is_some() {
            let mut conversion = Event::new(
                referral_follow_up_id(&event.customer),
                event.customer.clone(),
                Trigger::ReferralConverted,
                event.occurred_at,
            );
            conversion.provider = event.provider;
            conversion.amount = event.amount;
            conversion.subscription = event.subscription.clone();
            conversion.refs.payment = event.refs.payment.clone();
            conversion.refs.referrer = self.state.referrer.clone();
            self.convert_referral(conversion)?;
        }
        Ok(())
    }

    /// The referred customer converts once: its own referral rules apply now, and the
    /// referrer's are queued as a follow-up for the referrer's ledger.
    pub(super) fn convert_referral(&mut self, conversion: Event) -> Result<()> {
        self.state.referral_converted = true;
        self.earn_by_rules(&conversion, Beneficiary::Customer)?;
        if conversion
            .refs
            .referrer
            .as_ref()
            .is_some_and(|r| *r != self.state.customer)
        {
            // The referrer's side is an event of its own: one event id is one event, so it
            // must not share the id of an explicit `referral.converted` for this customer.
            let mut follow_up = conversion;
            follow_up.id = EventId::new(referral_follow_up_id(&self.state.customer));
            self.follow_ups.push(follow_up);
        }
        Ok(())
    }

    /// The follow-up on the referrer's side: the referrer rules. A referred customer converts
    /// once, so there is one follow-up per referred customer, with a deterministic id
    /// (`referral:{provider}:{customer}`, or the explicit `referral.converted` event's own);
    /// however often it is delivered, the event marker applies it once.
    pub(super) fn credit_referrer(&mut self) -> Result<()> {
        self.earn_by_rules(self.event, Beneficiary::Referrer)
            .map(drop)
    }
}
