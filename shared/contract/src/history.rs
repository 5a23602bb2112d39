//! Contract cases for the read side ([`HistoryStore`]): ledger lines and reward rows, newest
//! first, a page at a time, each row once.

use saguaro_domain::CustomerState;
use saguaro_domain::ports::{
    CommitOutcome, HistoryStore, PageRequest, RewardPageRequest, StateStore,
};

use crate::{all_rewards, commit, commit_for, customer, payment};

pub async fn ledger_pages_newest_first<S: StateStore + HistoryStore>(store: S) {
    let c = customer("pages");
    let mut state = CustomerState::new(c.clone());
    for n in 0..7 {
        let commit_ = commit_for(&state, &payment(&c, n, 100));
        state = commit_.state.clone();
        assert_eq!(
            commit(&store, commit_).await.ok(),
            Some(CommitOutcome::Applied)
        );
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = match store.ledger(&c, PageRequest { limit: 3, before }).await {
            Ok(p) => p,
            Err(e) => panic!("ledger: {e}"),
        };
        assert!(page.lines.len() <= 3);
        seen.extend(page.lines.iter().map(|l| l.seq));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, vec![7, 6, 5, 4, 3, 2, 1]);
}

pub async fn rewards_are_listed_with_their_state<S: StateStore + HistoryStore>(store: S) {
    let c = customer("rewarded");
    // 1,200 usd earns 1,200 points: Gold (on_tier access reward) and two 500-point credits
    // (one row of quantity 2).
    let commit_ = commit_for(&CustomerState::new(c.clone()), &payment(&c, 1, 120_000));
    let expected = commit_.rewards.clone();
    assert_eq!(expected.len(), 2);
    assert!(expected.iter().any(|r| r.quantity == 2));
    assert_eq!(
        commit(&store, commit_).await.ok(),
        Some(CommitOutcome::Applied)
    );
    let listed = all_rewards(&store, &c).await;
    let mut ids: Vec<&str> = listed.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = expected.iter().map(|r| r.id.as_str()).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(
        listed
            .iter()
            .all(|r| r.delivery == saguaro_domain::Delivery::pending())
    );
}

pub async fn rewards_page_newest_first<S: StateStore + HistoryStore>(store: S) {
    let c = customer("collector");
    // Seven payments of 500 usd: each earns a 500-point credit (Gold's access reward comes
    // with the second), eight rows in seven commits.
    let mut state = CustomerState::new(c.clone());
    let mut created = Vec::new();
    for n in 0..7 {
        let commit_ = commit_for(&state, &payment(&c, n, 50_000));
        state = commit_.state.clone();
        created.extend(commit_.rewards.iter().map(|r| r.id.clone()));
        assert_eq!(
            commit(&store, commit_).await.ok(),
            Some(CommitOutcome::Applied)
        );
    }
    assert_eq!(created.len(), 8);
    let mut pages = 0;
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = match store
            .rewards(&c, RewardPageRequest { limit: 3, before })
            .await
        {
            Ok(p) => p,
            Err(e) => panic!("rewards: {e}"),
        };
        pages += 1;
        assert!(page.rewards.len() <= 3);
        seen.extend(page.rewards.iter().map(|r| r.id.clone()));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each row once");
    assert_eq!(pages, 3);
}
