//! Every key and attribute name of the Saguaro table, in one place.
//!
//! One table, two string key attributes (`pk`, `sk`) and one sparse GSI (`gsi1`: `gsi1pk`,
//! `gsi1sk`). A customer's items share one partition:
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` |
//! |---|---|---|---|
//! | customer: the whole state (version, balance, tier, `doc`, binary `lots` and `pay`) | `CUST#{provider}#{id}` | `S#META` | |
//! | expiry index: the day the customer's soonest lot expires | `CUST#…` | `I#EXP` | `EXP#{yyyy-mm}` / `{yyyy-mm-dd}#CUST#…` |
//! | anniversary index: a subscription's local start, plan, active | `CUST#…` | `I#ANNIV#{subscription id}` | `ANNIV#{MM-DD}` (program timezone) / `CUST#…#{subscription id}` |
//! | the daily job's watermark: `day` | `SCHED#watermark` | `WATERMARK` | |
//! | ledger line | `CUST#…` | `L#{seq:020}` | |
//! | reward outbox row | `CUST#…` | `R#{version:020}#{index:04}` (commit order) | while waiting for a fulfiler: `REWARD#WAITING` / `{µs since epoch:020}#{pk}#{sk}` |
//! | event marker (customer, payload hash) | `EVT#{event id}` | `MARKER` | |
//! | Stripe invoice link: `invoice`, `paid_at` (`saguaro_domain::links`) | `LINK#{PaymentIntent id}` | `LINK` | |
//!
//! The state is one item, so loading it is one GetItem and no read can see half a commit.
//! What the daily job looks up by day lives in small index items beside it, rewritten only
//! when the day they hold changes (so not by a typical payment). Ledger lines (`L#`) and
//! rewards (`R#`) are never read by `load`. The event marker lives in its own partition,
//! keyed by the event id alone: one event id is one event, so the id applied to one customer
//! cannot be applied again to another (the marker's [`MARKER_CUSTOMER`] and
//! [`PAYLOAD_HASH`] tell a redelivery from a reused id). It carries the numeric TTL
//! attribute [`TTL`], as does an invoice link (its own partition too: the Stripe webhook
//! writes and reads it, and its role may touch only `LINK#` partitions).

use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_domain::ids::{CustomerId, EventId, Provider};
use saguaro_domain::ledger::LineSeq;
use saguaro_domain::ports::RewardPosition;

/// The table's partition key (string).
pub const PK: &str = "pk";
/// The table's sort key (string).
pub const SK: &str = "sk";
/// The only global secondary index: customers by their soonest expiry day, subscriptions by
/// anniversary.
pub const GSI1: &str = "gsi1";
/// `gsi1`'s partition key (string); absent on items that are not in the index.
pub const GSI1_PK: &str = "gsi1pk";
/// `gsi1`'s sort key (string).
pub const GSI1_SK: &str = "gsi1sk";
/// Epoch seconds after which DynamoDB deletes the item (event markers only).
pub const TTL: &str = "ttl";

/// What kind of item this is (`customer`, `expiry-index`, `anniversary-index`, `line`,
/// `reward`, `marker`): for people reading the table, not for the code.
pub const KIND: &str = "kind";
/// Customer item: optimistic-concurrency version (number).
pub const VERSION: &str = "version";
/// Customer item: the balance (number), readable without parsing the document.
pub const BALANCE: &str = "balance";
/// Customer item: the current tier (string), when there is one.
pub const TIER: &str = "tier";
/// JSON document: the rest of the item's domain value (compact on the customer item, see
/// [`saguaro_domain::codec`]).
pub const DOC: &str = "doc";
/// Customer item: the lots (binary, [`saguaro_domain::codec`]).
pub const LOTS: &str = "lots";
/// Customer item: the payment records (binary, [`saguaro_domain::codec`]).
pub const PAYMENTS: &str = "pay";
/// Reward rows: the customer version that wrote the row (number).
pub const WRITTEN_AT: &str = "v";
/// Expiry index: the soonest expiry day, `yyyy-mm-dd` (string).
pub const EXPIRES_ON: &str = "expires_on";
/// Anniversary index: the subscription's id; reward row: the reward's id (string).
pub const ID: &str = "id";
/// Anniversary index: the subscription's local start date, `yyyy-mm-dd` (string).
pub const STARTED_ON: &str = "started_on";
/// Anniversary index: the subscription's plan (string), when known.
pub const PLAN: &str = "plan";
/// Anniversary index: whether the subscription is active (boolean).
pub const ACTIVE: &str = "active";
/// Watermark: the last day the daily job completed, `yyyy-mm-dd` (string).
pub const DAY: &str = "day";
/// Partition key of the daily job's watermark item.
pub const WATERMARK_PK: &str = "SCHED#watermark";
/// Sort key of the daily job's watermark item.
pub const WATERMARK_SK: &str = "WATERMARK";
/// Ledger line: its sequence number (number).
/// (Reward rows: their index in the commit.)
pub const SEQ: &str = "seq";
/// Reward: delivery status (`pending`, `delivered`, `failed`), readable without the document.
pub const DELIVERY: &str = "delivery";
/// Reward: the delivery state as JSON (string), the truth over the document's; what the
/// conditional delivery updates compare.
pub const DELIVERY_STATE: &str = "ds";
/// Event marker: SHA-256 of the event (string).
pub const PAYLOAD_HASH: &str = "payload_hash";
/// Event marker: the customer it was applied to, as [`customer_pk`] spells it (string).
pub const MARKER_CUSTOMER: &str = "customer";
/// Event marker: when it was written, RFC 3339 (string).
pub const APPLIED_AT: &str = "applied_at";

