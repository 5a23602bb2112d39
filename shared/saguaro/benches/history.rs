//! What one event costs as a customer's history grows, on the local stores: the time to
//! apply it through the earn service, and the bytes of state read and written (the customer
//! record, in the compact encoding the SQLite store reads and rewrites on every event).
//!
//! Three customers, each measured on the in-memory store and on the SQLite file store:
//!
//! - **fresh**: the measured event is the customer's first (200 customers, one event each);
//! - **five years**: a monthly subscriber of the example program with five years of
//!   payments, a partial refund every third month and the daily expiry job's runs; the
//!   measured events are further monthly payments;
//! - **10,000 events**: a customer with 10,000 one-point visits over a year (one lot per day
//!   after merging); the measured events are further visits.
//!
//! `cargo bench -p saguaro --bench history` prints a table: median and p90 per event, and
//! bytes of state per event. The goal (issue 13) is every long history within 1.5× of the
//! fresh customer. A measured payment (or visit) is compared with the fresh customer's
//! first payment (or visit).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench that cannot set up is a failed bench

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{Span, Timestamp};
use saguaro::LocalStore;
use saguaro_app::Earner;
use saguaro_domain::codec;
use saguaro_domain::ports::StateStore;
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, SubscriptionInfo, Trigger};

/// Events measured per case, and the visits of the long history: the full figures under
/// `cargo bench` (which passes `--bench`), a short smoke run when the test suite runs it.
fn sizes() -> (usize, i64) {
    if std::env::args().any(|a| a == "--bench") {
        (200, 10_000)
    } else {
        (5, 200)
    }
}

fn program() -> Arc<Program> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    );
    let mut text = std::fs::read_to_string(path).unwrap();
    // The example program plus a visit rule, so both long histories run under one program.
    text.push_str("\n[[earn]]\nid = \"visit\"\non = \"custom.visit\"\npoints = 1\n");
    Arc::new(Program::parse(&text).unwrap())
}

fn start() -> Timestamp {
    "2025-01-15T14:03:27Z".parse().unwrap()
}

fn month(n: i64) -> Timestamp {
    start()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(Span::new().months(n))
        .unwrap()
        .timestamp()
}

fn subscription() -> SubscriptionInfo {
    SubscriptionInfo {
        id: "sub_1QxYzAbCdEfGhIjKlMnOpQrS".into(),
        plan: Some("price_1QxYzAbCdEfGhIjKlMnOpQ".into()),
        status: Some("active".into()),
        started_at: Some(start()),
        monthly_amount: Some(Money::new(2999, "usd".parse().unwrap())),
        resource_version: None,
    }
}

/// The `n`th monthly payment of `who` (month `n` after the start, plus an hour).
fn payment(who: &CustomerId, n: i64, tag: &str) -> Event {
    let mut paid = Event::new(
        format!("evt_paid_{}_{tag}_{n:04}", who.id),
        who.clone(),
        Trigger::PaymentSucceeded,
        month(n).checked_add(Span::new().hours(1)).unwrap(),
    );
    paid.amount = Some(Money::new(2999, "usd".parse().unwrap()));
    paid.refs.payment = Some(format!("pi_{}_{tag}_{n:04}", who.id));
    paid.subscription = Some(subscription());
    paid
}

/// The `n`th visit of `who`, one every 52 minutes from the start.
fn visit(who: &CustomerId, n: i64) -> Event {
    Event::new(
        format!("visit-{}-{n:05}", who.id),
        who.clone(),
        Trigger::Custom("custom.visit".into()),
        start().checked_add(Span::new().minutes(52 * n)).unwrap(),
    )
}

/// Five years of the subscriber: subscription start, 60 payments, a partial refund every
/// third month, the expiry job on each payment's day.
fn five_years(who: &CustomerId) -> Vec<Event> {
    let mut created = Event::new(
        "evt_created",
        who.clone(),
        Trigger::SubscriptionCreated,
        start(),
    );
    created.subscription = Some(subscription());
    let mut events = vec![created];
    for n in 1..=60 {
        events.push(Event::new(
            format!("expire:{n}"),
            who.clone(),
            Trigger::PointsExpired,
            month(n),
        ));
        let paid = payment(who, n, "hist");
        if n % 3 == 0 {
            let mut refund = Event::new(
                format!("evt_refund_{n:03}"),
                who.clone(),
                Trigger::PaymentRefunded,
                month(n).checked_add(Span::new().hours(48)).unwrap(),
            );
            refund.amount = Some(Money::new(1000, "usd".parse().unwrap()));
            refund.refs.payment = paid.refs.payment.clone();
            events.push(paid);
            events.push(refund);
        } else {
            events.push(paid);
        }
    }
    events
}

/// A fresh directory for one SQLite store, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "saguaro-bench-history-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Figures {
    median: Duration,
    p90: Duration,
    state_bytes: usize,
}

