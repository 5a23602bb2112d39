//! What the SQLite store adds to the contract: it persists across a reopen, a second
//! store (as another process would) shares the file safely, reads do not wait for a writer,
//! the file is WAL with a versioned schema, and group commit keeps one event id one event.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::TempDir;
use rusqlite::Connection;
use saguaro_app::{Applied, Earner};
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, HistoryStore, PageRequest, RewardPageRequest, StateStore,
    StoreError,
};
use saguaro_domain::{CustomerState, EventId};
use saguaro_sqlite::{Error, FILE_NAME, SCHEMA_VERSION, SqliteStore};
use saguaro_store_contract::{customer, payment, program};

const ALL: PageRequest = PageRequest {
    limit: 10_000,
    before: None,
};

const ALL_REWARDS: RewardPageRequest = RewardPageRequest {
    limit: 10_000,
    before: None,
};

/// A commit of a plain state change (no engine), `version` on top of `version - 1`.
fn bare_commit(c: &saguaro_domain::CustomerId, version: u64, event: Option<&str>) -> Commit {
    let mut state = CustomerState::new(c.clone());
    state.version = version;
    state.balance = i64::try_from(version).unwrap() * 10;
    Commit {
        marker: event.map(|id| EventMarker {
            event_id: EventId::new(id),
            customer: c.clone(),
            payload_hash: format!("hash-{id}"),
            synthetic: false,
        }),
        expected_version: version - 1,
        state,
        lines: Vec::new(),
        rewards: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_store_is_reopened_then_everything_committed_is_there() {
    let dir = TempDir::new("reopen");
    let c = customer("kept");
    let (state, lines, rewards) = {
        let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
        let earner = Earner::new(store.clone(), program());
        for n in 0..5 {
            let applied = earner.apply(&payment(&c, n, 40_000)).await.unwrap();
            assert!(matches!(applied, Applied::New { .. }));
        }
        (
            store.load(&c).await.unwrap(),
            store.ledger(&c, ALL).await.unwrap(),
            store.rewards(&c, ALL_REWARDS).await.unwrap(),
        )
    };
    assert!(!rewards.rewards.is_empty(), "the program redeemed credits");

    let reopened = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    assert_eq!(reopened.load(&c).await.unwrap(), state);
    assert_eq!(reopened.ledger(&c, ALL).await.unwrap(), lines);
    assert_eq!(reopened.rewards(&c, ALL_REWARDS).await.unwrap(), rewards);
    // The markers persisted too: a provider's retry after the restart changes nothing.
    let earner = Earner::new(reopened.clone(), program());
    assert_eq!(
        earner.apply(&payment(&c, 0, 40_000)).await.unwrap(),
        Applied::Duplicate
    );
    assert_eq!(reopened.ledger(&c, ALL).await.unwrap(), lines);
}

#[tokio::test]
async fn when_a_second_store_opens_the_same_file_then_both_see_and_respect_each_others_commits() {
    let dir = TempDir::new("second");
    let first = SqliteStore::open_dir(dir.path()).unwrap();
    let second = SqliteStore::open_dir(dir.path()).unwrap();
    let c = customer("shared");
    assert_eq!(
        first.commit(bare_commit(&c, 1, Some("e1"))).await.unwrap(),
        CommitOutcome::Applied
    );
    assert_eq!(second.load(&c).await.unwrap().map(|s| s.version), Some(1));
    assert_eq!(
        second.commit(bare_commit(&c, 2, Some("e2"))).await.unwrap(),
        CommitOutcome::Applied
    );
    // The first store's next commit from version 1 is stale, and its marker check sees
    // the second store's marker.
    assert!(matches!(
        first.commit(bare_commit(&c, 2, Some("e3"))).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        first.commit(bare_commit(&c, 3, Some("e2"))).await.unwrap(),
        CommitOutcome::AlreadyApplied { same_payload: true }
    );
    assert_eq!(first.load(&c).await.unwrap().map(|s| s.balance), Some(20));
}

#[tokio::test]
async fn when_another_connection_holds_the_write_lock_then_reads_still_answer() {
    let dir = TempDir::new("locked");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let c = customer("reader");
    store.commit(bare_commit(&c, 1, Some("e1"))).await.unwrap();

    // Another process mid-transaction: it holds the write lock and has changed the row.
    let other = Connection::open(dir.path().join(FILE_NAME)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    other
        .execute("UPDATE customers SET balance = 999", [])
        .unwrap();

    let read = tokio::time::timeout(std::time::Duration::from_secs(1), store.load(&c)).await;
    let state = read.expect("the read did not wait").unwrap().unwrap();
    assert_eq!(state.balance, 10, "the uncommitted change is not seen");
    assert!(store.ledger(&c, ALL).await.is_ok());
    other.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test]
async fn when_the_file_is_created_then_it_is_wal_with_the_schema_a_person_can_query() {
    let dir = TempDir::new("schema");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let c = customer("visible");
    store
        .commit(bare_commit(&c, 1, Some("evt-visible")))
        .await
        .unwrap();
    assert_eq!(store.path(), dir.path().join(FILE_NAME));

    let conn = Connection::open(store.path()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let (provider, id, balance): (String, String, i64) = conn
        .query_row(
            "SELECT provider, customer, balance FROM customers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (provider.as_str(), id.as_str(), balance),
        ("custom", "visible", 10)
    );
    let marker: (String, String) = conn
        .query_row(
            "SELECT customer, payload_hash FROM markers WHERE event_id = 'evt-visible'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        marker,
        ("visible".to_owned(), "hash-evt-visible".to_owned())
    );
    for table in ["ledger", "rewards"] {
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
}

#[tokio::test]
async fn when_the_file_has_a_newer_schema_then_open_refuses_it() {
    let dir = TempDir::new("newer");
    let path = dir.path().join(FILE_NAME);
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(Error::SchemaTooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
        other => panic!("opened a newer file: {other:?}"),
    }
    // Reopening a current file is a no-op migration.
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .unwrap();
    drop(conn);
    assert!(SqliteStore::open(&path).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_many_commits_of_one_event_id_arrive_at_once_then_exactly_one_applies() {
    // They land in the same write group: a marker written earlier in the group must refuse
    // the later ones, and the refused ones must leave nothing behind.
    let store = Arc::new(common::TempStore::new("group"));
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = customer(&format!("group-{n}"));
                (
                    c.clone(),
                    store.commit(bare_commit(&c, 1, Some("evt-one"))).await,
                )
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        let (c, outcome) = task.await.unwrap();
        match outcome.unwrap() {
            CommitOutcome::Applied => applied += 1,
            CommitOutcome::AlreadyApplied { same_payload } => {
                assert!(!same_payload, "another customer is another event");
                assert_eq!(store.load(&c).await.unwrap(), None, "nothing written");
            }
        }
    }
    assert_eq!(applied, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_version_4_file_is_opened_then_each_state_is_re_encoded_compactly_and_reads_the_same()
 {
    let dir = TempDir::new("v4");
    let path = dir.path().join(FILE_NAME);
    let c = customer("migrated");
    let state = {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let earner = Earner::new(store.clone(), program());
        for n in 0..12 {
            earner.apply(&payment(&c, n, 40_000)).await.unwrap();
        }
        store.load(&c).await.unwrap().unwrap()
    };
    assert!(!state.lots.is_empty() && !state.payments.is_empty());

    // Make the file what version 4 wrote: the whole state as JSON, no binary columns, no
    // tables of later versions.
    let conn = Connection::open(&path).unwrap();
    let whole = serde_json::to_string(&state).unwrap();
    conn.execute("UPDATE customers SET state = ?1", [&whole])
        .unwrap();
    conn.execute_batch(
        "ALTER TABLE customers DROP COLUMN lots; ALTER TABLE customers DROP COLUMN pay; \
         DROP TABLE invoice_links;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 4).unwrap();
    drop(conn);

    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.load(&c).await.unwrap(), Some(state));
    let conn = Connection::open(&path).unwrap();
    let (version, doc, lots, pay): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), length(state), \
             length(lots), length(pay) FROM customers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert!(lots > 0 && pay > 0, "binary parts written: {lots}, {pay}");
    assert!(
        usize::try_from(doc + lots + pay).unwrap() < whole.len() / 2,
        "compact: {doc} + {lots} + {pay} bytes against {} as JSON",
        whole.len()
    );
}
