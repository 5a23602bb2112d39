//! The validated program: what the engine reads. Every value here has passed validation.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use crate::event::Trigger;
use crate::money::{Currency, Money};

/// A validated program.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub timezone: TimeZone,
    pub tier_window: TierWindow,
    /// The metadata key (Stripe) or custom field `cf_<key>` (Chargebee) naming the referrer.
    pub referral_key: Option<String>,
    pub earn: Vec<EarnRule>,
    /// Ordered by `min_points`, the first at 0 (or empty: no tiers).
    pub tiers: Vec<Tier>,
    pub promotions: Vec<Promotion>,
    pub rewards: Vec<Reward>,
    pub expiry: Option<Expiry>,
    /// `[notify]`: what the merchant's own app hears about (`None`: nothing is sent).
    pub notify: Option<crate::notify::Notify>,
    /// How many days after a payment's day (program timezone) its record is kept for refunds
    /// (`[program] refund_window_days`, default [`DEFAULT_REFUND_WINDOW_DAYS`]). A refund of
    /// an older payment reverses nothing.
    pub refund_window_days: i64,
    /// A hash of the file's bytes, recorded on every ledger line.
    pub version: ProgramVersion,
}

/// Payment records are kept this many days by default: longer than a year, so that a refund
/// of an annual plan's payment still finds it, and than the card networks' usual dispute
/// windows.
pub const DEFAULT_REFUND_WINDOW_DAYS: i64 = 400;

/// The first 8 bytes of the program file's SHA-256, in hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ProgramVersion(pub String);

impl fmt::Display for ProgramVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which qualifying points decide the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierWindow {
    Lifetime,
    /// The calendar month of the event and the eleven before it, in the program timezone.
    Rolling12Months,
}

/// Whose ledger a rule's points go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beneficiary {
    Customer,
    /// The customer who referred the event's customer (`referral.converted` rules only).
    Referrer,
}

/// The calendar period of a cap, in the program timezone; `Ever` never resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapPeriod {
    Day,
    Month,
    Year,
    Ever,
}

/// At most `points` from one rule per customer per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub points: i64,
    pub per: CapPeriod,
}

#[derive(Debug, Clone)]
pub struct EarnRule {
    pub id: String,
    pub on: Trigger,
    /// Fixed points per matching event.
    pub points: i64,
    /// +1 point per N minor units of that currency.
    pub per_amount: BTreeMap<Currency, i64>,
    /// Only events on these plans match; `None`: any event.
    pub plans: Option<Vec<String>>,
    pub cap: Option<Cap>,
    pub beneficiary: Beneficiary,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub name: String,
    pub min_points: i64,
    /// Applied to the rules' points of customers in this tier.
    pub multiplier: Decimal,
    /// Access names every customer in this tier holds (shown by the read API).
    pub grants: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Promotion {
    pub id: String,
    /// Inclusive.
    pub starts: Timestamp,
    /// Exclusive.
    pub ends: Timestamp,
    pub multiplier: Option<Decimal>,
    /// Added to each matching rule's points (after multipliers, before the cap).
    pub bonus: i64,
    /// Only rules on these triggers; `None`: every rule.
    pub applies_to: Option<Vec<Trigger>>,
    /// Only events on these plans; `None`: any event.
    pub plans: Option<Vec<String>>,
    /// Points granted by the scheduler's `promotion.granted` event for this promotion.
    pub grant: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    BillingCredit,
    Coupon,
    Access,
    Perk,
    /// Not a `[[rewards]]` kind: a merchant notification (`[notify]`) in the reward outbox.
    Notification,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardTrigger {
    /// Redeemed automatically after every event while the balance covers the cost: a billing
    /// credit as many times as it covers (one outbox row with that quantity), any other
    /// reward once.
    Cost(i64),
    /// Issued once, when the customer first enters the tier.
    OnTier(String),
}

#[derive(Debug, Clone)]
pub struct Reward {
    pub id: String,
    pub kind: RewardKind,
    pub trigger: RewardTrigger,
    /// A billing credit's amount, in minor units, per currency.
    pub value: BTreeMap<Currency, i64>,
    pub coupon: Option<String>,
    pub grant: Option<String>,
    pub url: Option<String>,
    /// A perk's signing secret: the name of the environment variable (locally) or SSM
    /// parameter (deployed) that holds its `whsec_…` value, never the value itself.
    pub secret: Option<String>,
}

impl Reward {
    /// The billing credit for a customer paying in `currency`, if the reward has one.
    pub fn value_in(&self, currency: Currency) -> Option<Money> {
        self.value
            .get(&currency)
            .map(|&minor| Money::new(minor, currency))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    /// A lot expires at the end of the day this many days after the day it was earned.
    pub after_days: i32,
}

impl Program {
    pub fn promotion(&self, id: &str) -> Option<&Promotion> {
        self.promotions.iter().find(|p| p.id == id)
    }

    /// The tier a customer with `qualifying` points is in.
    pub fn tier_for(&self, qualifying: i64) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| qualifying >= t.min_points)
    }
}
