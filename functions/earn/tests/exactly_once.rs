//! docs/design.md §5.1 end to end against moto: random event sequences go through a real SQS FIFO
//! queue, several copies each, to 2–4 concurrent consumers that run the earn handler on the
//! DynamoDB store and crash at random points (before a commit, after a commit but before the
//! delete, after the handler but before the delete) or see store outages. Whatever happens,
//! each customer's final ledger, balance, tier and reward outbox equal those of the same
//! events applied once, in order, through the embedded store.
//!
//! Environment: `SAGUARO_EXACTLY_ONCE_SCENARIOS` (default 200), `SAGUARO_EXACTLY_ONCE_SEED`
//! (default fixed, so CI is reproducible up to thread interleavings).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use earn::{EarnHandler, RetryPolicy};
use saguaro_app::Earner;
use saguaro_domain::ports::{Commit, CommitOutcome, StateStore, StoreError};
use saguaro_domain::{CustomerId, CustomerState, Event, Program, Trigger};
use saguaro_dynamodb::{DynamoStore, RequestCounter};
use saguaro_embedded::EmbeddedStore;

const SCENARIOS_VAR: &str = "SAGUARO_EXACTLY_ONCE_SCENARIOS";
const SEED_VAR: &str = "SAGUARO_EXACTLY_ONCE_SEED";
const DEFAULT_SCENARIOS: usize = 200;
const DEFAULT_SEED: u64 = 0x5A6A_0001;
/// Long enough that no message times out while its consumer still works on it: abandoned
/// and failed messages are made visible again explicitly.
const VISIBILITY_TIMEOUT_S: i32 = 30;
const SCENARIO_DEADLINE: Duration = Duration::from_secs(90);
/// The wait after an empty receive.
const IDLE_POLL: Duration = Duration::from_millis(30);
/// Crashes per scenario, so that every scenario ends.
const CRASH_BUDGET: i32 = 8;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        Err(_) => default,
    }
}

/// One generated scenario.
#[derive(Debug)]
struct Scenario {
    index: usize,
    seed: u64,
    /// Customers with events, then their dedicated referrers.
    customers: Vec<CustomerId>,
    /// In the order of their first delivery.
    events: Vec<Event>,
    /// Indexes into `events`, in sending order: first copies in order, each extra copy
    /// somewhere after its first.
    sends: Vec<usize>,
    consumers: usize,
}

fn generate(index: usize, seed: u64) -> Scenario {
    let mut rng = fastrand::Rng::with_seed(seed);
    let k = rng.usize(2..=4);
    let n = rng.usize(8..=15);
    let subjects: Vec<CustomerId> = (0..k)
        .map(|i| customer(&format!("s{index}-c{i}")))
        .collect();
    // Each customer has their own referrer, who has no events of their own: the referral
    // line's place in the referrer's ledger then does not depend on how the consumers
    // interleave customers, which the queue (one FIFO group per customer) leaves open.
    let referrers: Vec<CustomerId> = (0..k)
        .map(|i| customer(&format!("s{index}-r{i}")))
        .collect();
    let mut payments: Vec<Vec<Event>> = vec![Vec::new(); k];
    let mut events = Vec::with_capacity(n);
    let mut hours = 0i64;
    for j in 0..n {
        let i = rng.usize(..k);
        let who = &subjects[i];
        hours += rng.i64(1..=10);
        let id = format!("s{index}-e{j}");
        let event = match rng.u8(..10) {
            0..=4 => payment(&id, who, rng.i64(0..60_000), hours),
            5 => subscribed(&id, who, rng.bool().then_some(&referrers[i]), hours),
            6 | 7 if !payments[i].is_empty() => {
                let of = &payments[i][rng.usize(..payments[i].len())];
                let paid = of.amount.map_or(1, |m| m.minor.max(1));
                refund(&id, of, rng.i64(1..=paid), hours)
            }
            8 => adjusted(&id, who, rng.i64(-100..=100), hours),
            _ => {
                let mut e = payment(&id, who, rng.i64(0..60_000), hours);
                e.refs.referrer = Some(referrers[i].clone());
                e
            }
        };
        if event.trigger == Trigger::PaymentSucceeded {
            payments[i].push(event.clone());
        }
        events.push(event);
    }
    let mut sends: Vec<usize> = (0..events.len()).collect();
    for e in 0..events.len() {
        for _ in 1..rng.usize(1..=4) {
            let first = sends.iter().position(|s| *s == e).unwrap_or(0);
            let at = rng.usize(first + 1..=sends.len());
            sends.insert(at, e);
        }
    }
    Scenario {
        index,
        seed,
        customers: subjects.into_iter().chain(referrers).collect(),
        events,
        sends,
        consumers: rng.usize(2..=4),
    }
}

