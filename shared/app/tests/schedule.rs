//! The daily job (docs/design.md §4.5) on the embedded store, its events applied in process
//! by the `Earner`, as `saguaro tick` does: anniversaries around 29 February and around local
//! midnight, cancelled subscriptions, missed days, double and concurrent runs, expiry of a
//! partly spent lot, and a grant fanned out over many pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::civil::{Date, date};
use saguaro_app::Earner;
use saguaro_app::ports::{EventSink, HistoryStore, PageRequest, ScheduleStore, SinkError};
use saguaro_app::schedule::{self, MAX_DAYS_PER_RUN, PAGE, RunReport, Stop};
use saguaro_domain::{
    CustomerId, Event, LedgerLine, LineKind, Program, Provider, SubscriptionInfo, Trigger,
};
use saguaro_embedded::EmbeddedStore;

const PROGRAM: &str = r#"
[program]
name = "Schedule"
timezone = "America/New_York"

[[earn]]
id = "welcome"
on = "subscription.created"
points = 100

[[earn]]
id = "loyal"
on = "subscription.anniversary"
points = 1000

[[promotions]]
id = "summer-gift"
starts = 2026-06-01
ends = 2026-06-30
grant = 250

[expiry]
after_days = 30
"#;

/// Applies what it is given through the earner, and remembers the ids in order. With
/// `fail_after`, it is unavailable once that many events went through (a crash mid-day).
struct Applying {
    earner: Earner<Arc<EmbeddedStore>>,
    ids: Mutex<Vec<String>>,
    fail_after: Mutex<Option<usize>>,
}

#[derive(Debug, thiserror::Error)]
#[error("queue down")]
struct Down;

impl EventSink for Applying {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        if let Some(left) = self.fail_after.lock().unwrap().as_mut() {
            if *left == 0 {
                return Err(SinkError::Unavailable(Box::new(Down)));
            }
            *left -= 1;
        }
        self.ids.lock().unwrap().push(event.id.as_str().to_owned());
        self.earner.submit(event).await
    }
}

struct World {
    store: Arc<EmbeddedStore>,
    sink: Applying,
    program: Arc<Program>,
}

impl World {
    fn new() -> Self {
        Self::with(PROGRAM)
    }

    fn with(program: &str) -> Self {
        let program = Arc::new(Program::parse(program).unwrap());
        let store = Arc::new(EmbeddedStore::new());
        Self {
            sink: Applying {
                earner: Earner::new(store.clone(), program.clone()),
                ids: Mutex::new(Vec::new()),
                fail_after: Mutex::new(None),
            },
            store,
            program,
        }
    }

    async fn apply(&self, event: Event) {
        self.sink.earner.apply(&event).await.unwrap();
    }

    async fn subscribe(&self, customer: &str, sub: &str, started: &str) -> CustomerId {
        self.subscribe_with(customer, sub, started, "active").await
    }

    async fn subscribe_with(
        &self,
        customer: &str,
        sub: &str,
        started: &str,
        status: &str,
    ) -> CustomerId {
        let c = CustomerId::new(Provider::Stripe, customer);
        let at: Timestamp = started.parse().unwrap();
        let mut e = Event::new(
            format!("created-{customer}-{sub}"),
            c.clone(),
            Trigger::SubscriptionCreated,
            at,
        );
        e.subscription = Some(SubscriptionInfo {
            id: sub.into(),
            plan: Some("price_gold".into()),
            status: Some(status.into()),
            started_at: Some(at),
            monthly_amount: None,
            resource_version: None,
        });
        self.apply(e).await;
        c
    }

    /// Sets the watermark as if the job had completed `day`.
    async fn completed(&self, day: Date) {
        let w = self.store.watermark().await.unwrap();
        assert!(self.store.advance_watermark(w, day).await.unwrap());
    }

    async fn tick(&self, today: Date) -> RunReport {
        schedule::run(&*self.store, &self.sink, &self.program, today)
            .await
            .unwrap()
    }

