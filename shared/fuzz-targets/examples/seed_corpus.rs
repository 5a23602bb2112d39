//! Writes the seed corpora into `shared/fuzz-targets/fuzz/corpus/<target>/` from what the repository holds:
//! the public fixtures (`tests/fixtures/`), the providers' hand-built test data
//! (`shared/providers/tests/data/`), the example program and the program files embedded in
//! the crates' tests, the README's `POST /events` bodies, and the earn-queue messages the
//! webhook code writes for all of those events (encoded here by `saguaro_sqs::encode`, and in
//! the bare form written before the envelope).
//!
//! `cargo run -p saguaro-fuzz-targets --example seed_corpus` (then `infra/fuzz.sh`; the kept
//! corpus is the seeds plus what the fuzzer found, minimised with `cargo fuzz cmin`). Files
//! are named `seed-<what>`; a file with the same content as one already written is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use saguaro_fuzz_targets::{
    CHARGEBEE_PASSWORD, CHARGEBEE_USER, REFERRAL_KEY, STRIPE_SECRET, basic_header,
};
use saguaro_providers::{chargebee, stripe};
use serde_json::{Value, json};

struct Corpus {
    root: PathBuf,
    seen: HashSet<(String, Vec<u8>)>,
    written: usize,
}

impl Corpus {
    fn add(&mut self, target: &str, name: &str, bytes: &[u8]) {
        if !self.seen.insert((target.to_owned(), bytes.to_vec())) {
            return;
        }
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        self.written += 1;
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// A Stripe event envelope around an object of the API reference fixtures.
fn stripe_envelope(id: &str, event_type: &str, object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": event_type, "api_version": "2025-08-27.basil",
        "created": 1_767_225_000, "data": { "object": object }
    }))
    .unwrap()
}

