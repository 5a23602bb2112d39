//! Earning through the `[[earn]]` rules: which rules and promotions match an event, a rule's
//! points with the tier multiplier and promotions, and a promotion's scheduled grant.

use rust_decimal::Decimal;

use super::tiers::month_key;
use super::{EngineError, Result, Run, checked};
use crate::event::Event;
use crate::ledger::{LineKind, LineSeq};
use crate::money::Money;
use crate::program::{Beneficiary, EarnRule, Promotion};

impl Run<'_> {
    /// Applies every matching rule for `event` and `role`; returns the earn lines written.
    pub(super) fn earn_by_rules(
        &mut self,
        event: &Event,
        role: Beneficiary,
    ) -> Result<Vec<(LineSeq, i64)>> {
        let program = self.program;
        let tier_multiplier = self.tier_multiplier;
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
                )?;
                self.add_lot(seq, points)?;
                self.qualify(points, month)?;
                earned.push((seq, points));
            }
        }
        Ok(earned)
    }

    /// `promotion.granted` (from the scheduler): the promotion's `grant` points, once.
    pub(super) fn promotion_grant(&mut self) -> Result<()> {
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
            let seq = self.push_line(LineKind::Grant, points, p.id.clone(), None, None)?;
            self.add_lot(seq, points)?;
            let month = month_key(self.local.date());
            self.qualify(points, month)?;
        }
        Ok(())
    }
}

/// A promotion applies to a rule's earn when the event falls in its window (`starts`
/// inclusive, `ends` exclusive) and its trigger and plan filters, if any, admit it.
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

/// A rule's points before its cap:
/// floor((fixed + amount / N) × tier multiplier × Π promotion multipliers) + Σ bonuses, exactly.
/// An amount in a currency the rule's `per_amount` does not list earns only the fixed points.
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
        // |points × n| < 2¹²⁶ and |minor| < 2⁶³: this sum fits an i128.
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
    let bonus = promotions
        .iter()
        .try_fold(0i64, |sum, p| checked(sum.checked_add(p.bonus)))?;
    let base = i64::try_from(num / den).map_err(|_| EngineError::Overflow)?;
    checked(base.checked_add(bonus))
}