    async fn lines(&self, c: &CustomerId) -> Vec<LedgerLine> {
        let page = PageRequest {
            limit: 500,
            before: None,
        };
        let mut lines = self.store.ledger(c, page).await.unwrap().lines;
        lines.reverse();
        lines
    }

    async fn lines_of(&self, c: &CustomerId, kind: LineKind, rule: &str) -> Vec<LedgerLine> {
        self.lines(c)
            .await
            .into_iter()
            .filter(|l| l.kind == kind && l.rule == rule)
            .collect()
    }

    fn submitted(&self) -> Vec<String> {
        self.sink.ids.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn when_a_29_february_start_meets_common_and_leap_years_then_it_celebrates_on_28_and_29_february()
 {
    let w = World::new();
    let c = w
        .subscribe("leap", "sub_leap", "2024-02-29T15:00:00-05:00")
        .await;
    w.completed(date(2025, 2, 26)).await;
    w.tick(date(2025, 3, 2)).await;
    let loyal = w.lines_of(&c, LineKind::Earn, "loyal").await;
    assert_eq!(loyal.len(), 1, "one anniversary in 2025");
    assert_eq!(loyal[0].event_id.as_str(), "anniv:stripe:sub_leap:1");
    assert_eq!(
        loyal[0].occurred_at.to_string(),
        "2025-02-28T05:00:00Z",
        "on 28 February, at local midnight"
    );

    // 2028 is a leap year: 28 February is not its day, 29 February is.
    let w2 = World::new();
    let c2 = w2
        .subscribe("leap", "sub_leap", "2024-02-29T15:00:00-05:00")
        .await;
    w2.completed(date(2028, 2, 27)).await;
    let report = w2.tick(date(2028, 2, 28)).await;
    assert_eq!(report.events(), 0);
    w2.tick(date(2028, 3, 1)).await;
    let loyal = w2.lines_of(&c2, LineKind::Earn, "loyal").await;
    assert_eq!(loyal.len(), 1);
    assert_eq!(loyal[0].event_id.as_str(), "anniv:stripe:sub_leap:4");
    assert_eq!(loyal[0].occurred_at.to_string(), "2028-02-29T05:00:00Z");
}

#[tokio::test]
async fn when_a_start_is_near_local_midnight_then_the_local_date_is_its_anniversary() {
    let w = World::new();
    // 23:30 on 9 March in New York is 10 March in UTC; 00:30 on 10 March is 05:30 UTC.
    let late = w
        .subscribe("late", "sub_late", "2025-03-10T03:30:00Z")
        .await;
    let early = w
        .subscribe("early", "sub_early", "2025-03-10T04:30:00Z")
        .await;
    w.completed(date(2026, 3, 8)).await;
    let report = w.tick(date(2026, 3, 9)).await;
    assert_eq!(report.days[0].anniversaries, 1);
    assert_eq!(w.lines_of(&late, LineKind::Earn, "loyal").await.len(), 1);
    assert!(w.lines_of(&early, LineKind::Earn, "loyal").await.is_empty());
    let report = w.tick(date(2026, 3, 10)).await;
    assert_eq!(report.days[0].anniversaries, 1);
    assert_eq!(w.lines_of(&early, LineKind::Earn, "loyal").await.len(), 1);
    assert_eq!(w.lines_of(&late, LineKind::Earn, "loyal").await.len(), 1);
}

#[tokio::test]
async fn when_a_subscription_is_cancelled_or_less_than_a_year_old_then_it_gets_no_anniversary() {
    let w = World::new();
    let kept = w
        .subscribe("kept", "sub_kept", "2025-05-01T12:00:00Z")
        .await;
    let gone = w
        .subscribe("gone", "sub_gone", "2025-05-01T12:00:00Z")
        .await;
    let young = w
        .subscribe("young", "sub_young", "2026-05-01T12:00:00Z")
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
    w.apply(cancel).await;
    w.completed(date(2026, 4, 30)).await;
    let report = w.tick(date(2026, 5, 1)).await;
    assert_eq!(report.days[0].anniversaries, 1);
    assert_eq!(w.lines_of(&kept, LineKind::Earn, "loyal").await.len(), 1);
    assert!(w.lines_of(&gone, LineKind::Earn, "loyal").await.is_empty());
    assert!(w.lines_of(&young, LineKind::Earn, "loyal").await.is_empty());
}

#[tokio::test]
async fn when_three_days_were_missed_then_one_run_catches_them_up_in_order() {
    let w = World::new();
    for (i, day) in ["2025-07-01", "2025-07-02", "2025-07-03"]
        .iter()
        .enumerate()
    {
        w.subscribe(
            &format!("c{i}"),
            &format!("sub{i}"),
            &format!("{day}T16:00:00Z"),
        )
        .await;
    }
    w.completed(date(2026, 6, 30)).await;
    let report = w.tick(date(2026, 7, 3)).await;
    let days: Vec<Date> = report.days.iter().map(|d| d.day).collect();
    assert_eq!(
        days,
        vec![date(2026, 7, 1), date(2026, 7, 2), date(2026, 7, 3)]
    );
    assert_eq!(report.watermark, Some(date(2026, 7, 3)));
    assert_eq!(report.lag_days(), 0);
    assert_eq!(
        w.submitted(),
        vec![
            "anniv:stripe:sub0:1",
            "anniv:stripe:sub1:1",
            "anniv:stripe:sub2:1"
        ]
    );
}

#[tokio::test]
async fn when_the_job_is_far_behind_then_a_run_does_at_most_31_days_and_the_next_continues() {
    let w = World::new();
    w.completed(date(2026, 1, 1)).await;
    let report = w.tick(date(2026, 3, 15)).await;
    assert_eq!(report.days.len(), MAX_DAYS_PER_RUN);
    assert_eq!(report.stopped, Some(Stop::DayLimit));
    assert_eq!(report.watermark, Some(date(2026, 2, 1)));
    assert_eq!(report.lag_days(), 42);
    let report = w.tick(date(2026, 3, 15)).await;
    assert_eq!(report.watermark, Some(date(2026, 3, 4)));
    let report = w.tick(date(2026, 3, 15)).await;
    assert_eq!(report.watermark, Some(date(2026, 3, 15)));
    assert_eq!(report.stopped, None);
}

/// Every ledger line of the customers, as (customer, event id, kind, points).
async fn ledger_of(w: &World, customers: &[CustomerId]) -> Vec<(String, String, LineKind, i64)> {
    let mut out = Vec::new();
    for c in customers {
        for l in w.lines(c).await {
            out.push((
                c.id.clone(),
                l.event_id.as_str().to_owned(),
                l.kind,
                l.points,
            ));
        }
    }
    out
}

async fn busy_world() -> (World, Vec<CustomerId>) {
    // No welcome points: their lots (2024) would be older than the expiry job reads back.
    let w = World::with(&PROGRAM.replace(
        "on = \"subscription.created\"\npoints = 100\n",
        "on = \"subscription.created\"\nper_amount = { usd = 1 }\n",
    ));
    let mut customers = Vec::new();
    for i in 0..12 {
        // Anniversaries on 20 to 31 May 2025; points added on 1 to 12 May 2025 expire
        // (30 days) on 1 to 12 June: all inside the days the job runs.
        let c = w
            .subscribe(
                &format!("busy{i}"),
                &format!("sub{i}"),
                &format!("2024-05-{:02}T16:00:00Z", 20 + i),
            )
            .await;
        let mut added = Event::new(
            format!("add-{i}"),
            c.clone(),
            Trigger::PointsAdjusted,
            format!("2025-05-{:02}T16:00:00Z", 1 + i).parse().unwrap(),
        );
        added.points = Some(50);
        w.apply(added).await;
        customers.push(c);
    }
    w.completed(date(2025, 5, 19)).await;
    (w, customers)
}

const UNTIL: Date = date(2025, 6, 15);

#[tokio::test]
async fn when_the_job_runs_twice_or_twice_at_once_then_the_ledger_is_the_same_as_after_one_run() {
    let (once, customers) = busy_world().await;
    let report = once.tick(UNTIL).await;
    assert_eq!(report.stopped, None);
    let expected = ledger_of(&once, &customers).await;
    let count = |kind| expected.iter().filter(|(_, _, k, _)| *k == kind).count();
    assert_eq!(count(LineKind::Expiry), 12, "{expected:?}");
    assert_eq!(
        expected
            .iter()
            .filter(|(_, id, _, _)| id.starts_with("anniv:"))
            .count(),
        12
    );

    let (twice, customers) = busy_world().await;
    twice.tick(UNTIL).await;
    let again = twice.tick(UNTIL).await;
    assert!(again.days.is_empty(), "nothing left to do");
    assert_eq!(ledger_of(&twice, &customers).await, expected);

    // Two runs at once from the same watermark: both may process a day (the loser's
    // watermark update fails and it stops); the ids make the second submission a no-op.
    let (racing, customers) = busy_world().await;
    let (a, b) = tokio::join!(racing.tick(UNTIL), racing.tick(UNTIL));
    assert!(a.watermark == Some(UNTIL) || b.watermark == Some(UNTIL));
    assert_eq!(racing.tick(UNTIL).await.watermark, Some(UNTIL));
    assert_eq!(ledger_of(&racing, &customers).await, expected);
}

#[tokio::test]
async fn when_a_run_fails_mid_day_then_the_next_run_does_the_day_again_and_adds_nothing_twice() {
    let (once, customers) = busy_world().await;
    once.tick(UNTIL).await;
    let expected = ledger_of(&once, &customers).await;

    let (crashed, customers) = busy_world().await;
    // The twelve anniversaries go through; the queue fails at the first expiry (1 June).
    *crashed.sink.fail_after.lock().unwrap() = Some(12 + 1);
    let failed = schedule::run(&*crashed.store, &crashed.sink, &crashed.program, UNTIL).await;
    assert!(failed.is_err(), "the run stops when the queue is down");
    let stuck = crashed.store.watermark().await.unwrap();
    assert!(
        stuck < Some(UNTIL),
        "the failed day is not completed: {stuck:?}"
    );
    *crashed.sink.fail_after.lock().unwrap() = None;
    let report = crashed.tick(UNTIL).await;
    assert_eq!(report.watermark, Some(UNTIL));
    assert_eq!(ledger_of(&crashed, &customers).await, expected);
}

#[tokio::test]
async fn when_a_lot_was_partly_spent_then_what_is_left_of_it_expires() {
    let w = World::new();
    let c = w
        .subscribe("spender", "sub_s", "2026-04-01T16:00:00Z")
        .await;
    let mut spend = Event::new(
        "adjust-1",
        c.clone(),
        Trigger::PointsAdjusted,
        "2026-04-10T16:00:00Z".parse().unwrap(),
    );
    spend.points = Some(-40);
    w.apply(spend).await;
    // Earned 1 April (local), 30 days: valid to the end of 1 May, expired on 2 May.
    w.completed(date(2026, 4, 30)).await;
    let report = w.tick(date(2026, 5, 1)).await;
    assert_eq!(report.days[0].expiries, 0, "still valid on 1 May");
    let report = w.tick(date(2026, 5, 2)).await;
    assert_eq!(report.days[0].expiries, 1);
    let expired = w.lines_of(&c, LineKind::Expiry, "expiry").await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].points, -60, "100 earned, 40 spent: 60 expire");
    assert_eq!(
        expired[0].event_id.as_str(),
        "expire:stripe:spender:2026-05-02"
    );
    assert_eq!(expired[0].balance_after, 0);
    // Nothing expires again.
    let report = w.tick(date(2026, 5, 5)).await;
    assert_eq!(report.events(), 0);
}

