//! The contract every implementation of Saguaro's store port passes (docs/design.md §5.1, §6): the
//! embedded store, the SQLite store and the DynamoDB store run this same suite.
//!
//! Use it with one line in the implementation's tests:
//! `saguaro_store_contract::contract_tests!(async || make_a_fresh_store());`
//! Each case gets a fresh, empty store. The calling crate needs `tokio` (with `macros` and
//! `rt-multi-thread`) as a dev-dependency.

use std::sync::Arc;

mod delivery;
mod history;
mod links;
mod notices;
mod schedule;
pub use delivery::{
    racing_claims_let_exactly_one_fulfiler_deliver,
    reward_delivery_moves_only_from_the_state_last_read,
    waiting_rewards_are_listed_oldest_first_until_they_close,
};
pub use history::{
    ledger_pages_newest_first, rewards_are_listed_with_their_state, rewards_page_newest_first,
};
pub use links::invoice_links_read_back_and_redelivery_changes_nothing;
pub use notices::{
    a_lost_race_writes_no_notification, a_transition_writes_its_notification_exactly_once,
};
pub use schedule::{
    racing_watermark_updates_let_exactly_one_win, schedule_index_pages_cover_every_entry_once,
    schedule_indexes_follow_the_committed_state, watermark_moves_only_from_the_day_it_is_at,
};

use jiff::Timestamp;
use saguaro_app::{Applied, EarnError, Earner};
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, HistoryStore, PageRequest, RewardPageRequest, StateStore,
    StoreError,
};
use saguaro_domain::{
    CustomerId, CustomerState, Event, EventId, Money, Program, Provider, RewardOutbox, Trigger,
};

/// Generates one `#[tokio::test]` per contract case. `$make` is an async closure returning a
/// fresh store.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@cases $make;
            load_of_unknown_customer_is_none,
            commit_then_load_round_trips_the_whole_state,
            marker_that_exists_wins_and_writes_nothing,
            reused_id_with_another_payload_is_reported,
            stale_version_is_a_conflict_and_writes_nothing,
            racing_commits_from_one_version_let_exactly_one_win,
            racing_earners_on_one_customer_apply_every_event_once,
            same_event_id_for_another_customer_is_refused_and_earns_nothing,
            same_event_id_for_another_providers_customer_is_refused_and_earns_nothing,
            referral_reaches_the_referrer_once_under_its_own_event_id,
            commit_without_marker_is_version_checked,
            ledger_pages_newest_first,
            rewards_are_listed_with_their_state,
            rewards_page_newest_first,
            reward_delivery_moves_only_from_the_state_last_read,
            racing_claims_let_exactly_one_fulfiler_deliver,
            a_transition_writes_its_notification_exactly_once,
            a_lost_race_writes_no_notification,
            waiting_rewards_are_listed_oldest_first_until_they_close,
            schedule_indexes_follow_the_committed_state,
            schedule_index_pages_cover_every_entry_once,
            watermark_moves_only_from_the_day_it_is_at,
            racing_watermark_updates_let_exactly_one_win,
            invoice_links_read_back_and_redelivery_changes_nothing,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let make = $make;
                $crate::$case(make().await).await;
            }
        )+
    };
}

/// A program that exercises every part of the state: tiers, caps, promotions, expiry lots,
/// rewards of each kind.
pub const PROGRAM: &str = r#"
[program]
name = "Contract"
timezone = "America/New_York"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
cap = { points = 100000, per = "month" }

[[earn]]
id = "welcome"
on = "subscription.created"
points = 50

[[earn]]
id = "referral"
on = "referral.converted"
points = 500
beneficiary = "referrer"

[[tiers]]
name = "Member"
min_points = 0
multiplier = "1"

[[tiers]]
name = "Gold"
min_points = 1000
multiplier = "1.5"
grants = ["priority-support"]

[[rewards]]
id = "credit-5"
kind = "billing_credit"
cost = 500
value = { usd = 500 }

