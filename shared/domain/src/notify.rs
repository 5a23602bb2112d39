//! Merchant notifications (`[notify]`, docs/design.md §4.6): the facts a merchant's own app
//! hears about so that it can e-mail its customers, and the outbox rows that carry them.
//!
//! A notification is a reward outbox row of kind [`RewardKind::Notification`], delivered by
//! the fulfiler like a perk (signed the Standard Webhooks way, `webhook-id` = the row id),
//! and written in the same store commit as the fact it reports:
//!
//! - `tier.changed`: by the engine, in the commit of the event that changed the tier;
//! - `reward.issued` / `reward.failed`: by the fulfiler, in the same store operation as the
//!   reward's transition to delivered / failed ([`crate::ports::RewardStore::set_delivery`]);
//! - `points.expiring`: by the engine, when it applies the daily job's `points.expiring`
//!   event (one per customer and day, deterministic id, so a re-run adds nothing).

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, EventId};
use crate::ledger::{Delivery, RewardOutbox};
use crate::money::Money;
use crate::ports::RewardPosition;
use crate::program::RewardKind;

/// What a merchant may ask to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyKind {
    TierChanged,
    RewardIssued,
    RewardFailed,
    PointsExpiring,
}

impl NotifyKind {
    pub const ALL: [Self; 4] = [
        Self::TierChanged,
        Self::RewardIssued,
        Self::RewardFailed,
        Self::PointsExpiring,
    ];

    /// The name in the program file and the body's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TierChanged => "tier.changed",
            Self::RewardIssued => "reward.issued",
            Self::RewardFailed => "reward.failed",
            Self::PointsExpiring => "points.expiring",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The validated `[notify]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Where notifications are POSTed.
    pub url: String,
    /// What is sent; anything else produces no row.
    pub kinds: BTreeSet<NotifyKind>,
    /// The name of the variable (locally) or SSM parameter (deployed) holding the `whsec_…`
    /// signing secret, as a perk's `secret`.
    pub secret: String,
    /// `points.expiring` is sent for lots whose last day is this many days after the day.
    pub expiring_days: i32,
}

/// `expiring_days` when the file does not say.
pub const DEFAULT_EXPIRING_DAYS: i32 = 7;

/// Notification rows written by the fulfiler next to a reward row are stored at the reward's
/// commit version and this index plus the reward's (commit rows are far fewer: at most 16
/// rewards and a tier notice per event).
pub const NOTICE_INDEX_BASE: u32 = 5000;

/// What a notification says (the body's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Notification {
    #[serde(rename = "tier.changed")]
    TierChanged {
        /// `null` for a customer seen for the first time.
        from: Option<String>,
        to: Option<String>,
    },
    #[serde(rename = "reward.issued")]
    RewardIssued {
        /// The reward row's id (its own `webhook-id` when a perk).
        reward_id: String,
        /// The `[[rewards]]` id.
        reward: String,
        kind: RewardKind,
        quantity: u64,
        #[serde(default)]
        value: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coupon: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<String>,
        /// What the provider calls it (`cbtxn_…`, the promotional credit's id, ...).
        #[serde(default)]
        provider_id: Option<String>,
    },
    #[serde(rename = "reward.failed")]
    RewardFailed {
        reward_id: String,
        reward: String,
        kind: RewardKind,
        quantity: u64,
        #[serde(default)]
        value: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coupon: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<String>,
        reason: String,
        attempts: u32,
    },
    #[serde(rename = "points.expiring")]
    PointsExpiring {
        /// What is left of the lots whose last day is `date`.
        points: i64,
        /// The last day the points are valid (program timezone): they expire at its end.
        date: Date,
    },
}

impl Notification {
    pub fn kind(&self) -> NotifyKind {
        match self {
            Self::TierChanged { .. } => NotifyKind::TierChanged,
            Self::RewardIssued { .. } => NotifyKind::RewardIssued,
            Self::RewardFailed { .. } => NotifyKind::RewardFailed,
            Self::PointsExpiring { .. } => NotifyKind::PointsExpiring,
        }
    }
}

/// The notification a row carries: what it says and the program it is from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub program: String,
    pub data: Notification,
}

impl Notify {
    pub fn sends(&self, kind: NotifyKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// The outbox row of `data` about `customer`, if its kind is configured. `id` is the
    /// `webhook-id`, deterministic so that the merchant can drop duplicates.
    pub fn row(
        &self,
        program: &str,
        id: String,
        customer: &CustomerId,
        event_id: &EventId,
        occurred_at: Timestamp,
        data: Notification,
    ) -> Option<RewardOutbox> {
        let kind = data.kind();
        self.sends(kind).then(|| RewardOutbox {
            id,
            customer: customer.clone(),
            reward: kind.as_str().to_owned(),
            kind: RewardKind::Notification,
            points: 0,
            quantity: 1,
            line: None,
            event_id: event_id.clone(),
            created_at: occurred_at,
            value: None,
            coupon: None,
            grant: None,
            url: Some(self.url.clone()),
            secret: Some(self.secret.clone()),
            notice: Some(Notice {
                program: program.to_owned(),
                data,
            }),
            delivery: Delivery::pending(),
        })
    }

    /// The `reward.issued` / `reward.failed` row for `reward` moving to `next`, if that is
    /// delivered or failed, the kind is configured and the row is a reward (notifications
    /// are not notified). Its id is `{reward id}/{kind}` and it lives at
    /// [`notice_position`] of the reward's.
    pub fn of_outcome(
        &self,
        program: &str,
        reward: &RewardOutbox,
        next: &Delivery,
        at: Timestamp,
    ) -> Option<RewardOutbox> {
        if reward.kind == RewardKind::Notification {
            return None;
        }
        let data = match next {
            Delivery::Delivered { provider_id, .. } => Notification::RewardIssued {
                reward_id: reward.id.clone(),
                reward: reward.reward.clone(),
                kind: reward.kind,
                quantity: reward.quantity,
                value: reward.value,
                coupon: reward.coupon.clone(),
                grant: reward.grant.clone(),
                provider_id: provider_id.clone(),
            },
            Delivery::Failed { attempts, reason } => Notification::RewardFailed {
                reward_id: reward.id.clone(),
                reward: reward.reward.clone(),
                kind: reward.kind,
                quantity: reward.quantity,
                value: reward.value,
                coupon: reward.coupon.clone(),
                grant: reward.grant.clone(),
                reason: reason.clone(),
                attempts: *attempts,
            },
            Delivery::Pending { .. } | Delivery::Delivering { .. } => return None,
        };
        let id = format!("{}/{}", reward.id, data.kind().as_str());
        self.row(program, id, &reward.customer, &reward.event_id, at, data)
    }
}

/// Where the fulfiler stores the notification of the reward at `reward`: the same commit
/// version, index [`NOTICE_INDEX_BASE`] + the reward's, so it sorts right after the
/// commit's own rows.
pub fn notice_position(reward: RewardPosition) -> RewardPosition {
    RewardPosition {
        version: reward.version,
        index: NOTICE_INDEX_BASE.saturating_add(reward.index),
    }
}

/// The id of the `points.expiring` event (and its row) for `customer` on `day`: one per
/// customer and day, whatever runs it.
pub fn expiring_event_id(customer: &CustomerId, day: Date) -> String {
    format!("expiring:{}:{}:{day}", customer.provider, customer.id)
}
