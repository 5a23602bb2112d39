//! The earning engine: customer state + program + one event → ledger lines, new state, reward
//! outbox rows and follow-up events. Pure and deterministic: the same inputs always give the
//! same outcome, which is what makes re-delivery safe (the store keeps the first outcome).
//!
//! This module holds the entry points, the `Run` that one event's changes accumulate in, and
//! the dispatch per trigger. Each responsibility has its own file, as a command has in
//! mini-redis; their methods are private to the engine, so these pages only say what each is
//! for:
//!
//! - [`earn`]: a rule's points, promotions and the tier multiplier ([`rule_points`]);
//! - [`caps`]: a rule's points limited per calendar period;
//! - [`payments`] and [`refunds`]: what a payment earned, and the reversal that mirrors a
//!   refund;
//! - [`lots`]: where points live until spent, reversed or expired; consumption, deficit,
//!   expiry and operator adjustments;
//! - [`rewards`]: automatic redemption and the reward outbox;
//! - [`notices`]: the merchant notifications (`[notify]`) an event's commit carries;
//! - [`tiers`]: qualifying points ([`qualifying_points`]) and the tier after the event;
//! - [`referral`]: a referred customer's conversion and the referrer's follow-up;
//! - [`subscriptions`]: subscription snapshots, and what `subscription.changed` means.
//!
//! Arithmetic (docs/design.md §4): a rule's points are
//! `floor((fixed + amount_minor / N) × tier multiplier × Π promotion multipliers) + Σ bonuses`,
//! computed exactly as one fraction of 128-bit integers and floored once.

pub mod caps;
pub mod earn;
pub mod lots;
pub mod notices;
pub mod payments;
pub mod referral;
pub mod refunds;
pub mod rewards;
pub mod subscriptions;
pub mod tiers;

use jiff::Zoned;
use rust_decimal::Decimal;

use crate::event::{Event, Trigger};
use crate::ids::{CustomerId, EventId};
use crate::ledger::{LedgerLine, LineKind, LineSeq, RewardOutbox};
use crate::program::{Beneficiary, Program};
use crate::state::CustomerState;

pub use earn::rule_points;
pub use tiers::qualifying_points;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("a {trigger} event needs `{field}`")]
    MissingField {
        trigger: Trigger,
        field: &'static str,
    },
    #[error("refund in {refund} of a payment in {payment}")]
    CurrencyMismatch { payment: String, refund: String },
    #[error("customer {customer} is neither the subject nor the referrer of event {event}")]
    NotBeneficiary {
        customer: CustomerId,
        event: EventId,
    },
    #[error("points arithmetic overflowed")]
    Overflow,
    #[error("date arithmetic failed: {0}")]
    Time(String),
}

impl From<jiff::Error> for EngineError {
    fn from(e: jiff::Error) -> Self {
        Self::Time(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// The value of a checked operation, or [`EngineError::Overflow`]. Every sum and product of
/// points and amounts in the engine goes through this: a result past `i64` refuses the event
/// (nothing is applied) instead of wrapping the balance.
fn checked<T>(value: Option<T>) -> Result<T> {
    value.ok_or(EngineError::Overflow)
}

/// Something the engine decided that an operator may need to hear about: the engine is pure,
/// so the application layer logs these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A refund of a payment with no record: older than the program's refund window, or not
    /// delivered yet. Nothing is reversed now; the refund is remembered for the refund window
    /// in case its payment arrives.
    RefundOfUnknownPayment { payment: String },
}

/// Everything one event changes for one customer; committed atomically by a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: CustomerState,
    pub lines: Vec<LedgerLine>,
    pub rewards: Vec<RewardOutbox>,
    /// Events to apply to another customer afterwards (a referral for the referrer). They are
    /// also kept in `state.pending` until applied, so a crash cannot lose them.
    pub follow_ups: Vec<Event>,
    /// What to log about this event.
    pub notices: Vec<Notice>,
}

/// Applies `event` to the customer whose state is given (the event's customer, or for a
/// `referral.converted` event, its referrer).
pub fn apply(program: &Program, state: &CustomerState, event: &Event) -> Result<Outcome> {
    apply_owned(program, state.clone(), event)
}

/// [`apply`] consuming the state, which saves a copy on the hot path.
pub fn apply_owned(program: &Program, state: CustomerState, event: &Event) -> Result<Outcome> {
    let role = if state.customer == event.customer {
        Beneficiary::Customer
    } else if event.trigger == Trigger::ReferralConverted
        && event.refs.referrer.as_ref() == Some(&state.customer)
    {
        Beneficiary::Referrer
    } else {
        return Err(EngineError::NotBeneficiary {
            customer: state.customer.clone(),
            event: event.id.clone(),
        });
    };
    let local = event.occurred_at.to_zoned(program.timezone.clone());
    // Every rule of the event, the referred customer's referral rules included, multiplies by
    // the tier the customer was in before the event: the event's own points count towards
    // the next tier only.
    let qualifying = tiers::qualifying_at(program, &state, local.date())?;
    let tier_multiplier = program
        .tier_for(qualifying)
        .map_or(Decimal::ONE, |t| t.multiplier);
    let mut run = Run {
        program,
        event,
        local,
        tier_multiplier,
        state,
        lines: Vec::new(),
        rewards: Vec::new(),
        follow_ups: Vec::new(),
        notices: Vec::new(),
    };
    run.apply(role)?;
    run.finish()
}

/// One event being applied: the state it changes and what it has written so far. The files of
/// this module each add the methods of one responsibility.
struct Run<'a> {
    program: &'a Program,
    event: &'a Event,
    /// The event's `occurred_at` in the program timezone: days, months and caps are counted
    /// there.
    local: Zoned,
    /// The multiplier of the tier before the event.
    tier_multiplier: Decimal,
    state: CustomerState,
    lines: Vec<LedgerLine>,
    rewards: Vec<RewardOutbox>,
    follow_ups: Vec<Event>,
    notices: Vec<Notice>,
}

