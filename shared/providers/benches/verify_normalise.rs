//! Verify + normalise against the physical floor, for both providers:
//!
//! - Stripe: a basil `invoice.paid` (~6 KB, the openapi fixture's invoice in an event
//!   envelope). Floor: HMAC-SHA256 of the signed payload plus a full JSON validation
//!   (`serde_json::from_slice::<IgnoredAny>`), what any verifier must do at least. Also
//!   HMAC + `from_slice::<Value>` (a tree nobody needs) and HMAC alone.
//! - Chargebee: the public PC 1.0 `payment_succeeded` (~4.7 KB). Chargebee signs nothing, so
//!   "verify" is the HTTP Basic check (SHA-256 digests compared in constant time); the floor
//!   is that check plus `IgnoredAny`, then the check + `Value`, then the check alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

// The integration tests' helpers, for the fixture path: one fixture helper per crate.
#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use saguaro_providers::chargebee::{self, BasicAuth, Password};
use saguaro_providers::stripe::{self, Verifier, WebhookSecret, sign_header};
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_bench_secret";
const T: i64 = 1_721_954_080;

fn stripe_body() -> Vec<u8> {
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

fn hmac(body: &[u8]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(T.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    black_box(mac.finalize().into_bytes());
}

fn bench_stripe(c: &mut Criterion) {
    let body = stripe_body();
    let header = sign_header(&WebhookSecret::new(SECRET), T, &body);
    let verifier = Verifier::new([WebhookSecret::new(SECRET)]);
    let now = Timestamp::from_second(T).unwrap();
    // Sanity: the measured path really succeeds.
    verifier.verify(&body, Some(&header), now).unwrap();
    assert!(matches!(
        stripe::normalise(&body, Some("referred_by")).unwrap(),
        stripe::Normalised::Event(_)
    ));

    let mut group = c.benchmark_group(format!("stripe invoice.paid {} bytes", body.len()));
    group.bench_function("ours: verify+normalise", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&body), Some(black_box(&header)), now)
                .unwrap();
            black_box(stripe::normalise(black_box(&body), Some("referred_by")).unwrap())
        })
    });
    group.bench_function("floor: hmac+IgnoredAny", |b| {
        b.iter(|| {
            hmac(black_box(&body));
            black_box(serde_json::from_slice::<IgnoredAny>(black_box(&body)).unwrap())
        })
    });
    group.bench_function("hmac+Value", |b| {
        b.iter(|| {
            hmac(black_box(&body));
            black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap())
        })
    });
    group.bench_function("hmac alone", |b| b.iter(|| hmac(black_box(&body))));
    group.finish();
}

fn bench_chargebee(c: &mut Criterion) {
    let body = common::fixture("chargebee/pc1/payment_succeeded.json");
    let auth = BasicAuth::new("saguaro", &Password::new("pa55word"));
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("saguaro:pa55word")
    );
    auth.verify(Some(&header)).unwrap();
    assert!(matches!(
        chargebee::normalise(&body, Some("referred_by")).unwrap(),
        chargebee::Normalised::Event(_)
    ));

    let mut group = c.benchmark_group(format!("chargebee payment_succeeded {} bytes", body.len()));
    group.bench_function("ours: auth+normalise", |b| {
        b.iter(|| {
            auth.verify(Some(black_box(&header))).unwrap();
            black_box(chargebee::normalise(black_box(&body), Some("referred_by")).unwrap())
        })
    });
    group.bench_function("floor: auth+IgnoredAny", |b| {
        b.iter(|| {
            auth.verify(Some(black_box(&header))).unwrap();
            black_box(serde_json::from_slice::<IgnoredAny>(black_box(&body)).unwrap())
        })
    });
    group.bench_function("auth+Value", |b| {
        b.iter(|| {
            auth.verify(Some(black_box(&header))).unwrap();
            black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap())
        })
    });
    group.bench_function("auth alone", |b| {
        b.iter(|| auth.verify(Some(black_box(&header))).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_stripe, bench_chargebee);
criterion_main!(benches);