/// Sort key of the customer item.
pub const META_SK: &str = "S#META";
/// Sort key of the expiry index item.
pub const EXPIRY_INDEX_SK: &str = "I#EXP";
/// Sort-key prefix of ledger lines.
pub const LINE_PREFIX: &str = "L#";
/// Sort-key prefix of reward outbox rows.
pub const REWARD_PREFIX: &str = "R#";
/// Sort key of every invoice link (the partition, [`link_pk`], is the PaymentIntent).
pub const LINK_SK: &str = "LINK";
/// Invoice link: the invoice (string).
pub const INVOICE: &str = "invoice";
/// Invoice link: when Stripe reported the payment, RFC 3339 (string).
pub const PAID_AT: &str = "paid_at";
/// Partition-key prefix of invoice links: what the Stripe webhook's role is limited to.
pub const LINK_PREFIX: &str = "LINK#";

/// Partition key of the invoice link of `payment_intent`.
pub fn link_pk(payment_intent: &str) -> String {
    format!("{LINK_PREFIX}{payment_intent}")
}

/// Sort key of every event marker (the partition, [`marker_pk`], is the event).
pub const MARKER_SK: &str = "MARKER";

const ANNIVERSARY_PREFIX: &str = "I#ANNIV#";
const CUSTOMER_PREFIX: &str = "CUST#";

/// Partition key of everything that belongs to `customer`.
pub fn customer_pk(customer: &CustomerId) -> String {
    format!("{CUSTOMER_PREFIX}{}#{}", customer.provider, customer.id)
}

/// Inverse of [`customer_pk`]; `None` if `pk` is not a customer partition key.
pub fn parse_customer_pk(pk: &str) -> Option<CustomerId> {
    let rest = pk.strip_prefix(CUSTOMER_PREFIX)?;
    let (provider, id) = rest.split_once('#')?;
    Some(CustomerId::new(provider.parse::<Provider>().ok()?, id))
}

/// Sort key of the anniversary index item of `subscription`.
pub fn anniversary_index_sk(subscription: &str) -> String {
    format!("{ANNIVERSARY_PREFIX}{subscription}")
}

/// Sort key of ledger line `seq` (zero-padded so that string order is numeric order).
pub fn line_sk(seq: LineSeq) -> String {
    format!("{LINE_PREFIX}{seq:020}")
}

/// The highest index a reward row can have within one commit (the key has four digits;
/// validation allows 16 rewards, so a commit has at most 32 rows).
pub const MAX_REWARD_INDEX: u32 = 9_999;

/// Sort key of the reward outbox row committed at `at`: string order is commit order, so
/// the rewards page newest first like the ledger.
pub fn reward_sk(at: RewardPosition) -> String {
    format!("{REWARD_PREFIX}{:020}#{:04}", at.version, at.index)
}

/// Inverse of [`reward_sk`]; `None` if `sk` is not a reward row's sort key.
pub fn parse_reward_sk(sk: &str) -> Option<RewardPosition> {
    let (version, index) = sk.strip_prefix(REWARD_PREFIX)?.split_once('#')?;
    Some(RewardPosition {
        version: version.parse().ok()?,
        index: index.parse().ok()?,
    })
}

/// `gsi1pk` of every reward row waiting for a fulfiler (pending or delivering); removed
/// once it is delivered or failed. One partition: rewards are a small fraction of writes
/// (a few per customer a year), far below a partition's 1,000 writes a second.
pub const WAITING_REWARDS_GSI_PK: &str = "REWARD#WAITING";

/// `gsi1sk` of a waiting reward row: since when it waits (microseconds since the Unix
/// epoch, zero-padded so that string order is time order), then the row's keys.
pub fn waiting_reward_gsi_sk(since: Timestamp, pk: &str, sk: &str) -> String {
    format!("{}#{pk}#{sk}", waiting_bound(since))
}

/// The `gsi1sk` below which every row waits since before `t`.
pub fn waiting_bound(t: Timestamp) -> String {
    format!("{:020}", t.as_microsecond().max(0))
}

/// Partition key of the "event applied" marker: the event id alone (sort key [`MARKER_SK`]).
pub fn marker_pk(event: &EventId) -> String {
    format!("EVT#{}", event.as_str())
}

