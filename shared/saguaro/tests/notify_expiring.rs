//! `points.expiring` (`[notify]`): the daily job, on the embedded store with its events
//! applied in process (as `saguaro tick` does), writes one notice per customer and day for
//! the lot whose last day is `expiring_days` ahead, also for a later lot than the soonest;
//! a second run of the same day adds nothing; the fulfiler sends each once, signed, to the
//! merchant's endpoint (wiremock). Without `points.expiring` in `kinds`, none. On the
//! embedded store and on SQLite (the store of `saguaro tick` and `saguaro serve`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use jiff::civil::{Date, date};
use saguaro_app::Earner;
use saguaro_app::fulfil::{Deliveries, Fulfiler};
use saguaro_app::ports::{HistoryStore, RewardPageRequest, ScheduleStore};
use saguaro_app::schedule;
use saguaro_delivery::PerkRewards;
use saguaro_delivery::signing::SigningKey;
use saguaro_domain::ports::{RewardStore, StateStore, SystemClock};
use saguaro_domain::{CustomerId, Event, Money, Program, Provider, RewardOutbox, Trigger};
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn program(url: &str, kinds: &str) -> Arc<Program> {
    Arc::new(
        Program::parse(&format!(
            r#"
[program]
name = "Expiring"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = {{ usd = 100 }}

[expiry]
after_days = 30

[notify]
url = "{url}/saguaro"
kinds = [{kinds}]
secret = "NOTIFY"
expiring_days = 7
"#
        ))
        .unwrap(),
    )
}

struct World<S> {
    store: Arc<S>,
    earner: Earner<Arc<S>>,
    program: Arc<Program>,
    customer: CustomerId,
}

impl<S> World<S>
where
    S: StateStore + HistoryStore + ScheduleStore + RewardStore + 'static,
{
    async fn new(store: S, program: Arc<Program>) -> Self {
        let store = Arc::new(store);
        let w = Self {
            earner: Earner::new(store.clone(), program.clone()),
            store,
            program,
            customer: CustomerId::new(Provider::Stripe, "cus_1"),
        };
        // 100 points on 1 May (last day 31 May) and 50 on 10 May (last day 9 June).
        w.pay("p1", "2026-05-01T12:00:00Z", 10_000).await;
        w.pay("p2", "2026-05-10T12:00:00Z", 5_000).await;
        let mark = w.store.watermark().await.unwrap();
        assert!(
            w.store
                .advance_watermark(mark, date(2026, 5, 22))
                .await
                .unwrap()
        );
        w
    }

    async fn pay(&self, id: &str, at: &str, minor: i64) {
        let mut e = Event::new(
            id,
            self.customer.clone(),
            Trigger::PaymentSucceeded,
            at.parse().unwrap(),
        );
        e.amount = Some(Money::new(minor, "usd".parse().unwrap()));
        self.earner.apply(&e).await.unwrap();
    }

    async fn tick(&self, today: Date) {
        schedule::run(&*self.store, &self.earner, &self.program, today)
            .await
            .unwrap();
    }

    async fn notices(&self) -> Vec<RewardOutbox> {
        let page = RewardPageRequest {
            limit: 100,
            before: None,
        };
        let rows = self.store.rewards(&self.customer, page).await.unwrap();
        let mut rows: Vec<_> = rows
            .rewards
            .into_iter()
            .filter(|r| r.notice.is_some())
            .collect();
        rows.reverse();
        rows
    }
}

async fn merchant() -> MockServer {
    let merchant = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/saguaro"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&merchant)
        .await;
    merchant
}

