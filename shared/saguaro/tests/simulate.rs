//! `saguaro simulate` through the binary, on a small history whose numbers are worked out by
//! hand below: caps, a promotion, a tier multiplier, a refund, a billing credit, a duplicate
//! and an event the engine refuses; then `--compare` with a second program, the same run
//! twice giving the same bytes, and a history with bad lines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn saguaro() -> Command {
    Command::new(env!("CARGO_BIN_EXE_saguaro"))
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("saguaro-simulate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[path = "simulate/common.rs"]
mod common;
use common::{BASE, compare_program, history, pay};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> (String, String) {
    let out = saguaro().args(args).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn month(summary: &Value, m: &str) -> Value {
    summary["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["month"] == m)
        .unwrap_or_else(|| panic!("no month {m} in {summary}"))
        .clone()
}

/// `[earned, granted, redeemed, reversed, expired, outstanding]` of a month.
fn points(m: &Value) -> [i64; 6] {
    [
        "earned",
        "granted",
        "redeemed",
        "reversed",
        "expired",
        "outstanding",
    ]
    .map(|k| m[k].as_i64().unwrap_or_else(|| panic!("{k} in {m}")))
}

fn tiers(m: &Value) -> (i64, i64) {
    (
        m["tiers"]["Member"].as_i64().unwrap(),
        m["tiers"]["Gold"].as_i64().unwrap(),
    )
}

fn customer(summary: &Value, id: &str) -> (i64, i64, String) {
    let c = summary["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer"]["id"] == id)
        .unwrap_or_else(|| panic!("no customer {id}"));
    (
        c["balance"].as_i64().unwrap(),
        c["qualifying_points"].as_i64().unwrap(),
        c["tier"].as_str().unwrap_or("-").to_owned(),
    )
}

#[test]
fn when_a_history_is_simulated_then_every_figure_is_the_hand_computed_one() {
    let dir = dir("base");
    let program = write(&dir, "base.toml", BASE);
    let events = write(&dir, "history.jsonl", &history());
    let json = dir.join("summary.json");
    let (stdout, _) = run(&[
        "simulate",
        "--program",
        program.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(stdout.contains("Base (version"), "{stdout}");
    let s = read_json(&json);

    // Events: 10 lines (one blank line skipped); a1 twice (a duplicate), b1-r refused.
    assert_eq!(s["events"]["read"], 10);
    assert_eq!(s["events"]["applied"], 8);
    assert_eq!(s["events"]["duplicates"], 1);
    assert_eq!(s["events"]["rejected"], 1);
    assert_eq!(s["rejected"][0]["line"], 11);
    assert_eq!(s["rejected"][0]["event_id"], "b1-r");
    assert_eq!(s["from"], "2026-01-05");
    assert_eq!(s["until"], "2026-04-02");

    // January. a0: welcome 10 (a is a Member, ×1). a1: 30.00 usd → 30 (cap used 30 of 50).
    // a2: 40.00 → 40, but only 20 left under the monthly cap → 20. a: 60.
    assert_eq!(points(&month(&s, "2026-01")), [60, 0, 0, 0, 0, 60]);
    assert_eq!(tiers(&month(&s, "2026-01")), (1, 0));
    // February. b1: 15.00 → 15 (b: 15). a3: 25.00 → 25 (new month, new cap; a: 85).
    // b1-r is refused: a refund in eur of a usd payment.
    assert_eq!(points(&month(&s, "2026-02")), [40, 0, 0, 0, 0, 100]);
    assert_eq!(tiers(&month(&s, "2026-02")), (2, 0));
    // March. a4: 20.00 × 2 (spring) = 40, under the cap; a is still a Member before the
    // event (85 < 100), so ×1: a 125, qualifying 125 → Gold. The credit costs 100: redeemed
    // once (5.00 usd), a 25. a4-r: 10.00 of 20.00 refunded → floor(40 × 1000 / 2000) = 20
    // reversed: a 5, qualifying 105 (still Gold). Outstanding 100 + 40 − 100 − 20 = 20.
    assert_eq!(points(&month(&s, "2026-03")), [40, 0, 100, 20, 0, 20]);
    assert_eq!(tiers(&month(&s, "2026-03")), (1, 1));
    // April. a5: 30.00 × 2 (Gold) = 60, capped at 50: a 55, qualifying 155.
    assert_eq!(points(&month(&s, "2026-04")), [50, 0, 0, 0, 0, 70]);
    assert_eq!(tiers(&month(&s, "2026-04")), (1, 1));
    assert_eq!(month(&s, "2026-03")["rewards"], 1);

    // Totals: earned 60 + 40 + 40 + 50 = 190; 190 − 100 − 20 = 70 outstanding.
    assert_eq!(s["totals"]["earned"], 190);
    assert_eq!(s["totals"]["redeemed"], 100);
    assert_eq!(s["totals"]["reversed"], 20);
    assert_eq!(s["totals"]["outstanding"], 70);
    // One credit: 100 points, 5.00 usd.
    assert_eq!(s["rewards"][0]["id"], "credit");
    assert_eq!(s["rewards"][0]["issued"], 1);
    assert_eq!(s["rewards"][0]["points"], 100);
    assert_eq!(s["rewards"][0]["value"]["usd"], 500);
    // Liability at 500 minor units per 100 points: a floor(55 × 5) = 275, b 75 → 350.
    assert_eq!(s["liability"]["value"]["usd"], 350);
    assert_eq!(s["liability"]["points_valued"], 70);
    assert_eq!(s["liability"]["points_without_rate"], 0);
    // Top earners: a earned 10 + 30 + 20 + 25 + 40 + 50 = 175, b 15.
    assert_eq!(s["top_earners"][0]["customer"]["id"], "a");
    assert_eq!(s["top_earners"][0]["earned"], 175);
    assert_eq!(s["top_earners"][1]["earned"], 15);
    // Final standing.
    assert_eq!(customer(&s, "a"), (55, 155, "Gold".to_owned()));
    assert_eq!(customer(&s, "b"), (15, 15, "Member".to_owned()));
}

#[test]
fn when_two_programs_are_compared_then_both_are_reported_with_the_differences() {
    let dir = dir("compare");
    let base = write(&dir, "base.toml", BASE);
    let other = write(&dir, "nocap.toml", &compare_program());
    let events = write(&dir, "history.jsonl", &history());
    let json = dir.join("compare.json");
    let (stdout, _) = run(&[
        "simulate",
        "--program",
        base.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--compare",
        other.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(stdout.contains("difference (No cap − Base)"), "{stdout}");
    let c = read_json(&json);
    assert_eq!(c["base"]["totals"]["earned"], 190);
    let b = &c["compare"];
    // Without the cap or the promotion. January: 10 + 30 + 40 = 80.
    assert_eq!(points(&month(b, "2026-01")), [80, 0, 0, 0, 0, 80]);
    // February: b 15; a3 25 → a 105 → Gold, and the credit is redeemed (a 5).
    assert_eq!(points(&month(b, "2026-02")), [40, 0, 100, 0, 0, 20]);
    assert_eq!(tiers(&month(b, "2026-02")), (1, 1));
    // March: a4 20.00 × 2 (Gold, no promotion) = 40 (a 45); a4-r reverses
    // floor(40 × 1000 / 2000) = 20 (a 25).
    assert_eq!(points(&month(b, "2026-03")), [40, 0, 0, 20, 0, 40]);
    // April: a5 30.00 × 2 = 60, no cap: a 85.
    assert_eq!(points(&month(b, "2026-04")), [60, 0, 0, 0, 0, 100]);
    assert_eq!(customer(b, "a"), (85, 185, "Gold".to_owned()));
    // Differences: earned 220 − 190 = 30, outstanding 100 − 70 = 30; liability
    // (85 + 15) × 5 = 500 against 350: +150 usd; only a ends with another balance.
    let d = &c["difference"];
    assert_eq!(d["totals"]["earned"], 30);
    assert_eq!(d["totals"]["outstanding"], 30);
    assert_eq!(d["totals"]["redeemed"], 0);
    assert_eq!(d["liability"]["usd"], 150);
    assert_eq!(d["customers_with_another_balance"], 1);
}

#[test]
fn when_the_same_simulation_runs_twice_then_the_outputs_are_the_same_bytes() {
    let dir = dir("twice");
    let base = write(&dir, "base.toml", BASE);
    let other = write(&dir, "nocap.toml", &compare_program());
    let events = write(&dir, "history.jsonl", &history());
    let mut outputs = Vec::new();
    for i in 0..2 {
        let json = dir.join(format!("run{i}.json"));
        let (stdout, _) = run(&[
            "simulate",
            "--program",
            base.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
            "--compare",
            other.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        outputs.push((stdout, std::fs::read(&json).unwrap()));
    }
    assert!(!outputs[0].1.is_empty());
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn when_the_history_has_bad_lines_then_simulate_exits_1_naming_each_line() {
    let dir = dir("bad");
    let base = write(&dir, "base.toml", BASE);
    let text = format!(
        "{}\n{{\"id\": 1}}\n{}\nnot json\n",
        pay("a1", "a", "2026-01-10T10:00:00Z", 3000, "pay-a1"),
        pay("a2", "a", "2026-01-20T10:00:00Z", -5, "pay-a2"),
    );
    let events = write(&dir, "bad.jsonl", &text);
    let out = saguaro()
        .args([
            "simulate",
            "--program",
            base.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 line(s) are not events"), "{err}");
    for line in ["line 2: ", "line 3: ", "line 4: "] {
        assert!(err.contains(line), "{line} in {err}");
    }
    assert!(err.contains("amount.minor must not be negative"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Expiry after 30 days and 30 points a year on the subscription's anniversary: both made by
/// the scheduler's daily job during the simulation, not by the history.
const SCHEDULED: &str = r#"
[program]
name = "Scheduled"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }

[[earn]]
id = "anniversary"
on = "subscription.anniversary"
points = 30

[expiry]
after_days = 30
"#;

#[test]
fn when_the_span_covers_expiry_days_and_an_anniversary_then_the_daily_job_applies_them() {
    let dir = dir("scheduled");
    let program = write(&dir, "scheduled.toml", SCHEDULED);
    let sub = r#""subscription":{"id":"sub-c","plan":"basic","status":"active","started_at":"2025-01-10T09:00:00Z"}"#;
    let history = [
        format!(
            r#"{{"id":"c0","type":"subscription.created","customer":{{"provider":"custom","id":"c"}},"occurred_at":"2025-01-10T09:00:00Z",{sub}}}"#
        ),
        pay("c1", "c", "2025-01-10T10:00:00Z", 2000, "pay-c1"),
        pay("c2", "c", "2025-03-01T10:00:00Z", 1500, "pay-c2"),
        pay("c3", "c", "2025-12-20T10:00:00Z", 1000, "pay-c3"),
    ]
    .join("\n");
    let events = write(&dir, "history.jsonl", &history);
    let json = dir.join("summary.json");
    run(&[
        "simulate",
        "--program",
        program.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--until",
        "2026-02-15",
        "--json",
        json.to_str().unwrap(),
    ]);
    let s = read_json(&json);
    // A lot earned on day D lasts to the end of D + 30; the job at the start of the next day
    // expires it.
    // 2025-01: c1 20.00 usd → 20 (lot of 2025-01-10, last day 2025-02-09).
    assert_eq!(points(&month(&s, "2025-01")), [20, 0, 0, 0, 0, 20]);
    // 2025-02: the job of 2025-02-10 expires those 20.
    assert_eq!(points(&month(&s, "2025-02")), [0, 0, 0, 0, 20, 0]);
    // 2025-03: c2 15.00 → 15 (last day 2025-03-31); 2025-04: expired on 2025-04-01.
    assert_eq!(points(&month(&s, "2025-03")), [15, 0, 0, 0, 0, 15]);
    assert_eq!(points(&month(&s, "2025-04")), [0, 0, 0, 0, 15, 0]);
    // 2025-12: c3 10.00 → 10 (last day 2026-01-19).
    assert_eq!(points(&month(&s, "2025-12")), [10, 0, 0, 0, 0, 10]);
    // 2026-01: the first anniversary of sub-c (started 2025-01-10) on 2026-01-10: 30 (last
    // day 2026-02-09); the job of 2026-01-20 expires c3's 10.
    assert_eq!(points(&month(&s, "2026-01")), [30, 0, 0, 0, 10, 30]);
    // 2026-02: the job of 2026-02-10 expires the anniversary's 30.
    assert_eq!(points(&month(&s, "2026-02")), [0, 0, 0, 0, 30, 0]);
    assert_eq!(s["totals"]["earned"], 75);
    assert_eq!(s["totals"]["expired"], 75);
    assert_eq!(s["totals"]["outstanding"], 0);
    // Made by the job: four expiry runs and one anniversary.
    assert_eq!(s["events"]["applied"], 4);
    assert_eq!(s["events"]["scheduled"], 5);
    assert_eq!(s["until"], "2026-02-15");
    assert_eq!(customer(&s, "c").0, 0);
}
