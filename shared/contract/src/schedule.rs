//! Contract cases for the daily job's indexes and watermark ([`ScheduleStore`],
//! docs/design.md §4.5): the index entries follow each committed state, pages cover every
//! entry once, and the watermark moves only from the day it is at, one winner per race.

use std::sync::Arc;

use jiff::Timestamp;
use saguaro_domain::ports::{CommitOutcome, HistoryStore, ScheduleStore, StateStore};
use saguaro_domain::schedule::{ScheduledExpiry, ScheduledSubscription};
use saguaro_domain::{CustomerId, CustomerState, Event, Provider, Trigger};

use crate::{commit, commit_for, customer, load, payment};

fn ts(s: &str) -> Timestamp {
    match s.parse() {
        Ok(t) => t,
        Err(e) => panic!("bad test time {s}: {e}"),
    }
}

fn day(s: &str) -> jiff::civil::Date {
    match s.parse() {
        Ok(d) => d,
        Err(e) => panic!("bad test date {s}: {e}"),
    }
}

/// Applies `event` to the stored state of its customer and commits it.
async fn apply_and_commit<S: StateStore>(store: &S, event: &Event) {
    let state = load(store, &event.customer)
        .await
        .unwrap_or_else(|| CustomerState::new(event.customer.clone()));
    let c = commit_for(&state, event);
    assert_eq!(commit(store, c).await.ok(), Some(CommitOutcome::Applied));
}

fn subscription_event(
    c: &CustomerId,
    id: &str,
    trigger: Trigger,
    at: Timestamp,
    started_at: Timestamp,
) -> Event {
    let mut e = Event::new(format!("{id}-{trigger}-{}", c.id), c.clone(), trigger, at);
    e.subscription = Some(saguaro_domain::SubscriptionInfo {
        id: id.into(),
        plan: Some("price_gold".into()),
        status: Some("active".into()),
        started_at: Some(started_at),
        monthly_amount: None,
        resource_version: None,
    });
    e
}

async fn all_expiring<S: ScheduleStore>(
    store: &S,
    from: &str,
    through: &str,
    limit: usize,
) -> Vec<ScheduledExpiry> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = match store.expiring(day(from), day(through), cursor, limit).await {
            Ok(p) => p,
            Err(e) => panic!("expiring failed: {e}"),
        };
        assert!(
            page.items.len() <= limit,
            "a page holds at most `limit` items"
        );
        out.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

async fn all_anniversaries<S: ScheduleStore>(
    store: &S,
    month: i8,
    d: i8,
    limit: usize,
) -> Vec<ScheduledSubscription> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = match store.anniversaries(month, d, cursor, limit).await {
            Ok(p) => p,
            Err(e) => panic!("anniversaries failed: {e}"),
        };
        assert!(
            page.items.len() <= limit,
            "a page holds at most `limit` items"
        );
        out.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

/// The daily job's indexes (docs/design.md §4.5): the soonest lot's last day and each
/// subscription's local start (program timezone, America/New_York here), kept with the state.
pub async fn schedule_indexes_follow_the_committed_state<
    S: StateStore + HistoryStore + ScheduleStore,
>(
    store: S,
) {
    let c = customer("indexed");
    // 23:30 in New York on 9 March is 10 March in UTC: filed under 03-09.
    let started = ts("2026-03-10T03:30:00Z");
    let created = subscription_event(&c, "sub-a", Trigger::SubscriptionCreated, started, started);
    apply_and_commit(&store, &created).await;
    let mut first = payment(&c, 1, 5_000);
    first.occurred_at = ts("2026-04-01T15:00:00Z");
    apply_and_commit(&store, &first).await;

    let subs = all_anniversaries(&store, 3, 9, 10).await;
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0].customer, c);
    assert_eq!(subs[0].subscription, "sub-a");
    assert_eq!(subs[0].started_on, day("2026-03-09"));
    assert_eq!(subs[0].plan.as_deref(), Some("price_gold"));
    assert!(subs[0].active);
    assert!(all_anniversaries(&store, 3, 10, 10).await.is_empty());

    // Welcome points earned on 9 March and the payment of 1 April: the soonest lot is the
    // one earned 9 March (local), last day 9 March 2027.
    let due = all_expiring(&store, "2027-03-01", "2027-03-31", 10).await;
    assert_eq!(
        due,
        vec![ScheduledExpiry {
            customer: c.clone(),
            day: day("2027-03-09")
        }]
    );
    assert!(
        all_expiring(&store, "2027-03-10", "2027-04-30", 10)
            .await
            .is_empty()
    );

    // Cancelled: still indexed, no longer active.
    let mut cancelled = subscription_event(
        &c,
        "sub-a",
        Trigger::SubscriptionCancelled,
        ts("2026-05-01T00:00:00Z"),
        started,
    );
    if let Some(sub) = cancelled.subscription.as_mut() {
        sub.status = Some("canceled".into());
    }
    apply_and_commit(&store, &cancelled).await;
    let subs = all_anniversaries(&store, 3, 9, 10).await;
    assert_eq!(subs.len(), 1);
    assert!(!subs[0].active, "a cancelled subscription is not active");

    // The first lot expires: the customer moves to the next lot's day.
    let mut expired = Event::new(
        "expire-1",
        c.clone(),
        Trigger::PointsExpired,
        ts("2027-03-10T05:00:00Z"),
    );
    expired.provider = Provider::Scheduler;
    apply_and_commit(&store, &expired).await;
    assert!(
        all_expiring(&store, "2027-03-01", "2027-03-31", 10)
            .await
            .is_empty()
    );
    let due = all_expiring(&store, "2027-04-01", "2027-04-01", 10).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].day, day("2027-04-01"));
}

