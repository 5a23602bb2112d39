//! What a simulation reports: the figures per month, tier membership, rewards and their
//! cost, the outstanding liability, the top earners, the events refused and every
//! customer's final standing. Serialised as is by `--json`; rendered by [`super::text`] and
//! [`super::report`]. Every list is in a fixed order (months, file order, customer id), so
//! the same history and program give the same bytes.

use std::collections::BTreeMap;

use saguaro_domain::CustomerId;
use saguaro_domain::program::RewardKind;
use serde::Serialize;

/// How the liability is valued, said in the summary itself.
pub const LIABILITY_RULE: &str = "each customer's positive balance valued at the rate of the first billing_credit reward (file order) whose value lists the customer's currency (that of their latest payment): floor(balance × value ÷ cost) minor units; balances with no such reward are counted as points without a rate";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub program: ProgramInfo,
    /// The first and last simulated days (program timezone), inclusive.
    pub from: Option<String>,
    pub until: Option<String>,
    pub events: EventCounts,
    pub totals: Totals,
    pub months: Vec<Month>,
    /// The program's tiers, in file order (the keys of every month's `tiers`).
    pub tiers: Vec<String>,
    pub rewards: Vec<RewardIssued>,
    pub liability: Liability,
    pub top_earners: Vec<Earner>,
    pub rejected: Vec<Rejected>,
    /// Every customer, by id; left out of the text and HTML reports.
    pub customers: Vec<CustomerFinal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgramInfo {
    pub name: String,
    pub version: String,
    pub file: String,
    pub timezone: String,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct EventCounts {
    /// Events in the history file.
    pub read: u64,
    /// Applied for the first time (each with its lines and rewards).
    pub applied: u64,
    /// The same event again (same id, same payload): nothing changed.
    pub duplicates: u64,
    /// Refused by the engine, or an id reused for another event (listed in `rejected`).
    pub rejected: u64,
    /// After `--until`: not applied.
    pub after_until: u64,
    /// Events the daily job made (anniversaries, expiry runs, promotion grants) and applied.
    pub scheduled: u64,
}

/// Points over the whole simulation; every figure is a sum of ledger lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// `earn` lines: points from the earn rules (tiers and promotions included).
    pub earned: i64,
    /// `grant` lines: promotion grants.
    pub granted: i64,
    /// `redemption` lines, as a positive number.
    pub redeemed: i64,
    /// `reversal` lines (refunds), as a positive number.
    pub reversed: i64,
    /// `expiry` lines, as a positive number.
    pub expired: i64,
    /// `adjustment` lines, signed.
    pub adjusted: i64,
    /// The sum of every balance at the end (a deficit counts negative).
    pub outstanding: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `yyyy-mm`, program timezone.
    pub month: String,
    #[serde(flatten)]
    pub points: Totals,
    /// Customers with a ledger at the end of the month.
    pub customers: u64,
    /// Customers per tier at the end of the month (every tier, file order; customers in no
    /// tier are not counted).
    pub tiers: BTreeMap<String, u64>,
    /// Reward rows issued in the month (a billing credit redeemed k times at once is one row
    /// of quantity k: counted k times here).
    pub rewards: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RewardIssued {
    pub id: String,
    pub kind: RewardKind,
    /// Quantity handed out.
    pub issued: u64,
    /// Points paid for them.
    pub points: i64,
    /// What they cost the merchant, minor units per currency (billing credits only).
    pub value: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Liability {
    pub rule: &'static str,
    /// Minor units per currency.
    pub value: BTreeMap<String, i64>,
    /// Points of positive balances valued above.
    pub points_valued: i64,
    /// Points of positive balances with no billing credit in the customer's currency.
    pub points_without_rate: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Earner {
    pub customer: CustomerId,
    /// Points earned and granted over the simulation.
    pub earned: i64,
    pub balance: i64,
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// The line of the history file (0: an event the daily job made).
    pub line: usize,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CustomerFinal {
    pub customer: CustomerId,
    pub balance: i64,
    /// On the last simulated day, in the program's tier window.
    pub qualifying_points: i64,
    pub tier: Option<String>,
}

/// A simulation under two programs (`--compare`): both summaries; the differences are
/// `compare − base` (see [`Totals::minus`]).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: Summary,
    pub compare: Summary,
    pub difference: Difference,
}

#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub totals: Totals,
    /// Per currency: compare's liability minus base's.
    pub liability: BTreeMap<String, i64>,
    /// Per currency: what compare's rewards cost minus base's.
    pub reward_value: BTreeMap<String, i64>,
    /// Customers whose final balance differs.
    pub customers_with_another_balance: u64,
}

impl Totals {
    /// `self − other`, figure by figure (saturating: a difference is for reading).
    pub fn minus(&self, other: &Self) -> Self {
        Self {
            earned: self.earned.saturating_sub(other.earned),
            granted: self.granted.saturating_sub(other.granted),
            redeemed: self.redeemed.saturating_sub(other.redeemed),
            reversed: self.reversed.saturating_sub(other.reversed),
            expired: self.expired.saturating_sub(other.expired),
            adjusted: self.adjusted.saturating_sub(other.adjusted),
            outstanding: self.outstanding.saturating_sub(other.outstanding),
        }
    }
}

impl Summary {
    /// What the rewards cost, per currency.
    pub fn reward_value(&self) -> BTreeMap<String, i64> {
        let mut sum: BTreeMap<String, i64> = BTreeMap::new();
        for r in &self.rewards {
            for (c, v) in &r.value {
                let e = sum.entry(c.clone()).or_default();
                *e = e.saturating_add(*v);
            }
        }
        sum
    }
}

impl Comparison {
    pub fn new(base: Summary, compare: Summary) -> Self {
        let totals = compare.totals.minus(&base.totals);
        let liability = diff_maps(&compare.liability.value, &base.liability.value);
        let reward_value = diff_maps(&compare.reward_value(), &base.reward_value());
        let base_balances: BTreeMap<&CustomerId, i64> = base
            .customers
            .iter()
            .map(|c| (&c.customer, c.balance))
            .collect();
        let mut other = 0u64;
        let mut seen = 0usize;
        for c in &compare.customers {
            match base_balances.get(&c.customer) {
                Some(b) => {
                    seen += 1;
                    if *b != c.balance {
                        other += 1;
                    }
                }
                None => other += 1,
            }
        }
        other += (base_balances.len() - seen) as u64;
        Self {
            difference: Difference {
                totals,
                liability,
                reward_value,
                customers_with_another_balance: other,
            },
            base,
            compare,
        }
    }
}

fn diff_maps(a: &BTreeMap<String, i64>, b: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for k in a.keys().chain(b.keys()) {
        let d = a
            .get(k)
            .copied()
            .unwrap_or(0)
            .saturating_sub(b.get(k).copied().unwrap_or(0));
        out.insert(k.clone(), d);
    }
    out
}
