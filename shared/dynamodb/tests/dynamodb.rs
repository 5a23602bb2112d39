//! The DynamoDB adapter against moto server: layout, conditions, indexes, request counts.
//! Run through `infra/test.sh`, which starts the emulator and sets the endpoint.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use jiff::civil::date;
use saguaro_domain::event::{Event, Trigger};
use saguaro_domain::ids::{CustomerId, EventId, PaymentKey, Provider};
use saguaro_domain::ledger::{Delivery, LedgerLine, LineKind, RewardOutbox};
use saguaro_domain::money::Money;
use saguaro_domain::ports::ScheduleStore as _;
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, HistoryStore, PageRequest, RewardPageRequest, StateStore,
    StoreError,
};
use saguaro_domain::program::{ProgramVersion, RewardKind};
use saguaro_domain::state::{
    CapCounter, CustomerState, EarnedLine, Lot, PaymentRecord, SubscriptionSnapshot,
};
use saguaro_dynamodb::{DynamoStore, MAX_TRANSACTION_ITEMS, keys};

use common::fresh_store;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cust(id: &str) -> CustomerId {
    CustomerId::new(Provider::Stripe, id)
}

fn marker(c: &CustomerId, event: &str, hash: &str) -> Option<EventMarker> {
    Some(EventMarker {
        event_id: EventId::new(event),
        customer: c.clone(),
        payload_hash: hash.to_owned(),
        synthetic: false,
    })
}

fn line(c: &CustomerId, seq: u64, points: i64, balance_after: i64) -> LedgerLine {
    LedgerLine {
        seq,
        customer: c.clone(),
        kind: LineKind::Earn,
        points,
        balance_after,
        rule: "spend".into(),
        program_version: ProgramVersion("v1".into()),
        event_id: EventId::new(format!("evt-{seq}")),
        occurred_at: t("2026-03-01T10:00:00Z"),
        refers_to: None,
        reason: None,
    }
}

fn reward(c: &CustomerId, id: &str) -> RewardOutbox {
    RewardOutbox {
        id: id.into(),
        customer: c.clone(),
        reward: "credit-5".into(),
        kind: RewardKind::BillingCredit,
        points: 500,
        quantity: 1,
        line: Some(3),
        event_id: EventId::new("evt-3"),
        created_at: t("2026-03-01T10:00:00Z"),
        value: Some(Money::new(500, "usd".parse().unwrap())),
        coupon: None,
        grant: None,
        url: None,
        secret: None,
        notice: None,
        delivery: Delivery::pending(),
    }
}

/// A state that uses every field: lots with and without expiry, payments, subscriptions,
/// caps, tiers, grants, referral data and a pending follow-up event.
fn rich_state(c: &CustomerId) -> CustomerState {
    let usd = "usd".parse().unwrap();
    let mut s = CustomerState::new(c.clone());
    s.version = 1;
    s.balance = 1_250;
    s.deficit = 0;
    s.next_seq = 4;
    s.lots = vec![
        Lot {
            line: 2,
            expires_on: Some(date(2027, 3, 1)),
            remaining: 750,
        },
        Lot {
            line: 1,
            expires_on: None,
            remaining: 500,
        },
    ];
    s.qualifying_lifetime = 1_250;
    s.qualifying_by_month = BTreeMap::from([(202_602, 500), (202_603, 750)]);
    s.tier = Some("Gold".into());
    s.tiers_reached = BTreeSet::from(["Member".into(), "Gold".into()]);
    s.grants = BTreeSet::from(["priority-support".into()]);
    s.caps = vec![CapCounter {
        rule: "spend".into(),
        period: "2026-03".into(),
        ends: Some(t("2026-04-01T04:00:00Z")),
        used: 750,
    }];
    s.payments = BTreeMap::from([
        (
            PaymentKey::of("pi_1"),
            PaymentRecord {
                day: Some(date(2026, 2, 10)),
                amount: Some(Money::new(50_00, usd)),
                earned: vec![EarnedLine {
                    line: 1,
                    points: 500,
                    reversed: 0,
                    month: 202_602,
                }],
                refunded: 0,
            },
        ),
        (
            PaymentKey::of("pi_refund_first"),
            PaymentRecord {
                day: Some(date(2026, 2, 28)),
                amount: None,
                earned: vec![],
                refunded: 10_00,
            },
        ),
    ]);
    s.subscriptions = BTreeMap::from([
        (
            "sub_1".into(),
            SubscriptionSnapshot {
                plan: Some("pro".into()),
                status: Some("active".into()),
                started_at: Some(t("2025-03-14T09:00:00Z")),
                started_on: Some(date(2025, 3, 14)),
                monthly_amount: Some(Money::new(50_00, usd)),
                resource_version: None,
                updated_at: t("2026-03-01T10:00:00Z"),
            },
        ),
        (
            "sub_unknown_start".into(),
            SubscriptionSnapshot {
                plan: None,
                status: Some("cancelled".into()),
                started_at: None,
                started_on: None,
                monthly_amount: None,
                resource_version: None,
                updated_at: t("2026-03-01T10:00:00Z"),
            },
        ),
    ]);
    s.currency = Some(usd);
    s.referrer = Some(CustomerId::new(Provider::Stripe, "cus_referrer"));
    s.referral_converted = true;
    s.pending = vec![Event::new(
        "ref:cus_rich",
        CustomerId::new(Provider::Stripe, "cus_referrer"),
        Trigger::ReferralConverted,
        t("2026-03-01T10:00:00Z"),
    )];
    s
}

