//! What a typical payment event costs in DynamoDB write units (moto), counted from the items
//! each `TransactWriteItems` carries by DynamoDB's size rules (`saguaro_dynamodb::size`):
//! a transactional write is 2 write units per started KB of every item.
//!
//! The customer is a monthly subscriber of the example program (`infra/program.example.toml`:
//! 1 point per dollar, tiers, a billing credit at 1,000 points, expiry after a year) with
//! Stripe-shaped ids: a subscription start, then 24 monthly payments of 29.99 USD. The
//! figure reported is the steady state: payments after the first year, when the customer has
//! a year of lots and payments behind them.
//!
//! Before the state became one compact item: 12 write units per payment in the first year and
//! 14 after it, 6 items per transaction (marker ~201 B; customer item 626 B growing ~40 B a
//! payment with its manifest, to 1.5 KB; ledger line; lot ~231 B; payment ~380 B; subscription
//! snapshot ~318 B). Now: 6 write units, 3 items (marker, customer item, ledger line), each
//! under 1 KB. The customer item (354 B after the first payment, 829 B after 24) grows here
//! only by the lots the daily expiry job would have expired (about 5 bytes a month; this
//! test sends payments only), and payment records stop accumulating after the refund window.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use jiff::{Span, Timestamp};
use saguaro_app::Earner;
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, SubscriptionInfo, Trigger};
use saguaro_dynamodb::size::{WRITE_UNIT_BYTES, transactional_write_units};
use saguaro_dynamodb::{DynamoStore, RequestCounter};

use common::{aws, dynamodb, fresh_table, report};

const MONTHS: i64 = 24;

fn example() -> Arc<Program> {
    let text = std::fs::read_to_string(saguaro_testkit::example_program()).unwrap();
    Arc::new(Program::parse(&text).unwrap())
}

fn month(start: Timestamp, n: i64) -> Timestamp {
    start
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(Span::new().months(n))
        .unwrap()
        .timestamp()
}

fn subscription(started: Timestamp) -> SubscriptionInfo {
    SubscriptionInfo {
        id: "sub_1QxYzAbCdEfGhIjKlMnOpQrS".into(),
        plan: Some("price_1QxYzAbCdEfGhIjKlMnOpQ".into()),
        status: Some("active".into()),
        started_at: Some(started),
        monthly_amount: Some(Money::new(2999, "usd".parse().unwrap())),
        resource_version: None,
    }
}

#[tokio::test]
async fn when_a_monthly_subscriber_pays_then_the_write_units_per_payment_are_counted() {
    let aws = aws().await;
    let counter = RequestCounter::new();
    let client = dynamodb(&aws, &counter);
    let table = fresh_table(&client, "write-units").await;
    let earner = Earner::new(Arc::new(DynamoStore::new(client, table)), example());
    let who = CustomerId::new(Provider::Stripe, "cus_QxYzAbCdEfGhIj");
    let start: Timestamp = "2025-01-15T14:03:27Z".parse().unwrap();

    let mut created = Event::new(
        "evt_1QxYzAbCdEfGhIjKlMnOpQ00",
        who.clone(),
        Trigger::SubscriptionCreated,
        start,
    );
    created.subscription = Some(subscription(start));
    earner.apply(&created).await.unwrap();

    let mut per_payment = Vec::new();
    for n in 1..=MONTHS {
        let mut paid = Event::new(
            format!("evt_1QxYzAbCdEfGhIjKlMnOp{n:03}"),
            who.clone(),
            Trigger::PaymentSucceeded,
            month(start, n),
        );
        paid.amount = Some(Money::new(2999, "usd".parse().unwrap()));
        paid.refs.payment = Some(format!("pi_3QxYzAbCdEfGhIjKlMnO{n:04}"));
        paid.refs.payment_alias = Some(format!("in_1QxYzAbCdEfGhIjKlMn{n:04}"));
        paid.subscription = Some(subscription(start));
        counter.reset();
        earner.apply(&paid).await.unwrap();
        let transactions = counter.transactions();
        assert_eq!(transactions.len(), 1, "one commit per payment");
        let sizes = transactions[0].clone();
        assert!(!sizes.is_empty());
        let units: u64 = sizes.iter().map(|b| transactional_write_units(*b)).sum();
        assert_eq!(units, counter.transactional_write_units());
        per_payment.push((n, sizes, units));
    }

    let steady: Vec<&(i64, Vec<usize>, u64)> =
        per_payment.iter().filter(|(n, _, _)| *n > 12).collect();
    let max = steady.iter().map(|(_, _, u)| *u).max().unwrap();
    let mut text = String::from(
        "write units per payment (monthly subscriber, example program; items: bytes each)\n",
    );
    for (n, sizes, units) in &per_payment {
        text.push_str(&format!(
            "  payment {n:>2}: {units:>3} WCU, {} items {:?}\n",
            sizes.len(),
            sizes
        ));
    }
    text.push_str(&format!(
        "  steady state (payments 13-{MONTHS}): at most {max} WCU"
    ));
    report(&text);
    // The goal: marker, customer item and ledger line, each at most 1 KB.
    assert!(max <= 6, "{text}");
    for (n, sizes, _) in &per_payment {
        assert!(
            sizes.iter().all(|b| *b <= WRITE_UNIT_BYTES),
            "payment {n}: {sizes:?}"
        );
    }
}
