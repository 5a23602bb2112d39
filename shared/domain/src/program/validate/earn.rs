//! `[[earn]]`: each rule's id, trigger, points, per-amount rates, cap and beneficiary.

use std::collections::{BTreeMap, HashSet};

use toml::Spanned;

use super::Validator;
use crate::event::Trigger;
use crate::program::parse::{RawCap, RawEarn};
use crate::program::{Beneficiary, Cap, CapPeriod, EarnRule, ProgramError};

/// Rules one trigger may have. One event writes a ledger line per matching rule (and a
/// refund one per line it reverses), all in one store transaction: with at most 16 rules a
/// trigger and 16 rewards, the worst event (a referred customer's first payment, with a refund
/// that came first, redeeming every reward) stays under DynamoDB's 100 actions.
pub const MAX_RULES_PER_TRIGGER: usize = 16;

impl Validator<'_> {
    pub(super) fn earn(&self, raw: Vec<Spanned<RawEarn>>) -> Result<Vec<EarnRule>, ProgramError> {
        let mut earn = Vec::new();
        let mut ids = HashSet::new();
        let mut per_trigger: BTreeMap<Trigger, usize> = BTreeMap::new();
        for r in raw {
            let r = r.into_inner();
            let id = self.slug("earn.id", &r.id)?;
            self.unique(&mut ids, "earn.id", &r.id)?;
            let on = self.trigger("earn.on", &r.on)?;
            let count = per_trigger.entry(on.clone()).or_default();
            *count += 1;
            if *count > MAX_RULES_PER_TRIGGER {
                return self.err(
                    "earn.on",
                    r.on.span(),
                    format!("at most {MAX_RULES_PER_TRIGGER} rules may earn on one trigger"),
                );
            }
            let points = match &r.points {
                Some(p) => self.non_negative("earn.points", p)?,
                None => 0,
            };
            let per_amount = match &r.per_amount {
                Some(m) => self.currency_map("earn.per_amount", m, 1)?,
                None => BTreeMap::new(),
            };
            let cap = r.cap.as_ref().map(|c| self.cap(c.get_ref())).transpose()?;
            let beneficiary = match r
                .beneficiary
                .as_ref()
                .map(|b| (b.get_ref().as_str(), b.span()))
            {
                None | Some(("customer", _)) => Beneficiary::Customer,
                Some(("referrer", span)) => {
                    if on != Trigger::ReferralConverted {
                        return self.err(
                            "earn.beneficiary",
                            span,
                            "`referrer` is only for rules on referral.converted",
                        );
                    }
                    Beneficiary::Referrer
                }
                Some((other, span)) => {
                    return self.err(
                        "earn.beneficiary",
                        span,
                        format!("`{other}` is not customer or referrer"),
                    );
                }
            };
            if points == 0 && per_amount.is_empty() {
                return self.err(
                    "earn.points",
                    r.id.span(),
                    format!("rule `{id}` earns nothing: set points or per_amount"),
                );
            }
            earn.push(EarnRule {
                id,
                on,
                points,
                per_amount,
                plans: r.plans.map(Spanned::into_inner),
                cap,
                beneficiary,
            });
        }
        Ok(earn)
    }

    fn cap(&self, c: &RawCap) -> Result<Cap, ProgramError> {
        let per = match c.per.get_ref().as_str() {
            "day" => CapPeriod::Day,
            "month" => CapPeriod::Month,
            "year" => CapPeriod::Year,
            "ever" => CapPeriod::Ever,
            other => {
                return self.err(
                    "earn.cap.per",
                    c.per.span(),
                    format!("`{other}` is not day, month, year or ever"),
                );
            }
        };
        Ok(Cap {
            points: self.non_negative("earn.cap.points", &c.points)?,
            per,
        })
    }
}