fn first_commit(c: &CustomerId) -> Commit {
    Commit {
        marker: marker(c, "evt-1", "hash-1"),
        expected_version: 0,
        state: rich_state(c),
        lines: vec![line(c, 1, 500, 500), line(c, 2, 750, 1250)],
        rewards: vec![reward(c, "rw-b"), reward(c, "rw-a")],
    }
}

async fn all_lines(store: &impl HistoryStore, c: &CustomerId) -> Vec<LedgerLine> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .ledger(c, PageRequest { limit: 100, before })
            .await
            .unwrap();
        out.extend(page.lines);
        match page.next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

/// Every reward row, newest first.
async fn all_rewards(store: &impl HistoryStore, c: &CustomerId) -> Vec<RewardOutbox> {
    store
        .rewards(
            c,
            RewardPageRequest {
                limit: 100,
                before: None,
            },
        )
        .await
        .unwrap()
        .rewards
}

#[tokio::test]
async fn when_customer_is_unknown_then_load_is_none() {
    let (store, _) = fresh_store("unknown").await;
    assert_eq!(store.load(&cust("nobody")).await.unwrap(), None);
    assert!(all_rewards(&store, &cust("nobody")).await.is_empty());
    assert!(all_lines(&store, &cust("nobody")).await.is_empty());
}

#[tokio::test]
async fn when_state_is_committed_then_load_returns_it_whole() {
    let (store, _) = fresh_store("roundtrip").await;
    let c = cust("cus_rich");
    let commit = first_commit(&c);
    let want = commit.state.clone();
    assert_eq!(store.commit(commit).await.unwrap(), CommitOutcome::Applied);

    assert_eq!(store.load(&c).await.unwrap(), Some(want.clone()));
    // A second store (cold cache) reads the same thing.
    let other = DynamoStore::new(store.client().clone(), store.table());
    assert_eq!(other.load(&c).await.unwrap(), Some(want));
    let rewards = all_rewards(&store, &c).await;
    let ids: Vec<&str> = rewards.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["rw-a", "rw-b"], "newest first: commit order reversed");
    assert_eq!(rewards[1], reward(&c, "rw-b"));
}

#[tokio::test]
async fn when_the_soonest_lot_changes_then_the_expiry_index_follows_without_a_read() {
    for cold in [false, true] {
        let (store, counter) = fresh_store("diff").await;
        let c = cust("cus_diff");
        store.commit(first_commit(&c)).await.unwrap();
        let loaded = store.load(&c).await.unwrap().unwrap();

        let mut next = loaded.clone();
        next.version = 2;
        next.lots.retain(|l| l.line != 2); // consumed
        next.lots[0].remaining = 100; // partly consumed
        next.lots.push(Lot {
            line: 3,
            expires_on: Some(date(2027, 4, 1)),
            remaining: 10,
        });
        next.payments.remove(&PaymentKey::of("pi_refund_first"));
        next.subscriptions.remove("sub_unknown_start");
        // A cold writer never loaded the customer (state computed elsewhere): it rewrites
        // every index item, without reading first.
        let writer = DynamoStore::new(store.client().clone(), store.table());
        if !cold {
            writer.load(&c).await.unwrap();
        }
        counter.reset();
        let outcome = writer
            .commit(Commit {
                marker: marker(&c, "evt-2", "hash-2"),
                expected_version: 1,
                state: next.clone(),
                lines: vec![line(&c, 3, 10, 110)],
                rewards: vec![],
            })
            .await
            .unwrap();
        assert_eq!(outcome, CommitOutcome::Applied);
        assert_eq!(
            counter.snapshot(),
            BTreeMap::from([("TransactWriteItems".to_owned(), 1)]),
            "cold={cold}"
        );
        // marker, customer, expiry index, line; a cold writer also the anniversary index.
        assert_eq!(
            counter.transactions()[0].len(),
            4 + usize::from(cold),
            "cold={cold}"
        );

        assert_eq!(store.load(&c).await.unwrap(), Some(next), "cold={cold}");
        assert!(
            expiring_on(&store, date(2027, 3, 1)).await.is_empty(),
            "the consumed lot's day is no longer indexed"
        );
        assert_eq!(expiring_on(&store, date(2027, 4, 1)).await, vec![c.clone()]);
    }
}

