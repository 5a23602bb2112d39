//! `saguaro serve` on its persistent store, killed with SIGKILL at random points while
//! several clients post events, restarted, again and again. Afterwards every event is in
//! the ledger exactly once and every balance is the sum of its ledger; a second process
//! reads the same data directory while serve runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

mod common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Serve, TempDir, payment};
use saguaro_domain::ports::{HistoryStore, PageRequest, StateStore};
use saguaro_domain::{CustomerId, Provider};
use saguaro_sqlite::SqliteStore;

const CUSTOMERS: usize = 6;
const EVENTS_PER_CUSTOMER: usize = 40;
const CLIENTS: usize = 4;
/// Rounds that end in a SIGKILL; one more round then posts whatever is left.
const KILLED_ROUNDS: usize = 6;

#[derive(Debug, Clone)]
struct Posted {
    id: String,
    customer: String,
    points: i64,
    body: String,
}

fn events() -> Vec<Posted> {
    let mut all = Vec::new();
    for n in 0..EVENTS_PER_CUSTOMER {
        for c in 0..CUSTOMERS {
            let (id, customer) = (format!("crash-{c}-{n}"), format!("c-{c}"));
            let points = i64::try_from(n).unwrap() + 1;
            let body = payment(&id, &customer, points * 100);
            all.push(Posted {
                id,
                customer,
                points,
                body,
            });
        }
    }
    all
}

/// Posts from `CLIENTS` concurrent clients until `pending` is empty. Events answered 202
/// go to `acked`; the others (the server died under them) come back for the next round,
/// as a provider retries what it did not see acknowledged.
async fn post_all(
    base: String,
    pending: Arc<Mutex<VecDeque<Posted>>>,
    acked: Arc<Mutex<HashSet<String>>>,
) -> Vec<Posted> {
    let client = saguaro_delivery::http::builder()
        .unwrap()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, base, pending, acked) =
                (client.clone(), base.clone(), pending.clone(), acked.clone());
            tokio::spawn(async move {
                let mut unacked = Vec::new();
                loop {
                    let Some(event) = pending.lock().unwrap().pop_front() else {
                        return unacked;
                    };
                    let sent = client
                        .post(format!("{base}/events"))
                        .header("content-type", "application/json")
                        .body(event.body.clone())
                        .send()
                        .await;
                    match sent.map(|r| r.status()) {
                        Ok(s) if s == reqwest::StatusCode::ACCEPTED => {
                            acked.lock().unwrap().insert(event.id.clone());
                        }
                        Ok(s) if s.is_client_error() => panic!("{}: {s}", event.id),
                        // Connection refused or reset, or a 5xx: not acknowledged.
                        _ => unacked.push(event),
                    }
                }
            })
        })
        .collect();
    let mut unacked = Vec::new();
    for w in workers {
        unacked.extend(w.await.unwrap());
    }
    unacked
}

#[test]
fn when_serve_is_killed_at_random_points_then_every_acknowledged_event_is_there_exactly_once() {
    let seed = std::env::var("SAGUARO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (SAGUARO_CRASH_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = TempDir::new("crash");
    let program = dir.program();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let all = events();
    let mut pending: VecDeque<Posted> = all.iter().cloned().collect();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut acked_before_kill = Vec::new();
    for round in 0..=KILLED_ROUNDS {
        let serve = Serve::start(&program, &["--data", data_arg]);
        assert!(
            serve.data_line.contains("saguaro.sqlite3"),
            "{}",
            serve.data_line
        );
        let queue = Arc::new(Mutex::new(std::mem::take(&mut pending)));
        let posting = runtime.spawn(post_all(serve.base.clone(), queue, acked.clone()));
        if round < KILLED_ROUNDS {
            std::thread::sleep(Duration::from_millis(rng.u64(20..300)));
            serve.kill();
            acked_before_kill.push(acked.lock().unwrap().len());
            pending = runtime.block_on(posting).unwrap().into();
        } else {
            pending = runtime.block_on(posting).unwrap().into();
            assert!(pending.is_empty(), "a live server acknowledged everything");
            // And one last crash right after the last acknowledgement.
            serve.kill();
        }
    }
    println!(
        "acknowledged before each kill: {acked_before_kill:?} of {}",
        all.len()
    );
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), all.len());

    // Read the data the killed processes left, as any other process would.
    let store = SqliteStore::open_dir(&data).unwrap();
    let mut expected: HashMap<String, Vec<&Posted>> = HashMap::new();
    for e in &all {
        expected.entry(e.customer.clone()).or_default().push(e);
    }
    runtime.block_on(async {
        for (customer, posted) in &expected {
            let c = CustomerId::new(Provider::Custom, customer.clone());
            let page = PageRequest {
                limit: 100_000,
                before: None,
            };
            let lines = store.ledger(&c, page).await.unwrap().lines;
            let mut per_event: HashMap<&str, usize> = HashMap::new();
            for line in &lines {
                *per_event.entry(line.event_id.as_str()).or_default() += 1;
            }
            for e in posted {
                assert_eq!(per_event.get(e.id.as_str()), Some(&1), "{} lines", e.id);
            }
            assert_eq!(
                lines.len(),
                posted.len(),
                "{customer}: no line of another event"
            );
            let state = store.load(&c).await.unwrap().unwrap();
            let ledger_sum: i64 = lines.iter().map(|l| l.points).sum();
            assert_eq!(state.balance, ledger_sum, "{customer}");
            assert_eq!(ledger_sum, posted.iter().map(|e| e.points).sum::<i64>());
        }
    });
}

#[test]
fn when_serve_runs_then_another_process_opens_the_same_data_dir_and_reads() {
    let dir = TempDir::new("second");
    let program = dir.program();
    let data = dir.path().join("data");
    let serve = Serve::start(&program, &["--data", data.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = saguaro_delivery::http::builder().unwrap().build().unwrap();
    let post = |id: &'static str, minor: i64| {
        let (client, base) = (client.clone(), serve.base.clone());
        async move {
            let res = client
                .post(format!("{base}/events"))
                .header("content-type", "application/json")
                .body(payment(id, "reader", minor))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED);
        }
    };
    runtime.block_on(post("e1", 1_000));

    // This test process is the second process: it opens the file serve has open.
    let other = SqliteStore::open_dir(&data).unwrap();
    let c = CustomerId::new(Provider::Custom, "reader");
    runtime.block_on(async {
        assert_eq!(other.load(&c).await.unwrap().map(|s| s.balance), Some(10));
        // Serve keeps writing while the other process has the file open, and the other
        // process sees each new commit.
        post("e2", 2_500).await;
        assert_eq!(other.load(&c).await.unwrap().map(|s| s.balance), Some(35));
        let res = client
            .get(format!("{}/customers/custom/reader", serve.base))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["balance"], 35);
    });
    drop(other);
    serve.kill();
}

#[test]
fn when_serve_starts_without_options_then_it_persists_in_saguaro_data_and_says_where() {
    let dir = TempDir::new("default");
    let program = dir.program();
    let serve = Serve::start_in(dir.path(), &program, &[]);
    let file = dir.path().join("saguaro-data").join("saguaro.sqlite3");
    assert!(file.is_file(), "{}", file.display());
    let shown = std::fs::canonicalize(&file).unwrap();
    assert_eq!(serve.data_line, format!("data: {}", shown.display()));
    serve.kill();

    let memory = Serve::start_in(dir.path(), &program, &["--memory"]);
    assert!(
        memory.data_line.starts_with("data: in memory"),
        "{}",
        memory.data_line
    );
    memory.kill();
}
