//! Rewards: automatic redemption of rewards with a cost, `on_tier` rewards, and the outbox row
//! each reward is handed out from. The work per event is bounded by the number of rewards in
//! the program, whatever the balance.

use super::{EngineError, Result, Run, checked};
use crate::ledger::{Delivery, LineKind, LineSeq, RewardOutbox};
use crate::money::Money;
use crate::program::{Reward, RewardKind, RewardTrigger};

impl Run<'_> {
    /// Rewards with a cost, in file order. A billing credit is redeemed as often as the
    /// balance allows, all at once: one redemption line of k × cost and one outbox row of
    /// quantity k, so a huge balance costs one row, not k. Coupons, access grants and perks
    /// are redeemed at most once per event (an access grant not while it is held).
    pub(super) fn redeem(&mut self) -> Result<()> {
        for reward in &self.program.rewards {
            let RewardTrigger::Cost(cost) = reward.trigger else {
                continue;
            };
            if cost <= 0 || self.state.balance < cost {
                continue;
            }
            let quantity = match reward.kind {
                // A billing credit with no value in the customer's currency is not redeemed.
                RewardKind::BillingCredit if self.credit_value(reward).is_none() => continue,
                RewardKind::BillingCredit => self.state.balance / cost,
                // An access grant already held is not bought again.
                RewardKind::Access
                    if reward
                        .grant
                        .as_ref()
                        .is_some_and(|g| self.state.grants.contains(g)) =>
                {
                    continue;
                }
                RewardKind::Access | RewardKind::Coupon | RewardKind::Perk => 1,
                // Never a `[[rewards]]` kind.
                RewardKind::Notification => continue,
            };
            // quantity ≤ balance / cost: the product cannot exceed the balance.
            let points = checked(quantity.checked_mul(cost))?;
            let seq = self.push_line(
                LineKind::Redemption,
                checked(points.checked_neg())?,
                reward.id.clone(),
                None,
                None,
            )?;
            self.consume(points)?;
            let id = format!("{}/{}", self.state.customer, seq);
            let quantity = u64::try_from(quantity).map_err(|_| EngineError::Overflow)?;
            self.issue(reward, id, points, quantity, Some(seq))?;
        }
        Ok(())
    }

    /// The `on_tier` rewards of a tier the customer has just entered for the first time.
    pub(super) fn issue_tier_rewards(&mut self, tier: &str) -> Result<()> {
        for reward in &self.program.rewards {
            if matches!(&reward.trigger, RewardTrigger::OnTier(t) if t == tier) {
                let id = format!("{}/tier/{}", self.state.customer, reward.id);
                self.issue(reward, id, 0, 1, None)?;
            }
        }
        Ok(())
    }

    /// A billing credit's value in the customer's currency (that of their latest payment).
    fn credit_value(&self, reward: &Reward) -> Option<Money> {
        self.state.currency.and_then(|c| reward.value_in(c))
    }

    /// Writes the reward's outbox row (its `id` is the provider's idempotency key) and holds
    /// an access reward's grant from now on. A billing credit's value is `quantity` × the
    /// reward's; one past `i64` refuses the event.
    fn issue(
        &mut self,
        reward: &Reward,
        id: String,
        points: i64,
        quantity: u64,
        line: Option<LineSeq>,
    ) -> Result<()> {
        if reward.kind == RewardKind::Access
            && let Some(g) = &reward.grant
        {
            self.state.grants.insert(g.clone());
        }
        let value = match reward.kind {
            RewardKind::BillingCredit => match self.credit_value(reward) {
                Some(unit) => {
                    let k = i64::try_from(quantity).map_err(|_| EngineError::Overflow)?;
                    Some(Money::new(
                        checked(unit.minor.checked_mul(k))?,
                        unit.currency,
                    ))
                }
                None => None,
            },
            _ => None,
        };
        self.rewards.push(RewardOutbox {
            id,
            customer: self.state.customer.clone(),
            reward: reward.id.clone(),
            kind: reward.kind,
            points,
            quantity,
            line,
            event_id: self.event.id.clone(),
            created_at: self.event.occurred_at,
            value,
            coupon: reward.coupon.clone(),
            grant: reward.grant.clone(),
            url: reward.url.clone(),
            secret: reward.secret.clone(),
            notice: None,
            delivery: Delivery::pending(),
        });
        Ok(())
    }
}