fn figures(mut times: Vec<Duration>, state_bytes: usize) -> Figures {
    times.sort_unstable();
    Figures {
        median: times[times.len() / 2],
        p90: times[times.len() * 9 / 10],
        state_bytes,
    }
}

/// The bytes of the customer's record in the compact encoding the SQLite and DynamoDB
/// stores keep (`saguaro_domain::codec`): the JSON part plus the binary lots and payments.
async fn state_bytes(store: &LocalStore, who: &CustomerId) -> usize {
    let state = store.load(who).await.unwrap().unwrap();
    serde_json::to_vec(&codec::Doc::of(&state)).unwrap().len()
        + codec::encode_lots(&state.lots).len()
        + codec::encode_payments(&state.payments).len()
}

async fn timed(earner: &Earner<Arc<LocalStore>>, event: &Event) -> Duration {
    let t = Instant::now();
    earner.apply(event).await.unwrap();
    t.elapsed()
}

/// Fresh customers: each measured event is a customer's first.
async fn fresh(store: Arc<LocalStore>, program: &Arc<Program>, kind: &str) -> Figures {
    let earner = Earner::new(store.clone(), program.clone());
    let mut times = Vec::new();
    let mut last = None;
    for c in 0..sizes().0 {
        let who = CustomerId::new(Provider::Stripe, format!("cus_fresh_{kind}_{c:04}"));
        let event = match kind {
            "payment" => payment(&who, 1, "fresh"),
            _ => visit(&who, 0),
        };
        times.push(timed(&earner, &event).await);
        last = Some(who);
    }
    let bytes = state_bytes(&store, &last.unwrap()).await;
    figures(times, bytes)
}

async fn subscriber(store: Arc<LocalStore>, program: &Arc<Program>) -> Figures {
    let earner = Earner::new(store.clone(), program.clone());
    let who = CustomerId::new(Provider::Stripe, "cus_QxYzAbCdEfGhIj");
    for event in five_years(&who) {
        earner.apply(&event).await.unwrap();
    }
    let mut times = Vec::new();
    for n in 0..sizes().0 {
        let n = 61 + i64::try_from(n).unwrap();
        times.push(timed(&earner, &payment(&who, n, "measured")).await);
    }
    // The state as it was when measuring started is within a few bytes of this one: the
    // refund window and one lot per day keep it the same size from month to month.
    let bytes = state_bytes(&store, &who).await;
    figures(times, bytes)
}

async fn ten_thousand(store: Arc<LocalStore>, program: &Arc<Program>) -> Figures {
    let earner = Earner::new(store.clone(), program.clone());
    let who = CustomerId::new(Provider::Custom, "regular");
    let (measured, visits) = sizes();
    for n in 0..visits {
        earner.apply(&visit(&who, n)).await.unwrap();
    }
    let mut times = Vec::new();
    for n in 0..measured {
        let n = visits + i64::try_from(n).unwrap();
        times.push(timed(&earner, &visit(&who, n)).await);
    }
    let bytes = state_bytes(&store, &who).await;
    figures(times, bytes)
}

fn row(store: &str, case: &str, f: &Figures, base: &Figures) {
    println!(
        "| {store} | {case} | {:.1} µs | {:.1} µs | {:.2}× | {} B |",
        f.median.as_secs_f64() * 1e6,
        f.p90.as_secs_f64() * 1e6,
        f.median.as_secs_f64() / base.median.as_secs_f64(),
        f.state_bytes,
    );
}

fn main() {
    // `cargo bench` passes `--bench` (see `sizes`); this binary takes no other options.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let program = program();
    println!("| store | customer | median per event | p90 | vs fresh | state read + written |");
    println!("|---|---|---|---|---|---|");
    for kind in ["memory", "sqlite"] {
        let scratch = Scratch::new(kind);
        let open = |sub: &str| -> Arc<LocalStore> {
            Arc::new(match kind {
                "memory" => LocalStore::memory(),
                _ => {
                    let dir = scratch.0.join(sub);
                    std::fs::create_dir_all(&dir).unwrap();
                    LocalStore::open_dir(&dir).unwrap()
                }
            })
        };
        rt.block_on(async {
            let fresh_pay = fresh(open("fresh-pay"), &program, "payment").await;
            let fresh_visit = fresh(open("fresh-visit"), &program, "visit").await;
            let five = subscriber(open("five"), &program).await;
            let ten = ten_thousand(open("ten"), &program).await;
            row(kind, "fresh, first payment", &fresh_pay, &fresh_pay);
            row(kind, "five years, a payment", &five, &fresh_pay);
            row(kind, "fresh, first visit", &fresh_visit, &fresh_visit);
            let label = format!("{} visits, a visit", sizes().1);
            row(kind, &label, &ten, &fresh_visit);
        });
    }
}
