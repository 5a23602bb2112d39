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
    /// Adjustment: the operator's reason (`points.adjusted`'s `reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where handing out a reward stands (docs/design.md §5.3). Every change is a conditional
/// update of the row ([`crate::ports::RewardStore::set_delivery`]): from `Pending` one
/// fulfiler claims the row (`Delivering`), and only the claimer writes the outcome.
///
/// ```text
/// pending ──claim──► delivering ──► delivered (the provider's id)
///    ▲                   │  └─────► failed (reason, attempts): never applies, an operator looks
///    └── retry later ────┘  (the error, and whether the provider may have applied it)
/// delivering older than the lease ──reclaim──► delivering (previous outcome unknown)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Delivery {
    Pending {
        /// Attempts made so far.
        #[serde(default, skip_serializing_if = "is_zero")]
        attempts: u32,
        /// Why the last attempt did not deliver.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<String>,
        /// When the last attempt ended (the sweep waits from then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_attempt_at: Option<Timestamp>,
        /// An attempt begun at this time may have reached the provider (a 5xx, a timeout, a
        /// crash): before sending again, look at the provider for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unknown_since: Option<Timestamp>,
    },
    /// Claimed by a fulfiler at `at` for attempt number `attempt` (1-based).
    Delivering {
        attempt: u32,
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unknown_since: Option<Timestamp>,
    },
    Delivered {
        at: Timestamp,
        #[serde(default = "one_attempt")]
        attempts: u32,
        /// What the provider calls it: `cbtxn_…`, the promotional credit's id, the
        /// subscription a coupon went on, the perk endpoint's status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<String>,
    },
    Failed {
        attempts: u32,
        reason: String,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn one_attempt() -> u32 {
    1
}

/// One fulfiler's claim on a row: the attempt it makes and, when an earlier attempt's
/// outcome is unknown, since when to look at the provider before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub attempt: u32,
    pub at: Timestamp,
    pub check_since: Option<Timestamp>,
    pub last_error: Option<String>,
}

impl Delivery {
    /// A new row: nothing tried yet.
    pub const fn pending() -> Self {
        Self::Pending {
            attempts: 0,
            last_error: None,
            last_attempt_at: None,
            unknown_since: None,
        }
    }

    /// `pending`, `delivering`, `delivered` or `failed`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Pending { .. } => "pending",
            Self::Delivering { .. } => "delivering",
            Self::Delivered { .. } => "delivered",
            Self::Failed { .. } => "failed",
        }
    }

    /// The claim a fulfiler may make at `now`, if any: a pending row, or a row claimed
    /// longer than `lease` ago (its fulfiler died or hung: what it sent is unknown).
    pub fn claim(&self, now: Timestamp, lease: jiff::SignedDuration) -> Option<Claim> {
        match self {
            Self::Pending {
                attempts,
                last_error,
                unknown_since,
                ..
            } => Some(Claim {
                attempt: attempts.saturating_add(1),
                at: now,
                check_since: *unknown_since,
                last_error: last_error.clone(),
            }),
            Self::Delivering {
                attempt,
                at,
                last_error,
                unknown_since,
            } if now.duration_since(*at) >= lease => Some(Claim {
                attempt: attempt.saturating_add(1),
                at: now,
                check_since: Some(unknown_since.map_or(*at, |u| u.min(*at))),
                last_error: last_error.clone(),
            }),
            _ => None,
        }
    }
}

impl Claim {
    /// The row's state while this claim holds it.
    pub fn state(&self) -> Delivery {
        Delivery::Delivering {
            attempt: self.attempt,
            at: self.at,
            last_error: self.last_error.clone(),
            unknown_since: self.check_since,
        }
    }

    pub fn delivered(&self, now: Timestamp, provider_id: Option<String>) -> Delivery {
        Delivery::Delivered {
            at: now,
            attempts: self.attempt,
            provider_id,
        }
    }

