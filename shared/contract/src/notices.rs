//! Contract cases for merchant notifications written with a reward's transition
//! ([`RewardStore::set_delivery`] with a notice, `[notify]`, docs/design.md §5.3): the
//! notification row exists exactly when the transition was written, once, at
//! [`notice_position`] of the reward, pending and waiting for the fulfiler.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::SignedDuration;
use saguaro_domain::notify::{Notify, NotifyKind, notice_position};
use saguaro_domain::ports::{HistoryStore, RewardRef, RewardStore, StateStore};
use saguaro_domain::{Delivery, RewardOutbox};

use crate::all_rewards;
use crate::delivery::{LEASE, rewarded};

fn notify() -> Notify {
    Notify {
        url: "https://merchant.example/hooks".to_owned(),
        kinds: NotifyKind::ALL.into_iter().collect::<BTreeSet<_>>(),
        secret: "NOTIFY".to_owned(),
        expiring_days: 7,
    }
}

fn notice_of(row: &RewardOutbox, next: &Delivery) -> RewardOutbox {
    let now = row.created_at + SignedDuration::from_secs(2);
    notify()
        .of_outcome("Contract", row, next, now)
        .unwrap_or_else(|| panic!("an outcome has a notification"))
}

fn at_notice(at: &RewardRef) -> RewardRef {
    RewardRef {
        customer: at.customer.clone(),
        at: notice_position(at.at),
    }
}

async fn notices<S: HistoryStore>(store: &S, at: &RewardRef) -> Vec<RewardOutbox> {
    all_rewards(store, &at.customer)
        .await
        .into_iter()
        .filter(|r| r.notice.is_some())
        .collect()
}

pub async fn a_transition_writes_its_notification_exactly_once<
    S: StateStore + HistoryStore + RewardStore,
>(
    store: S,
) {
    let c = crate::customer("notice");
    let rows = rewarded(&store, &c, 0, 1).await;
    let (at, row) = &rows[0];
    let Some(claim) = row.delivery.claim(row.created_at, LEASE) else {
        panic!("pending is claimable");
    };
    let set = |from: Delivery, to: Delivery, notice: Option<RewardOutbox>| {
        let store = &store;
        async move {
            store
                .set_delivery(at, &from, &to, notice.as_ref())
                .await
                .unwrap_or_else(|e| panic!("set_delivery: {e}"))
        }
    };
    assert!(set(row.delivery.clone(), claim.state(), None).await);
    let delivered = claim.delivered(row.created_at, Some("cbtxn_1".to_owned()));
    let notice = notice_of(row, &delivered);
    // From a state the row is not in: neither the update nor the notification.
    assert!(!set(Delivery::pending(), delivered.clone(), Some(notice.clone())).await);
    assert!(notices(&store, at).await.is_empty());
    assert_eq!(store.reward(&at_notice(at)).await.ok().flatten(), None);

    assert!(set(claim.state(), delivered.clone(), Some(notice.clone())).await);
    let stored = store.reward(&at_notice(at)).await.ok().flatten();
    assert_eq!(stored.as_ref(), Some(&notice));
    assert_eq!(
        store.reward(at).await.ok().flatten().map(|r| r.delivery),
        Some(delivered.clone())
    );
    // The same transition again finds the row moved: nothing more is written.
    assert!(!set(claim.state(), delivered.clone(), Some(notice.clone())).await);
    assert_eq!(notices(&store, at).await, vec![notice.clone()]);
    assert_eq!(all_rewards(&store, &c).await.len(), 2);
    // The notification waits for the fulfiler like any new row, and moves like one.
    let waiting = store
        .waiting_rewards(notice.created_at + SignedDuration::from_secs(1), 100)
        .await
        .unwrap_or_else(|e| panic!("waiting_rewards: {e}"));
    assert_eq!(
        waiting
            .iter()
            .map(|(a, r)| (a.clone(), r.id.clone()))
            .collect::<Vec<_>>(),
        vec![(at_notice(at), notice.id.clone())]
    );
    let Some(sending) = notice.delivery.claim(notice.created_at, LEASE) else {
        panic!("a new notification is claimable");
    };
    let moved = store
        .set_delivery(&at_notice(at), &notice.delivery, &sending.state(), None)
        .await
        .unwrap_or_else(|e| panic!("set_delivery: {e}"));
    assert!(moved);
}

pub async fn a_lost_race_writes_no_notification<
    S: StateStore + HistoryStore + RewardStore + 'static,
>(
    store: S,
) {
    let store = Arc::new(store);
    let c = crate::customer("notice-race");
    let rows = rewarded(&*store, &c, 0, 2).await;
    for (at, row) in rows {
        let Some(claim) = row.delivery.claim(row.created_at, LEASE) else {
            panic!("pending is claimable");
        };
        let set = store
            .set_delivery(&at, &row.delivery, &claim.state(), None)
            .await;
        assert!(matches!(set, Ok(true)));
        // Four writers of an outcome from the same claim: two deliver, two fail.
        let mut tasks = Vec::new();
        for n in 0..4i64 {
            let (store, at, row, claim) = (store.clone(), at.clone(), row.clone(), claim.clone());
            tasks.push(tokio::spawn(async move {
                let next = if n % 2 == 0 {
                    claim.delivered(row.created_at, Some(format!("cbtxn_{n}")))
                } else {
                    claim.failed(format!("HTTP 40{n}"))
                };
                let notice = notice_of(&row, &next);
                store
                    .set_delivery(&at, &claim.state(), &next, Some(&notice))
                    .await
                    .map(|won| won.then_some((next, notice)))
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(Some(won))) => winners.push(won),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => panic!("set_delivery: {e}"),
                Err(e) => panic!("task: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one outcome is written");
        let (next, notice) = winners.remove(0);
        assert_eq!(
            store.reward(&at).await.ok().flatten().map(|r| r.delivery),
            Some(next)
        );
        let written: Vec<_> = notices(&*store, &at)
            .await
            .into_iter()
            .filter(|n| n.id.starts_with(&format!("{}/", row.id)))
            .collect();
        assert_eq!(written, vec![notice], "the winner's notification only");
    }
}
