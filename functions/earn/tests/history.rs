//! Long histories on DynamoDB (moto): what an event costs does not grow with the customer's
//! past, and no event exceeds DynamoDB's transaction limits (100 actions, 4 MB; 400 KB an
//! item). Two customers:
//!
//! - one who earns 10,000 one-point lots over a year and then redeems them all in one event
//!   (before: one transaction action per lot, past the 100-action limit, so that event could
//!   never apply);
//! - a monthly subscriber of the example program over five years, with a partial refund
//!   every third month and the expiry job's runs.
//!
//! The 10,000 earns are applied by the engine and committed as one state (see the test);
//! every event of the five years goes through the earn service and the store. Each reports
//! the bytes read (the GetItem of the state) and written (every item of the
//! transaction) and the write units of its events, early and late in the history.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use jiff::{Span, Timestamp};
use saguaro_app::Earner;
use saguaro_domain::ports::{Commit, CommitOutcome, StateStore};
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, SubscriptionInfo, Trigger};
use saguaro_dynamodb::size::transactional_write_units;
use saguaro_dynamodb::{DynamoStore, MAX_ITEM_BYTES, MAX_TRANSACTION_ITEMS, RequestCounter};

use common::{aws, dynamodb, fresh_table, report};

/// 4 MB: DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// What one event cost on the table.
#[derive(Debug, Clone, Copy)]
struct Cost {
    read: u64,
    written: usize,
    items: usize,
    units: u64,
}

/// Applies `event` without a cache (so its state read is counted) and measures it; checks the
/// transaction against DynamoDB's limits.
async fn measured(
    earner: &Earner<Arc<DynamoStore>>,
    counter: &RequestCounter,
    event: &Event,
) -> Cost {
    counter.reset();
    earner.apply(event).await.unwrap();
    let transactions = counter.transactions();
    check_limits(&event.id.to_string(), &transactions);
    Cost {
        read: counter.bytes_read(),
        written: transactions.iter().flatten().sum(),
        items: transactions.iter().map(Vec::len).sum(),
        units: counter.transactional_write_units(),
    }
}

fn check_limits(what: &str, transactions: &[Vec<usize>]) {
    for sizes in transactions {
        assert!(
            sizes.len() <= MAX_TRANSACTION_ITEMS,
            "{what}: {} actions",
            sizes.len()
        );
        assert!(
            sizes.iter().sum::<usize>() <= MAX_TRANSACTION_BYTES,
            "{what}: {sizes:?}"
        );
        assert!(
            sizes.iter().all(|b| *b <= MAX_ITEM_BYTES),
            "{what}: {sizes:?}"
        );
    }
}

fn line(label: &str, costs: &[Cost]) -> String {
    let n = costs.len().max(1) as u64;
    let read: u64 = costs.iter().map(|c| c.read).sum();
    let written: usize = costs.iter().map(|c| c.written).sum();
    let units: u64 = costs.iter().map(|c| c.units).sum();
    let items = costs.iter().map(|c| c.items).max().unwrap_or(0);
    format!(
        "  {label}: {} B read, {} B written, {:.1} WCU per event (at most {items} items)\n",
        read / n,
        written as u64 / n,
        units as f64 / n as f64
    )
}

#[tokio::test]
async fn when_a_customer_with_10000_one_point_lots_redeems_then_the_event_applies_in_one_small_transaction()
 {
    let program = Arc::new(
        Program::parse(
            r#"
[program]
name = "Visits"
timezone = "America/New_York"

[[earn]]
id = "visit"
on = "custom.visit"
points = 1

[[rewards]]
id = "tote-bag"
kind = "perk"
cost = 10000
url = "https://perks.example.com/tote"

[expiry]
after_days = 365
"#,
        )
        .unwrap(),
    );
    let aws = aws().await;
    let counter = RequestCounter::new();
    let client = dynamodb(&aws, &counter);
    let table = fresh_table(&client, "ten-thousand").await;
    let store = Arc::new(DynamoStore::new(client, table));
    let earner = Earner::new(store.clone(), program.clone());
    let who = CustomerId::new(Provider::Custom, "regular");
    let start: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
    // 10,000 visits, one every 52 minutes: a year of earning, about 27 lots a day before
    // merging, one lot per day after.
    let visit = |n: i64| {
        Event::new(
            format!("visit-{n:05}"),
            who.clone(),
            Trigger::Custom("custom.visit".into()),
            start.checked_add(Span::new().minutes(52 * n)).unwrap(),
        )
    };
    let mut early = Vec::new();
    for n in 0..20 {
        early.push(measured(&earner, &counter, &visit(n)).await);
    }
    // Visits 21 to 9,980 are applied by the engine in memory and their state committed once:
    // moto copies its whole table for every transaction, which makes ten thousand commits
    // through it take quadratically long. The state is the one DynamoDB would hold.
    let mut state = store.load(&who).await.unwrap().unwrap();
    let stored_version = state.version;
    for n in 20..9_980 {
        state = saguaro_domain::apply(&program, &state, &visit(n))
            .unwrap()
            .state;
    }
    state.version = stored_version + 1;
    let seeded = Commit {
        marker: None,
        expected_version: stored_version,
        state,
        lines: Vec::new(),
        rewards: Vec::new(),
    };
    assert_eq!(store.commit(seeded).await.unwrap(), CommitOutcome::Applied);
    let mut late = Vec::new();
    for n in 9_980..9_999 {
        late.push(measured(&earner, &counter, &visit(n)).await);
    }
    let before = store.load(&who).await.unwrap().unwrap();
    assert_eq!(before.balance, 9_999);
    assert!(
        (360..=366).contains(&before.lots.len()),
        "{} lots",
        before.lots.len()
    );

    // The 10,000th point redeems the tote bag: every lot is consumed in one event.
    let redeem = measured(&earner, &counter, &visit(9_999)).await;

    let after = store.load(&who).await.unwrap().unwrap();
    assert_eq!(after.balance, 0);
    assert!(after.lots.is_empty());
    // marker, customer, earn line, redemption line, reward row, expiry index (deleted)
    assert_eq!(redeem.items, 6, "{redeem:?}");
    let mut text = String::from(
        "10,000 one-point earns over a year, then a redemption of all of them (DynamoDB, moto)\n",
    );
    text.push_str(&line("events 1-20 (fresh customer)", &early));
    text.push_str(&line("events 9,981-9,999 (a year of lots)", &late));
    text.push_str(&line("event 10,000 (redeems every lot)", &[redeem]));
    text.push_str(&format!(
        "  lots before the redemption: {}",
        before.lots.len()
    ));
    report(&text);
}