#[tokio::test]
async fn when_nothing_indexed_changes_then_a_commit_writes_only_marker_customer_and_lines() {
    let (store, counter) = fresh_store("three").await;
    let c = cust("cus_three");
    store.commit(first_commit(&c)).await.unwrap();
    let mut next = store.load(&c).await.unwrap().unwrap();
    next.version = 2;
    next.balance += 1;
    next.lots[0].remaining += 1;
    counter.reset();
    store
        .commit(Commit {
            marker: marker(&c, "evt-2", "h2"),
            expected_version: 1,
            state: next.clone(),
            lines: vec![line(&c, 3, 1, 1251)],
            rewards: vec![],
        })
        .await
        .unwrap();
    let sizes = &counter.transactions()[0];
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert!(sizes.iter().all(|b| *b <= 1024), "{sizes:?}");
    assert_eq!(counter.transactional_write_units(), 6);
    assert_eq!(store.load(&c).await.unwrap(), Some(next));
}

#[tokio::test]
async fn when_the_marker_exists_then_commit_is_already_applied_and_writes_nothing() {
    let (store, counter) = fresh_store("marker").await;
    let c = cust("cus_m");
    store.commit(first_commit(&c)).await.unwrap();
    let before = store.load(&c).await.unwrap().unwrap();

    counter.reset();
    let mut again = first_commit(&c);
    again.expected_version = 1;
    again.state.version = 2;
    again.state.balance = 99_999;
    again.lines = vec![line(&c, 3, 1, 1)];
    assert_eq!(
        store.commit(again.clone()).await.unwrap(),
        CommitOutcome::AlreadyApplied { same_payload: true }
    );
    // The cancelled transaction returned the stored marker: no extra read.
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("TransactWriteItems".to_owned(), 1)])
    );
    // Marker wins over the version: a stale version with an existing marker is still
    // "already applied", not a conflict.
    let mut stale = again.clone();
    stale.expected_version = 0;
    assert_eq!(
        store.commit(stale).await.unwrap(),
        CommitOutcome::AlreadyApplied { same_payload: true }
    );
    again.marker = marker(&c, "evt-1", "another-hash");
    assert_eq!(
        store.commit(again).await.unwrap(),
        CommitOutcome::AlreadyApplied {
            same_payload: false
        }
    );
    assert_eq!(store.load(&c).await.unwrap(), Some(before));
    assert_eq!(all_lines(&store, &c).await.len(), 2);
}

