//! The routers of `POST /events` and the customer reads over the embedded store, merged as a
//! runner merges them and driven as a tower `Service`: an accepted event is visible to the
//! next read, a wrong method is a 405 naming the allowed ones, no route a 404.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use saguaro_app::Earner;
use saguaro_app::ports::SystemClock;
use saguaro_app::router;
use saguaro_domain::Program;
use saguaro_embedded::EmbeddedStore;
use serde_json::json;
use tower::ServiceExt as _;

use common::answer;

fn app() -> Router {
    let source = std::fs::read_to_string(saguaro_testkit::example_program()).unwrap();
    let program = Arc::new(Program::parse(&source).unwrap());
    let store = Arc::new(EmbeddedStore::new());
    router::with_not_found(
        router::events(Earner::new(store.clone(), program.clone())).merge(router::customers(
            store,
            SystemClock,
            program,
        )),
    )
}

fn request(method: Method, path: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn when_an_event_is_posted_then_the_customer_read_shows_it() {
    // given
    let app = app();
    let event = json!({
        "id": "evt-1", "type": "points.adjusted",
        "customer": { "provider": "custom", "id": "c-1" },
        "occurred_at": "2026-11-05T10:00:00Z",
    });
    let payment = json!({
        "id": "evt-2", "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": "c-1" },
        "occurred_at": "2026-11-05T10:00:00Z",
        "amount": { "minor": 1000, "currency": "usd" }, "payment": "pay-1",
    });
    // when: an internal trigger is refused, a payment accepted
    let refused = app
        .clone()
        .oneshot(request(Method::POST, "/events", &event.to_string()))
        .await
        .unwrap();
    let accepted = app
        .clone()
        .oneshot(request(Method::POST, "/events", &payment.to_string()))
        .await
        .unwrap();
    // then
    assert_eq!(
        answer(refused).await,
        (
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_event", "detail": "internal triggers are not accepted" })
        )
    );
    assert_eq!(
        answer(accepted).await,
        (StatusCode::ACCEPTED, json!({ "id": "evt-2" }))
    );
    let read = app
        .oneshot(request(Method::GET, "/customers/custom/c-1/ledger", ""))
        .await
        .unwrap();
    let (status, body) = answer(read).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["lines"][0]["event_id"], "evt-2");
}

#[tokio::test]
async fn when_method_is_wrong_then_405_with_allow_and_unknown_path_404() {
    let app = app();
    for (method, path, allow) in [
        (Method::GET, "/events", "POST"),
        (Method::POST, "/customers/custom/c-1", "GET,HEAD"),
        (Method::PUT, "/customers/custom/c-1/rewards", "GET,HEAD"),
    ] {
        let res = app
            .clone()
            .oneshot(request(method.clone(), path, "{}"))
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            answer(res).await,
            (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "error": "method_not_allowed" })
            ),
            "{method} {path}"
        );
    }
    for path in [
        "/",
        "/event",
        "/customers/custom/c-1/points",
        "/webhooks/stripe",
    ] {
        let res = app
            .clone()
            .oneshot(request(Method::POST, path, "{}"))
            .await
            .unwrap();
        assert_eq!(
            answer(res).await,
            (StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
            "{path}"
        );
    }
}