impl Run<'_> {
    fn apply(&mut self, role: Beneficiary) -> Result<()> {
        // Before the event, so that a refund past the window never finds its payment,
        // whatever else was applied that day.
        self.prune_payments()?;
        match (&self.event.trigger, role) {
            (Trigger::PaymentRefunded, Beneficiary::Customer) => self.refund(),
            (Trigger::PointsExpired, Beneficiary::Customer) => self.expire(),
            (Trigger::PointsAdjusted, Beneficiary::Customer) => self.adjust(),
            (Trigger::PromotionGranted, Beneficiary::Customer) => self.promotion_grant(),
            (Trigger::ReferralConverted, Beneficiary::Referrer) => self.credit_referrer(),
            (_, Beneficiary::Customer) => self.customer_event(),
            // `apply` only admits the referrer role for referral.converted.
            (_, Beneficiary::Referrer) => Ok(()),
        }
    }

    /// An event about the customer themself that earns through the `[[earn]]` rules.
    fn customer_event(&mut self) -> Result<()> {
        let event = self.event;
        let change = self.classify_change();
        self.remember_subscription();
        self.remember_referrer();
        match event.trigger {
            Trigger::PaymentSucceeded => self.payment(),
            Trigger::ReferralConverted => {
                if !self.state.referral_converted {
                    self.convert_referral(event.clone())?;
                }
                Ok(())
            }
            Trigger::SubscriptionChanged => match change {
                Some(trigger) => {
                    let mut resolved = event.clone();
                    resolved.trigger = trigger;
                    self.earn_by_rules(&resolved, Beneficiary::Customer)
                        .map(drop)
                }
                None => Ok(()),
            },
            Trigger::SubscriptionAnniversary if event.plan().is_none() => {
                // The scheduler names the subscription only: its plan (which `plans` filters
                // match) is the snapshot's at the time the event is applied.
                let plan = event
                    .subscription
                    .as_ref()
                    .and_then(|s| self.state.subscriptions.get(&s.id))
                    .and_then(|s| s.plan.clone());
                match plan {
                    Some(plan) => {
                        let mut resolved = event.clone();
                        if let Some(sub) = resolved.subscription.as_mut() {
                            sub.plan = Some(plan);
                        }
                        self.earn_by_rules(&resolved, Beneficiary::Customer)
                            .map(drop)
                    }
                    None => self.earn_by_rules(event, Beneficiary::Customer).map(drop),
                }
            }
            _ => self.earn_by_rules(event, Beneficiary::Customer).map(drop),
        }
    }

    /// Appends a ledger line and moves the balance by `points`; returns the line's number.
    /// `event_id` names the event the line is for when it is not the one being applied (a
    /// referral conversion made from a payment). A balance past `i64` is an
    /// [`EngineError::Overflow`]: the event is refused rather than wrapped.
    fn push_line(
        &mut self,
        kind: LineKind,
        points: i64,
        rule: String,
        refers_to: Option<LineSeq>,
        event_id: Option<&EventId>,
    ) -> Result<LineSeq> {
        let seq = self.state.next_seq;
        self.state.next_seq = checked(seq.checked_add(1))?;
        self.state.balance = checked(self.state.balance.checked_add(points))?;
        self.lines.push(LedgerLine {
            seq,
            customer: self.state.customer.clone(),
            kind,
            points,
            balance_after: self.state.balance,
            rule,
            program_version: self.program.version.clone(),
            event_id: event_id.unwrap_or(&self.event.id).clone(),
            occurred_at: self.event.occurred_at,
            refers_to,
            reason: None,
        });
        Ok(seq)
    }

    /// After the event's own changes: the new tier (and its rewards), redemptions, pruning of
    /// old counters and months (which, with the payment records pruned before the event,
    /// keeps the state bounded), and the follow-ups kept in the state until applied.
    fn finish(mut self) -> Result<Outcome> {
        let tier_before = self.state.tier.clone();
        self.recompute_tier()?;
        self.notify_tier_change(tier_before);
        self.redeem()?;
        self.notify_expiring()?;
        self.prune_caps();
        self.prune_qualifying_months();
        self.schedule_tier_review()?;
        self.schedule_expiring_notice()?;
        self.state.pending.extend(self.follow_ups.iter().cloned());
        Ok(Outcome {
            state: self.state,
            lines: self.lines,
            rewards: self.rewards,
            follow_ups: self.follow_ups,
            notices: self.notices,
        })
    }
}
