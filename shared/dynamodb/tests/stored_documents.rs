//! Golden samples of what the stores hold: a state written by an earlier build must still
//! read back. Its `pending` list keeps a referral follow-up (a whole `Event`) until it is
//! delivered to the referrer, so renaming or retyping an `Event` or `CustomerState` field
//! would otherwise strand follow-ups already stored (docs/design.md §5.1).
//!
//! Two samples, kept verbatim: the `CustomerState` JSON document (what the SQLite store
//! keeps in `customers.state`), and the compact customer item of the DynamoDB layout
//! (format 1 of `shared/dynamodb/src/codec.rs`: short field names, produced once by that
//! build's `customer_item`). Do not regenerate them; add a new one next to them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use saguaro_domain::ports::StateStore;
use saguaro_domain::state::{CapCounter, CustomerState};
use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, SubscriptionInfo, Trigger};
use saguaro_dynamodb::keys;

use common::fresh_store;

/// A referred customer's state right after their first payment converted the referral: the
/// referrer's follow-up is pending.
const STATE_DOC_WITH_FOLLOW_UP: &str = r#"{"customer":{"provider":"stripe","id":"cus_Friend"},"version":2,"balance":319,"deficit":0,"next_seq":4,"lots":[],"qualifying_lifetime":319,"qualifying_by_month":{},"tier":"Member","tiers_reached":["Member"],"grants":[],"caps":[{"rule":"spend","period":"2025-12","ends":"2026-01-01T05:00:00Z","used":19}],"payments":{},"subscriptions":{},"currency":"usd","referrer":{"provider":"stripe","id":"cus_Referrer"},"referral_converted":true,"referred":[],"pending":[{"provider":"stripe","id":"referral:stripe:cus_Friend","occurred_at":"2025-12-05T10:30:00Z","customer":{"provider":"stripe","id":"cus_Friend"},"trigger":"referral.converted","amount":{"minor":1999,"currency":"usd"},"subscription":{"id":"sub_1","plan":"price_gold","status":"active","started_at":"2025-12-05T10:20:00Z","monthly_amount":{"minor":1999,"currency":"usd"}},"refs":{"payment":"pi_1","referrer":{"provider":"stripe","id":"cus_Referrer"}}}]}"#;

/// The same state as the `doc` of a compact customer item (format 1), as the DynamoDB store
/// writes it; version, balance and tier are attributes of their own.
const COMPACT_DOC_WITH_FOLLOW_UP: &str = r#"{"f":1,"n":4,"q":319,"tr":["Member"],"c":[["spend","2025-12",1767243600,19]],"cur":"usd","ref":{"provider":"stripe","id":"cus_Referrer"},"rc":true,"pe":[{"provider":"stripe","id":"referral:stripe:cus_Friend","occurred_at":"2025-12-05T10:30:00Z","customer":{"provider":"stripe","id":"cus_Friend"},"trigger":"referral.converted","amount":{"minor":1999,"currency":"usd"},"subscription":{"id":"sub_1","plan":"price_gold","status":"active","started_at":"2025-12-05T10:20:00Z","monthly_amount":{"minor":1999,"currency":"usd"}},"refs":{"payment":"pi_1","referrer":{"provider":"stripe","id":"cus_Referrer"}}}]}"#;

fn usd(minor: i64) -> Money {
    Money::new(minor, "usd".parse::<Currency>().unwrap())
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn friend() -> CustomerId {
    CustomerId::new(Provider::Stripe, "cus_Friend")
}

fn referrer() -> CustomerId {
    CustomerId::new(Provider::Stripe, "cus_Referrer")
}

fn follow_up() -> Event {
    let mut e = Event::new(
        "referral:stripe:cus_Friend",
        friend(),
        Trigger::ReferralConverted,
        at("2025-12-05T10:30:00Z"),
    );
    e.amount = Some(usd(1999));
    e.subscription = Some(SubscriptionInfo {
        id: "sub_1".to_owned(),
        plan: Some("price_gold".to_owned()),
        status: Some("active".to_owned()),
        started_at: Some(at("2025-12-05T10:20:00Z")),
        monthly_amount: Some(usd(1999)),
        resource_version: None,
    });
    e.refs.payment = Some("pi_1".to_owned());
    e.refs.referrer = Some(referrer());
    e
}

fn expected_state() -> CustomerState {
    let mut s = CustomerState::new(friend());
    s.version = 2;
    s.balance = 319;
    s.next_seq = 4;
    s.qualifying_lifetime = 319;
    s.qualifying_by_month = BTreeMap::new();
    s.tier = Some("Member".to_owned());
    s.tiers_reached = BTreeSet::from(["Member".to_owned()]);
    s.caps = vec![CapCounter {
        rule: "spend".to_owned(),
        period: "2025-12".to_owned(),
        ends: Some(at("2026-01-01T05:00:00Z")),
        used: 19,
    }];
    s.currency = Some("usd".parse().unwrap());
    s.referrer = Some(referrer());
    s.referral_converted = true;
    s.pending = vec![follow_up()];
    s
}

#[test]
fn when_a_state_document_with_a_pending_follow_up_was_stored_then_it_still_reads() {
    let state: CustomerState = serde_json::from_str(STATE_DOC_WITH_FOLLOW_UP).unwrap();
    assert_eq!(state, expected_state());
    assert_eq!(state.pending[0].refs.referrer, Some(referrer()));
}

#[tokio::test]
async fn when_the_table_holds_a_customer_item_from_an_earlier_build_then_load_returns_its_follow_up()
 {
    // given the customer item exactly as that build wrote it
    let (store, _) = fresh_store("golden").await;
    let item = HashMap::from([
        (
            keys::PK.to_owned(),
            AttributeValue::S(keys::customer_pk(&friend())),
        ),
        (
            keys::SK.to_owned(),
            AttributeValue::S(keys::META_SK.to_owned()),
        ),
        (
            keys::KIND.to_owned(),
            AttributeValue::S("customer".to_owned()),
        ),
        (keys::VERSION.to_owned(), AttributeValue::N("2".to_owned())),
        (
            keys::BALANCE.to_owned(),
            AttributeValue::N("319".to_owned()),
        ),
        (
            keys::TIER.to_owned(),
            AttributeValue::S("Member".to_owned()),
        ),
        (
            keys::DOC.to_owned(),
            AttributeValue::S(COMPACT_DOC_WITH_FOLLOW_UP.to_owned()),
        ),
    ]);
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    // when
    let state = store.load(&friend()).await.unwrap();
    // then
    assert_eq!(state, Some(expected_state()));
}
