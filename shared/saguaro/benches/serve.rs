//! `saguaro serve` throughput over HTTP, persistent store against `--memory`: starts the
//! bench-profile binary on a free loopback port, posts `EVENTS` payments (1,000 customers)
//! over 32 concurrent connections, and prints events per second for each store.
//!
//! `cargo bench -p saguaro --bench serve`. Bounded: a fixed number of events, loopback only.
//! Client and server share the machine's cores, as they would on a laptop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench, not library code

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;
const CUSTOMERS: usize = 1_000;
const WARM_UP: usize = 1_000;
const EVENTS: usize = 20_000;

const PROGRAM: &str = r#"
[program]
name = "Serve bench"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
cap = { points = 100000, per = "month" }

[[tiers]]
name = "Member"
min_points = 0
multiplier = "1"

[[tiers]]
name = "Gold"
min_points = 5000
multiplier = "1.5"
"#;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("saguaro-serve-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(program: &std::path::Path, store_args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_saguaro"))
        .args(["serve", "--addr", "127.0.0.1:0", "--program"])
        .arg(program)
        .args(store_args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // Keep reading: a closed pipe would make the server's next line (and log) fail.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn body(n: usize) -> String {
    let customer = n % CUSTOMERS;
    let day = 1 + (n / CUSTOMERS) % 28;
    format!(
        r#"{{"id":"bench-{n}","type":"payment.succeeded","customer":{{"provider":"custom","id":"c-{customer}"}},"occurred_at":"2026-05-{day:02}T12:00:00Z","amount":{{"minor":{},"currency":"usd"}},"payment":"pay-{n}"}}"#,
        1_000 + n % 5_000
    )
}

/// Posts events `from..to` over `CONNECTIONS` concurrent connections; the elapsed time.
async fn post(base: &str, from: usize, to: usize) -> Duration {
    let client = saguaro_delivery::http::builder()
        .unwrap()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(from));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, next, url) = (client.clone(), next.clone(), format!("{base}/events"));
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= to {
                        return;
                    }
                    let res = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body(n))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED, "event {n}");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    started.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and then a short
    // run checks that the bench works without taking the test suite's time.
    let (warm_up, events) = if std::env::args().any(|a| a == "--bench") {
        (WARM_UP, EVENTS)
    } else {
        (50, 200)
    };
    let dir = scratch();
    let program = dir.join("program.toml");
    std::fs::write(&program, PROGRAM).unwrap();
    let data = dir.join("data");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores: [(&str, Vec<&str>); 2] = [
        ("--memory", vec!["--memory"]),
        (
            "persistent (SQLite)",
            vec!["--data", data.to_str().unwrap()],
        ),
    ];
    for (name, args) in stores {
        let server = start(&program, &args);
        runtime.block_on(async {
            post(&server.base, 0, warm_up).await;
            let took = post(&server.base, warm_up, warm_up + events).await;
            println!(
                "{name:>20}: {events} events over {CONNECTIONS} connections in {took:.2?}: {:.0} events/s",
                events as f64 / took.as_secs_f64()
            );
        });
        drop(server);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