#[tokio::test]
async fn when_a_subscriber_has_five_years_of_payments_refunds_and_expiries_then_every_event_applies_within_the_limits()
 {
    let text = std::fs::read_to_string(saguaro_testkit::example_program()).unwrap();
    let program = Arc::new(Program::parse(&text).unwrap());
    let aws = aws().await;
    let counter = RequestCounter::new();
    let client = dynamodb(&aws, &counter);
    let table = fresh_table(&client, "five-years").await;
    let store = Arc::new(DynamoStore::new(client, table));
    let earner = Earner::new(store.clone(), program);
    let who = CustomerId::new(Provider::Stripe, "cus_QxYzAbCdEfGhIj");
    let start: Timestamp = "2025-01-15T14:03:27Z".parse().unwrap();
    let usd = "usd".parse().unwrap();
    let month = |n: i64| {
        start
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(Span::new().months(n))
            .unwrap()
            .timestamp()
    };
    let subscription = SubscriptionInfo {
        id: "sub_1QxYzAbCdEfGhIjKlMnOpQrS".into(),
        plan: Some("price_1QxYzAbCdEfGhIjKlMnOpQ".into()),
        status: Some("active".into()),
        started_at: Some(start),
        monthly_amount: Some(Money::new(2999, usd)),
        resource_version: None,
    };
    let mut created = Event::new(
        "evt_1QxYzAbCdEfGhIjKlMnOpQ00",
        who.clone(),
        Trigger::SubscriptionCreated,
        start,
    );
    created.subscription = Some(subscription.clone());
    measured(&earner, &counter, &created).await;

    let mut payments = Vec::new();
    let mut item_sizes = Vec::new();
    for n in 1..=60 {
        // The daily job, on the payment's day: lots of a year ago expire.
        let expired = Event::new(
            format!("expire:{n}"),
            who.clone(),
            Trigger::PointsExpired,
            month(n),
        );
        measured(&earner, &counter, &expired).await;
        let mut paid = Event::new(
            format!("evt_1QxYzAbCdEfGhIjKlMnOp{n:03}"),
            who.clone(),
            Trigger::PaymentSucceeded,
            month(n).checked_add(Span::new().hours(1)).unwrap(),
        );
        paid.amount = Some(Money::new(2999, usd));
        paid.refs.payment = Some(format!("pi_3QxYzAbCdEfGhIjKlMnO{n:04}"));
        paid.refs.payment_alias = Some(format!("in_1QxYzAbCdEfGhIjKlMn{n:04}"));
        paid.subscription = Some(subscription.clone());
        let cost = measured(&earner, &counter, &paid).await;
        item_sizes.push(counter.transactions()[0].clone());
        payments.push(cost);
        if n % 3 == 0 {
            // A partial refund of the month's payment, by its PaymentIntent.
            let mut refund = Event::new(
                format!("evt_refund_{n:03}"),
                who.clone(),
                Trigger::PaymentRefunded,
                month(n).checked_add(Span::new().hours(48)).unwrap(),
            );
            refund.amount = Some(Money::new(1000, usd));
            refund.refs.payment = paid.refs.payment.clone();
            measured(&earner, &counter, &refund).await;
        }
    }
    let state = store.load(&who).await.unwrap().unwrap();
    assert!(state.lots.len() <= 13, "{} lots", state.lots.len());
    assert!(
        state.payments.len() <= 14,
        "{} payments",
        state.payments.len()
    );
    // Every payment after the first is marker, customer item and ledger line: 6 write units.
    for (n, sizes) in item_sizes.iter().enumerate().skip(1) {
        assert_eq!(sizes.len(), 3, "payment {}: {sizes:?}", n + 1);
        assert!(
            sizes.iter().all(|b| *b <= 1024),
            "payment {}: {sizes:?}",
            n + 1
        );
    }
    let first_year = &payments[..12];
    let fifth_year = &payments[48..];
    let mut text = String::from(
        "a monthly subscriber over five years, refunds every third month, expiry runs (DynamoDB, moto)\n",
    );
    text.push_str(&line("payments of year 1", first_year));
    text.push_str(&line("payments of year 5", fifth_year));
    report(&text);
    let read = |costs: &[Cost]| costs.iter().map(|c| c.read).max().unwrap_or(0);
    assert!(
        read(fifth_year) <= read(first_year) * 3 / 2,
        "reads grew with history: {text}"
    );
    assert!(
        fifth_year.iter().map(|c| c.units).max() <= Some(6),
        "{text}"
    );
    assert_eq!(
        transactional_write_units(*item_sizes[59].iter().max().unwrap()),
        2
    );
}
