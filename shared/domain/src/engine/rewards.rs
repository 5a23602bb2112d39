//! Rewards: automatic redemption of rewards with a cost, `on_tier` rewards, and the outbox row
//! each reward is handed out from.

use super::{Result, Run};
use crate::ledger::{Delivery, LineKind, LineSeq, RewardOutbox};
use crate::money::Money;
use crate::program::{Reward, RewardKind, RewardTrigger};

impl Run<'_> {
    /// Rewards with a cost, in file order, each as often as the balance allows.
    pub(super) fn redeem(&mut self) -> Result<()> {
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
                    self.push_line(LineKind::Redemption, -cost, reward.id.clone(), None, None)?;
                self.consume(cost)?;
                let id = format!("{}/{}", self.state.customer, seq);
                self.issue(reward, id, cost, Some(seq));
            }
        }
        Ok(())
    }

    /// The `on_tier` rewards of a tier the customer has just entered for the first time.
    pub(super) fn issue_tier_rewards(&mut self, tier: &str) {
        for reward in &self.program.rewards {
            if matches!(&reward.trigger, RewardTrigger::OnTier(t) if t == tier) {
                let id = format!("{}/tier/{}", self.state.customer, reward.id);
                self.issue(reward, id, 0, None);
            }
        }
    }

    /// A billing credit's value in the customer's currency (that of their latest payment).
    fn credit_value(&self, reward: &Reward) -> Option<Money> {
        self.state.currency.and_then(|c| reward.value_in(c))
    }

    /// Writes the reward's outbox row (its `id` is the provider's idempotency key) and holds
    /// an access reward's grant from now on.
    fn issue(&mut self, reward: &Reward, id: String, points: i64, line: Option<LineSeq>) {
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
}