/// What goes wrong in one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The process dies as its `k`-th commit is about to be sent: nothing is deleted.
    CrashBeforeCommit(u32),
    /// The process dies right after its `k`-th commit is applied: nothing is deleted.
    CrashAfterCommit(u32),
    /// The handler returns, then the process dies before deleting anything.
    CrashBeforeDelete,
    /// From the `at`-th commit on, the next `failures` commits fail (not sent). With more
    /// failures than the handler's tries, that message and its group's later ones are
    /// reported failed; the rest of the batch is deleted.
    Outage {
        at: u32,
        failures: u32,
    },
}

impl Fault {
    fn is_crash(self) -> bool {
        matches!(
            self,
            Self::CrashBeforeCommit(_) | Self::CrashAfterCommit(_) | Self::CrashBeforeDelete
        )
    }
}

/// The store as one Lambda invocation sees it, with the batch's fault injected.
#[derive(Debug)]
struct Faulty {
    inner: Arc<DynamoStore>,
    fault: Fault,
    commits: AtomicU32,
    outage_left: AtomicU32,
    dead: AtomicBool,
}

impl Faulty {
    fn new(inner: Arc<DynamoStore>, fault: Fault) -> Self {
        let outage = match fault {
            Fault::Outage { failures, .. } => failures,
            _ => 0,
        };
        Self {
            inner,
            fault,
            commits: AtomicU32::new(0),
            outage_left: AtomicU32::new(outage),
            dead: AtomicBool::new(false),
        }
    }

    fn crashed(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn die(&self) -> StoreError {
        self.dead.store(true, Ordering::SeqCst);
        StoreError::Unavailable("injected crash: the process is gone".into())
    }
}

impl StateStore for Faulty {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        if self.crashed() {
            return Err(self.die());
        }
        self.inner.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        if self.crashed() {
            return Err(self.die());
        }
        let n = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fault {
            Fault::CrashBeforeCommit(k) if n == k => Err(self.die()),
            Fault::CrashAfterCommit(k) if n == k => {
                let _ = self.inner.commit(commit).await;
                Err(self.die())
            }
            Fault::Outage { at, .. }
                if n >= at
                    && self
                        .outage_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1))
                        .is_ok() =>
            {
                Err(StoreError::Unavailable("injected outage".into()))
            }
            _ => self.inner.commit(commit).await,
        }
    }
}

/// Counts of what the consumers did in one scenario.
#[derive(Debug, Default, Clone)]
struct Stats {
    batches: u64,
    received: u64,
    crash_before_commit: u64,
    crash_after_commit: u64,
    crash_before_delete: u64,
    outages: u64,
    reported_failed: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.batches += o.batches;
        self.received += o.received;
        self.crash_before_commit += o.crash_before_commit;
        self.crash_after_commit += o.crash_after_commit;
        self.crash_before_delete += o.crash_before_delete;
        self.outages += o.outages;
        self.reported_failed += o.reported_failed;
    }
}

struct Shared {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    queue: String,
    program: Arc<Program>,
    sent: usize,
    deleted: Mutex<HashSet<String>>,
    crashes_left: AtomicI32,
    deadline: Instant,
}

impl Shared {
    fn done(&self) -> bool {
        self.deleted.lock().unwrap().len() >= self.sent
    }

    fn fault(&self, rng: &mut fastrand::Rng, batch: usize) -> Fault {
        let k = rng.u32(1..=batch as u32);
        let fault = match rng.u8(..100) {
            0..=11 => Fault::CrashBeforeCommit(k),
            12..=23 => Fault::CrashAfterCommit(k),
            24..=31 => Fault::CrashBeforeDelete,
            32..=44 => Fault::Outage {
                at: k,
                failures: rng.u32(1..=4),
            },
            _ => Fault::None,
        };
        if fault.is_crash() && self.crashes_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            return Fault::None;
        }
        fault
    }
}

