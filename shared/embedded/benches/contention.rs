//! Does reading one large customer slow down reading another? Prints the median and p99
//! latency of loading a small customer, alone and while four threads keep loading a large
//! one (issue 13, item 7: a global lock held while cloning made the small read wait for
//! the large clones).
//!
//! `cargo bench -p saguaro-embedded --bench contention`. Bounded: a fixed number of reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench, not library code

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use saguaro_domain::ids::PaymentKey;
use saguaro_domain::ports::{Commit, StateStore};
use saguaro_domain::state::{EarnedLine, Lot, PaymentRecord};
use saguaro_domain::{CustomerId, CustomerState, Money, Provider};
use saguaro_embedded::EmbeddedStore;

/// Payments and lots of the large customer: years of history for a big account.
const LARGE_ITEMS: u64 = 50_000;
/// Reads of the small customer, spaced so that they sample the readers' whole cycle (clone,
/// then drop) the way GET requests arriving over time would.
const SMALL_READS: usize = 400;
const SPACING: Duration = Duration::from_millis(2);
const READERS: usize = 4;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn customer(id: &str) -> CustomerId {
    CustomerId::new(Provider::Custom, id)
}

fn large_state(c: &CustomerId) -> CustomerState {
    let mut s = CustomerState::new(c.clone());
    for n in 0..LARGE_ITEMS {
        s.lots.push(Lot {
            line: n + 1,
            expires_on: None,
            remaining: 100,
        });
        s.payments.insert(
            PaymentKey::of(&format!("pay-{n:08}")),
            PaymentRecord {
                day: None,
                amount: Some(Money::new(10_000, "usd".parse().unwrap())),
                earned: vec![EarnedLine {
                    line: n + 1,
                    points: 100,
                    reversed: 0,
                    month: 202_601,
                }],
                refunded: 0,
            },
        );
    }
    s.balance = i64::try_from(LARGE_ITEMS).unwrap() * 100;
    s.next_seq = LARGE_ITEMS + 1;
    s
}

fn store_state(store: &EmbeddedStore, mut state: CustomerState) {
    state.version = 1;
    let commit = Commit {
        marker: None,
        expected_version: 0,
        state,
        lines: Vec::new(),
        rewards: Vec::new(),
    };
    block_on(store.commit(commit)).unwrap();
}

/// (median, p99) of `SMALL_READS` loads of `c`.
fn small_reads(store: &EmbeddedStore, c: &CustomerId) -> (Duration, Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut took: Vec<Duration> = (0..SMALL_READS)
        .map(|_| {
            let start = Instant::now();
            let state = rt.block_on(store.load(c)).unwrap();
            let elapsed = start.elapsed();
            assert!(state.is_some());
            std::thread::sleep(SPACING);
            elapsed
        })
        .collect();
    took.sort_unstable();
    (took[took.len() / 2], took[took.len() * 99 / 100])
}

fn main() {
    let store = Arc::new(EmbeddedStore::new());
    let (large, small) = (customer("large"), customer("small"));
    store_state(&store, large_state(&large));
    store_state(&store, CustomerState::new(small.clone()));

    let clone_started = Instant::now();
    block_on(store.load(&large)).unwrap();
    println!(
        "one load of the large customer ({LARGE_ITEMS} lots and payments): {:?}",
        clone_started.elapsed()
    );

    let (median, p99) = small_reads(&store, &small);
    println!("small customer, alone:                  median {median:?}, p99 {p99:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (store, large, stop) = (store.clone(), large.clone(), stop.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let mut loads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rt.block_on(store.load(&large)).unwrap();
                    loads += 1;
                }
                loads
            })
        })
        .collect();
    // Let every reader get going before measuring.
    std::thread::sleep(Duration::from_millis(200));
    let (median, p99) = small_reads(&store, &small);
    stop.store(true, Ordering::Relaxed);
    let large_loads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    println!(
        "small customer, {READERS} threads reading large: median {median:?}, p99 {p99:?} ({large_loads} large loads meanwhile)"
    );
}
