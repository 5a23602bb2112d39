//! Verify + normalise of a ~5 KB `invoice.paid` body, against the floor: HMAC-SHA256 of the
//! same body plus `serde_json::from_slice::<Value>` (what any verifier must do at least).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

// The integration tests' helpers, for the fixture path: one fixture helper per crate.
#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use saguaro_providers::stripe::{self, Verifier, WebhookSecret, sign_header};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_bench_secret";
const T: i64 = 1_721_954_080;

fn body() -> Vec<u8> {
    let mut invoice: Value =
        serde_json::from_slice(&common::fixture("stripe/openapi_fixtures3/invoice.json")).unwrap();
    invoice["amount_paid"] = json!(1999);
    invoice["payment_intent"] = json!("pi_bench");
    serde_json::to_vec_pretty(&json!({
        "id": "evt_bench", "object": "event", "type": "invoice.paid",
        "api_version": "2025-09-30.clover", "created": T, "data": { "object": invoice },
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let body = body();
    let header = sign_header(&WebhookSecret::new(SECRET), T, &body);
    let verifier = Verifier::new([WebhookSecret::new(SECRET)]);
    let now = Timestamp::from_second(T).unwrap();
    // Sanity: the measured path really succeeds.
    verifier.verify(&body, Some(&header), now).unwrap();
    assert!(matches!(
        stripe::normalise(&body, Some("referred_by")).unwrap(),
        stripe::Normalised::Event(_)
    ));

    let mut group = c.benchmark_group(format!("invoice.paid {} bytes", body.len()));
    group.bench_function("verify+normalise", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&body), Some(black_box(&header)), now)
                .unwrap();
            black_box(stripe::normalise(black_box(&body), Some("referred_by")).unwrap())
        })
    });
    group.bench_function("floor: hmac+parse", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(T.to_string().as_bytes());
            mac.update(b".");
            mac.update(black_box(&body));
            black_box(mac.finalize().into_bytes());
            black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