/// One consumer: a Lambda instance polled by the event source mapping. A crash loses the
/// instance; the next batch gets a new one (a new store, with nothing remembered).
async fn consume(shared: Arc<Shared>, seed: u64) -> Result<Stats, String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut stats = Stats::default();
    let new_instance = || {
        Arc::new(DynamoStore::new(
            shared.dynamodb.clone(),
            shared.table.clone(),
        ))
    };
    let mut store = new_instance();
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(1),
    };
    while !shared.done() {
        if Instant::now() > shared.deadline {
            return Err(format!(
                "deadline passed with {}/{} messages deleted",
                shared.deleted.lock().unwrap().len(),
                shared.sent
            ));
        }
        let messages = receive(
            &shared.sqs,
            &shared.queue,
            rng.i32(1..=10),
            VISIBILITY_TIMEOUT_S,
        )
        .await?;
        if messages.is_empty() {
            // Every group is in flight with another consumer: let it work (moto serves one
            // request at a time, so polling hard only slows everyone down).
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        }
        stats.batches += 1;
        stats.received += messages.len() as u64;
        let fault = shared.fault(&mut rng, messages.len());
        let handler = EarnHandler::new(Earner::new(
            Faulty::new(store.clone(), fault),
            shared.program.clone(),
        ))
        .with_retry(retry);
        let response = handler.handle(lambda_event(&messages)).await;
        let crashed = handler.earner().store().crashed() || fault == Fault::CrashBeforeDelete;
        if crashed {
            match fault {
                Fault::CrashBeforeCommit(_) => stats.crash_before_commit += 1,
                Fault::CrashAfterCommit(_) => stats.crash_after_commit += 1,
                _ => stats.crash_before_delete += 1,
            }
            store = new_instance();
            release(
                &shared.sqs,
                &shared.queue,
                &messages.iter().collect::<Vec<_>>(),
            )
            .await?;
            continue;
        }
        if matches!(fault, Fault::Outage { .. }) {
            stats.outages += 1;
        }
        let response = response.map_err(|e| format!("handler failed the batch: {e}"))?;
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        stats.reported_failed += failed.len() as u64;
        let (to_release, to_delete): (Vec<_>, Vec<_>) = messages
            .iter()
            .partition(|m| m.message_id().is_some_and(|id| failed.contains(id)));
        let deleted = delete(&shared.sqs, &shared.queue, &to_delete).await?;
        shared.deleted.lock().unwrap().extend(deleted);
        release(&shared.sqs, &shared.queue, &to_release).await?;
    }
    Ok(stats)
}

/// The reference: every event applied once, in order, through the embedded store.
async fn applied_once(
    program: &Arc<Program>,
    scenario: &Scenario,
) -> BTreeMap<CustomerId, CustomerView> {
    let store = Arc::new(EmbeddedStore::new());
    let earner = Earner::new(store.clone(), program.clone());
    for e in &scenario.events {
        earner
            .apply(e)
            .await
            .unwrap_or_else(|err| panic!("scenario {} event {}: {err}", scenario.index, e.id));
    }
    views(&*store, &scenario.customers).await
}