#[tokio::test]
async fn when_a_promotion_with_a_grant_starts_then_every_active_customer_gets_it_once_across_pages()
{
    let w = World::new();
    let n = 1_000;
    let mut customers = Vec::new();
    for i in 0..n {
        // Starts spread over the year: the fan-out reads every month-day.
        let day = date(2025, 1, 1)
            .checked_add(jiff::Span::new().days(i % 365))
            .unwrap();
        customers.push(
            w.subscribe(
                &format!("g{i:04}"),
                &format!("sub{i}"),
                &format!("{day}T16:00:00Z"),
            )
            .await,
        );
    }
    // One customer with two subscriptions, one cancelled customer.
    let twice = w
        .subscribe("g0000", "sub_second", "2025-03-03T16:00:00Z")
        .await;
    let cancelled = w
        .subscribe_with("gone", "sub_gone", "2025-03-03T16:00:00Z", "canceled")
        .await;
    assert!(n as usize > 5 * PAGE, "more customers than a few pages");
    w.completed(date(2026, 5, 31)).await;
    let report = w.tick(date(2026, 6, 1)).await;
    assert_eq!(report.days[0].grants, n as usize);
    for c in &customers {
        let grants = w.lines_of(c, LineKind::Grant, "summer-gift").await;
        assert_eq!(grants.len(), 1, "{c}");
        assert_eq!(grants[0].points, 250);
        assert_eq!(
            grants[0].event_id.as_str(),
            format!("grant:summer-gift:stripe:{}", c.id)
        );
    }
    assert_eq!(
        w.lines_of(&twice, LineKind::Grant, "summer-gift")
            .await
            .len(),
        1
    );
    assert!(
        w.lines_of(&cancelled, LineKind::Grant, "summer-gift")
            .await
            .is_empty()
    );
    // The next day grants nothing.
    assert_eq!(w.tick(date(2026, 6, 2)).await.days[0].grants, 0);
}

