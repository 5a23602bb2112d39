//! Helpers shared by the integration tests: fixture paths and event envelopes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};

/// The repository's public fixtures (`tests/fixtures`, provenance in its README), reached
/// from this crate's manifest directory. This crate cannot use `saguaro_testkit::fixture`:
/// the test kit depends (through the queue and app crates) on this crate and on the AWS SDK.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `tests/fixtures/<rel>`; panics, naming the path, if it is missing.
pub fn fixture_path(rel: &str) -> PathBuf {
    let path = fixtures().join(rel);
    assert!(
        path.exists(),
        "fixture {} is missing (see tests/fixtures/README.md)",
        path.display()
    );
    path
}

/// This crate's own hand-built test data.
pub fn own_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_json(path: &PathBuf) -> Value {
    serde_json::from_slice(&read(path)).unwrap()
}

pub fn fixture(rel: &str) -> Vec<u8> {
    read(&fixture_path(rel))
}

pub fn data(rel: &str) -> Vec<u8> {
    read(&own_data().join(rel))
}

/// A current-shape Stripe event: an openapi fixture object wrapped in an event envelope.
pub fn stripe_event(event_type: &str, object_file: &str, created: i64) -> Vec<u8> {
    let object = read_json(&fixture_path(&format!(
        "stripe/openapi_fixtures3/{object_file}"
    )));
    stripe_event_of(event_type, object, created)
}

pub fn stripe_event_of(event_type: &str, object: Value, created: i64) -> Vec<u8> {
    let envelope = json!({
        "id": format!("evt_test_{}", event_type.replace('.', "_")),
        "object": "event",
        "type": event_type,
        "api_version": "2025-09-30.clover",
        "created": created,
        "data": { "object": object },
    });
    serde_json::to_vec(&envelope).unwrap()
}