async fn run(
    scenario: &Scenario,
    sqs: &aws_sdk_sqs::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    program: &Arc<Program>,
) -> Stats {
    let queue = fifo_queue(
        sqs,
        &format!("earn-eo-{}", scenario.index),
        VISIBILITY_TIMEOUT_S as u32,
        None,
    )
    .await;
    let mut copies: BTreeMap<usize, usize> = BTreeMap::new();
    let mut messages = Vec::with_capacity(scenario.sends.len());
    for &e in &scenario.sends {
        let event = &scenario.events[e];
        let copy = copies.entry(e).or_insert(0);
        *copy += 1;
        // A distinct deduplication id per copy: SQS really delivers every copy.
        messages.push((
            event.customer.to_string(),
            format!("{}-copy{copy}", event.id),
            body(event),
        ));
    }
    send_all(sqs, &queue, &messages).await;
    let shared = Arc::new(Shared {
        sqs: sqs.clone(),
        dynamodb: dynamodb.clone(),
        table: table.to_owned(),
        queue: queue.clone(),
        program: program.clone(),
        sent: scenario.sends.len(),
        deleted: Mutex::new(HashSet::new()),
        crashes_left: AtomicI32::new(CRASH_BUDGET),
        deadline: Instant::now() + SCENARIO_DEADLINE,
    });
    let tasks: Vec<_> = (0..scenario.consumers)
        .map(|c| {
            tokio::spawn(consume(
                shared.clone(),
                scenario.seed ^ ((c as u64 + 1) << 32),
            ))
        })
        .collect();
    let mut stats = Stats::default();
    for task in tasks {
        match task.await {
            Ok(Ok(s)) => stats.add(&s),
            Ok(Err(e)) => panic!(
                "scenario {} (seed {}): consumer: {e}",
                scenario.index, scenario.seed
            ),
            Err(e) => panic!(
                "scenario {} (seed {}): consumer panicked: {e}",
                scenario.index, scenario.seed
            ),
        }
    }
    let left = receive(sqs, &queue, 10, 0).await.unwrap();
    assert!(
        left.is_empty(),
        "scenario {}: {} messages left on the queue",
        scenario.index,
        left.len()
    );
    let _ = sqs.delete_queue().queue_url(&queue).send().await;
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_events_are_redelivered_to_crashing_concurrent_consumers_then_each_ledger_is_the_first_applications()
 {
    let scenarios: usize = env_or(SCENARIOS_VAR, DEFAULT_SCENARIOS);
    let seed: u64 = env_or(SEED_VAR, DEFAULT_SEED);
    assert!(scenarios > 0, "{SCENARIOS_VAR} must be at least 1");
    let started = Instant::now();
    let aws = aws().await;
    let requests = RequestCounter::new();
    let dynamodb = dynamodb(&aws, &requests);
    let sqs = sqs(&aws, &requests);
    let program = program();

    let mut total = Stats::default();
    let (mut events, mut sends, mut customers, mut lines, mut rewards) = (0, 0, 0, 0, 0);
    let mut consumers: BTreeMap<usize, usize> = BTreeMap::new();
    for index in 0..scenarios {
        let scenario = generate(index, seed.wrapping_add(index as u64));
        let expected = applied_once(&program, &scenario).await;
        // A fresh table per scenario: moto copies the whole table in every transaction, so
        // a shared, growing table would make each scenario slower than the last.
        let table = fresh_table(&dynamodb, "earn-exactly-once").await;
        let stats = run(&scenario, &sqs, &dynamodb, &table, &program).await;
        let reader = DynamoStore::new(dynamodb.clone(), table.clone());
        let actual = views(&reader, &scenario.customers).await;
        for (c, want) in &expected {
            assert_eq!(
                actual.get(c),
                Some(want),
                "scenario {index} (seed {}), customer {c}: DynamoDB after at-least-once delivery \
                 differs from the events applied once\nscenario: {scenario:#?}\nstats: {stats:?}",
                scenario.seed
            );
        }
        events += scenario.events.len();
        sends += scenario.sends.len();
        customers += scenario.customers.len();
        lines += expected.values().map(|v| v.lines.len()).sum::<usize>();
        rewards += expected.values().map(|v| v.rewards.len()).sum::<usize>();
        *consumers.entry(scenario.consumers).or_default() += 1;
        total.add(&stats);
        let _ = dynamodb.delete_table().table_name(&table).send().await;
    }
    let elapsed = started.elapsed();
    report(&format!(
        "exactly-once: {scenarios} scenarios ({SCENARIOS_VAR}), seed {seed} ({SEED_VAR}), {:.1} s\n\
         \x20 per scenario: 2-4 customers (+1 referrer each), 8-15 events, 1-4 copies each, 2-4 consumers ({consumers:?} scenarios by consumers)\n\
         \x20 in all: {events} events, {sends} messages sent, {customers} customers, {lines} ledger lines, {rewards} rewards\n\
         \x20 consumers: {} batches, {} messages received, {} reported failed\n\
         \x20 faults: {} crashes before commit, {} after commit, {} before delete, {} store outages\n\
         \x20 AWS requests: {:?}",
        elapsed.as_secs_f64(),
        total.batches,
        total.received,
        total.reported_failed,
        total.crash_before_commit,
        total.crash_after_commit,
        total.crash_before_delete,
        total.outages,
        requests.snapshot(),
    ));
    assert!(
        lines > 0 && rewards > 0,
        "the scenarios must earn and redeem"
    );
    assert!(
        total.received > sends as u64,
        "crashes and failures must cause redeliveries"
    );
    assert!(
        total.crash_before_commit > 0
            && total.crash_after_commit > 0
            && total.crash_before_delete > 0
    );
}
