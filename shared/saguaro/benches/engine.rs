//! Engine + embedded store throughput on one core, with a realistic mix of events: for each
//! of 1,000 customers a subscription start, twelve monthly payments (some in a promotion,
//! some capped), an upgrade, partial refunds, an anniversary, a manual adjustment and the
//! daily expiry runs, all through the same earn service the runner and Lambda use.
//!
//! `cargo bench -p saguaro --bench engine`: criterion reports events per second ("thrpt").
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::{Span, Timestamp};
use saguaro_app::{Earner, StateCache};
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, SubscriptionInfo, Trigger};
use saguaro_embedded::EmbeddedStore;

const CUSTOMERS: usize = 1_000;

fn program() -> Arc<Program> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/program.example.toml");
    match saguaro_app::config::load_program(&path) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("{e}"),
    }
}

fn mix() -> Vec<Event> {
    let start: Timestamp = "2026-01-03T15:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let usd = "usd".parse().unwrap_or_else(|e| panic!("{e}"));
    let mut events = Vec::new();
    for month in 0..13i64 {
        for c in 0..CUSTOMERS {
            let customer = CustomerId::new(Provider::Stripe, format!("cus_{c:06}"));
            let at = start
                .checked_add(Span::new().hours(month * 730 + (c as i64 % 600)))
                .unwrap_or(start);
            let plan = if c % 10 == 0 && month > 5 {
                "price_gold"
            } else {
                "price_basic"
            };
            let sub = SubscriptionInfo {
                id: format!("sub_{c:06}"),
                plan: Some(plan.into()),
                status: Some("active".into()),
                started_at: Some(start),
                monthly_amount: Some(Money::new(1_999 + (c as i64 % 7) * 1000, usd)),
                resource_version: None,
            };
            let mut push =
                |id: String, trigger: Trigger, amount: Option<i64>, payment: Option<String>| {
                    let mut e = Event::new(id, customer.clone(), trigger, at);
                    e.amount = amount.map(|m| Money::new(m, usd));
                    e.refs.payment = payment;
                    e.subscription = Some(sub.clone());
                    events.push(e);
                };
            if month == 0 {
                push(
                    format!("evt_created_{c}"),
                    Trigger::SubscriptionCreated,
                    None,
                    None,
                );
            }
            let amount = 1_999 + (c as i64 % 7) * 1000 + if c % 50 == 0 { 2_000_000 } else { 0 };
            let payment = format!("pi_{c}_{month}");
            push(
                format!("evt_paid_{c}_{month}"),
                Trigger::PaymentSucceeded,
                Some(amount),
                Some(payment.clone()),
            );
            if c % 20 == month as usize % 20 {
                push(
                    format!("evt_refund_{c}_{month}"),
                    Trigger::PaymentRefunded,
                    Some(amount / 2),
                    Some(payment),
                );
            }
            if c % 10 == 0 && month == 6 {
                push(
                    format!("evt_upgrade_{c}"),
                    Trigger::SubscriptionUpgraded,
                    None,
                    None,
                );
            }
            if month == 12 {
                push(
                    format!("anniv:stripe:sub_{c:06}:1"),
                    Trigger::SubscriptionAnniversary,
                    None,
                    None,
                );
                let mut adjust = Event::new(
                    format!("adj_{c}"),
                    customer.clone(),
                    Trigger::PointsAdjusted,
                    at,
                );
                adjust.points = Some(-5);
                events.push(adjust);
            }
            if c % 4 == 0 {
                events.push(Event::new(
                    format!("exp_{c}_{month}"),
                    customer.clone(),
                    Trigger::PointsExpired,
                    at,
                ));
            }
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let program = program();
    let events = mix();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let mut group = c.benchmark_group("engine+embedded store");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    // As the earn Lambda does: batches of 10 messages, one state cache per batch.
    group.bench_function(
        format!("apply {} events, state cache per batch of 10", events.len()),
        |b| {
            b.iter_batched(
                || Earner::new(EmbeddedStore::new(), program.clone()),
                |earner| {
                    runtime.block_on(async {
                        for batch in events.chunks(10) {
                            let mut cache = StateCache::default();
                            for e in batch {
                                if let Err(err) = earner.apply_cached(e, &mut cache).await {
                                    panic!("{err}");
                                }
                            }
                        }
                    });
                    black_box(earner)
                },
                BatchSize::PerIteration,
            );
        },
    );
    // As `saguaro serve` does: each event on its own.
    group.bench_function(
        format!("apply {} events, no state cache", events.len()),
        |b| {
            b.iter_batched(
                || Earner::new(EmbeddedStore::new(), program.clone()),
                |earner| {
                    runtime.block_on(async {
                        for e in &events {
                            if let Err(err) = earner.apply(e).await {
                                panic!("{err}");
                            }
                        }
                    });
                    black_box(earner)
                },
                BatchSize::PerIteration,
            );
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
