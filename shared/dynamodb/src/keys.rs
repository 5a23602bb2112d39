//! Every key and attribute name of the Saguaro table, in one place.
//!
//! One table, two string key attributes (`pk`, `sk`) and one sparse GSI (`gsi1`: `gsi1pk`,
//! `gsi1sk`). A customer's items share one partition so that loading their state is one
//! Query:
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` |
//! |---|---|---|---|
//! | customer (version, balance, scalars, manifest) | `CUST#{provider}#{id}` | `S#META` | |
//! | point lot | `CUST#…` | `S#LOT#{line:020}` | `EXP#{yyyy-mm-dd}` / `CUST#…#{line:020}` (only if it expires) |
//! | payment record | `CUST#…` | `S#PAY#{payment id}` | |
//! | subscription snapshot | `CUST#…` | `S#SUB#{subscription id}` | `ANNIV#{MM-DD}` / `CUST#…#{subscription id}` (only if `started_at` is known) |
//! | ledger line | `CUST#…` | `L#{seq:020}` | |
//! | reward outbox row | `CUST#…` | `R#{reward id}` | |
//! | event marker (customer, payload hash) | `EVT#{event id}` | `MARKER` | |
//!
//! State items sort under `S#`, so `begins_with(sk, "S#")` reads exactly the state; ledger
//! lines (`L#`) and rewards (`R#`) sit beside it and are never read by `load`. The event
//! marker lives in its own partition, keyed by the event id alone: one event id is one
//! event, so the id applied to one customer cannot be applied again to another (the
//! marker's [`MARKER_CUSTOMER`] and [`PAYLOAD_HASH`] tell a redelivery from a reused id). It
//! carries the numeric TTL attribute [`TTL`].

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use saguaro_domain::ids::{CustomerId, EventId, Provider};
use saguaro_domain::ledger::LineSeq;

/// The table's partition key (string).
pub const PK: &str = "pk";
/// The table's sort key (string).
pub const SK: &str = "sk";
/// The only global secondary index: lots by expiry day, subscriptions by anniversary.
pub const GSI1: &str = "gsi1";
/// `gsi1`'s partition key (string); absent on items that are not in the index.
pub const GSI1_PK: &str = "gsi1pk";
/// `gsi1`'s sort key (string).
pub const GSI1_SK: &str = "gsi1sk";
/// Epoch seconds after which DynamoDB deletes the item (event markers only).
pub const TTL: &str = "ttl";

/// What kind of item this is (`customer`, `lot`, `payment`, `subscription`, `line`,
/// `reward`, `marker`): for people reading the table, not for the code.
pub const KIND: &str = "kind";
/// Customer item: optimistic-concurrency version (number).
pub const VERSION: &str = "version";
/// Customer item: the balance (number), readable without parsing the document.
pub const BALANCE: &str = "balance";
/// Customer item: the current tier (string), when there is one.
pub const TIER: &str = "tier";
/// JSON document: the rest of the item's domain value.
pub const DOC: &str = "doc";
/// Customer item: which state items exist and the version each was last written at (JSON).
pub const MANIFEST: &str = "manifest";
/// State items: the customer version that last wrote the item (number).
pub const WRITTEN_AT: &str = "v";
/// Lot: the earning line (number).
pub const LINE: &str = "line";
/// Lot: points left (number).
pub const REMAINING: &str = "remaining";
/// Lot: last day of validity, `yyyy-mm-dd` (string; absent when it never expires).
pub const EXPIRES_ON: &str = "expires_on";
/// Payment and subscription items: the provider's id (string).
pub const ID: &str = "id";
/// Ledger line: its sequence number (number).
pub const SEQ: &str = "seq";
/// Reward: delivery status (`pending`, `delivered`, `failed`), readable without the document.
pub const DELIVERY: &str = "delivery";
/// Event marker: SHA-256 of the event (string).
pub const PAYLOAD_HASH: &str = "payload_hash";
/// Event marker: the customer it was applied to, as [`customer_pk`] spells it (string).
pub const MARKER_CUSTOMER: &str = "customer";
/// Event marker: when it was written, RFC 3339 (string).
pub const APPLIED_AT: &str = "applied_at";

