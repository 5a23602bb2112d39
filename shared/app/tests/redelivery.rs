//! Property tests of docs/design.md §5.1 through the real earn service and the embedded store:
//! re-delivering any events of a random sequence, any number of times, at any later point,
//! gives the same ledger as the sequence without duplicates; the balance always equals the
//! sum of the ledger.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use proptest::prelude::*;
use saguaro_app::Earner;
use saguaro_domain::ports::{HistoryStore, PageRequest, StateStore};
use saguaro_domain::{CustomerId, Event, LedgerLine, Money, Program, Provider, Trigger};
use saguaro_embedded::EmbeddedStore;

const PROGRAM: &str = r#"
[program]
name = "Props"
timezone = "Europe/Berlin"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { eur = 100 }
cap = { points = 400, per = "day" }

[[earn]]
id = "welcome"
on = "subscription.created"
points = 30

[[earn]]
id = "referrer"
on = "referral.converted"
points = 75
beneficiary = "referrer"

[[tiers]]
name = "Base"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 300
multiplier = "1.5"

[[promotions]]
id = "boost"
starts = 2026-06-03T00:00:00
ends = 2026-06-05T00:00:00
multiplier = "2"
bonus = 3

[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 120
value = { eur = 500 }

[expiry]
after_days = 3
"#;

const CUSTOMERS: [&str; 3] = ["ana", "ben", "cy"];

fn customer(i: usize) -> CustomerId {
    CustomerId::new(Provider::Custom, CUSTOMERS[i % CUSTOMERS.len()])
}

/// One generated event: (kind, customer, amount, hour offset).
fn event_strategy() -> impl Strategy<Value = (u8, usize, i64, i64)> {
    (0u8..6, 0usize..3, 0i64..60_000, 0i64..(24 * 8))
}

fn build(n: usize, spec: (u8, usize, i64, i64), previous_payments: &[(usize, String)]) -> Event {
    let (kind, who, amount, hours) = spec;
    let c = customer(who);
    let at = Timestamp::from_second(1_780_272_000 + hours * 3600).unwrap_or(Timestamp::UNIX_EPOCH);
    let eur = "eur".parse().unwrap_or_else(|e| panic!("{e}"));
    let id = format!("e{n}");
    match kind {
        0 | 1 => {
            let mut e = Event::new(id, c, Trigger::PaymentSucceeded, at);
            e.amount = Some(Money::new(amount, eur));
            e.refs.payment = Some(format!("pay{n}"));
            if kind == 1 {
                e.refs.referrer = Some(customer(who + 1));
            }
            e
        }
        2 => {
            let mut e = Event::new(id, c, Trigger::SubscriptionCreated, at);
            e.refs.referrer = Some(customer(who + 2));
            e
        }
        3 => match previous_payments.iter().find(|(w, _)| *w == who) {
            Some((_, payment)) => {
                let mut e = Event::new(id, c, Trigger::PaymentRefunded, at);
                e.amount = Some(Money::new(amount / 3, eur));
                e.refs.payment = Some(payment.clone());
                e
            }
            None => Event::new(id, c, Trigger::PointsExpired, at),
        },
        4 => Event::new(id, c, Trigger::PointsExpired, at),
        _ => {
            let mut e = Event::new(id, c, Trigger::PointsAdjusted, at);
            e.points = Some(amount % 200 - 100);
            e
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

type Ledgers = BTreeMap<CustomerId, (i64, Vec<LedgerLine>)>;

async fn apply_all(program: &Arc<Program>, events: &[Event], check_each: bool) -> Ledgers {
    let store = Arc::new(EmbeddedStore::new());
    let earner = Earner::new(store.clone(), program.clone());
    for e in events {
        if let Err(err) = earner.apply(e).await {
            panic!("{}: {err}", e.id);
        }
        if check_each {
            for i in 0..CUSTOMERS.len() {
                let (balance, lines) = ledger(&store, &customer(i)).await;
                assert_eq!(
                    balance,
                    lines.iter().map(|l| l.points).sum::<i64>(),
                    "after {}",
                    e.id
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    for i in 0..CUSTOMERS.len() {
        out.insert(customer(i), ledger(&store, &customer(i)).await);
    }
    out
}

async fn ledger(store: &EmbeddedStore, c: &CustomerId) -> (i64, Vec<LedgerLine>) {
    let balance = store.load(c).await.ok().flatten().map_or(0, |s| s.balance);
    let lines = store
        .ledger(
            c,
            PageRequest {
                limit: 100_000,
                before: None,
            },
        )
        .await
        .map(|p| p.lines)
        .unwrap_or_default();
    (balance, lines)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn when_events_are_redelivered_anywhere_later_then_the_ledger_is_the_first_applications(
        specs in prop::collection::vec(event_strategy(), 1..40),
        redeliveries in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..40),
    ) {
        let program = Arc::new(Program::parse(PROGRAM).unwrap_or_else(|e| panic!("{e}")));
        let mut payments = Vec::new();
        let mut events = Vec::new();
        for (n, spec) in specs.into_iter().enumerate() {
            let e = build(n, spec, &payments);
            if e.trigger == Trigger::PaymentSucceeded {
                payments.push((spec.1, e.refs.payment.clone().unwrap_or_default()));
            }
            events.push(e);
        }
        // Insert each redelivery of event i somewhere after its first delivery.
        let mut delivered: Vec<Event> = events.clone();
        for (which, position) in redeliveries {
            let i = which.index(events.len());
            let first = delivered.iter().position(|e| e.id == events[i].id).unwrap_or(0);
            let at = first + 1 + position.index(delivered.len() - first);
            delivered.insert(at, events[i].clone());
        }
        let rt = runtime();
        let once = rt.block_on(apply_all(&program, &events, false));
        let with_duplicates = rt.block_on(apply_all(&program, &delivered, true));
        prop_assert_eq!(&once, &with_duplicates);
        for (balance, lines) in once.values() {
            prop_assert_eq!(*balance, lines.iter().map(|l| l.points).sum::<i64>());
        }
    }
}
