//! `saguaro tick` on a data directory: the daily job's events applied to the persistent
//! (SQLite) store, catching up every day since the last run, and a second run adding nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use saguaro_app::Earner;
use saguaro_app::ports::{HistoryStore, PageRequest};
use saguaro_domain::{
    CustomerId, Event, LedgerLine, LineKind, Program, Provider, SubscriptionInfo, Trigger,
};
use saguaro_sqlite::SqliteStore;

const PROGRAM: &str = r#"
[program]
name = "Tick"
timezone = "America/New_York"

[[earn]]
id = "loyal"
on = "subscription.anniversary"
points = 1000

[[earn]]
id = "custom"
on = "custom.review"
points = 80

[expiry]
after_days = 30
"#;

struct Dir(PathBuf);

impl Dir {
    fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("saguaro-tick-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("program.toml"), PROGRAM).unwrap();
        Self(dir)
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tick(dir: &Dir, date: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_saguaro"))
        .args(["tick", "--date", date, "--data"])
        .arg(dir.data())
        .arg("--program")
        .arg(dir.0.join("program.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn with_store<T>(data: &Path, f: impl AsyncFnOnce(&Earner<Arc<SqliteStore>>) -> T) -> T {
    let store = Arc::new(SqliteStore::open_dir(data).unwrap());
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let earner = Earner::new(store, program);
    f(&earner).await
}

async fn lines(earner: &Earner<Arc<SqliteStore>>, c: &CustomerId) -> Vec<LedgerLine> {
    let page = PageRequest {
        limit: 500,
        before: None,
    };
    let mut lines = earner.store().ledger(c, page).await.unwrap().lines;
    lines.reverse();
    lines
}

fn customer() -> CustomerId {
    CustomerId::new(Provider::Stripe, "cus_tick")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_tick_runs_after_missed_days_then_it_catches_up_in_order_and_a_second_run_adds_nothing()
 {
    let dir = Dir::new("catchup");
    let c = customer();
    with_store(&dir.data(), async |earner| {
        // Started 23:30 on 9 March 2025 in New York (10 March in UTC).
        let started: jiff::Timestamp = "2025-03-10T03:30:00Z".parse().unwrap();
        let mut created = Event::new("created", c.clone(), Trigger::SubscriptionCreated, started);
        created.subscription = Some(SubscriptionInfo {
            id: "sub_tick".into(),
            plan: None,
            status: Some("active".into()),
            started_at: Some(started),
            monthly_amount: None,
            resource_version: None,
        });
        earner.apply(&created).await.unwrap();
        // 80 points on 5 February 2026: valid to the end of 7 March, expired on 8 March.
        let review = Event::new(
            "review",
            c.clone(),
            Trigger::Custom("custom.review".into()),
            "2026-02-05T15:00:00Z".parse().unwrap(),
        );
        earner.apply(&review).await.unwrap();
    })
    .await;

    // The first run ever does its day only.
    let out = tick(&dir, "2026-03-06");
    assert!(
        out.contains("2026-03-06: 0 expired, 0 anniversaries"),
        "{out}"
    );
    // Missed 7, 8, 9 March: one run does them in order.
    let out = tick(&dir, "2026-03-09");
    let days: Vec<&str> = out.lines().filter_map(|l| l.split(':').next()).collect();
    assert_eq!(
        days[..3],
        ["2026-03-07", "2026-03-08", "2026-03-09"],
        "{out}"
    );
    assert!(
        out.contains("2026-03-08: 1 expired, 0 anniversaries"),
        "{out}"
    );
    assert!(
        out.contains("2026-03-09: 0 expired, 1 anniversaries"),
        "{out}"
    );
    assert!(
        out.contains("done through 2026-03-09, 0 days behind"),
        "{out}"
    );

    let again = tick(&dir, "2026-03-09");
    assert!(again.starts_with("done through 2026-03-09"), "{again}");

    with_store(&dir.data(), async |earner| {
        let lines = lines(earner, &c).await;
        let kinds: Vec<(LineKind, i64, &str)> = lines
            .iter()
            .map(|l| (l.kind, l.points, l.event_id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (LineKind::Earn, 80, "review"),
                (LineKind::Expiry, -80, "expire:stripe:cus_tick:2026-03-08"),
                (LineKind::Earn, 1000, "anniv:stripe:sub_tick:1"),
            ]
        );
    })
    .await;
}