fn main() {
    let repo = repo();
    let mut c = Corpus {
        root: repo.join("shared/fuzz-targets/fuzz/corpus"),
        seen: HashSet::new(),
        written: 0,
    };
    let mut events = Vec::new();

    // Stripe bodies: hand-built versioned events, the reference event, and the reference
    // objects wrapped in the envelopes of the types Saguaro reads.
    let mut stripe_bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for p in files(&repo.join("shared/providers/tests/data/stripe"), "json") {
        stripe_bodies.push((stem(&p), fs::read(&p).unwrap()));
    }
    let fixtures3 = repo.join("tests/fixtures/stripe/openapi_fixtures3");
    stripe_bodies.push((
        "openapi-event".into(),
        fs::read(fixtures3.join("event.json")).unwrap(),
    ));
    for (object, types) in [
        (
            "invoice",
            &["invoice.paid", "invoice.payment_succeeded"][..],
        ),
        ("charge", &["charge.refunded"][..]),
        (
            "subscription",
            &[
                "customer.subscription.created",
                "customer.subscription.updated",
                "customer.subscription.deleted",
            ][..],
        ),
        ("invoice_payment", &["invoice_payment.paid"][..]),
        ("refund", &["charge.refund.updated"][..]),
    ] {
        let value: Value =
            serde_json::from_slice(&fs::read(fixtures3.join(format!("{object}.json"))).unwrap())
                .unwrap();
        for t in types {
            stripe_bodies.push((
                format!("openapi-{t}"),
                stripe_envelope(&format!("evt_{object}"), t, &value),
            ));
        }
    }
    let vector: Value = serde_json::from_slice(
        &fs::read(repo.join(
            "tests/fixtures/stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let vector_payload = vector["payload"].as_str().unwrap().as_bytes().to_vec();
    stripe_bodies.push(("async-stripe-vector".into(), vector_payload.clone()));
    let secret = saguaro_domain::secret::Secret::new(STRIPE_SECRET);
    for (name, body) in &stripe_bodies {
        c.add("stripe_webhook", name, body);
        if let Ok(stripe::Normalised::Event(e)) = stripe::normalise(body, Some(REFERRAL_KEY)) {
            events.push((format!("stripe-{name}"), *e));
        }
    }
    // Signature headers: signed as the harness signs (so the body is reached), the published
    // vectors, and the usual ways a header goes wrong.
    for (name, body) in stripe_bodies.iter().take(4) {
        let header = stripe::sign_header(&secret, 1_767_225_600, body);
        c.add(
            "stripe_signature",
            &format!("signed-{name}"),
            &[header.as_bytes(), b"\n", body].concat(),
        );
    }
    let docs: Value =
        serde_json::from_slice(
            &fs::read(repo.join(
                "tests/fixtures/stripe/signature_vectors/stripe_docs_header_parse_vector.json",
            ))
            .unwrap(),
        )
        .unwrap();
    let vector_header = vector["header"].as_str().unwrap();
    c.add(
        "stripe_signature",
        "async-stripe-vector",
        &[vector_header.as_bytes(), b"\n", &vector_payload].concat(),
    );
    if let Some(h) = docs["header"].as_str() {
        c.add(
            "stripe_signature",
            "stripe-docs-header",
            format!("{h}\n{{}}").as_bytes(),
        );
    }
    let good = stripe::sign_header(&secret, 1_767_225_600, b"{}");
    let v1 = good.split("v1=").nth(1).unwrap();
    for (name, header) in [
        ("two-t", format!("t=1767225600,t=1767225600,v1={v1}")),
        ("no-t", format!("v1={v1}")),
        ("no-v1", "t=1767225600,v0=00".to_owned()),
        ("short-v1", "t=1767225600,v1=abc".to_owned()),
        ("negative-t", format!("t=-9223372036854775808,v1={v1}")),
        ("huge-t", format!("t=99999999999999999999,v1={v1}")),
        ("spaces", format!(" t = 1767225600 , v1={v1} ,, x")),
        (
            "rotation",
            format!("t=1767225600,v1={},v1={v1}", "0".repeat(64)),
        ),
        ("stale", stripe::sign_header(&secret, 1_700_000_000, b"{}")),
    ] {
        c.add(
            "stripe_signature",
            name,
            format!("{header}\n{{}}").as_bytes(),
        );
    }

    // Chargebee bodies: the public pc1 events, the pc2 list response and its events, and
    // the hand-built pc2 events.
    let mut chargebee_bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for p in files(&repo.join("tests/fixtures/chargebee"), "json") {
        let bytes = fs::read(&p).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(list) = value["list"].as_array() {
            for (i, item) in list.iter().enumerate() {
                chargebee_bodies.push((
                    format!("{}-{i}", stem(&p)),
                    serde_json::to_vec(&item["event"]).unwrap(),
                ));
            }
        }
        chargebee_bodies.push((stem(&p), bytes));
    }
    for p in files(&repo.join("shared/providers/tests/data/chargebee"), "json") {
        chargebee_bodies.push((stem(&p), fs::read(&p).unwrap()));
    }
    for (name, body) in &chargebee_bodies {
        c.add("chargebee_webhook", name, body);
        if let Ok(chargebee::Normalised::Event(e)) = chargebee::normalise(body, Some(REFERRAL_KEY))
        {
            events.push((format!("chargebee-{name}"), *e));
        }
    }
    let right = basic_header(CHARGEBEE_USER, CHARGEBEE_PASSWORD);
    for (name, body) in chargebee_bodies.iter().take(4) {
        c.add(
            "chargebee_auth",
            &format!("right-{name}"),
            &[right.as_bytes(), b"\n", body].concat(),
        );
    }
    for (name, header) in [
        ("wrong-password", basic_header(CHARGEBEE_USER, "nope")),
        ("lower-scheme", right.replacen("Basic", "basic", 1)),
        ("bearer", "Bearer abc".to_owned()),
        ("no-scheme", "c2FndWFybzpmdXp6".to_owned()),
        ("not-base64", "Basic !!!".to_owned()),
        ("no-colon", "Basic c2FndWFybw==".to_owned()),
        ("padded", format!("{right}   ")),
    ] {
        c.add("chargebee_auth", name, format!("{header}\n{{}}").as_bytes());
    }

    // POST /events bodies: the README's, and one of each shape the route accepts or refuses.
    let bodies = [
        (
            "readme-payment",
            r#"{"id":"evt-1001","type":"payment.succeeded","customer":{"provider":"custom","id":"c-42"},"occurred_at":"2026-12-05T10:00:00Z","amount":{"minor":1999,"currency":"usd"},"payment":"pay-77","subscription":{"id":"sub-9","plan":"price_gold","status":"active","started_at":"2025-02-28T09:00:00Z"},"referrer":{"provider":"custom","id":"c-7"}}"#,
        ),
        (
            "readme-refund",
            r#"{"id":"evt-1002","type":"payment.refunded","customer":{"provider":"custom","id":"c-42"},"occurred_at":"2026-12-06T10:00:00Z","amount":{"minor":1000,"currency":"usd"},"payment":"pay-77"}"#,
        ),
        (
            "subscription-created",
            r#"{"id":"e3","type":"subscription.created","customer":{"provider":"stripe","id":"cus_1"},"occurred_at":"2026-01-01T00:00:00+01:00","subscription":{"id":"sub_1","plan":"gold"}}"#,
        ),
        (
            "custom-trigger",
            r#"{"id":"e4","type":"custom.review_posted","customer":{"provider":"chargebee","id":"Jean Dupont"},"occurred_at":"2026-01-01T00:00:00Z"}"#,
        ),
        (
            "internal-trigger",
            r#"{"id":"e5","type":"points.adjusted","customer":{"provider":"custom","id":"c"},"occurred_at":"2026-01-01T00:00:00Z"}"#,
        ),
        (
            "scheduler",
            r#"{"id":"e6","type":"subscription.cancelled","customer":{"provider":"scheduler","id":"c"},"occurred_at":"2026-01-01T00:00:00Z"}"#,
        ),
        (
            "jpy",
            r#"{"id":"e7","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},"occurred_at":"9999-12-31T23:59:59Z","amount":{"minor":9223372036854775807,"currency":"jpy"}}"#,
        ),
        (
            "negative",
            r#"{"id":"e8","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},"occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":-1,"currency":"usd"}}"#,
        ),
        (
            "unknown-field",
            r#"{"id":"e9","type":"payment.succeeded","customer":{"provider":"custom","id":"c"},"occurred_at":"2026-01-01T00:00:00Z","amount":{"minor":1,"currency":"usd"},"extra":1}"#,
        ),
        (
            "unicode-id",
            "{\"id\":\"\u{e9}v\u{e9}nement \\n\\u001b[31m\",\"type\":\"referral.converted\",\"customer\":{\"provider\":\"custom\",\"id\":\"caf\u{e9} @/?#%\"},\"occurred_at\":\"2026-01-01T00:00:00.123456789-23:59\"}",
        ),
    ];
    for (name, body) in bodies {
        c.add("events_body", name, body.as_bytes());
        if let Ok(e) = saguaro_app::incoming::parse_event(body.as_bytes()) {
            events.push((format!("events-{name}"), e));
        }
    }

    // Program files: the example, docs/design.md's fenced TOML blocks, and every TOML raw string in the crates' sources that
    // looks like a program (their tests' programs, valid and invalid).
    c.add(
        "program_file",
        "program.example",
        &fs::read(repo.join("infra/program.example.toml")).unwrap(),
    );
    let design = fs::read_to_string(repo.join("docs/design.md")).unwrap();
    for (i, block) in design.split("```toml\n").skip(1).enumerate() {
        let toml = block.split("```").next().unwrap();
        c.add("program_file", &format!("design-{i}"), toml.as_bytes());
    }
    for (i, block) in design.split("```json\n").skip(1).enumerate() {
        let text = block.split("```").next().unwrap();
        c.add("events_body", &format!("design-{i}"), text.as_bytes());
        c.add("queue_message", &format!("design-{i}"), text.as_bytes());
    }
    for p in files(&repo.join("shared"), "rs") {
        let src = fs::read_to_string(&p).unwrap();
        for (i, chunk) in src.split("r#\"").skip(1).enumerate() {
            let Some(end) = chunk.find("\"#") else {
                continue;
            };
            let toml = &chunk[..end];
            if toml.contains("[program]") || toml.contains("[[earn]]") {
                c.add(
                    "program_file",
                    &format!("{}-{i}", stem(&p)),
                    toml.as_bytes(),
                );
            }
        }
    }

    // Queue messages: what the webhook functions and POST /events enqueue for every event
    // above, in today's envelope and in the bare form of the first format.
    for (name, e) in &events {
        c.add(
            "queue_message",
            name,
            saguaro_sqs::encode(e).unwrap().as_bytes(),
        );
        c.add(
            "queue_message",
            &format!("bare-{name}"),
            &serde_json::to_vec(e).unwrap(),
        );
    }
    c.add("queue_message", "version-2", br#"{"v":2,"event":{}}"#);
    c.add(
        "queue_message",
        "version-string",
        br#"{"v":"1","event":{}}"#,
    );

    println!("wrote {} seed files under {}", c.written, c.root.display());
}
