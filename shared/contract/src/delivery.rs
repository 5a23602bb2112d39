//! Contract cases for reward delivery state ([`RewardStore`], docs/design.md §5.3): the
//! conditional transitions, two claimers racing, and the sweep's listing of waiting rows.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use saguaro_domain::ports::{
    CommitOutcome, HistoryStore, RewardPosition, RewardRef, RewardStore, StateStore,
};
use saguaro_domain::{CustomerId, CustomerState, Delivery, RewardOutbox};

use crate::{all_rewards, commit, commit_for, customer, payment};

pub(crate) const LEASE: SignedDuration = SignedDuration::from_mins(5);

/// Commits payments `from..to` of 600 usd for `c` (payment `n` at minute `n` from the
/// contract's epoch; each redeems a 500-point credit, the second also Gold's access reward);
/// returns each commit's first reward row (the credit) and its address.
pub(crate) async fn rewarded<S: StateStore>(
    store: &S,
    c: &CustomerId,
    from: u32,
    to: u32,
) -> Vec<(RewardRef, RewardOutbox)> {
    let mut state = CustomerState::new(c.clone());
    let mut out = Vec::new();
    for n in from..to {
        let made = commit_for(&state, &payment(c, n, 60_000));
        state = made.state.clone();
        let Some(first) = made.rewards.first().cloned() else {
            panic!("payment {n} redeems a reward");
        };
        let at = RewardRef {
            customer: c.clone(),
            at: RewardPosition {
                version: made.state.version,
                index: 0,
            },
        };
        assert_eq!(commit(store, made).await.ok(), Some(CommitOutcome::Applied));
        out.push((at, first));
    }
    out
}

async fn get<S: RewardStore>(store: &S, at: &RewardRef) -> Option<RewardOutbox> {
    store
        .reward(at)
        .await
        .unwrap_or_else(|e| panic!("reward: {e}"))
}

async fn set<S: RewardStore>(store: &S, at: &RewardRef, from: &Delivery, to: &Delivery) -> bool {
    store
        .set_delivery(at, from, to, None)
        .await
        .unwrap_or_else(|e| panic!("set_delivery: {e}"))
}

pub async fn reward_delivery_moves_only_from_the_state_last_read<
    S: StateStore + HistoryStore + RewardStore,
>(
    store: S,
) {
    let c = customer("deliver");
    let rows = rewarded(&store, &c, 0, 1).await;
    let (at, row) = &rows[0];
    assert_eq!(get(&store, at).await.as_ref(), Some(row));
    assert_eq!(row.delivery, Delivery::pending());

    let now = row.created_at;
    let Some(claim) = row.delivery.claim(now, LEASE) else {
        panic!("a pending row is claimable");
    };
    assert!(set(&store, at, &row.delivery, &claim.state()).await);
    // A second claim from the same read loses: the row is no longer pending.
    assert!(!set(&store, at, &row.delivery, &claim.state()).await);
    let delivered = claim.delivered(now, Some("cbtxn_1".to_owned()));
    // An outcome from a state the row is not in is refused.
    assert!(!set(&store, at, &Delivery::pending(), &delivered).await);
    assert!(set(&store, at, &claim.state(), &delivered).await);

    let stored = get(&store, at).await;
    assert_eq!(stored.as_ref().map(|r| &r.delivery), Some(&delivered));
    // Everything but the delivery is as committed, and the listing shows the new state.
    assert_eq!(
        stored.map(|r| RewardOutbox {
            delivery: row.delivery.clone(),
            ..r
        }),
        Some(row.clone())
    );
    let listed = all_rewards(&store, &c).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].delivery, delivered);

    // No row there: nothing to read, nothing written.
    let nowhere = RewardRef {
        customer: c.clone(),
        at: RewardPosition {
            version: 99,
            index: 0,
        },
    };
    assert_eq!(get(&store, &nowhere).await, None);
    assert!(!set(&store, &nowhere, &Delivery::pending(), &delivered).await);
    assert!(all_rewards(&store, &c).await.len() == 1);
}