#[tokio::test]
async fn when_the_version_is_stale_then_commit_conflicts_and_writes_nothing() {
    let (store, _) = fresh_store("stale").await;
    let c = cust("cus_s");
    store.commit(first_commit(&c)).await.unwrap();
    let before = store.load(&c).await.unwrap().unwrap();

    let mut stale = first_commit(&c);
    stale.marker = marker(&c, "evt-new", "h");
    stale.lines = vec![line(&c, 3, 5, 5)];
    stale.rewards = vec![reward(&c, "rw-new")];
    let err = store.commit(stale.clone()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected: 0, .. }),
        "{err:?}"
    );
    // Also for a customer item that is ahead of the expected (non-zero) version.
    stale.expected_version = 5;
    stale.state.version = 6;
    let err = store.commit(stale).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected: 5, .. }),
        "{err:?}"
    );

    assert_eq!(store.load(&c).await.unwrap(), Some(before));
    assert_eq!(all_lines(&store, &c).await.len(), 2);
    assert_eq!(all_rewards(&store, &c).await.len(), 2);
    // The marker of the refused commit was not written either: it can still apply.
    let mut retry = first_commit(&c);
    retry.marker = marker(&c, "evt-new", "h");
    retry.expected_version = 1;
    retry.state.version = 2;
    retry.lines = vec![line(&c, 3, 5, 5)];
    retry.rewards = vec![];
    assert_eq!(store.commit(retry).await.unwrap(), CommitOutcome::Applied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_two_commits_race_from_one_version_then_exactly_one_applies() {
    let (store, _) = fresh_store("race").await;
    let store = Arc::new(common::OneAtATime(store));
    let c = cust("cus_race");
    store.commit(first_commit(&c)).await.unwrap();
    let base = store.load(&c).await.unwrap().unwrap();

    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = Arc::clone(&store);
        let c = c.clone();
        let mut state = base.clone();
        state.version = 2;
        state.balance += i;
        tasks.push(tokio::spawn(async move {
            store
                .commit(Commit {
                    marker: marker(&c, &format!("evt-race-{i}"), "h"),
                    expected_version: 1,
                    state,
                    lines: vec![line(&c, 3, i, 1250 + i)],
                    rewards: vec![],
                })
                .await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(CommitOutcome::Applied) => applied += 1,
            Err(StoreError::Conflict { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    let after = store.load(&c).await.unwrap().unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(all_lines(&store, &c).await.len(), 3);
}

#[tokio::test]
async fn when_ledger_is_paged_then_lines_come_newest_first_across_pages() {
    let (store, _) = fresh_store("ledger").await;
    let c = cust("cus_l");
    let mut state = CustomerState::new(c.clone());
    // 25 lines in three commits.
    let mut seq = 1;
    for (v, n) in [(0u64, 10u64), (1, 10), (2, 5)] {
        state.version = v + 1;
        let lines = (0..n)
            .map(|_| {
                seq += 1;
                line(&c, seq - 1, 1, i64::try_from(seq).unwrap())
            })
            .collect();
        let commit = Commit {
            marker: None,
            expected_version: v,
            state: state.clone(),
            lines,
            rewards: vec![],
        };
        assert_eq!(store.commit(commit).await.unwrap(), CommitOutcome::Applied);
    }
    let mut seen = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = store
            .ledger(&c, PageRequest { limit: 10, before })
            .await
            .unwrap();
        pages += 1;
        assert!(page.lines.len() <= 10);
        seen.extend(page.lines.iter().map(|l| l.seq));
        match page.next {
            Some(n) => {
                assert_eq!(Some(&n), seen.last());
                before = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=25).rev().collect::<Vec<_>>());
    // A page that ends exactly at the last line says there is no next page.
    let exact = store
        .ledger(
            &c,
            PageRequest {
                limit: 5,
                before: Some(6),
            },
        )
        .await
        .unwrap();
    assert_eq!(exact.lines.len(), 5);
    assert_eq!(exact.next, None);
    // Lines are never mixed with rewards or state items.
    assert!(
        store
            .ledger(
                &c,
                PageRequest {
                    limit: 10,
                    before: Some(1)
                }
            )
            .await
            .unwrap()
            .lines
            .is_empty()
    );
}

#[tokio::test]
async fn when_lots_expire_on_a_day_then_the_index_finds_their_customers() {
    let (store, _) = fresh_store("expiry").await;
    let a = cust("cus_a");
    let b = cust("cus_b");
    for (c, event) in [(&a, "evt-a"), (&b, "evt-b")] {
        // One event id is one event: each customer's first commit has its own.
        let mut commit = first_commit(c);
        commit.marker = marker(c, event, "hash-1");
        store.commit(commit).await.unwrap();
    }
    let mut found = expiring_on(&store, date(2027, 3, 1)).await;
    found.sort();
    assert_eq!(found, vec![a, b]);
    assert!(expiring_on(&store, date(2027, 3, 2)).await.is_empty());
}

#[tokio::test]
async fn when_a_subscription_has_its_anniversary_then_the_index_finds_it() {
    let (store, _) = fresh_store("anniv").await;
    let c = cust("cus_sub");
    let commit = first_commit(&c);
    let started = commit.state.subscriptions["sub_1"].started_at.unwrap();
    store.commit(commit).await.unwrap();

    let found = store.anniversaries(3, 14, None, 10).await.unwrap().items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].customer, c);
    assert_eq!(found[0].subscription, "sub_1");
    assert_eq!(
        Some(found[0].started_on),
        Some(started.to_zoned(jiff::tz::TimeZone::UTC).date())
    );
    assert!(
        store
            .anniversaries(3, 15, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn when_a_marker_is_written_then_it_expires_no_sooner_than_seven_days() {
    let (store, _) = fresh_store("ttl").await;
    let c = cust("cus_ttl");
    let before = Timestamp::now().as_second();
    store.commit(first_commit(&c)).await.unwrap();
    let got = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            keys::PK,
            AttributeValue::S(keys::marker_pk(&EventId::new("evt-1"))),
        )
        .key(keys::SK, AttributeValue::S(keys::MARKER_SK.to_owned()))
        .send()
        .await
        .unwrap();
    let item = got.item.expect("marker item");
    let ttl: i64 = item[keys::TTL].as_n().unwrap().parse().unwrap();
    assert!(ttl >= before + 7 * 24 * 3600, "ttl {ttl} too soon");
    assert_eq!(item[keys::PAYLOAD_HASH].as_s().unwrap(), "hash-1");
    assert_eq!(
        item[keys::MARKER_CUSTOMER].as_s().unwrap(),
        &keys::customer_pk(&c)
    );
    let described = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let spec = described.time_to_live_description.unwrap();
    assert_eq!(spec.attribute_name(), Some(keys::TTL));
}

#[tokio::test]
async fn when_one_commit_and_one_load_run_then_they_are_one_request_each() {
    let (store, counter) = fresh_store("count").await;
    let c = cust("cus_count");
    store.commit(first_commit(&c)).await.unwrap();
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("TransactWriteItems".to_owned(), 1)])
    );
    counter.reset();
    let loaded = store.load(&c).await.unwrap().unwrap();
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("GetItem".to_owned(), 1)])
    );
    counter.reset();
    let mut next = loaded;
    next.version = 2;
    next.balance += 1;
    store
        .commit(Commit {
            marker: marker(&c, "evt-2", "h2"),
            expected_version: 1,
            state: next,
            lines: vec![line(&c, 3, 1, 1251)],
            rewards: vec![],
        })
        .await
        .unwrap();
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("TransactWriteItems".to_owned(), 1)])
    );
}

