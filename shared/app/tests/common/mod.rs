//! What the webhook tests share: a sink that records what it is given and answers as told,
//! a fixed clock, and a router driven as a tower `Service`, request by request.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use jiff::Timestamp;
use saguaro_app::ports::{Clock, EventSink, SinkError};
use saguaro_domain::Event;
use serde_json::Value;
use tower::ServiceExt as _;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Accept,
    Unavailable,
    Rejected,
    IdReused,
}

/// Records what it is given, and answers as told.
#[derive(Debug)]
pub struct RecordingSink {
    mode: Mode,
    events: Mutex<Vec<Event>>,
}

impl RecordingSink {
    pub fn new(mode: Mode) -> Arc<Self> {
        Arc::new(Self {
            mode,
            events: Mutex::new(Vec::new()),
        })
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("test failure")]
pub struct TestFailure;

impl EventSink for RecordingSink {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        self.events.lock().unwrap().push(event);
        match self.mode {
            Mode::Accept => Ok(()),
            Mode::Unavailable => Err(SinkError::Unavailable(Box::new(TestFailure))),
            Mode::Rejected => Err(SinkError::Rejected(Box::new(TestFailure))),
            Mode::IdReused => Err(SinkError::IdReused),
        }
    }
}

#[derive(Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// A webhook's router, and the sink its handler submits to.
#[derive(Debug)]
pub struct Routed {
    router: Router,
    sink: Arc<RecordingSink>,
}

impl Routed {
    pub fn new(router: Router, sink: Arc<RecordingSink>) -> Self {
        Self { router, sink }
    }

    /// One request through the router, as `lambda_http` or hyper hands it over.
    pub async fn handle(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    pub fn sink(&self) -> &RecordingSink {
        &self.sink
    }
}

pub fn post(path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::from(Bytes::from(body))).unwrap()
}

/// The status and the JSON body of an answer.
pub async fn answer(res: Response<Body>) -> (StatusCode, Value) {
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// The events and customers routes over one embedded store, answering whole responses.
pub struct BytesApi(pub axum::Router);

impl BytesApi {
    pub async fn handle(&self, req: http::Request<bytes::Bytes>) -> http::Response<bytes::Bytes> {
        let res = tower::ServiceExt::oneshot(self.0.clone(), req.map(axum::body::Body::from))
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        http::Response::from_parts(parts, bytes)
    }
}
