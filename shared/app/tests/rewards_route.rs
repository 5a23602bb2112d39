//! `GET /customers/{provider}/{id}/rewards?limit=&cursor=`: paginated like the ledger,
//! newest first, with `next_cursor`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use saguaro_app::Earner;
use saguaro_app::router;
use saguaro_domain::Program;
use saguaro_domain::ports::SystemClock;
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};

const PROGRAM: &str = r#"
[program]
name = "Rewards"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }

[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 100
value = { usd = 500 }
"#;

#[tokio::test]
async fn when_rewards_are_listed_a_page_at_a_time_then_newest_first_with_a_cursor() {
    let program = Arc::new(Program::parse(PROGRAM).unwrap());
    let store = Arc::new(EmbeddedStore::new());
    let api = common::BytesApi(
        router::events(Earner::new(store.clone(), program.clone())).merge(router::customers(
            store,
            SystemClock,
            program,
        )),
    );
    // Five payments of 1.00 to 5.00 usd: one credit row each, of quantity 1.
    for n in 1..=5 {
        let body = json!({
            "id": format!("e{n}"), "type": "payment.succeeded",
            "customer": { "provider": "custom", "id": "c-1" },
            "occurred_at": format!("2026-05-0{n}T10:00:00Z"),
            "amount": { "minor": 10_000, "currency": "usd" }, "payment": format!("pay-{n}"),
        });
        let req = Request::post("/events")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        assert_eq!(api.handle(req).await.status(), StatusCode::ACCEPTED);
    }
    let get = |path: String| {
        let api = &api;
        async move {
            let res = api
                .handle(Request::get(path).body(Bytes::new()).unwrap())
                .await;
            let status = res.status();
            (status, serde_json::from_slice::<Value>(res.body()).unwrap())
        }
    };
    let mut events = Vec::new();
    let mut path = "/customers/custom/c-1/rewards?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        let rows = body["rewards"].as_array().unwrap();
        assert!(rows.len() <= 2);
        events.extend(
            rows.iter()
                .map(|r| r["event_id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/customers/custom/c-1/rewards?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(events, ["e5", "e4", "e3", "e2", "e1"]);
    let (status, body) = get("/customers/custom/c-1/rewards?cursor=nope".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({ "error": "invalid_query" }));
}