const ROLLING: &str = r#"
[program]
name = "Rolling"
timezone = "America/New_York"
tier_window = "rolling-12-months"

[[earn]]
id = "welcome"
on = "subscription.created"
points = 1500

[[tiers]]
name = "Member"
min_points = 0
multiplier = "1"

[[tiers]]
name = "Silver"
min_points = 1000
multiplier = "1"
grants = ["lounge"]
"#;

#[tokio::test]
async fn when_the_month_that_made_a_tier_leaves_the_rolling_window_then_the_job_downgrades_and_removes_its_grant()
 {
    use saguaro_app::ports::StateStore;
    let w = World::with(ROLLING);
    // 1,500 points on 15 January 2026 (local): Silver, with the lounge, until January 2026
    // leaves the window on 1 January 2027.
    let c = w.subscribe("roller", "sub_r", "2026-01-15T16:00:00Z").await;
    let state = w.store.load(&c).await.unwrap().unwrap();
    assert_eq!(state.tier.as_deref(), Some("Silver"));
    assert_eq!(state.tier_review_on, Some(date(2026, 12, 31)));
    let lounge = |tier: Option<&str>| {
        w.program
            .tiers
            .iter()
            .find(|t| Some(t.name.as_str()) == tier)
            .is_some_and(|t| t.grants.iter().any(|g| g == "lounge"))
    };
    assert!(lounge(state.tier.as_deref()));

    w.completed(date(2026, 12, 29)).await;
    let report = w.tick(date(2026, 12, 31)).await;
    assert_eq!(
        report.events(),
        0,
        "January 2026 still counts on 31 December"
    );
    assert_eq!(
        w.store.load(&c).await.unwrap().unwrap().tier.as_deref(),
        Some("Silver")
    );

    let report = w.tick(date(2027, 1, 1)).await;
    assert_eq!(report.days[0].expiries, 1);
    assert_eq!(w.submitted(), vec!["expire:stripe:roller:2027-01-01"]);
    let state = w.store.load(&c).await.unwrap().unwrap();
    assert_eq!(
        state.tier.as_deref(),
        Some("Member"),
        "0 points in the window"
    );
    assert!(!lounge(state.tier.as_deref()), "the Silver grant is gone");
    assert_eq!(state.balance, 1500, "a downgrade spends nothing");
    assert_eq!(state.tier_review_on, None, "the lowest tier cannot fall");
    // No review is due again (15 January is the subscription's anniversary).
    let report = w.tick(date(2027, 2, 1)).await;
    let expiries: usize = report.days.iter().map(|d| d.expiries).sum();
    assert_eq!(expiries, 0);
}
