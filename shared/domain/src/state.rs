//! A customer's loyalty state: everything the engine needs to apply the next event.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::ids::{CustomerId, PaymentKey};
use crate::ledger::LineSeq;
use crate::money::{Currency, Money};

/// Earned points not yet spent, reversed or expired, one lot per expiry day: everything
/// earned on one local day expires together, and points that never expire form one lot, so a
/// customer has at most `expiry.after_days + 1` lots however often they earn (while the daily
/// expiry job runs). Redemptions, reversals and negative adjustments consume lots
/// soonest-expiring first; a lot expires with what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// The first line that added to it (its expiry line refers to this one).
    pub line: LineSeq,
    /// The lot expires at the end of this day, program timezone. `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
    pub remaining: i64,
}

/// What a payment earned, so that refunds can mirror it whatever the rules say later. Kept
/// for the program's `refund_window_days` after `day`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The payment's local day (program timezone); while only a refund has been seen, the
    /// refund's. `None` only on records written before records were pruned: those are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<Date>,
    /// `None` while only a refund has been seen (refund delivered before the payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// Earn lines the payment produced, each with what refunds have reversed of it.
    #[serde(default)]
    pub earned: Vec<EarnedLine>,
    /// Total refunded so far, minor units of the payment's currency.
    #[serde(default)]
    pub refunded: i64,
}

/// One earn line of a payment, as a refund mirrors it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnedLine {
    pub line: LineSeq,
    pub points: i64,
    /// Points of this line already reversed.
    pub reversed: i64,
    /// The earn's calendar month as `yyyymm` (program timezone), for the rolling tier window.
    pub month: u32,
}

/// Points a rule has given in one calendar period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapCounter {
    pub rule: String,
    /// `2026-12-05`, `2026-12`, `2026` or `ever`.
    pub period: String,
    /// When the period ends; `None` for `ever`. Counters are dropped 21 days after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<Timestamp>,
    pub used: i64,
}

/// The latest known state of one subscription: the newest wins, by the provider's
/// `resource_version` when both sides have one, else by `occurred_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// `started_at`'s date in the program timezone, recorded by the engine: the day the
    /// anniversaries are counted from (docs/design.md §4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<i64>,
    pub updated_at: Timestamp,
}

/// Everything the engine knows about one customer, committed with each event's lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerState {
    pub customer: CustomerId,
    /// Optimistic concurrency: the version this state was read at (0: never stored).
    pub version: u64,
    pub balance: i64,
    /// Points consumed beyond the lots (balance below zero); paid back by the next points
    /// earned, granted or added.
    pub deficit: i64,
    pub next_seq: LineSeq,
    pub lots: Vec<Lot>,
    /// Earned minus reversed, all time.
    pub qualifying_lifetime: i64,
    /// Earned minus reversed by calendar month `yyyymm` (program timezone), for the rolling
    /// window.
    pub qualifying_by_month: BTreeMap<u32, i64>,
    /// The tier after the last event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Rolling-12-month programs: the last day before the oldest month that counts towards
    /// the tier leaves the window, when that can lower the tier (docs/design.md §4.5). The
    /// daily job re-evaluates the customer the day after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_review_on: Option<Date>,
    /// `[notify]` with `points.expiring`: the day before the next notice is due (the
    /// soonest lot whose last day is `expiring_days` after a day still to come). The daily
    /// job visits the customer the day after, and the engine writes the notice then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring_notice_on: Option<Date>,
    /// Tiers ever entered (`on_tier` rewards are issued once).
    pub tiers_reached: BTreeSet<String>,
    /// Named access grants from `access` rewards.
    pub grants: BTreeSet<String>,
    pub caps: Vec<CapCounter>,
    /// Payments within the refund window (and refunds waiting for their payment), by the
    /// digest of the id the provider reports them under.
    pub payments: BTreeMap<PaymentKey, PaymentRecord>,
    pub subscriptions: BTreeMap<String, SubscriptionSnapshot>,
    /// The currency of the latest payment: billing credits are issued in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<CustomerId>,
    /// This customer's referral has converted (once per referred customer). The referrer's
    /// follow-up has a deterministic event id and is applied under its event marker, which
    /// dedupes it: the referrer keeps no set of the customers they referred.
    pub referral_converted: bool,
    /// Follow-up events committed with this state and not yet applied to their customer.
    pub pending: Vec<Event>,
}

impl CustomerState {
    pub fn new(customer: CustomerId) -> Self {
        Self {
            customer,
            version: 0,
            balance: 0,
            deficit: 0,
            next_seq: 1,
            lots: Vec::new(),
            qualifying_lifetime: 0,
            qualifying_by_month: BTreeMap::new(),
            tier: None,
            tier_review_on: None,
            expiring_notice_on: None,
            tiers_reached: BTreeSet::new(),
            grants: BTreeSet::new(),
            caps: Vec::new(),
            payments: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            currency: None,
            referrer: None,
            referral_converted: false,
            pending: Vec::new(),
        }
    }
}

impl SubscriptionSnapshot {
    /// Whether a change with this `resource_version` / `occurred_at` is newer than the snapshot.
    pub fn is_older_than(&self, resource_version: Option<i64>, occurred_at: Timestamp) -> bool {
        match (self.resource_version, resource_version) {
            (Some(stored), Some(new)) => new > stored,
            _ => occurred_at >= self.updated_at,
        }
    }
}