/// Sort-key prefix shared by every item `load` reads.
pub const STATE_PREFIX: &str = "S#";
/// Sort key of the customer item.
pub const META_SK: &str = "S#META";
/// Sort-key prefix of ledger lines.
pub const LINE_PREFIX: &str = "L#";
/// Sort-key prefix of reward outbox rows.
pub const REWARD_PREFIX: &str = "R#";
/// Sort key of every event marker (the partition, [`marker_pk`], is the event).
pub const MARKER_SK: &str = "MARKER";

const LOT_PREFIX: &str = "S#LOT#";
const PAY_PREFIX: &str = "S#PAY#";
const SUB_PREFIX: &str = "S#SUB#";
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

/// Sort key of the lot earned by line `line`.
pub fn lot_sk(line: LineSeq) -> String {
    format!("{LOT_PREFIX}{line:020}")
}

/// Sort key of the payment record `payment`.
pub fn payment_sk(payment: &str) -> String {
    format!("{PAY_PREFIX}{payment}")
}

/// Sort key of the subscription snapshot `subscription`.
pub fn subscription_sk(subscription: &str) -> String {
    format!("{SUB_PREFIX}{subscription}")
}

/// Sort key of ledger line `seq` (zero-padded so that string order is numeric order).
pub fn line_sk(seq: LineSeq) -> String {
    format!("{LINE_PREFIX}{seq:020}")
}

/// Sort key of reward outbox row `reward_id`.
pub fn reward_sk(reward_id: &str) -> String {
    format!("{REWARD_PREFIX}{reward_id}")
}

/// Partition key of the "event applied" marker: the event id alone (sort key [`MARKER_SK`]).
pub fn marker_pk(event: &EventId) -> String {
    format!("EVT#{}", event.as_str())
}

/// `gsi1pk` of the lots that expire at the end of `day`.
pub fn expiry_gsi_pk(day: Date) -> String {
    format!("EXP#{}", day.strftime("%Y-%m-%d"))
}

/// `gsi1sk` of a lot: its customer and line, unique within the day.
pub fn lot_gsi_sk(customer: &CustomerId, line: LineSeq) -> String {
    format!("{}#{line:020}", customer_pk(customer))
}

/// `gsi1pk` of the subscriptions whose anniversary is `month`-`day`.
pub fn anniversary_gsi_pk(month: i8, day: i8) -> String {
    format!("ANNIV#{month:02}-{day:02}")
}

/// `gsi1pk` of a subscription that started at `started_at`: its month and day in UTC.
/// A subscription started on 29 February is filed under `ANNIV#02-29`; the scheduler reads
/// that key on 28 February in common years.
pub fn anniversary_gsi_pk_of(started_at: Timestamp) -> String {
    let date = started_at.to_zoned(TimeZone::UTC).date();
    anniversary_gsi_pk(date.month(), date.day())
}

/// `gsi1sk` of a subscription: its customer and id.
pub fn subscription_gsi_sk(customer: &CustomerId, subscription: &str) -> String {
    format!("{}#{subscription}", customer_pk(customer))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
        assert!(lot_sk(99) < lot_sk(100));
    }

    #[test]
    fn when_state_items_are_keyed_then_they_share_the_state_prefix_and_lines_do_not() {
        for sk in [
            META_SK.to_owned(),
            lot_sk(1),
            payment_sk("pi_1"),
            subscription_sk("sub_1"),
        ] {
            assert!(sk.starts_with(STATE_PREFIX), "{sk}");
        }
        assert!(!line_sk(1).starts_with(STATE_PREFIX));
        assert!(!reward_sk("r").starts_with(STATE_PREFIX));
    }

    #[test]
    fn when_a_subscription_started_then_its_anniversary_key_is_the_utc_month_day() {
        let t: Timestamp = "2024-02-29T23:30:00-05:00".parse().unwrap();
        assert_eq!(anniversary_gsi_pk_of(t), "ANNIV#03-01");
        let d = jiff::civil::date(2026, 1, 5);
        assert_eq!(expiry_gsi_pk(d), "EXP#2026-01-05");
    }
}
