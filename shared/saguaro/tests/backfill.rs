//! `saguaro backfill` through the binary into a data directory: killed with SIGKILL part way
//! (once a few hundred events are committed), then run again: the second run skips what
//! the first committed and applies the rest, and the store ends exactly as after one
//! uninterrupted backfill (every customer's state and ledger equal): each event applied once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use saguaro::LocalStore;
use saguaro_domain::ports::{HistoryStore, PageRequest, StateStore};
use saguaro_domain::{CustomerId, Provider};

const CUSTOMERS: usize = 40;
const MONTHS: usize = 30;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("saguaro-backfill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Monthly payments and a refund per customer, written newest first (the backfill sorts).
fn history() -> String {
    let mut out = String::new();
    for m in (0..MONTHS).rev() {
        for c in 0..CUSTOMERS {
            let day = 1 + (c % 28);
            let (y, mo) = (2024 + m / 12, 1 + m % 12);
            let _ = writeln!(
                out,
                r#"{{"id":"pay-{c}-{m}","type":"payment.succeeded","customer":{{"provider":"custom","id":"c{c}"}},"occurred_at":"{y}-{mo:02}-{day:02}T12:00:00Z","amount":{{"minor":{},"currency":"usd"}},"payment":"p-{c}-{m}"}}"#,
                1999 + 1000 * (c % 5)
            );
            if m % 7 == 3 {
                let _ = writeln!(
                    out,
                    r#"{{"id":"ref-{c}-{m}","type":"payment.refunded","customer":{{"provider":"custom","id":"c{c}"}},"occurred_at":"{y}-{mo:02}-{day:02}T18:00:00Z","amount":{{"minor":1000,"currency":"usd"}},"payment":"p-{c}-{m}"}}"#
                );
            }
        }
    }
    out
}

fn backfill(data: &Path, events: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_saguaro"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["backfill", "--events"])
        .arg(events)
        .arg("--data")
        .arg(data);
    c
}

fn markers(data: &Path) -> i64 {
    let Ok(db) = rusqlite::Connection::open_with_flags(
        data.join("saguaro.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    db.query_row("select count(*) from markers", [], |r| r.get(0))
        .unwrap_or(0)
}

/// `(a, b)` of "N events read: a applied, b already applied, 0 refused".
fn counts(stdout: &str) -> (u64, u64) {
    assert!(stdout.contains(", 0 refused"), "{stdout}");
    let figures: Vec<u64> = stdout
        .lines()
        .next()
        .and_then(|l| l.split_once(": "))
        .map(|(_, rest)| {
            rest.split(", ")
                .filter_map(|part| part.split_whitespace().next()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(figures.len(), 3, "{stdout}");
    (figures[0], figures[1])
}

/// Every customer's state and whole ledger.
async fn snapshot(data: &Path) -> Vec<(i64, u64, Vec<(i64, String)>)> {
    let store = LocalStore::open_dir(data).unwrap();
    let mut out = Vec::new();
    for c in 0..CUSTOMERS {
        let id = CustomerId::new(Provider::Custom, format!("c{c}"));
        let state = store.load(&id).await.unwrap().unwrap();
        let page = store
            .ledger(
                &id,
                PageRequest {
                    limit: 500,
                    before: None,
                },
            )
            .await
            .unwrap();
        let lines = page
            .lines
            .iter()
            .map(|l| (l.points, l.event_id.as_str().to_owned()))
            .collect();
        out.push((state.balance, state.version, lines));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn when_a_backfill_is_killed_and_run_again_then_each_event_is_applied_once() {
    let work = dir("work");
    let events = work.join("history.jsonl");
    std::fs::write(&events, history()).unwrap();
    let total = history().lines().count() as u64;

    // Interrupted: SIGKILL once 200 events are committed.
    let (interrupted, whole) = (work.join("interrupted"), work.join("whole"));
    let mut child = backfill(&interrupted, &events)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while markers(&interrupted) < 200 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backfill ended before it could be interrupted"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the backfill made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = markers(&interrupted) as u64;
    assert!(
        done > 0 && done < total,
        "{done} of {total} committed when killed"
    );

    // Resumed: what was committed is skipped, the rest applied.
    let out = backfill(&interrupted, &events).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (applied, already) = counts(&stdout);
    assert_eq!(already, done, "{stdout}");
    assert_eq!(applied + already, total, "{stdout}");

    // Once more: nothing left to apply.
    let out = backfill(&interrupted, &events).output().unwrap();
    assert_eq!(counts(&String::from_utf8_lossy(&out.stdout)), (0, total));

    // The same store as one uninterrupted backfill.
    let out = backfill(&whole, &events).output().unwrap();
    assert_eq!(counts(&String::from_utf8_lossy(&out.stdout)), (total, 0));
    assert_eq!(snapshot(&interrupted).await, snapshot(&whole).await);
}
