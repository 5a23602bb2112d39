//! The `saguaro` binary: `check` and `serve` on good and bad program files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn saguaro() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_saguaro"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

fn bad_program() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("saguaro-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    ))
    .unwrap()
    .replace(
        "on = \"subscription.upgraded\"",
        "on = \"subscription.upgrade\"",
    );
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn when_example_program_is_checked_then_it_passes() {
    let out = saguaro()
        .args(["check", "infra/program.example.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: \"Acme Rewards\""));
}

/// The example program with `notify` appended, in a file of its own.
fn with_notify(name: &str, notify: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("saguaro-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    ))
    .unwrap();
    std::fs::write(&path, format!("{source}\n[notify]\n{notify}\n")).unwrap();
    path
}

#[test]
fn when_notify_is_checked_then_a_good_section_is_summed_up_and_a_bad_kind_is_named() {
    let good = with_notify(
        "notify-good.toml",
        "url = \"https://app.example.com/n\"\nkinds = [\"tier.changed\", \"reward.failed\"]\nsecret = \"NOTIFY\"",
    );
    let out = saguaro()
        .args(["check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("notifications (tier.changed, reward.failed) to https://app.example.com/n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bad = with_notify(
        "notify-bad.toml",
        "url = \"https://app.example.com/n\"\nkinds = [\"tier.lost\"]\nsecret = \"NOTIFY\"",
    );
    let out = saguaro()
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`notify.kinds`: `tier.lost` is not a notification kind"),
        "{err}"
    );
}

#[test]
fn when_program_is_invalid_then_check_and_serve_exit_non_zero_naming_key_and_line() {
    let bad = bad_program();
    for args in [
        vec!["check", bad.to_str().unwrap()],
        vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--program",
            bad.to_str().unwrap(),
        ],
    ] {
        let out = saguaro().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("line 28")
                && err.contains("`earn.on`")
                && err.contains("subscription.upgrade"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = saguaro()
        .args(["check", "no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/file.toml"));
}

#[test]
fn when_serve_starts_then_it_listens_and_answers() {
    // In memory: the test must not leave a data directory in the repository.
    let mut child = saguaro()
        .args(["serve", "--addr", "127.0.0.1:0", "--memory"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // Keep reading what the server prints: a closed pipe would make its next line fail.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /customers/custom/nobody HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(
        response.ends_with("{\"error\":\"not_found\"}"),
        "{response}"
    );
}

#[test]
fn when_rejected_is_run_then_it_prints_the_parked_deliveries_newest_first() {
    use saguaro_app::rejected::{RejectedEvents, RejectedFile, Rejection};
    let dir = std::env::temp_dir().join(format!("saguaro-cli-rejected-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.to_str().unwrap();

    // an empty data directory: nothing printed, said on stderr
    let out = saguaro()
        .args(["rejected", "--data", data])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rejected events"));

    // two deliveries parked by the same file `saguaro serve --data` writes
    let file = RejectedFile::in_dir(&dir);
    for id in ["evt_first", "evt_second"] {
        file.park(&Rejection {
            provider: "stripe".to_owned(),
            event_id: id.to_owned(),
            event_type: "charge.refunded".to_owned(),
            reason: "refund in eur of a payment in usd".to_owned(),
            received_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            body: "{}".to_owned(),
        })
        .unwrap();
    }
    let out = saguaro()
        .args(["rejected", "--data", data])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event_id"], "evt_second");
    assert_eq!(lines[1]["event_id"], "evt_first");
    assert_eq!(lines[1]["reason"], "refund in eur of a payment in usd");
    let out = saguaro()
        .args(["rejected", "--data", data, "--limit", "1"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
