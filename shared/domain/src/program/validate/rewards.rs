//! `[[rewards]]`: each reward's kind, its trigger (a cost or an existing tier, not both) and
//! the fields its kind needs.

use std::collections::{BTreeMap, HashSet};

use toml::Spanned;

use super::Validator;
use crate::money::Currency;
use crate::program::parse::RawReward;
use crate::program::{ProgramError, Reward, RewardKind, RewardTrigger, Tier};

/// Rewards a program may have: each can add a redemption line and an outbox row to an
/// event's transaction (see [`super::earn::MAX_RULES_PER_TRIGGER`]).
pub const MAX_REWARDS: usize = 16;

impl Validator<'_> {
    /// `tiers` are the validated tiers, which `on_tier` must name.
    pub(super) fn rewards(
        &self,
        raw: Vec<Spanned<RawReward>>,
        tiers: &[Tier],
    ) -> Result<Vec<Reward>, ProgramError> {
        let mut rewards = Vec::new();
        let mut ids = HashSet::new();
        for (n, rw) in raw.into_iter().enumerate() {
            if n >= MAX_REWARDS {
                return self.err(
                    "rewards",
                    rw.span(),
                    format!("at most {MAX_REWARDS} rewards"),
                );
            }
            let rw = rw.into_inner();
            let id = self.slug("rewards.id", &rw.id)?;
            self.unique(&mut ids, "rewards.id", &rw.id)?;
            let kind = match rw.kind.get_ref().as_str() {
                "billing_credit" => RewardKind::BillingCredit,
                "coupon" => RewardKind::Coupon,
                "access" => RewardKind::Access,
                "perk" => RewardKind::Perk,
                other => {
                    return self.err(
                        "rewards.kind",
                        rw.kind.span(),
                        format!("`{other}` is not billing_credit, coupon, access or perk"),
                    );
                }
            };
            let trigger = match (&rw.cost, &rw.on_tier) {
                (Some(c), None) => RewardTrigger::Cost(self.positive("rewards.cost", c)?),
                (None, Some(t)) => {
                    if !tiers.iter().any(|tier| tier.name == *t.get_ref()) {
                        return self.err(
                            "rewards.on_tier",
                            t.span(),
                            format!("no tier is named `{}`", t.get_ref()),
                        );
                    }
                    RewardTrigger::OnTier(t.get_ref().clone())
                }
                (Some(_), Some(t)) => {
                    return self.err("rewards.on_tier", t.span(), "set cost or on_tier, not both");
                }
                (None, None) => {
                    return self.err(
                        "rewards.cost",
                        rw.id.span(),
                        format!("reward `{id}` needs cost or on_tier"),
                    );
                }
            };
            let value = match &rw.value {
                Some(v) => self.currency_map("rewards.value", v, 1)?,
                None => BTreeMap::new(),
            };
            self.kind_fields(&rw, kind, &value)?;
            rewards.push(Reward {
                id,
                kind,
                trigger,
                value,
                coupon: rw.coupon.map(Spanned::into_inner),
                grant: rw.grant.map(Spanned::into_inner),
                url: rw.url.map(Spanned::into_inner),
                secret: rw.secret.map(Spanned::into_inner),
            });
        }
        Ok(rewards)
    }

    /// What each kind needs to be handed out: a billing credit its value, a coupon its code,
    /// an access reward its grant, a perk an http(s) URL to call.
    fn kind_fields(
        &self,
        rw: &RawReward,
        kind: RewardKind,
        value: &BTreeMap<Currency, i64>,
    ) -> Result<(), ProgramError> {
        let needs = |present: bool, key: &str| -> Result<(), ProgramError> {
            if present {
                Ok(())
            } else {
                self.err(
                    key,
                    rw.kind.span(),
                    format!("a {} reward needs `{key}`", rw.kind.get_ref()),
                )
            }
        };
        if let Some(secret) = &rw.secret {
            if kind != RewardKind::Perk {
                return self.err("rewards.secret", secret.span(), "only a perk has a secret");
            }
            self.secret_name("rewards.secret", secret)?;
        }
        match kind {
            RewardKind::BillingCredit => needs(!value.is_empty(), "value"),
            RewardKind::Coupon => needs(rw.coupon.is_some(), "coupon"),
            RewardKind::Access => needs(rw.grant.is_some(), "grant"),
            RewardKind::Perk => {
                needs(rw.url.is_some(), "url")?;
                match &rw.url {
                    Some(u) => self.http_url("rewards.url", u),
                    None => Ok(()),
                }
            }
            // Not a kind the file may name (refused above).
            RewardKind::Notification => Ok(()),
        }
    }
}