pub async fn racing_claims_let_exactly_one_fulfiler_deliver<
    S: StateStore + HistoryStore + RewardStore + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let c = customer("claims");
    let rows = rewarded(&*store, &c, 0, 3).await;
    for (at, row) in rows {
        let mut tasks = Vec::new();
        for n in 0..4 {
            let (store, at, row) = (store.clone(), at.clone(), row.clone());
            tasks.push(tokio::spawn(async move {
                let now = row.created_at + SignedDuration::from_secs(n);
                let Some(claim) = row.delivery.claim(now, LEASE) else {
                    panic!("pending is claimable");
                };
                store
                    .set_delivery(&at, &row.delivery, &claim.state(), None)
                    .await
                    .map(|won| won.then(|| claim.state()))
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(Some(state))) => winners.push(state),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => panic!("set_delivery: {e}"),
                Err(e) => panic!("task: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one claim wins");
        assert_eq!(get(&*store, &at).await.map(|r| r.delivery), winners.pop());
    }
}

pub async fn waiting_rewards_are_listed_oldest_first_until_they_close<
    S: StateStore + HistoryStore + RewardStore,
>(
    store: S,
) {
    let (a, b, d) = (customer("wait-a"), customer("wait-b"), customer("wait-d"));
    let mut rows_a = rewarded(&store, &a, 0, 1).await;
    rows_a.extend(rewarded(&store, &d, 1, 2).await);
    let rows_b = rewarded(&store, &b, 0, 1).await;
    let listed = |v: &[(RewardRef, RewardOutbox)]| -> Vec<String> {
        v.iter().map(|(_, r)| r.id.clone()).collect()
    };
    let waiting = |before: Timestamp| {
        let store = &store;
        async move {
            store
                .waiting_rewards(before, 100)
                .await
                .unwrap_or_else(|e| panic!("waiting_rewards: {e}"))
        }
    };
    let (a0, a1, b0) = (&rows_a[0], &rows_a[1], &rows_b[0]);
    // a0 and b0 were created at the epoch, a1 (customer d) a minute later.
    let t0 = a0.1.created_at;
    assert_eq!(b0.1.created_at, t0);
    assert!(waiting(t0).await.is_empty(), "strictly before");
    let mut first = listed(&waiting(t0 + SignedDuration::from_secs(1)).await);
    first.sort();
    let mut want = vec![a0.1.id.clone(), b0.1.id.clone()];
    want.sort();
    assert_eq!(first, want);
    let all = waiting(t0 + SignedDuration::from_hours(1)).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].1.id, a1.1.id, "oldest first");
    assert_eq!(all[2].0, a1.0, "with the row's address");
    let limited = store
        .waiting_rewards(t0 + SignedDuration::from_hours(1), 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(limited.len(), 2);

    // Delivered and failed rows leave the list; a row back to pending waits from its
    // last attempt; a claimed row from its claim.
    let claim_at = |row: &RewardOutbox, mins| row.created_at + SignedDuration::from_mins(mins);
    let Some(ca) = a0.1.delivery.claim(claim_at(&a0.1, 1), LEASE) else {
        panic!("claimable")
    };
    assert!(set(&store, &a0.0, &a0.1.delivery, &ca.state()).await);
    assert!(
        set(
            &store,
            &a0.0,
            &ca.state(),
            &ca.delivered(claim_at(&a0.1, 1), None)
        )
        .await
    );
    let Some(cb) = b0.1.delivery.claim(claim_at(&b0.1, 1), LEASE) else {
        panic!("claimable")
    };
    assert!(set(&store, &b0.0, &b0.1.delivery, &cb.state()).await);
    let retry = cb.retry_later(claim_at(&b0.1, 30), "HTTP 503".to_owned(), true);
    assert!(set(&store, &b0.0, &cb.state(), &retry).await);
    let Some(c1) = a1.1.delivery.claim(claim_at(&a1.1, 10), LEASE) else {
        panic!("claimable")
    };
    assert!(set(&store, &a1.0, &a1.1.delivery, &c1.state()).await);

    assert!(waiting(t0 + SignedDuration::from_mins(5)).await.is_empty());
    let now = listed(&waiting(t0 + SignedDuration::from_mins(60)).await);
    assert_eq!(now, vec![a1.1.id.clone(), b0.1.id.clone()]);
    assert!(
        set(
            &store,
            &a1.0,
            &c1.state(),
            &c1.failed("HTTP 400".to_owned())
        )
        .await
    );
    let now = waiting(t0 + SignedDuration::from_mins(60)).await;
    assert_eq!(listed(&now), vec![b0.1.id.clone()]);
    assert_eq!(now[0].1.delivery, retry);
}
