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
    history_of(CUSTOMERS, MONTHS)
}

fn history_of(customers: usize, months: usize) -> String {
    let mut out = String::new();
    for m in (0..months).rev() {
        for c in 0..customers {
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

#[tokio::test]
async fn when_backfilled_to_the_earn_queue_then_every_event_is_one_message_in_order_per_customer_and_a_rerun_is_deduplicated()
 {
    // given a history (written newest first; small: moto takes seconds per batch request)
    // and a fresh FIFO earn queue on moto
    let (customers, months) = (12, 8);
    let dir = dir("queue");
    let events = dir.join("history.jsonl");
    std::fs::write(&events, history_of(customers, months)).unwrap();
    let sqs = saguaro_testkit::sqs::client().await;
    let url = saguaro_testkit::sqs::fresh_queue(&sqs, "backfill").await;
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_saguaro"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(["backfill", "--events"])
            .arg(&events)
            .args(["--queue-url", &url])
            .env("AWS_ENDPOINT_URL", saguaro_testkit::endpoint())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // when it runs, and runs again (a resumed backfill) before anything is received
    let said = run();
    let again = run();
    assert!(again.contains("on the earn queue"), "{again}");
    // then every event is on the queue once (the second run's messages were deduplicated by
    // their event ids), grouped by customer, in history order within each customer; one
    // request per ten events or a few more
    let refunds = (0..months).filter(|m| m % 7 == 3).count();
    let total = customers * (months + refunds);
    assert!(
        said.contains(&format!("{total} events read: {total} on the earn queue")),
        "{said}"
    );
    let requests: usize = said
        .split(" in ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // (a batch holds one event of a customer, so a few batches close early)
    assert!(
        (total.div_ceil(10)..=total.div_ceil(5)).contains(&requests),
        "{said}"
    );
    let messages = drain(&sqs, &url).await;
    assert_eq!(messages.len(), total);
    let mut per_customer: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (event, group, dedup) in &messages {
        assert_eq!(event["id"].as_str(), Some(dedup.as_str()));
        per_customer
            .entry(group.clone())
            .or_default()
            .push(event["occurred_at"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_customer.len(), customers);
    for (group, times) in &per_customer {
        assert!(group.starts_with("custom:c"), "{group}");
        assert!(times.is_sorted(), "{group}: {times:?}");
    }
}

/// Every message on the queue (deleted as read): the event, its group and dedup ids.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(serde_json::Value, String, String)> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let mut all = Vec::new();
    let mut wait = 1;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_system_attribute_names(A::All)
            .send()
            .await
            .unwrap();
        let messages = got.messages();
        if messages.is_empty() {
            return all;
        }
        let mut delete = sqs.delete_message_batch().queue_url(url);
        for (i, m) in messages.iter().enumerate() {
            let event = saguaro_sqs::decode(m.body().unwrap()).unwrap();
            let attr = |a: A| saguaro_testkit::sqs::attribute(m, a).unwrap();
            all.push((
                serde_json::to_value(&event).unwrap(),
                attr(A::MessageGroupId),
                attr(A::MessageDeduplicationId),
            ));
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        let deleted = delete.send().await.unwrap();
        assert!(deleted.failed().is_empty(), "{deleted:?}");
        wait = 0;
    }
}
