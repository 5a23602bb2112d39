//! What one daily run reads on DynamoDB (moto), counted by the store's request counter: the
//! same 20 anniversaries and 20 expiries due in a table of 1,000 and of 10,000 subscriptions
//! (and as many expiry index items on other days). Prints the items read, the requests and
//! the run's duration (README, "Figures"); asserts the goal, that the items read do not
//! depend on the table's size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::*;
use jiff::Span;
use jiff::civil::{Date, date};
use saguaro_app::ports::ScheduleStore;

const DUE: usize = 20;

struct Figures {
    items_read: u64,
    requests: std::collections::BTreeMap<String, u64>,
    millis: u128,
    events: usize,
}

async fn one_day_run(subscriptions: usize) -> Figures {
    let t = Setup::new(&format!("sched-reads-{subscriptions}")).await;
    let day = date(2026, 7, 15);
    let mut items = Vec::new();
    for i in 0..subscriptions {
        // Due: started on 15 July of an earlier year; the rest on every other day.
        let started = if i < DUE {
            date(2024, 7, 15)
        } else {
            let offset = 1 + (i as i64 % 365);
            let d = date(2025, 7, 15)
                .checked_add(Span::new().days(offset))
                .unwrap();
            if (d.month(), d.day()) == (7, 15) {
                date(2025, 7, 16)
            } else {
                d
            }
        };
        items.push(anniversary_item(
            &format!("c{i:05}"),
            &format!("sub{i}"),
            started,
            true,
        ));
        // Due: the soonest lot's last day is 14 July; the rest expire later.
        let expires: Date = if i < DUE {
            day.yesterday().unwrap()
        } else {
            day.checked_add(Span::new().days(i as i64 % 365)).unwrap()
        };
        items.push(expiry_item(&format!("c{i:05}"), expires));
    }
    t.filler(items).await;
    assert!(
        t.store
            .advance_watermark(None, day.yesterday().unwrap())
            .await
            .unwrap()
    );
    t.counter.reset();
    let started = Instant::now();
    let summary = t.handler("2026-07-15T16:00:00Z").handle().await.unwrap();
    let millis = started.elapsed().as_millis();
    let figures = Figures {
        items_read: t.counter.items_read(),
        requests: t.counter.snapshot(),
        millis,
        events: 2 * DUE,
    };
    assert_eq!(summary["days"][0]["anniversaries"], DUE);
    assert_eq!(summary["days"][0]["expiries"], DUE);
    assert_eq!(t.store.watermark().await.unwrap(), Some(day));
    figures
}

#[tokio::test]
async fn when_the_table_grows_tenfold_with_the_same_work_due_then_a_daily_run_reads_the_same_items()
{
    let small = one_day_run(1_000).await;
    let large = one_day_run(10_000).await;
    for (n, f) in [(1_000, &small), (10_000, &large)] {
        println!(
            "daily run, {n} subscriptions, {} events due: {} items read, requests {:?}, {} ms (moto, debug build; includes {} SQS sends)",
            f.events, f.items_read, f.requests, f.millis, f.events
        );
    }
    assert_eq!(small.items_read, large.items_read);
    assert_eq!(small.requests, large.requests);
    // The watermark, the due anniversaries, the due expiries: nothing else.
    assert_eq!(small.items_read, 1 + 2 * DUE as u64);
}