#[tokio::test]
async fn when_a_commit_exceeds_the_transaction_limit_then_it_is_refused_whole() {
    let (store, counter) = fresh_store("toolarge").await;
    let c = cust("cus_big");
    let mut state = CustomerState::new(c.clone());
    state.version = 1;
    let lines = (1..=MAX_TRANSACTION_ITEMS as u64)
        .map(|s| line(&c, s, 1, 1))
        .collect();
    let err = store
        .commit(Commit {
            marker: marker(&c, "evt-big", "h"),
            expected_version: 0,
            state,
            lines,
            rewards: vec![],
        })
        .await
        .unwrap_err();
    // permanent: the same commit is refused again, so it must not be retried
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("more than the limit of 100"), "{source}");
    assert_eq!(counter.get("TransactWriteItems"), 0, "nothing was sent");
    assert_eq!(store.load(&c).await.unwrap(), None);

    // The marker still wins: a too-large redelivery of an applied event is a duplicate.
    store.commit(first_commit(&c)).await.unwrap();
    let mut redelivered = first_commit(&c);
    redelivered.expected_version = 1;
    redelivered.lines = (3..=MAX_TRANSACTION_ITEMS as u64 + 3)
        .map(|s| line(&c, s, 1, 1))
        .collect();
    assert_eq!(
        store.commit(redelivered).await.unwrap(),
        CommitOutcome::AlreadyApplied { same_payload: true }
    );
}

#[tokio::test]
async fn when_an_item_is_over_dynamodbs_size_limit_then_the_commit_is_rejected_not_unavailable() {
    let (store, _) = fresh_store("itemsize").await;
    let c = cust("cus_huge");
    let mut state = CustomerState::new(c.clone());
    state.version = 1;
    // the customer item's document alone is over DynamoDB's 400 KB item limit
    state.grants = BTreeSet::from(["g".repeat(450 * 1024)]);
    let err = store
        .commit(Commit {
            marker: marker(&c, "evt-huge", "h"),
            expected_version: 0,
            state,
            lines: vec![],
            rewards: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.load(&c).await.unwrap(), None, "nothing was written");
}

#[tokio::test]
async fn when_the_customer_item_is_damaged_then_load_reports_corruption_instead_of_a_guess() {
    let (store, _) = fresh_store("damaged").await;
    let c = cust("cus_damaged");
    store.commit(first_commit(&c)).await.unwrap();
    // Someone truncates the lots behind the adapter's back.
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(keys::PK, AttributeValue::S(keys::customer_pk(&c)))
        .key(keys::SK, AttributeValue::S(keys::META_SK.to_owned()))
        .update_expression("SET #l = :l")
        .expression_attribute_names("#l", keys::LOTS)
        .expression_attribute_values(
            ":l",
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![5, 1])),
        )
        .send()
        .await
        .unwrap();
    let err = store.load(&c).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

/// The customers the expiry index files under `day`.
async fn expiring_on(store: &DynamoStore, day: jiff::civil::Date) -> Vec<CustomerId> {
    store
        .expiring(day, day, None, 1000)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.customer)
        .collect()
}