[[rewards]]
id = "gold-welcome"
kind = "access"
grant = "gold-lounge"
on_tier = "Gold"

[expiry]
after_days = 365
"#;

pub fn program() -> Arc<Program> {
    match Program::parse(PROGRAM) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("contract program is invalid: {e}"),
    }
}

pub fn customer(id: &str) -> CustomerId {
    CustomerId::new(Provider::Custom, id)
}

fn at(seconds: i64) -> Timestamp {
    match Timestamp::from_second(1_780_000_000 + seconds) {
        Ok(t) => t,
        Err(e) => panic!("bad test time: {e}"),
    }
}

/// A payment of `minor` cents; with `n` it makes distinct events and payments.
pub fn payment(c: &CustomerId, n: u32, minor: i64) -> Event {
    let mut e = Event::new(
        format!("pay-evt-{}-{n}", c.id),
        c.clone(),
        Trigger::PaymentSucceeded,
        at(i64::from(n) * 60),
    );
    e.amount = Some(Money::new(minor, usd()));
    e.refs.payment = Some(format!("pay-{}-{n}", c.id));
    e
}

fn usd() -> saguaro_domain::Currency {
    match "usd".parse() {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// The commit the engine makes for `event` on top of `state`.
fn commit_for(state: &CustomerState, event: &Event) -> Commit {
    let outcome = match saguaro_domain::apply(&program(), state, event) {
        Ok(o) => o,
        Err(e) => panic!("engine failed: {e}"),
    };
    Commit::of(
        Some(EventMarker::for_event(event, &state.customer)),
        state.version,
        outcome,
    )
}

async fn load<S: StateStore>(store: &S, c: &CustomerId) -> Option<CustomerState> {
    match store.load(c).await {
        Ok(s) => s,
        Err(e) => panic!("load failed: {e}"),
    }
}

async fn commit<S: StateStore>(store: &S, commit: Commit) -> Result<CommitOutcome, StoreError> {
    store.commit(commit).await
}

async fn all_lines<S: HistoryStore>(store: &S, c: &CustomerId) -> Vec<saguaro_domain::LedgerLine> {
    match store
        .ledger(
            c,
            PageRequest {
                limit: 10_000,
                before: None,
            },
        )
        .await
    {
        Ok(p) => p.lines,
        Err(e) => panic!("ledger failed: {e}"),
    }
}

/// Every reward row of `c`, newest first, through the pages.
async fn all_rewards<S: HistoryStore>(store: &S, c: &CustomerId) -> Vec<RewardOutbox> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = match store
            .rewards(c, RewardPageRequest { limit: 2, before })
            .await
        {
            Ok(p) => p,
            Err(e) => panic!("rewards failed: {e}"),
        };
        assert!(page.rewards.len() <= 2);
        out.extend(page.rewards);
        match page.next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

pub async fn load_of_unknown_customer_is_none<S: StateStore + HistoryStore>(store: S) {
    let c = customer("nobody");
    assert_eq!(load(&store, &c).await, None);
    assert!(all_lines(&store, &c).await.is_empty());
    assert!(all_rewards(&store, &c).await.is_empty());
}

pub async fn commit_then_load_round_trips_the_whole_state<S: StateStore + HistoryStore>(store: S) {
    let c = customer("rich");
    let referred = customer("friend");
    let mut state = CustomerState::new(c.clone());
    let mut created = Event::new(
        "sub-created",
        c.clone(),
        Trigger::SubscriptionCreated,
        at(0),
    );
    created.subscription = Some(saguaro_domain::SubscriptionInfo {
        id: "sub-1".into(),
        plan: Some("price_gold".into()),
        status: Some("active".into()),
        started_at: Some(at(0)),
        monthly_amount: Some(Money::new(1999, usd())),
        resource_version: None,
    });
    let mut referral = Event::new(
        "ref-1",
        referred.clone(),
        Trigger::ReferralConverted,
        at(30),
    );
    referral.refs.referrer = Some(c.clone());
    let events = [
        created,
        payment(&c, 1, 75_000),
        payment(&c, 2, 12_345),
        referral,
    ];
    let mut expected_lines = 0;
    for event in &events {
        let commit_ = commit_for(&state, event);
        expected_lines += commit_.lines.len();
        let next = commit_.state.clone();
        assert_eq!(
            commit(&store, commit_).await.ok(),
            Some(CommitOutcome::Applied)
        );
        state = next;
    }
    let loaded = load(&store, &c).await;
    assert_eq!(
        loaded.as_ref(),
        Some(&state),
        "the loaded state equals the committed one"
    );
    let loaded = loaded.unwrap_or_else(|| CustomerState::new(c.clone()));
    assert!(
        !loaded.lots.is_empty() && !loaded.payments.is_empty() && !loaded.subscriptions.is_empty()
    );
    assert!(!loaded.caps.is_empty() && !loaded.grants.is_empty());
    assert_eq!(all_lines(&store, &c).await.len(), expected_lines);
}

pub async fn marker_that_exists_wins_and_writes_nothing<S: StateStore + HistoryStore>(store: S) {
    let c = customer("dup");
    let event = payment(&c, 1, 1_000);
    let first = commit_for(&CustomerState::new(c.clone()), &event);
    assert_eq!(
        commit(&store, first.clone()).await.ok(),
        Some(CommitOutcome::Applied)
    );
    let after_first = load(&store, &c).await;
    let lines_after_first = all_lines(&store, &c).await;

    // The same event again, computed on the new state (as a redelivery would be).
    let state = after_first
        .clone()
        .unwrap_or_else(|| CustomerState::new(c.clone()));
    let again = commit_for(&state, &event);
    assert_eq!(
        commit(&store, again).await.ok(),
        Some(CommitOutcome::AlreadyApplied { same_payload: true })
    );
    // And with a stale version: the marker still wins over the version check.
    assert_eq!(
        commit(&store, first).await.ok(),
        Some(CommitOutcome::AlreadyApplied { same_payload: true })
    );
    assert_eq!(load(&store, &c).await, after_first);
    assert_eq!(all_lines(&store, &c).await, lines_after_first);
}

pub async fn reused_id_with_another_payload_is_reported<S: StateStore + HistoryStore>(store: S) {
    let c = customer("reuse");
    let event = payment(&c, 1, 1_000);
    let first = commit_for(&CustomerState::new(c.clone()), &event);
    let state = first.state.clone();
    assert_eq!(
        commit(&store, first).await.ok(),
        Some(CommitOutcome::Applied)
    );
    let mut other = event.clone();
    other.amount = Some(Money::new(9_999, usd()));
    assert_eq!(
        commit(&store, commit_for(&state, &other)).await.ok(),
        Some(CommitOutcome::AlreadyApplied {
            same_payload: false
        })
    );
    assert_eq!(all_lines(&store, &c).await.len(), 1);
}

pub async fn stale_version_is_a_conflict_and_writes_nothing<S: StateStore + HistoryStore>(
    store: S,
) {
    let c = customer("stale");
    let empty = CustomerState::new(c.clone());
    let a = payment(&c, 1, 1_000);
    let b = payment(&c, 2, 2_000);
    assert_eq!(
        commit(&store, commit_for(&empty, &a)).await.ok(),
        Some(CommitOutcome::Applied)
    );
    let stored = load(&store, &c).await;
    let stale = commit_for(&empty, &b);
    assert!(matches!(
        commit(&store, stale).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(load(&store, &c).await, stored, "state unchanged");
    assert_eq!(
        all_lines(&store, &c).await.len(),
        1,
        "no lines from the failed commit"
    );
    // No marker was left behind: the same event commits on the current version.
    let current = stored.unwrap_or_else(|| CustomerState::new(c.clone()));
    assert_eq!(
        commit(&store, commit_for(&current, &b)).await.ok(),
        Some(CommitOutcome::Applied)
    );
    assert_eq!(all_lines(&store, &c).await.len(), 2);
}

pub async fn racing_commits_from_one_version_let_exactly_one_win<
    S: StateStore + HistoryStore + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let c = customer("race");
    let empty = CustomerState::new(c.clone());
    for round in 0..10u32 {
        let base = load(&*store, &c).await.unwrap_or_else(|| empty.clone());
        let x = commit_for(&base, &payment(&c, 1000 + round * 2, 100));
        let y = commit_for(&base, &payment(&c, 1001 + round * 2, 200));
        let (s1, s2) = (store.clone(), store.clone());
        let t1 = tokio::spawn(async move { s1.commit(x).await });
        let t2 = tokio::spawn(async move { s2.commit(y).await });
        let r1 = t1.await.unwrap_or_else(|e| panic!("task: {e}"));
        let r2 = t2.await.unwrap_or_else(|e| panic!("task: {e}"));
        let wins = [&r1, &r2]
            .iter()
            .filter(|r| matches!(r, Ok(CommitOutcome::Applied)))
            .count();
        let conflicts = [&r1, &r2]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
            .count();
        assert_eq!((wins, conflicts), (1, 1), "round {round}: {r1:?} / {r2:?}");
        let state = load(&*store, &c).await.unwrap_or_else(|| empty.clone());
        assert_eq!(state.version, base.version + 1);
    }
    assert_eq!(all_lines(&*store, &c).await.len(), 10);
}

pub async fn racing_earners_on_one_customer_apply_every_event_once<
    S: StateStore + HistoryStore + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let c = customer("contended");
    let earner = Arc::new(Earner::new(store.clone(), program()));
    let mut tasks = Vec::new();
    for worker in 0..2u32 {
        let earner = earner.clone();
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25u32 {
                // Each worker also redelivers the other's events.
                for k in [worker * 100 + n, (1 - worker) * 100 + n] {
                    if let Err(e) = earner.apply(&payment(&c, k, 1_000)).await {
                        panic!("apply failed: {e}");
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("task: {e}"));
    }
    let lines = all_lines(&*store, &c).await;
    let earned = lines
        .iter()
        .filter(|l| l.kind == saguaro_domain::LineKind::Earn)
        .count();
    assert_eq!(
        earned, 50,
        "each of the 50 distinct payments earned exactly once"
    );
    let state = load(&*store, &c)
        .await
        .unwrap_or_else(|| CustomerState::new(c.clone()));
    assert_eq!(state.balance, lines.iter().map(|l| l.points).sum::<i64>());
    let mut seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=lines.len() as u64).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
}

/// One event id is one event (issue 13): an id applied to one customer is refused for
/// another, whatever the body, and the other customer earns nothing.
pub async fn same_event_id_for_another_customer_is_refused_and_earns_nothing<
    S: StateStore + HistoryStore,
>(
    store: S,
) {
    let (first, second) = (customer("first"), customer("second"));
    let mut event = payment(&first, 1, 1_000);
    event.id = EventId::new("evt-shared");
    assert_eq!(
        commit(
            &store,
            commit_for(&CustomerState::new(first.clone()), &event)
        )
        .await
        .ok(),
        Some(CommitOutcome::Applied)
    );
    let after_first = load(&store, &first).await;

    let mut reused = payment(&second, 1, 1_000);
    reused.id = event.id.clone();
    assert_eq!(
        commit(
            &store,
            commit_for(&CustomerState::new(second.clone()), &reused)
        )
        .await
        .ok(),
        Some(CommitOutcome::AlreadyApplied {
            same_payload: false
        })
    );
    assert_eq!(load(&store, &second).await, None, "nothing was written");
    assert!(all_lines(&store, &second).await.is_empty());
    assert_eq!(load(&store, &first).await, after_first);
    assert_eq!(all_lines(&store, &first).await.len(), 1);
}

/// `stripe:cus_1` and `chargebee:cus_1` are two customers, but one event id is still one
/// event: through the earn service, the second use of the id is refused as reused.
pub async fn same_event_id_for_another_providers_customer_is_refused_and_earns_nothing<
    S: StateStore + HistoryStore,
>(
    store: S,
) {
    let store = Arc::new(store);
    let earner = Earner::new(store.clone(), program());
    let on_stripe = CustomerId::new(Provider::Stripe, "cus_1");
    let on_chargebee = CustomerId::new(Provider::Chargebee, "cus_1");
    let mut event = payment(&on_stripe, 1, 5_000);
    event.id = EventId::new("evt_1");
    let mut reused = payment(&on_chargebee, 1, 5_000);
    reused.id = event.id.clone();

    assert!(matches!(
        earner.apply(&event).await,
        Ok(Applied::New { lines: 1, .. })
    ));
    match earner.apply(&reused).await {
        Err(EarnError::IdReused(id)) => assert_eq!(id, event.id),
        other => panic!("the reused id was not refused: {other:?}"),
    }
    // Refused every time, not only the first: a retry earns nothing either.
    assert!(matches!(
        earner.apply(&reused).await,
        Err(EarnError::IdReused(_))
    ));
    assert_eq!(load(&*store, &on_chargebee).await, None);
    assert!(all_lines(&*store, &on_chargebee).await.is_empty());
    // The first application is still a plain duplicate for its own customer.
    assert!(matches!(earner.apply(&event).await, Ok(Applied::Duplicate)));
    let state = load(&*store, &on_stripe).await;
    assert_eq!(state.map(|s| s.balance), Some(50));
}

/// A referral is two events: the referred customer's, and the referrer's follow-up, which
/// has a deterministic id of its own (`referral:{provider}:{id}`), so both sides are applied
/// once each and a redelivery changes neither.
pub async fn referral_reaches_the_referrer_once_under_its_own_event_id<
    S: StateStore + HistoryStore,
>(
    store: S,
) {
    let store = Arc::new(store);
    let earner = Earner::new(store.clone(), program());
    let referred = customer("referred");
    let referrer = customer("referrer");
    let mut event = Event::new("ref-2", referred.clone(), Trigger::ReferralConverted, at(0));
    event.refs.referrer = Some(referrer.clone());
    for delivery in 0..2 {
        if let Err(e) = earner.apply(&event).await {
            panic!("delivery {delivery}: {e}");
        }
    }
    let referrer_state = load(&*store, &referrer)
        .await
        .unwrap_or_else(|| CustomerState::new(referrer.clone()));
    assert_eq!(referrer_state.balance, 500);
    let lines = all_lines(&*store, &referrer).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].event_id.as_str(), "referral:custom:referred");
    let referred_state = load(&*store, &referred).await;
    assert!(
        referred_state.is_some_and(|s| s.pending.is_empty() && s.referral_converted),
        "the follow-up was delivered and cleared"
    );
}

pub async fn commit_without_marker_is_version_checked<S: StateStore + HistoryStore>(store: S) {
    let c = customer("housekeeping");
    let first = commit_for(&CustomerState::new(c.clone()), &payment(&c, 1, 1_000));
    let state = first.state.clone();
    assert_eq!(
        commit(&store, first).await.ok(),
        Some(CommitOutcome::Applied)
    );
    let mut next = state.clone();
    next.version = state.version + 1;
    let plain = Commit {
        marker: None,
        expected_version: state.version,
        state: next,
        lines: vec![],
        rewards: vec![],
    };
    assert_eq!(
        commit(&store, plain.clone()).await.ok(),
        Some(CommitOutcome::Applied)
    );
    assert!(matches!(
        commit(&store, plain).await,
        Err(StoreError::Conflict { .. })
    ));
}