/// `gsi1pk` of the customers whose soonest lot expires in the month of `day`: one
/// partition a month, sorted by day ([`expiry_gsi_sk`]), so that the daily job reads a range
/// of days (the day due and any still waiting) with one Query.
pub fn expiry_gsi_pk(day: Date) -> String {
    format!("EXP#{}", day.strftime("%Y-%m"))
}

/// `gsi1sk` of a customer in the expiry index: the day, then the customer.
pub fn expiry_gsi_sk(day: Date, customer: &CustomerId) -> String {
    format!("{}#{}", day.strftime("%Y-%m-%d"), customer_pk(customer))
}

/// The lowest and highest `gsi1sk` of the days `from..=through` (within one month).
pub fn expiry_gsi_sk_range(from: Date, through: Date) -> (String, String) {
    // '~' sorts after every character of a customer key's start (`CUST#`).
    (
        from.strftime("%Y-%m-%d").to_string(),
        format!("{}#~", through.strftime("%Y-%m-%d")),
    )
}

/// `gsi1pk` of the subscriptions whose anniversary is `month`-`day`.
pub fn anniversary_gsi_pk(month: i8, day: i8) -> String {
    format!("ANNIV#{month:02}-{day:02}")
}

/// `gsi1pk` of a subscription whose local start date (program timezone, as the engine
/// recorded it) is `started_on`. A subscription started on 29 February is filed under
/// `ANNIV#02-29`; the scheduler reads that key on 28 February in common years.
pub fn anniversary_gsi_pk_of(started_on: Date) -> String {
    anniversary_gsi_pk(started_on.month(), started_on.day())
}

/// `gsi1sk` of a subscription: its customer and id.
pub fn subscription_gsi_sk(customer: &CustomerId, subscription: &str) -> String {
    format!("{}#{subscription}", customer_pk(customer))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    #[test]
    fn when_customer_pk_is_parsed_then_the_customer_comes_back() {
        let c = CustomerId::new(Provider::Chargebee, "cus#with#hashes");
        assert_eq!(parse_customer_pk(&customer_pk(&c)), Some(c));
        assert_eq!(parse_customer_pk("EVT#x"), None);
        assert_eq!(parse_customer_pk("CUST#paypal#1"), None);
    }

    #[test]
    fn when_sequences_are_padded_then_string_order_is_numeric_order() {
        assert!(line_sk(9) < line_sk(10));
        assert!(line_sk(10) < line_sk(u64::MAX));
        let at = |version, index| RewardPosition { version, index };
        assert!(reward_sk(at(9, 12)) < reward_sk(at(10, 0)));
        assert!(reward_sk(at(10, 9)) < reward_sk(at(10, 10)));
        assert!(reward_sk(at(10, MAX_REWARD_INDEX)) < reward_sk(at(11, 0)));
        assert_eq!(parse_reward_sk(&reward_sk(at(7, 3))), Some(at(7, 3)));
        assert_eq!(parse_reward_sk("L#1"), None);
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let early = waiting_reward_gsi_sk(t("2026-05-01T12:00:00Z"), "CUST#custom#a", "R#1");
        let late = waiting_reward_gsi_sk(t("2026-05-01T12:00:00.5Z"), "CUST#custom#a", "R#1");
        assert!(early < late && early < waiting_bound(t("2026-05-01T12:00:00.000001Z")));
        assert!(waiting_bound(t("2026-05-01T12:00:00Z")) < early);
    }

    #[test]
    fn when_items_are_keyed_then_lines_rewards_and_indexes_never_share_a_prefix() {
        let first = RewardPosition {
            version: 1,
            index: 0,
        };
        let (line, reward, meta) = (line_sk(1), reward_sk(first), META_SK);
        for index in [EXPIRY_INDEX_SK.to_owned(), anniversary_index_sk("sub_1")] {
            assert!(index.starts_with("I#"), "{index}");
            assert!(
                !line.starts_with("I#") && !reward.starts_with("I#") && !meta.starts_with("I#")
            );
        }
        assert!(line.starts_with(LINE_PREFIX) && !reward.starts_with(LINE_PREFIX));
    }

    #[test]
    fn when_a_subscription_started_then_its_anniversary_key_is_the_local_month_day() {
        // 23:30 in New York on 29 February is 1 March in UTC: the local date counts.
        let t: Timestamp = "2024-02-29T23:30:00-05:00".parse().unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(anniversary_gsi_pk_of(t.to_zoned(ny).date()), "ANNIV#02-29");
        let d = jiff::civil::date(2026, 1, 5);
        assert_eq!(expiry_gsi_pk(d), "EXP#2026-01");
        let c = CustomerId::new(Provider::Stripe, "cus_1");
        let sk = expiry_gsi_sk(d, &c);
        assert_eq!(sk, "2026-01-05#CUST#stripe#cus_1");
        let (lo, hi) = expiry_gsi_sk_range(d, d);
        assert!(lo < sk && sk < hi);
        let (lo, hi) = expiry_gsi_sk_range(jiff::civil::date(2026, 1, 6), d.tomorrow().unwrap());
        assert!(!(lo < sk && sk < hi));
    }
}
