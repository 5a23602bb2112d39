//! The api function's router on moto (`infra/test.sh` starts it): `POST /events` is validated
//! and lands on the earn queue (nothing is written to the table), and once the earn path has
//! applied it the customer reads answer from DynamoDB, through the same router code as the
//! local runner.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use saguaro_app::Earner;
use saguaro_app::config::load_program;
use saguaro_app::ports::SystemClock;
use saguaro_dynamodb::DynamoStore;
use saguaro_sqs::SqsQueue;
use saguaro_testkit::dynamodb::fresh_table;
use saguaro_testkit::sqs::{fresh_queue, receive};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Fixture {
    router: Router,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    store: DynamoStore,
}

async fn fixture(test: &str) -> Fixture {
    let aws = saguaro_testkit::aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = fresh_queue(&sqs, test).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let table = fresh_table(&dynamodb, test).await;
    let program = Arc::new(load_program(saguaro_testkit::example_program().as_ref()).unwrap());
    let router = api::router(
        Arc::new(DynamoStore::new(dynamodb.clone(), table.clone())),
        SqsQueue::new(sqs.clone(), queue_url.clone()),
        SystemClock,
        program,
    );
    Fixture {
        router,
        sqs,
        queue_url,
        store: DynamoStore::new(dynamodb, table),
    }
}

async fn call(router: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn payment() -> String {
    json!({
        "id": "evt-api-1", "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "c-42" },
        "occurred_at": "2026-11-05T10:00:00Z",
        "amount": { "minor": 1999, "currency": "usd" }, "payment": "pay-77"
    })
    .to_string()
}

#[tokio::test]
async fn when_an_event_is_posted_then_it_is_enqueued_and_after_earn_the_reads_show_it() {
    let f = fixture("api-post").await;
    let (status, body) = call(&f.router, "POST", "/events", &payment()).await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({ "id": "evt-api-1" }))
    );

    // written only to the queue: the table knows nothing of the customer yet
    let (status, body) = call(&f.router, "GET", "/customers/custom/c-42", "").await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "error": "not_found" }))
    );
    let messages = receive(&f.sqs, &f.queue_url, 1).await;
    assert_eq!(messages.len(), 1);
    let event = saguaro_sqs::decode(messages[0].body().unwrap()).unwrap();
    assert_eq!(event.id.as_str(), "evt-api-1");

    // what the earn function does with the message
    let program = Arc::new(load_program(saguaro_testkit::example_program().as_ref()).unwrap());
    Earner::new(f.store, program).apply(&event).await.unwrap();

    let (status, body) = call(&f.router, "GET", "/customers/custom/c-42", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["balance"], 19, "{body}"); // floor(19.99 × 1), no December promotion
    let (status, body) = call(
        &f.router,
        "GET",
        "/customers/custom/c-42/ledger?limit=5",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lines"].as_array().unwrap().len(), 1, "{body}");
    let (status, body) = call(&f.router, "GET", "/customers/custom/c-42/rewards", "").await;
    assert_eq!(
        (status, body["rewards"].clone()),
        (StatusCode::OK, json!([]))
    );
}

#[tokio::test]
async fn when_a_bad_request_comes_then_it_is_refused_and_nothing_is_enqueued() {
    let f = fixture("api-bad").await;
    let (status, body) = call(&f.router, "POST", "/events", "{\"id\":").await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("malformed"))
    );
    let (status, body) = call(&f.router, "GET", "/customers/custom/c-1/ledger?limit=0", "").await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({ "error": "invalid_query" }))
    );
    let (status, _) = call(&f.router, "DELETE", "/events", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(&f.router, "GET", "/rejected", "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the rejected list is the local runner's"
    );
    assert!(receive(&f.sqs, &f.queue_url, 1).await.is_empty());
}

#[tokio::test]
async fn when_an_adjustment_is_posted_twice_then_one_event_is_enqueued_and_applied_with_its_reason()
{
    let f = fixture("api-adjust").await;
    let body = json!({ "points": -7, "reason": "duplicate signup", "id": "ops-12" }).to_string();
    let path = "/customers/custom/c-42/adjustments";
    let first = call(&f.router, "POST", path, &body).await;
    let replay = call(&f.router, "POST", path, &body).await;
    let id = "adjust:custom:c-42:key:ops-12";
    assert_eq!(first, (StatusCode::ACCEPTED, json!({ "id": id })));
    assert_eq!(replay, first);

    // on the queue, as the earn function reads it: the replay is the same event (the FIFO
    // queue's deduplication id is the event id, so moto keeps one message)
    let messages = receive(&f.sqs, &f.queue_url, 1).await;
    assert_eq!(messages.len(), 1);
    let event = saguaro_sqs::decode(messages[0].body().unwrap()).unwrap();
    assert_eq!(event.id.as_str(), id);
    assert_eq!(event.trigger, saguaro_domain::Trigger::PointsAdjusted);
    assert_eq!(
        (event.points, event.reason.as_deref()),
        (Some(-7), Some("duplicate signup"))
    );

    // applied twice (a redelivery): one line, with the reason, in DynamoDB
    let program = Arc::new(load_program(saguaro_testkit::example_program().as_ref()).unwrap());
    let earner = Earner::new(f.store, program);
    earner.apply(&event).await.unwrap();
    earner.apply(&event).await.unwrap();
    let (status, body) = call(&f.router, "GET", "/customers/custom/c-42/ledger", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{body}");
    assert_eq!(lines[0]["reason"], "duplicate signup");
    assert_eq!(lines[0]["balance_after"], -7); // a deficit: docs/design.md §4.4

    // a bad one is refused before the queue
    let (status, body) = call(&f.router, "POST", path, r#"{"points":0,"reason":"x"}"#).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_event"))
    );
    assert!(receive(&f.sqs, &f.queue_url, 0).await.is_empty());
}