    pub fn failed(&self, reason: String) -> Delivery {
        Delivery::Failed {
            attempts: self.attempt,
            reason,
        }
    }

    /// Back to pending after an attempt that did not deliver. `maybe_applied`: the
    /// provider may have applied it (5xx, timeout), so the next attempt looks first.
    pub fn retry_later(&self, now: Timestamp, error: String, maybe_applied: bool) -> Delivery {
        let unknown_since = match (self.check_since, maybe_applied) {
            (Some(since), _) => Some(since),
            (None, true) => Some(self.at),
            (None, false) => None,
        };
        Delivery::Pending {
            attempts: self.attempt,
            last_error: Some(error),
            last_attempt_at: Some(now),
            unknown_since,
        }
    }
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
    /// A perk's signing secret's name (`[[rewards]] secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// A merchant notification's content (kind [`RewardKind::Notification`], `[notify]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::notify::Notice>,
    pub delivery: Delivery,
}

fn one() -> u64 {
    1
}

impl RewardOutbox {
    /// Since when the row waits for a fulfiler: its creation or last attempt while pending,
    /// its claim while delivering; `None` once delivered or failed. The sweep re-drives rows
    /// waiting longer than its delay.
    pub fn waiting_since(&self) -> Option<Timestamp> {
        match &self.delivery {
            Delivery::Pending {
                last_attempt_at, ..
            } => Some(last_attempt_at.unwrap_or(self.created_at)),
            Delivery::Delivering { at, .. } => Some(*at),
            Delivery::Delivered { .. } | Delivery::Failed { .. } => None,
        }
    }
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
        assert_eq!(read.delivery, Delivery::pending());
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn when_a_new_row_is_serialised_then_its_delivery_is_just_pending() {
        let json = serde_json::to_string(&Delivery::pending()).unwrap_or_default();
        assert_eq!(json, r#"{"status":"pending"}"#);
    }

    #[test]
    fn when_a_claim_is_fresh_then_nobody_else_may_claim_until_the_lease_passes() {
        let lease = jiff::SignedDuration::from_mins(5);
        let now = t("2026-05-01T12:00:00Z");
        let claim = Delivery::pending().claim(now, lease);
        assert_eq!(
            claim.as_ref().map(|c| (c.attempt, c.check_since)),
            Some((1, None))
        );
        let held = claim.map(|c| c.state()).unwrap_or_else(Delivery::pending);
        assert_eq!(held.claim(t("2026-05-01T12:04:59Z"), lease), None);
        let reclaimed = held.claim(t("2026-05-01T12:05:00Z"), lease);
        // The first claim's outcome is unknown: look at the provider since it began.
        assert_eq!(
            reclaimed.map(|c| (c.attempt, c.check_since)),
            Some((2, Some(now)))
        );
    }

    #[test]
    fn when_an_attempt_may_have_been_applied_then_the_next_claim_looks_first() {
        let lease = jiff::SignedDuration::from_mins(5);
        let start = t("2026-05-01T12:00:00Z");
        let Some(claim) = Delivery::pending().claim(start, lease) else {
            panic!("pending is claimable")
        };
        let later = claim.retry_later(t("2026-05-01T12:00:01Z"), "HTTP 500".into(), true);
        let next = later.claim(t("2026-05-01T12:20:00Z"), lease);
        assert_eq!(
            next.map(|c| (c.attempt, c.check_since, c.last_error)),
            Some((2, Some(start), Some("HTTP 500".to_owned())))
        );
        let refused = claim.retry_later(start, "HTTP 429".into(), false);
        assert_eq!(
            refused.claim(start, lease).and_then(|c| c.check_since),
            None
        );
        for closed in [
            claim.delivered(start, None),
            claim.failed("HTTP 400".into()),
        ] {
            assert_eq!(closed.claim(t("2030-01-01T00:00:00Z"), lease), None);
        }
    }
}