/// Delivers every waiting row; returns the bodies the merchant received, each checked
/// against its signature, with its `webhook-id`.
async fn deliver<S>(w: &World<S>, merchant: &MockServer) -> Vec<Value>
where
    S: StateStore + HistoryStore + ScheduleStore + RewardStore + 'static,
{
    let perk = PerkRewards::new(Arc::new(|n| (n == "NOTIFY").then(|| SECRET.to_owned()))).unwrap();
    let deliveries = Deliveries {
        perk: Some(Arc::new(perk)),
        ..Deliveries::default()
    };
    let f = Fulfiler::new(w.store.clone(), deliveries, Arc::new(SystemClock));
    f.sweep(100).await.unwrap();
    let key = SigningKey::from_secret(SECRET).unwrap();
    merchant
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let h = |n: &str| r.headers.get(n).unwrap().to_str().unwrap().to_owned();
            let ts: i64 = h("webhook-timestamp").parse().unwrap();
            assert_eq!(
                h("webhook-signature"),
                key.sign(&h("webhook-id"), ts, &r.body)
            );
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            json!({ "webhook-id": h("webhook-id"), "body": body })
        })
        .collect()
}

#[tokio::test]
async fn when_a_lot_expires_in_seven_days_then_one_notice_across_two_runs_of_the_day() {
    noticed_once(EmbeddedStore::new()).await;
}

#[tokio::test]
async fn when_a_lot_expires_in_seven_days_on_sqlite_then_one_notice_across_two_runs_of_the_day() {
    let dir = common::TempDir::new("notify-expiring");
    noticed_once(saguaro_sqlite::SqliteStore::open_dir(dir.path()).unwrap()).await;
}

async fn noticed_once<S>(store: S)
where
    S: StateStore + HistoryStore + ScheduleStore + RewardStore + 'static,
{
    let merchant = merchant().await;
    let w = World::new(store, program(&merchant.uri(), r#""points.expiring""#)).await;
    w.tick(date(2026, 5, 23)).await;
    assert!(w.notices().await.is_empty(), "31 May is 8 days ahead");

    w.tick(date(2026, 5, 24)).await;
    // A second run of the same day (the watermark put back, as after a crash before it
    // moved): the same events again, already applied.
    assert!(
        w.store
            .advance_watermark(Some(date(2026, 5, 24)), date(2026, 5, 23))
            .await
            .unwrap()
    );
    w.tick(date(2026, 5, 24)).await;
    let notices = w.notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].id, "expiring:stripe:cus_1:2026-05-24");

    let sent = deliver(&w, &merchant).await;
    assert_eq!(
        sent,
        [json!({
            "webhook-id": "expiring:stripe:cus_1:2026-05-24",
            "body": {
                "type": "points.expiring",
                "program": "Expiring",
                "customer": "cus_1",
                "provider": "stripe",
                "data": { "points": 100, "date": "2026-05-31" },
                "occurred_at": "2026-05-24T00:00:00Z",
            },
        })]
    );

    // Catching up to 2 June in one run: 31 May's lot expires on 1 June, and the later lot
    // (last day 9 June) is noticed on 2 June, once.
    w.tick(date(2026, 6, 2)).await;
    let notices = w.notices().await;
    let ids: Vec<_> = notices.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "expiring:stripe:cus_1:2026-05-24",
            "expiring:stripe:cus_1:2026-06-02"
        ]
    );
    let sent = deliver(&w, &merchant).await;
    assert_eq!(sent.len(), 2, "the first is not sent again");
    assert_eq!(
        sent[1]["body"]["data"],
        json!({ "points": 50, "date": "2026-06-09" })
    );
}

#[tokio::test]
async fn when_points_expiring_is_not_listed_then_the_daily_job_writes_no_notice() {
    let merchant = merchant().await;
    let w = World::new(
        EmbeddedStore::new(),
        program(&merchant.uri(), r#""tier.changed""#),
    )
    .await;
    let state = w.store.load(&w.customer).await.unwrap().unwrap();
    assert_eq!(
        state.expiring_notice_on, None,
        "no day is kept for a notice"
    );
    w.tick(date(2026, 6, 2)).await;
    assert!(w.notices().await.is_empty());
    assert!(deliver(&w, &merchant).await.is_empty());
}
