//! Counting what a simulation does, commit by commit: the simulated store
//! ([`ObservedStore`]) wraps the in-memory store and, for every commit the store applies
//! (not a duplicate), adds its ledger lines to their month, its reward rows to their reward,
//! and moves the customer between tiers. The events themselves go through the production
//! [`saguaro_app::Earner`], follow-ups (referrals) included.

use std::sync::Mutex;

use foldhash::{HashMap, HashMapExt};
use jiff::Timestamp;
use saguaro_domain::ports::{Commit, CommitOutcome, StateStore, StoreError};
use saguaro_domain::state::CustomerState;
use saguaro_domain::{CustomerId, LineKind, Program};
use saguaro_embedded::EmbeddedStore;

use super::summary::Totals;

/// Per month: the points by kind and the reward quantity issued.
#[derive(Debug, Clone, Default)]
pub struct MonthTally {
    pub points: Totals,
    pub rewards: u64,
    /// Customers per tier (index in the program's tiers) at the month's end, and customers
    /// known then; filled when the simulation leaves the month.
    pub tiers: Vec<u64>,
    pub customers: u64,
}

/// Per reward (index in the program's rewards).
#[derive(Debug, Clone, Default)]
pub struct RewardTally {
    pub issued: u64,
    pub points: i64,
    /// Per currency code.
    pub value: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerTally {
    /// Earned and granted.
    pub earned: i64,
    /// Tier index.
    pub tier: Option<usize>,
}

#[derive(Debug)]
pub struct Tally {
    /// The first instant of each month of the span, in order.
    pub month_starts: Vec<Timestamp>,
    pub months: Vec<MonthTally>,
    pub rewards: Vec<RewardTally>,
    pub customers: HashMap<CustomerId, CustomerTally>,
    /// Customers per tier now.
    pub tier_counts: Vec<u64>,
    /// A sum passed `i64`: the figures are wrong and the run fails.
    pub overflow: bool,
}

impl Tally {
    pub fn new(program: &Program, month_starts: Vec<Timestamp>) -> Self {
        Self {
            months: vec![MonthTally::default(); month_starts.len()],
            month_starts,
            rewards: vec![RewardTally::default(); program.rewards.len()],
            customers: HashMap::new(),
            tier_counts: vec![0; program.tiers.len()],
            overflow: false,
        }
    }

    /// The month `at` falls in (clamped to the span).
    fn month_of(&self, at: Timestamp) -> usize {
        self.month_starts
            .partition_point(|s| *s <= at)
            .saturating_sub(1)
    }

    /// The simulation leaves month `m`: its tier membership is what it is now.
    pub fn close_month(&mut self, m: usize) {
        let (tiers, customers) = (self.tier_counts.clone(), self.customers.len() as u64);
        if let Some(month) = self.months.get_mut(m) {
            month.tiers = tiers;
            month.customers = customers;
        }
    }

    fn add(&mut self, d: &Delta) {
        let mut ok = true;
        let mut add = |to: &mut i64, v: i64| match to.checked_add(v) {
            Some(s) => *to = s,
            None => ok = false,
        };
        let mut earned = 0i64;
        for &(at, kind, points) in &d.lines {
            let m = self.month_of(at);
            let Some(month) = self.months.get_mut(m) else {
                continue;
            };
            let t = &mut month.points;
            match kind {
                LineKind::Earn => {
                    add(&mut t.earned, points);
                    add(&mut earned, points);
                }
                LineKind::Grant => {
                    add(&mut t.granted, points);
                    add(&mut earned, points);
                }
                LineKind::Redemption => add(&mut t.redeemed, points.saturating_neg()),
                LineKind::Reversal => add(&mut t.reversed, points.saturating_neg()),
                LineKind::Expiry => add(&mut t.expired, points.saturating_neg()),
                LineKind::Adjustment => add(&mut t.adjusted, points),
            }
            add(&mut t.outstanding, points);
        }
        for r in &d.rewards {
            let m = self.month_of(r.at);
            if let Some(month) = self.months.get_mut(m) {
                month.rewards = month.rewards.saturating_add(r.quantity);
            }
            let Some(tally) = self.rewards.get_mut(r.reward) else {
                continue;
            };
            tally.issued = tally.issued.saturating_add(r.quantity);
            add(&mut tally.points, r.points);
            if let Some((currency, minor)) = &r.value {
                match tally.value.iter_mut().find(|(c, _)| c == currency) {
                    Some((_, v)) => add(v, *minor),
                    None => tally.value.push((currency.clone(), *minor)),
                }
            }
        }
        let old_tier = match self.customers.get_mut(&d.customer) {
            Some(c) => {
                add(&mut c.earned, earned);
                let old = c.tier;
                c.tier = d.tier;
                old
            }
            None => {
                self.customers.insert(
                    d.customer.clone(),
                    CustomerTally {
                        earned,
                        tier: d.tier,
                    },
                );
                None
            }
        };
        if old_tier != d.tier {
            if let Some(t) = old_tier.and_then(|t| self.tier_counts.get_mut(t)) {
                *t = t.saturating_sub(1);
            }
            if let Some(t) = d.tier.and_then(|t| self.tier_counts.get_mut(t)) {
                *t += 1;
            }
        }
        if !ok {
            self.overflow = true;
        }
    }
}

/// What one commit changes in the tally, taken before the store consumes the commit.
struct Delta {
    customer: CustomerId,
    tier: Option<usize>,
    lines: Vec<(Timestamp, LineKind, i64)>,
    rewards: Vec<RewardDelta>,
}

struct RewardDelta {
    reward: usize,
    at: Timestamp,
    quantity: u64,
    points: i64,
    value: Option<(String, i64)>,
}

impl Delta {
    fn of(program: &Program, commit: &Commit) -> Self {
        let state: &CustomerState = &commit.state;
        Self {
            customer: state.customer.clone(),
            tier: state
                .tier
                .as_ref()
                .and_then(|name| program.tiers.iter().position(|t| &t.name == name)),
            lines: commit
                .lines
                .iter()
                .map(|l| (l.occurred_at, l.kind, l.points))
                .collect(),
            rewards: commit
                .rewards
                .iter()
                .filter_map(|r| {
                    Some(RewardDelta {
                        reward: program.rewards.iter().position(|p| p.id == r.reward)?,
                        at: r.created_at,
                        quantity: r.quantity,
                        points: r.points,
                        value: r.value.map(|v| (v.currency.to_string(), v.minor)),
                    })
                })
                .collect(),
        }
    }
}

/// The in-memory store, counting every applied commit into a [`Tally`].
#[derive(Debug)]
pub struct ObservedStore<'p> {
    pub inner: EmbeddedStore,
    program: &'p Program,
    pub tally: Mutex<Tally>,
}

impl<'p> ObservedStore<'p> {
    pub fn new(program: &'p Program, tally: Tally) -> Self {
        Self {
            inner: EmbeddedStore::new(),
            program,
            tally: Mutex::new(tally),
        }
    }

    /// Runs `f` on the tally (a poisoned lock still holds the counts: a panic is a bug
    /// elsewhere, and the run ends with it).
    pub fn with_tally<T>(&self, f: impl FnOnce(&mut Tally) -> T) -> T {
        let mut guard = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl StateStore for ObservedStore<'_> {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        self.inner.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let delta = Delta::of(self.program, &commit);
        let outcome = self.inner.commit(commit).await?;
        if outcome == CommitOutcome::Applied {
            self.with_tally(|t| t.add(&delta));
        }
        Ok(outcome)
    }
}
