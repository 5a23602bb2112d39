//! The earning engine: customer state + program + one event → ledger lines, new state and
//! reward outbox rows. Pure and deterministic: the same inputs always give the same outcome,
//! which is what makes re-delivery safe (the store keeps the first outcome).
//!
//! Arithmetic (DESIGN §4): a rule's points are
//! `floor((fixed + amount_minor / N) × tier multiplier × Π promotion multipliers) + Σ bonuses`,
//! computed exactly as one fraction of 128-bit integers and floored once.

use jiff::civil::Date;
use jiff::{Span, Timestamp, Zoned};
use rust_decimal::Decimal;

use crate::event::{Event, Trigger};
use crate::ids::{CustomerId, EventId};
use crate::ledger::{Delivery, LedgerLine, LineKind, LineSeq, Outcome, RewardOutbox};
use crate::money::Money;
use crate::program::{
    Beneficiary, CapPeriod, EarnRule, Program, Promotion, RewardKind, RewardTrigger, TierWindow,
};
use crate::state::{CapCounter, CustomerState, EarnedLine, Lot, SubscriptionSnapshot};

/// Cap counters are kept this long after their period ends, longer than any provider retries
/// (Chargebee: ~3 days 7 hours), so a late event still finds the counter of its period.
const CAP_RETENTION_DAYS: i64 = 8;
/// Monthly qualifying buckets older than this are dropped (the rolling window needs 12).
const QUALIFYING_MONTHS_KEPT: i64 = 24;

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
    let mut run = Run {
        program,
        event,
        local,
        state,
        lines: Vec::new(),
        rewards: Vec::new(),
        follow_ups: Vec::new(),
    };
    run.apply(role)?;
    run.finish()
}

/// The tier a customer is in at `at`, from the state's qualifying points.
pub fn qualifying_points(program: &Program, state: &CustomerState, at: Timestamp) -> i64 {
    let local = at.to_zoned(program.timezone.clone());
    qualifying_at(program, state, local.date())
}

fn qualifying_at(program: &Program, state: &CustomerState, date: Date) -> i64 {
    match program.tier_window {
        TierWindow::Lifetime => state.qualifying_lifetime,
        TierWindow::Rolling12Months => {
            let current = month_key(date);
            let first = date
                .first_of_month()
                .checked_sub(Span::new().months(11))
                .map(month_key)
                .unwrap_or_default();
            state
                .qualifying_by_month
                .range(first..=current)
                .map(|(_, p)| p)
                .sum()
        }
    }
}

/// The id of the referrer's side of `referred`'s referral conversion: deterministic, and
/// unique because a customer's referral converts once.
fn referral_follow_up_id(referred: &CustomerId) -> String {
    format!("referral:{}:{}", referred.provider, referred.id)
}

/// `yyyymm`: orders like the months it names.
fn month_key(d: Date) -> u32 {
    // Years of a civil::Date are -9999..=9999; ledger dates are never before year 0.
    u32::try_from(d.year()).unwrap_or(0) * 100 + u32::try_from(d.month()).unwrap_or(0)
}

struct Run<'a> {
    program: &'a Program,
    event: &'a Event,
    local: Zoned,
    state: CustomerState,
    lines: Vec<LedgerLine>,
    rewards: Vec<RewardOutbox>,
    follow_ups: Vec<Event>,
}

