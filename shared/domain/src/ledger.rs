//! What the engine writes: ledger lines and reward outbox rows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, EventId};
use crate::money::Money;
use crate::program::{ProgramVersion, RewardKind};

/// A ledger line's sequence number, unique and increasing per customer.
pub type LineSeq = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Points from an `[[earn]]` rule (promotions and tier multiplier included).
    Earn,
    /// Points granted by a promotion's `grant` (by the scheduler).
    Grant,
    /// A refund taking back part of an earn line.
    Reversal,
    /// Points spent on a reward.
    Redemption,
    /// A lot's remainder at its expiry.
    Expiry,
    /// An operator's correction (`points.adjusted`), either sign.
    Adjustment,
}

/// One change to a customer's balance. Points are signed: earn and grant lines are positive,
/// reversals, redemptions and expiries negative, adjustments either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub seq: LineSeq,
    pub customer: CustomerId,
    pub kind: LineKind,
    pub points: i64,
    pub balance_after: i64,
    /// The earn rule, promotion or reward that produced the line, or `refund`, `expiry` or
    /// `adjustment`.
    pub rule: String,
    pub program_version: ProgramVersion,
    pub event_id: EventId,
    pub occurred_at: Timestamp,
    /// Reversal: the earn line it takes back. Expiry: the line that created the lot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refers_to: Option<LineSeq>,
}

/// Where handing out a reward stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Delivered { at: Timestamp },
    Failed { attempts: u32, reason: String },
}

/// A reward to hand out, committed with the redemption that paid for it (transactional
/// outbox). `id` is deterministic, so it doubles as the provider's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardOutbox {
    pub id: String,
    pub customer: CustomerId,
    /// The `[[rewards]]` id.
    pub reward: String,
    pub kind: RewardKind,
    /// Points paid (0 for `on_tier` rewards): `quantity` × the reward's cost.
    pub points: i64,
    /// How many of the reward this row hands out: a billing credit redeemed k times in one
    /// event is one row of quantity k (its `value` is k × the reward's value); every other
    /// reward is handed out at most once per event. Rows stored before quantities existed
    /// read as 1.
    #[serde(default = "one")]
    pub quantity: u64,
    /// The redemption line, for rewards paid with points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LineSeq>,
    pub event_id: EventId,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub delivery: Delivery,
}

fn one() -> u64 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_reward_row_was_stored_without_a_quantity_then_it_reads_as_one() {
        let row = r#"{"id":"custom:a/2","customer":{"provider":"custom","id":"a"},
            "reward":"credit","kind":"billing_credit","points":100,"line":2,"event_id":"e",
            "created_at":"2026-05-01T12:00:00Z","delivery":{"status":"pending"}}"#;
        let read: RewardOutbox = serde_json::from_str(row).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.quantity, 1);
    }
}