/// Index reads page through every entry exactly once, in order, whatever the page size.
pub async fn schedule_index_pages_cover_every_entry_once<
    S: StateStore + HistoryStore + ScheduleStore,
>(
    store: S,
) {
    let started = ts("2025-06-15T16:00:00Z");
    for i in 0..23 {
        let c = customer(&format!("page-{i:02}"));
        // Two groups of lots: earned on 15 June or 16 June (local).
        let earned = if i % 2 == 0 {
            started
        } else {
            ts("2025-06-16T16:00:00Z")
        };
        let created = subscription_event(
            &c,
            &format!("sub-{i}"),
            Trigger::SubscriptionCreated,
            earned,
            started,
        );
        apply_and_commit(&store, &created).await;
        let mut p = payment(&c, 1, 1_000);
        p.occurred_at = earned;
        apply_and_commit(&store, &p).await;
    }
    for limit in [1, 5, 23, 100] {
        let subs = all_anniversaries(&store, 6, 15, limit).await;
        let mut ids: Vec<String> = subs.iter().map(|s| s.customer.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 23, "limit {limit}: every subscription once");
        assert_eq!(subs.len(), 23, "limit {limit}");
        let due = all_expiring(&store, "2026-06-01", "2026-06-30", limit).await;
        assert_eq!(due.len(), 23, "limit {limit}");
        let mut ids: Vec<String> = due.iter().map(|s| s.customer.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 23, "limit {limit}: every customer once");
        assert!(
            due.windows(2).all(|w| w[0].day <= w[1].day),
            "ordered by day"
        );
        let only_first = all_expiring(&store, "2026-06-15", "2026-06-15", limit).await;
        assert_eq!(only_first.len(), 12, "limit {limit}");
    }
}

async fn watermark<S: ScheduleStore>(store: &S) -> Option<jiff::civil::Date> {
    match store.watermark().await {
        Ok(w) => w,
        Err(e) => panic!("watermark failed: {e}"),
    }
}

/// The watermark moves only from the day it is at: a second run that read the same day
/// cannot move it again.
pub async fn watermark_moves_only_from_the_day_it_is_at<
    S: StateStore + HistoryStore + ScheduleStore,
>(
    store: S,
) {
    assert_eq!(watermark(&store).await, None);
    let (d1, d2, d3) = (day("2026-12-01"), day("2026-12-02"), day("2026-12-03"));
    assert_eq!(store.advance_watermark(None, d1).await.ok(), Some(true));
    assert_eq!(store.advance_watermark(None, d2).await.ok(), Some(false));
    assert_eq!(watermark(&store).await, Some(d1));
    assert_eq!(
        store.advance_watermark(Some(d2), d3).await.ok(),
        Some(false)
    );
    assert_eq!(store.advance_watermark(Some(d1), d2).await.ok(), Some(true));
    assert_eq!(watermark(&store).await, Some(d2));
}

/// Two runs that read the same watermark race to advance it: exactly one wins.
pub async fn racing_watermark_updates_let_exactly_one_win<
    S: StateStore + HistoryStore + ScheduleStore + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let d0 = day("2026-11-30");
    assert_eq!(store.advance_watermark(None, d0).await.ok(), Some(true));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.advance_watermark(Some(d0), day("2026-12-01")).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(true)) => wins += 1,
            Ok(Ok(false)) => {}
            other => panic!("advance failed: {other:?}"),
        }
    }
    assert_eq!(
        wins, 1,
        "exactly one of the racing runs advances the watermark"
    );
    assert_eq!(
        store.watermark().await.ok().flatten(),
        Some(day("2026-12-01"))
    );
}
