//! `saguaro export` through the binary: the hand-checked history of `simulate.rs` backfilled
//! into a data directory, then exported as balances and ledger, in CSV and JSON lines. The
//! figures are the ones `simulate` gives for the same history (worked out by hand in
//! `simulate.rs`): a 55 points, b 15; liability 2.75 + 0.75 = 3.50 usd.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "simulate/common.rs"]
mod common;

fn saguaro(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_saguaro"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

fn setup(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("saguaro-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("base.toml");
    std::fs::write(&program, common::BASE).unwrap();
    let events = dir.join("history.jsonl");
    std::fs::write(&events, common::history()).unwrap();
    let data = dir.join("data");
    let (stdout, _) = saguaro(&[
        "backfill",
        "--program",
        s(&program),
        "--events",
        s(&events),
        "--data",
        s(&data),
    ]);
    // 10 events: 8 applied, the duplicate of a1, the refund in eur refused.
    assert!(
        stdout.starts_with("10 events read: 8 applied, 1 already applied, 1 refused"),
        "{stdout}"
    );
    assert!(stdout.contains("line 11: b1-r"), "{stdout}");
    (program, data)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn when_balances_and_ledger_are_exported_then_they_match_the_simulation() {
    let (program, data) = setup("local");
    let (csv, stderr) = saguaro(&[
        "export",
        "balances",
        "--program",
        s(&program),
        "--data",
        s(&data),
    ]);
    assert_eq!(
        csv,
        "provider,customer,balance,qualifying_points,tier,currency,liability\n\
         custom,a,55,155,Gold,usd,275\n\
         custom,b,15,15,Member,usd,75\n"
    );
    assert!(stderr.contains("2 customers"), "{stderr}");
    assert!(stderr.contains("outstanding 70 points"), "{stderr}");
    assert!(
        stderr.contains("liability 3.50 usd (70 points valued, 0 points without a rate"),
        "{stderr}"
    );

    let (jsonl, _) = saguaro(&[
        "export",
        "balances",
        "--format",
        "jsonl",
        "--program",
        s(&program),
        "--data",
        s(&data),
    ]);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["customer"], "a");
    assert_eq!(rows[0]["balance"], 55);
    assert_eq!(rows[0]["liability"], 275);

    let (ledger, stderr) = saguaro(&[
        "export",
        "ledger",
        "--program",
        s(&program),
        "--data",
        s(&data),
    ]);
    let lines: Vec<&str> = ledger.lines().collect();
    assert_eq!(
        lines[0],
        "provider,customer,seq,kind,points,balance_after,rule,event_id,occurred_at,refers_to,program_version"
    );
    // a: welcome 10, a1 30, a2 20, a3 25, a4 40, the credit −100, the refund −20, a5 50;
    // b: b1 15. Oldest first per customer.
    let points: Vec<(&str, &str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1], f[3], f[4])
        })
        .collect();
    assert_eq!(
        points,
        [
            ("a", "earn", "10"),
            ("a", "earn", "30"),
            ("a", "earn", "20"),
            ("a", "earn", "25"),
            ("a", "earn", "40"),
            ("a", "redemption", "-100"),
            ("a", "reversal", "-20"),
            ("a", "earn", "50"),
            ("b", "earn", "15"),
        ]
    );
    assert!(stderr.contains("9 ledger lines"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_same_history_is_in_a_dynamodb_table_then_export_table_gives_the_same_rows() {
    // given the history applied to the local store (setup) and to a table on moto, through
    // the same Earner and program
    let (program_path, data) = setup("table");
    let program = std::sync::Arc::new(
        saguaro_domain::Program::parse(&std::fs::read_to_string(&program_path).unwrap()).unwrap(),
    );
    let aws = saguaro_testkit::aws().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let table = saguaro_testkit::dynamodb::fresh_table(&client, "export").await;
    let earner = saguaro_app::Earner::new(
        saguaro_dynamodb::DynamoStore::new(client.clone(), &table),
        program,
    );
    let events = program_path.with_file_name("history.jsonl");
    for he in saguaro::simulate::history::read(&events, &|_| ()).unwrap() {
        if let Err(e) = earner.apply(&he.event).await {
            assert!(!e.is_retryable(), "{e}");
        }
    }
    // when both are exported, balances and ledger, CSV and JSON lines
    for args in [
        ["balances", "csv"],
        ["ledger", "csv"],
        ["balances", "jsonl"],
        ["ledger", "jsonl"],
    ] {
        let common = [
            "export",
            args[0],
            "--format",
            args[1],
            "--program",
            s(&program_path),
        ];
        let (local, local_totals) = saguaro(&[&common[..], &["--data", s(&data)]].concat());
        let out = Command::new(env!("CARGO_BIN_EXE_saguaro"))
            .args(common)
            .args(["--table", &table])
            .env("AWS_ENDPOINT_URL", saguaro_testkit::endpoint())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        // then the rows and the totals are the same
        assert_eq!(String::from_utf8(out.stdout).unwrap(), local, "{args:?}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            local_totals,
            "{args:?}"
        );
    }
}