impl Run<'_> {
    fn apply(&mut self, role: Beneficiary) -> Result<()> {
        let event = self.event;
        match (&event.trigger, role) {
            (Trigger::PaymentRefunded, Beneficiary::Customer) => self.refund(),
            (Trigger::PointsExpired, Beneficiary::Customer) => self.expire(),
            (Trigger::PointsAdjusted, Beneficiary::Customer) => self.adjust(),
            (Trigger::PromotionGranted, Beneficiary::Customer) => self.promotion_grant(),
            (Trigger::ReferralConverted, Beneficiary::Referrer) => {
                let referred = event.customer.to_string();
                if self.state.referred.insert(referred) {
                    self.earn_by_rules(event, Beneficiary::Referrer)?;
                }
                Ok(())
            }
            (_, Beneficiary::Customer) => self.customer_event(),
            // `apply` only admits the referrer role for referral.converted.
            (_, Beneficiary::Referrer) => Ok(()),
        }
    }

    fn customer_event(&mut self) -> Result<()> {
        let event = self.event;
        let change = self.classify_change();
        self.remember_subscription();
        if self.state.referrer.is_none() {
            self.state.referrer = event
                .refs
                .referrer
                .clone()
                .filter(|r| *r != self.state.customer);
        }
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
            _ => self.earn_by_rules(event, Beneficiary::Customer).map(drop),
        }
    }

    /// For `subscription.changed`: upgraded or downgraded, by the monthly amount against the
    /// stored snapshot, when the change is newer than it and both amounts are known in one
    /// currency. Anything else (first sight, late delivery, same value) earns nothing.
    fn classify_change(&self) -> Option<Trigger> {
        let event = self.event;
        if event.trigger != Trigger::SubscriptionChanged {
            return None;
        }
        let new = event.subscription.as_ref()?;
        let old = self.state.subscriptions.get(&new.id)?;
        if !old.is_older_than(new.resource_version, event.occurred_at) {
            return None;
        }
        let (before, after) = (old.monthly_amount?, new.monthly_amount?);
        if before.currency != after.currency {
            return None;
        }
        match after.minor.cmp(&before.minor) {
            std::cmp::Ordering::Greater => Some(Trigger::SubscriptionUpgraded),
            std::cmp::Ordering::Less => Some(Trigger::SubscriptionDowngraded),
            std::cmp::Ordering::Equal => None,
        }
    }

    fn remember_subscription(&mut self) {
        let Some(sub) = &self.event.subscription else {
            return;
        };
        let at = self.event.occurred_at;
        let cancelled = self.event.trigger == Trigger::SubscriptionCancelled;
        match self.state.subscriptions.get_mut(&sub.id) {
            // A late, older event cannot overwrite a newer snapshot.
            Some(old) if !old.is_older_than(sub.resource_version, at) => {}
            // Updated in place: most events repeat what is stored, and copying costs.
            Some(old) => {
                if sub.plan.is_some() && old.plan != sub.plan {
                    old.plan.clone_from(&sub.plan);
                }
                if cancelled {
                    old.status = Some("cancelled".to_owned());
                } else if sub.status.is_some() && old.status != sub.status {
                    old.status.clone_from(&sub.status);
                }
                old.started_at = sub.started_at.or(old.started_at);
                old.monthly_amount = sub.monthly_amount.or(old.monthly_amount);
                old.resource_version = sub.resource_version.or(old.resource_version);
                old.updated_at = at;
            }
            None => {
                let snapshot = SubscriptionSnapshot {
                    plan: sub.plan.clone(),
                    status: if cancelled {
                        Some("cancelled".to_owned())
                    } else {
                        sub.status.clone()
                    },
                    started_at: sub.started_at,
                    monthly_amount: sub.monthly_amount,
                    resource_version: sub.resource_version,
                    updated_at: at,
                };
                self.state.subscriptions.insert(sub.id.clone(), snapshot);
            }
        }
    }

    fn payment(&mut self) -> Result<()> {
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
    fn convert_referral(&mut self, conversion: Event) -> Result<()> {
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

    fn refund(&mut self) -> Result<()> {
        let event = self.event;
        let missing = |field| EngineError::MissingField {
            trigger: event.trigger.clone(),
            field,
        };
        let primary = event
            .refs
            .payment
            .clone()
            .ok_or_else(|| missing("payment"))?;
        let alias = event.refs.payment_alias.as_deref();
        let known = self.payment_key(primary.clone(), alias);
        // A refund of a payment not seen yet waits under the alias (the invoice), which the
        // payment event also names, whichever id it is keyed by.
        let key = if self.state.payments.contains_key(&known) {
            known
        } else {
            alias.map_or(primary, str::to_owned)
        };
        let refund = event
            .refunded_total
            .or(event.amount)
            .ok_or_else(|| missing("amount"))?;
        let record = self.state.payments.entry(key.clone()).or_default();
        if let Some(paid) = record.amount
            && paid.currency != refund.currency
        {
            return Err(EngineError::CurrencyMismatch {
                payment: paid.currency.to_string(),
                refund: refund.currency.to_string(),
            });
        }
        record.refunded = if event.refunded_total.is_some() {
            record.refunded.max(refund.minor)
        } else {
            record.refunded.saturating_add(refund.minor.max(0))
        };
        self.reverse_payment(&key)
    }

    /// The id the customer's records hold this payment under: `primary`, else `alias` when
    /// only that one is known, else `primary`.
    fn payment_key(&self, primary: String, alias: Option<&str>) -> String {
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

    /// Brings a payment's reversals up to floor(P × refunded / A) for each line it earned.
    fn reverse_payment(&mut self, key: &str) -> Result<()> {
        let Some(record) = self.state.payments.get(key) else {
            return Ok(());
        };
        let Some(paid) = record.amount.filter(|a| a.minor > 0) else {
            return Ok(());
        };
        let refunded = i128::from(record.refunded.min(paid.minor));
        let mut reversals = Vec::new();
        for line in &record.earned {
            let target = i128::from(line.points) * refunded / i128::from(paid.minor);
            let target = i64::try_from(target).map_err(|_| EngineError::Overflow)?;
            let delta = target - line.reversed;
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
            );
            self.consume(delta);
            self.qualify(-delta, month);
            if let Some(record) = self.state.payments.get_mut(key)
                && let Some(earned) = record.earned.iter_mut().find(|l| l.line == line)
            {
                earned.reversed += delta;
            }
        }
        Ok(())
    }

    fn expire(&mut self) -> Result<()> {
        let today = self.local.date();
        let (expired, kept): (Vec<Lot>, Vec<Lot>) = std::mem::take(&mut self.state.lots)
            .into_iter()
            .partition(|lot| lot.expires_on.is_some_and(|d| d < today));
        self.state.lots = kept;
        for lot in expired {
            self.push_line(
                LineKind::Expiry,
                -lot.remaining,
                "expiry".to_owned(),
                Some(lot.line),
                None,
            );
        }
        Ok(())
    }

    fn adjust(&mut self) -> Result<()> {
        let event = self.event;
        let points = event.points.ok_or(EngineError::MissingField {
            trigger: event.trigger.clone(),
            field: "points",
        })?;
        if points > 0 {
            let seq = self.push_line(
                LineKind::Adjustment,
                points,
                "adjustment".to_owned(),
                None,
                None,
            );
            self.add_lot(seq, points)?;
        } else if points < 0 {
            self.push_line(
                LineKind::Adjustment,
                points,
                "adjustment".to_owned(),
                None,
                None,
            );
            self.consume(-points);
        }
        Ok(())
    }

    fn promotion_grant(&mut self) -> Result<()> {
        let promotion = self
            .event
            .refs
            .promotion
            .as_deref()
            .and_then(|id| self.program.promotion(id));
        // A promotion removed from the program since it was scheduled grants nothing.
        if let Some(p) = promotion
            && let Some(points) = p.grant
        {
            let seq = self.push_line(LineKind::Grant, points, p.id.clone(), None, None);
            self.add_lot(seq, points)?;
            let month = month_key(self.local.date());
            self.qualify(points, month);
        }
        Ok(())
    }

    /// Applies every matching rule for `event` and `role`; returns the earn lines written.
    fn earn_by_rules(&mut self, event: &Event, role: Beneficiary) -> Result<Vec<(LineSeq, i64)>> {
        let program = self.program;
        let tier_before = program.tier_for(qualifying_at(program, &self.state, self.local.date()));
        let tier_multiplier = tier_before.map_or(Decimal::ONE, |t| t.multiplier);
        let month = month_key(self.local.date());
        let mut earned = Vec::new();
        for rule in program
            .earn
            .iter()
            .filter(|r| r.on == event.trigger && r.beneficiary == role)
        {
            if let Some(plans) = &rule.plans
                && !event.plan().is_some_and(|p| plans.iter().any(|x| x == p))
            {
                continue;
            }
            let promotions: Vec<&Promotion> = program
                .promotions
                .iter()
                .filter(|p| promotion_matches(p, rule, event))
                .collect();
            let points = rule_points(rule, event.amount, tier_multiplier, &promotions)?;
            let points = self.apply_cap(rule, points)?;
            if points > 0 {
                let seq = self.push_line(
                    LineKind::Earn,
                    points,
                    rule.id.clone(),
                    None,
                    Some(&event.id),
                );
                self.add_lot(seq, points)?;
                self.qualify(points, month);
                earned.push((seq, points));
            }
        }
        Ok(earned)
    }

    fn apply_cap(&mut self, rule: &EarnRule, points: i64) -> Result<i64> {
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
        let given = points.min((cap.points - counter.used).max(0));
        counter.used += given;
        Ok(given)
    }

    fn push_line(
        &mut self,
        kind: LineKind,
        points: i64,
        rule: String,
        refers_to: Option<LineSeq>,
        event_id: Option<&EventId>,
    ) -> LineSeq {
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        self.state.balance += points;
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
        });
        seq
    }

    /// New points first pay back a deficit; what is left becomes a lot.
    fn add_lot(&mut self, line: LineSeq, points: i64) -> Result<()> {
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
        self.state.lots.push(Lot {
            line,
            expires_on,
            remaining,
        });
        Ok(())
    }

    /// Takes points from lots soonest-expiring first; what the lots cannot cover is a deficit.
    fn consume(&mut self, mut points: i64) {
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
        self.state.deficit += points;
    }

    fn qualify(&mut self, points: i64, month: u32) {
        self.state.qualifying_lifetime += points;
        // Monthly buckets only matter to the rolling window.
        if self.program.tier_window == TierWindow::Rolling12Months {
            *self.state.qualifying_by_month.entry(month).or_default() += points;
        }
    }

    fn finish(mut self) -> Result<Outcome> {
        let program = self.program;
        let tier = program
            .tier_for(qualifying_at(program, &self.state, self.local.date()))
            .map(|t| t.name.clone());
        if let Some(name) = &tier
            && self.state.tiers_reached.insert(name.clone())
        {
            for reward in &program.rewards {
                if reward.trigger == RewardTrigger::OnTier(name.clone()) {
                    let id = format!("{}/tier/{}", self.state.customer, reward.id);
                    self.issue(reward, id, 0, None);
                }
            }
        }
        self.state.tier = tier;
        self.redeem();
        self.prune();
        self.state.pending.extend(self.follow_ups.iter().cloned());
        Ok(Outcome {
            state: self.state,
            lines: self.lines,
            rewards: self.rewards,
            follow_ups: self.follow_ups,
        })
    }

    /// Rewards with a cost, in file order, each as often as the balance allows.
    fn redeem(&mut self) {
        for reward in &self.program.rewards {
            let RewardTrigger::Cost(cost) = reward.trigger else {
                continue;
            };
            while self.state.balance >= cost {
                // A billing credit with no value in the customer's currency is not redeemed.
                if reward.kind == RewardKind::BillingCredit && self.credit_value(reward).is_none() {
                    break;
                }
                // An access grant already held is not bought again.
                if reward.kind == RewardKind::Access
                    && reward
                        .grant
                        .as_ref()
                        .is_some_and(|g| self.state.grants.contains(g))
                {
                    break;
                }
                let seq =
                    self.push_line(LineKind::Redemption, -cost, reward.id.clone(), None, None);
                self.consume(cost);
                let id = format!("{}/{}", self.state.customer, seq);
                self.issue(reward, id, cost, Some(seq));
            }
        }
    }

    /// A billing credit's value in the customer's currency (that of their latest payment).
    fn credit_value(&self, reward: &crate::program::Reward) -> Option<Money> {
        self.state.currency.and_then(|c| reward.value_in(c))
    }

    fn issue(
        &mut self,
        reward: &crate::program::Reward,
        id: String,
        points: i64,
        line: Option<LineSeq>,
    ) {
        if reward.kind == RewardKind::Access
            && let Some(g) = &reward.grant
        {
            self.state.grants.insert(g.clone());
        }
        let value = match reward.kind {
            RewardKind::BillingCredit => self.credit_value(reward),
            _ => None,
        };
        self.rewards.push(RewardOutbox {
            id,
            customer: self.state.customer.clone(),
            reward: reward.id.clone(),
            kind: reward.kind,
            points,
            line,
            event_id: self.event.id.clone(),
            created_at: self.event.occurred_at,
            value,
            coupon: reward.coupon.clone(),
            grant: reward.grant.clone(),
            url: reward.url.clone(),
            delivery: Delivery::Pending,
        });
    }

    fn prune(&mut self) {
        let horizon = self
            .event
            .occurred_at
            .checked_sub(Span::new().hours(24 * CAP_RETENTION_DAYS))
            .unwrap_or(Timestamp::MIN);
        self.state
            .caps
            .retain(|c| c.ends.is_none_or(|e| e >= horizon));
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

fn promotion_matches(p: &Promotion, rule: &EarnRule, event: &Event) -> bool {
    let at = event.occurred_at;
    p.starts <= at
        && at < p.ends
        && p.applies_to.as_ref().is_none_or(|t| t.contains(&rule.on))
        && p.plans.as_ref().is_none_or(|plans| {
            event
                .plan()
                .is_some_and(|plan| plans.iter().any(|x| x == plan))
        })
}

/// floor((fixed + amount / N) × Π multipliers) + Σ bonuses, exactly.
pub fn rule_points(
    rule: &EarnRule,
    amount: Option<Money>,
    tier_multiplier: Decimal,
    promotions: &[&Promotion],
) -> Result<i64> {
    let per = amount.and_then(|a| {
        rule.per_amount
            .get(&a.currency)
            .map(|&n| (a.minor.max(0), n))
    });
    let (mut num, mut den): (i128, i128) = match per {
        Some((minor, n)) => (
            i128::from(rule.points) * i128::from(n) + i128::from(minor),
            i128::from(n),
        ),
        None => (i128::from(rule.points), 1),
    };
    let multipliers =
        std::iter::once(tier_multiplier).chain(promotions.iter().filter_map(|p| p.multiplier));
    for m in multipliers {
        num = num.checked_mul(m.mantissa()).ok_or(EngineError::Overflow)?;
        den = den
            .checked_mul(10i128.pow(m.scale()))
            .ok_or(EngineError::Overflow)?;
    }
    let bonus: i64 = promotions.iter().map(|p| p.bonus).sum();
    let base = i64::try_from(num / den).map_err(|_| EngineError::Overflow)?;
    base.checked_add(bonus).ok_or(EngineError::Overflow)
}
