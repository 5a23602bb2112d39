//! The scheduler on the emulator (moto): DynamoDB indexes read, synthetic events put on a
//! real SQS FIFO queue, then applied as the earn function applies them. Missed days caught
//! up in order, anniversaries by the program timezone's local date (29 February, local
//! midnight), a cancelled subscription skipped, a partly spent lot expired, a second and two
//! concurrent runs adding nothing. (The grant fan-out to 1,000 customers is tested on the
//! embedded store, `shared/app/tests/schedule.rs`: on moto, whose Query scans the whole index
//! in Python, 366 month-day reads of 1,000 items and 1,000 queue round trips took over ten
//! minutes.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use jiff::civil::date;
use saguaro_app::ports::ScheduleStore;
use saguaro_domain::{CustomerId, Event, LineKind, Provider, SubscriptionInfo, Trigger};

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.id.as_str().to_owned()).collect()
}

#[tokio::test]
async fn when_days_were_missed_then_each_days_events_are_enqueued_in_order_and_reruns_add_nothing()
{
    let t = Setup::new("sched-catchup").await;
    // 23:30 on 9 March 2025 in New York (10 March in UTC), and 00:30 on 10 March.
    let late = t
        .subscribe("late", "sub_late", "2025-03-10T03:30:00Z")
        .await;
    let early = t
        .subscribe("early", "sub_early", "2025-03-10T04:30:00Z")
        .await;
    let gone = t
        .subscribe("gone", "sub_gone", "2025-03-09T16:00:00Z")
        .await;
    let mut cancel = Event::new(
        "cancel-gone",
        gone.clone(),
        Trigger::SubscriptionCancelled,
        "2026-01-10T00:00:00Z".parse().unwrap(),
    );
    cancel.subscription = Some(SubscriptionInfo {
        id: "sub_gone".into(),
        plan: None,
        status: Some("canceled".into()),
        started_at: None,
        monthly_amount: None,
        resource_version: None,
    });
    t.apply(cancel).await;
    // 100 points on 5 February 2026, 40 spent: 60 left, valid to the end of 7 March.
    let spender = CustomerId::new(Provider::Stripe, "spender");
    for (id, points) in [("add", 100), ("spend", -40)] {
        let mut e = Event::new(
            id,
            spender.clone(),
            Trigger::PointsAdjusted,
            "2026-02-05T15:00:00Z".parse().unwrap(),
        );
        e.points = Some(points);
        t.apply(e).await;
    }
    assert!(
        t.store
            .advance_watermark(None, date(2026, 3, 6))
            .await
            .unwrap()
    );

    // 08:00 in New York on 10 March: 7, 8, 9 and 10 March are due.
    let summary = t.handler("2026-03-10T12:00:00Z").handle().await.unwrap();
    assert_eq!(summary["watermark"], "2026-03-10");
    assert_eq!(summary["days"].as_array().unwrap().len(), 4);
    assert_eq!(t.store.watermark().await.unwrap(), Some(date(2026, 3, 10)));
    let events = t.drain().await;
    // Day by day. The spender is due on 8 March; on 9 and 10 March their index item still
    // says 7 March (the queue has not applied the first expiry yet), so they are sent one
    // again: it expires whatever is due by then, here nothing more.
    assert_eq!(
        ids(&events),
        [
            "expire:stripe:spender:2026-03-08",
            "expire:stripe:spender:2026-03-09",
            "anniv:stripe:sub_late:1",
            "expire:stripe:spender:2026-03-10",
            "anniv:stripe:sub_early:1"
        ]
    );
    assert!(events.iter().all(|e| e.provider == Provider::Scheduler));
    for e in &events {
        t.apply(e.clone()).await;
    }
    let expired: Vec<i64> = t
        .lines(&spender)
        .await
        .iter()
        .filter(|l| l.kind == LineKind::Expiry)
        .map(|l| l.points)
        .collect();
    assert_eq!(expired, [-60]);
    for (c, n) in [(&late, 1), (&early, 1), (&gone, 0)] {
        let loyal = t
            .lines(c)
            .await
            .iter()
            .filter(|l| l.rule == "loyal")
            .count();
        assert_eq!(loyal, n, "{c}");
    }

    // The next hour: nothing is due, nothing is enqueued.
    let summary = t.handler("2026-03-10T13:00:00Z").handle().await.unwrap();
    assert_eq!(summary["days"].as_array().unwrap().len(), 0);
    assert!(t.drain().await.is_empty());

    // Two runs at once on 12 March: the watermark's conditional update lets one win each
    // day; whatever both enqueued carries the same ids.
    let twelve = t
        .subscribe("twelve", "sub_twelve", "2025-03-12T16:00:00Z")
        .await;
    let (a, b) = (
        t.handler("2026-03-12T12:00:00Z"),
        t.handler("2026-03-12T12:00:00Z"),
    );
    let (ra, rb) = tokio::join!(a.handle(), b.handle());
    assert!(ra.is_ok() && rb.is_ok());
    assert_eq!(t.store.watermark().await.unwrap(), Some(date(2026, 3, 12)));
    let events = t.drain().await;
    let distinct: BTreeSet<String> = ids(&events).into_iter().collect();
    assert_eq!(
        distinct,
        BTreeSet::from(["anniv:stripe:sub_twelve:1".to_owned()])
    );
    for e in &events {
        t.apply(e.clone()).await;
    }
    let loyal = t
        .lines(&twelve)
        .await
        .iter()
        .filter(|l| l.rule == "loyal")
        .count();
    assert_eq!(loyal, 1, "applied once however often it was enqueued");
}

#[tokio::test]
async fn when_a_29_february_start_meets_a_common_year_then_the_anniversary_is_on_28_february() {
    let t = Setup::new("sched-leap").await;
    let leap = t
        .subscribe("leap", "sub_leap", "2024-02-29T15:00:00-05:00")
        .await;
    assert!(
        t.store
            .advance_watermark(None, date(2025, 2, 26))
            .await
            .unwrap()
    );
    t.handler("2025-03-02T12:00:00Z").handle().await.unwrap();
    let events = t.drain().await;
    assert_eq!(ids(&events), ["anniv:stripe:sub_leap:1"]);
    assert_eq!(events[0].occurred_at.to_string(), "2025-02-28T05:00:00Z");
    t.apply(events[0].clone()).await;
    assert_eq!(
        t.lines(&leap)
            .await
            .iter()
            .filter(|l| l.rule == "loyal")
            .count(),
        1
    );
}
