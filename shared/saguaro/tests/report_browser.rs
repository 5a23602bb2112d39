//! The simulation report in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `infra/test.sh`) renders the page written by `saguaro simulate --report`;
//! the rendered DOM must hold the SVG charts with their data (a bar per series per month, a
//! point per month on each line), and a screenshot is kept as an artifact under `target/`
//! (`target/tmp/simulate-report/report.png`, and `compare.png`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulate-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> Command {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the report's browser test needs Debian's chromium (apt-get install chromium; infra/test.sh installs it)"
    );
    let profile = out_dir().join(format!(
        "profile-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut c = Command::new(CHROMIUM);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Runs `c` to its end within 120 s (a hung browser fails the test instead of hanging it).
fn finish(mut c: Command) -> std::process::Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The history and programs of `tests/simulate.rs`, through the binary, with `--report`.
fn report(name: &str, compare: bool) -> PathBuf {
    let dir = out_dir();
    let (base, nocap, history) = inputs(&dir);
    let page = dir.join(format!("{name}.html"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_saguaro"));
    c.args(["simulate", "--program"])
        .arg(&base)
        .arg("--events")
        .arg(&history)
        .arg("--report")
        .arg(&page);
    if compare {
        c.arg("--compare").arg(&nocap);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    page
}

fn inputs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let base = dir.join("base.toml");
    let nocap = dir.join("nocap.toml");
    let history = dir.join("history.jsonl");
    std::fs::write(&base, common::BASE).unwrap();
    std::fs::write(&nocap, common::compare_program()).unwrap();
    std::fs::write(&history, common::history()).unwrap();
    (base, nocap, history)
}

#[path = "simulate/common.rs"]
mod common;

/// The serialised `<svg data-chart="{id}" ...>...</svg>` of the rendered DOM.
fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("data-chart=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id} in the rendered DOM"));
    let end = dom[start..].find("</svg>").unwrap() + start;
    &dom[start..end]
}

fn dump_dom(page: &Path) -> String {
    let mut c = chromium();
    c.arg("--dump-dom")
        .arg(format!("file://{}", page.display()));
    let out = finish(c);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn screenshot(page: &Path, png: &Path) {
    let _ = std::fs::remove_file(png);
    let mut c = chromium();
    c.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", page.display()));
    let out = finish(c);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280×2000 page compresses to a few kilobytes; charts and tables do not.
    assert!(
        bytes.len() > 30_000,
        "screenshot only {} bytes",
        bytes.len()
    );
    eprintln!("screenshot: {} ({} bytes)", png.display(), bytes.len());
}

#[test]
fn when_the_report_is_opened_in_chromium_then_the_charts_render_with_their_data() {
    let page = report("report", false);
    let html = std::fs::read_to_string(&page).unwrap();
    eprintln!("report: {} bytes", html.len());
    // Self-contained: nothing to fetch.
    for outside in ["<script", "<link", "@import", "url(", "src="] {
        assert!(
            !html.contains(outside),
            "the report refers to something outside: {outside}"
        );
    }
    let dom = dump_dom(&page);
    // Four months (January to April 2026), five series in the points chart.
    let points = chart(&dom, "points");
    assert_eq!(points.matches("class=\"bar\"").count(), 4 * 5);
    assert!(points.contains(r#"data-series="earned" data-month="2026-03" data-value="40""#));
    assert!(points.contains(r#"data-series="redeemed" data-month="2026-03" data-value="100""#));
    assert!(points.contains(r#"data-series="reversed" data-month="2026-03" data-value="20""#));
    // Outstanding: one line, a point per month: 60, 100, 20, 70.
    let outstanding = chart(&dom, "outstanding");
    assert_eq!(outstanding.matches("<polyline").count(), 1);
    assert!(outstanding.contains("data-points=\"4\""));
    assert_eq!(outstanding.matches("class=\"point\"").count(), 4);
    for (m, v) in [
        ("2026-01", 60),
        ("2026-02", 100),
        ("2026-03", 20),
        ("2026-04", 70),
    ] {
        assert!(
            outstanding.contains(&format!(r#"data-month="{m}" data-value="{v}""#)),
            "{m} {v}"
        );
    }
    // Tiers: Member and Gold per month; Gold holds one customer from March.
    let tiers = chart(&dom, "tiers");
    assert_eq!(tiers.matches("class=\"bar\"").count(), 4 * 2);
    assert!(tiers.contains(r#"data-series="Gold" data-month="2026-03" data-value="1""#));
    assert!(dom.contains("<table"), "the tables are below the charts");
    screenshot(&page, &out_dir().join("report.png"));
}

#[test]
fn when_a_comparison_is_opened_in_chromium_then_both_programs_are_drawn() {
    let page = report("compare", true);
    let dom = dump_dom(&page);
    let outstanding = chart(&dom, "outstanding");
    assert_eq!(outstanding.matches("<polyline").count(), 2);
    assert!(outstanding.contains(r#"data-series="No cap" data-month="2026-04" data-value="100""#));
    assert!(outstanding.contains(r#"data-series="Base" data-month="2026-04" data-value="70""#));
    for id in ["points-base", "points-compare"] {
        assert_eq!(
            chart(&dom, id).matches("class=\"bar\"").count(),
            4 * 5,
            "{id}"
        );
    }
    assert!(dom.contains("Difference (No cap − Base)"));
    screenshot(&page, &out_dir().join("compare.png"));
}
