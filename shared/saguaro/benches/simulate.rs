//! `saguaro simulate` throughput on one core: a history of JSON lines (the `POST /events`
//! format) read, sorted and applied with the example program, with the progress bar, and
//! the size of the HTML report it makes.
//!
//! The history: customers each with a subscription start, eighteen monthly payments (2026's
//! December in the double-points promotion, big spenders hitting the monthly cap) and a
//! partial refund, twenty events a customer, over about two and a half years.
//!
//! `cargo bench -p saguaro --bench simulate` runs 1,000,000 events (50,000 customers); under
//! `cargo test` a smoke run of 2,000 (the figures are printed either way, never asserted).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench that cannot set up is a failed bench

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget};
use jiff::{Span, Timestamp};
use saguaro::simulate::{history, report, simulate};
use saguaro_domain::Program;

fn customers() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        50_000
    } else {
        100
    }
}

fn program() -> Arc<Program> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    );
    Arc::new(Program::parse(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// Twenty events per customer, written in customer order (the simulator sorts them).
fn history(customers: usize) -> String {
    let start: Timestamp = "2025-06-01T14:00:00Z".parse().unwrap();
    let mut out = String::with_capacity(customers * 20 * 330);
    for c in 0..customers {
        let began = start
            .checked_add(Span::new().hours((c % 8760) as i64))
            .unwrap();
        let sub = format!(
            r#""subscription":{{"id":"sub_{c}","plan":"price_basic","status":"active","started_at":"{began}"}}"#
        );
        let cus = format!(r#""customer":{{"provider":"stripe","id":"cus_{c}"}}"#);
        let _ = writeln!(
            out,
            r#"{{"id":"evt_created_{c}","type":"subscription.created",{cus},"occurred_at":"{began}",{sub}}}"#
        );
        let amount = 1_999 + (c as i64 % 7) * 1_000 + if c % 50 == 0 { 2_500_000 } else { 0 };
        for m in 0..18i64 {
            let at = began.checked_add(Span::new().hours(m * 730 + 1)).unwrap();
            let _ = writeln!(
                out,
                r#"{{"id":"evt_paid_{c}_{m}","type":"payment.succeeded",{cus},"occurred_at":"{at}","amount":{{"minor":{amount},"currency":"usd"}},"payment":"pi_{c}_{m}",{sub}}}"#
            );
        }
        let at = began.checked_add(Span::new().hours(5 * 730 + 30)).unwrap();
        let _ = writeln!(
            out,
            r#"{{"id":"evt_refund_{c}","type":"payment.refunded",{cus},"occurred_at":"{at}","amount":{{"minor":{},"currency":"usd"}},"payment":"pi_{c}_5"}}"#,
            amount / 2
        );
    }
    out
}

fn main() {
    let customers = customers();
    let program = program();
    let text = history(customers);
    let t0 = Instant::now();
    let events = history::parse(text.as_bytes(), &|_| {}).unwrap();
    let parsed = t0.elapsed();
    let n = events.len() as u64;
    // The bar `saguaro simulate` shows (drawn when stderr is a terminal).
    let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
    let t1 = Instant::now();
    let summary = simulate(program, "infra/program.example.toml", &events, None, &bar).unwrap();
    let applied = t1.elapsed();
    bar.finish_and_clear();
    let total = parsed + applied;
    let page = report::one(&summary);
    assert_eq!(summary.events.applied, n, "every event applies");
    println!(
        "saguaro simulate, one core ({} events, {customers} customers, {} months)",
        n,
        summary.months.len()
    );
    println!("| step | time | events/s |");
    println!("|---|---|---|");
    for (step, d) in [
        ("read + parse + sort", parsed),
        ("apply (engine + in-memory store, progress bar)", applied),
        ("total", total),
    ] {
        println!(
            "| {step} | {:.2} s | {:.0} |",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64()
        );
    }
    println!(
        "report: {} bytes ({} months, {} tiers)",
        page.len(),
        summary.months.len(),
        summary.tiers.len()
    );
}
