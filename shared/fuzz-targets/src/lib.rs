//! The fuzz targets' bodies (README "Fuzzing"): one function per public entry point that
//! takes untrusted bytes, each named as its target in `shared/fuzz-targets/fuzz/fuzz_targets/` and its corpus in
//! `shared/fuzz-targets/fuzz/corpus/<target>/`.
//!
//! cargo-fuzz (nightly) calls them from `shared/fuzz-targets/fuzz/`; `tests/corpus_replay.rs` (stable, in the
//! normal test suite) feeds them every corpus file. A function never panics on any input:
//! a panic here is a bug in the code under test (or a broken invariant checked below), and
//! the input that caused it is kept in the corpus with the fix.
//!
//! Besides "no panic", each target checks what must hold for every input it accepts: an
//! event it produces is written to the earn queue and read back unchanged (the earn function
//! must be able to read whatever a webhook function enqueued), and a correctly signed or
//! authenticated request is accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use saguaro_domain::secret::Secret;
use saguaro_domain::{Event, Program};
use saguaro_providers::{chargebee, stripe};

/// A target's body: one input, a panic on a bug.
pub type Body = fn(&[u8]);

/// The targets, as named in `shared/fuzz-targets/fuzz/Cargo.toml` and `shared/fuzz-targets/fuzz/corpus/`, with their bodies.
pub const TARGETS: &[(&str, Body)] = &[
    ("stripe_webhook", stripe_webhook),
    ("stripe_signature", stripe_signature),
    ("chargebee_webhook", chargebee_webhook),
    ("chargebee_auth", chargebee_auth),
    ("events_body", events_body),
    ("program_file", program_file),
    ("queue_message", queue_message),
];

/// The signing secret of the Stripe targets (any value: the harness signs with it).
pub const STRIPE_SECRET: &str = "whsec_fuzz";
/// The Chargebee webhook credentials of the Chargebee targets.
pub const CHARGEBEE_USER: &str = "saguaro";
pub const CHARGEBEE_PASSWORD: &str = "fuzz-password";
/// The example program's `referral_key`, so that the referral paths are reached.
pub const REFERRAL_KEY: &str = "referred_by";

/// A fixed "now" (2026-01-01T00:00:00Z) so that a run is reproducible.
const NOW_SECONDS: i64 = 1_767_225_600;

fn now() -> Timestamp {
    Timestamp::from_second(NOW_SECONDS).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn stripe_verifier() -> stripe::Verifier {
    stripe::Verifier::new([Secret::new(STRIPE_SECRET)])
}

fn chargebee_auth_config() -> chargebee::BasicAuth {
    chargebee::BasicAuth::new(CHARGEBEE_USER, &Secret::new(CHARGEBEE_PASSWORD))
}

/// The earn queue's round trip: what a webhook function enqueues, the earn function reads
/// back as the same event.
fn assert_queue_round_trip(event: &Event) {
    let body = match saguaro_sqs::encode(event) {
        Ok(b) => b,
        Err(e) => panic!("an accepted event cannot be written to the queue: {e}"),
    };
    match saguaro_sqs::decode(&body) {
        Ok(back) => assert_eq!(&back, event, "the queue message does not read back"),
        Err(e) => panic!("the earn function cannot read what was enqueued: {e}"),
    }
}

/// A Stripe webhook body, signed by the harness: `Stripe-Signature` verification on the raw
/// bytes (which must accept it), then normalisation.
pub fn stripe_webhook(body: &[u8]) {
    let secret = Secret::new(STRIPE_SECRET);
    let header = stripe::sign_header(&secret, NOW_SECONDS, body);
    if let Err(e) = stripe_verifier().verify(body, Some(&header), now()) {
        panic!("a correctly signed body was refused: {e}");
    }
    stripe_normalise(body);
}

fn stripe_normalise(body: &[u8]) {
    if let Ok(stripe::Normalised::Event(event)) = stripe::normalise(body, Some(REFERRAL_KEY)) {
        assert_queue_round_trip(&event);
    }
}

/// A hostile `Stripe-Signature`: the input's first line is the header, the rest the body.
/// The header is parsed and verified; whatever it says, verification must refuse it unless
/// it carries the body's real signature (which the fuzzer can only find in the corpus).
pub fn stripe_signature(data: &[u8]) {
    let (header, body) = split_first_line(data);
    let Ok(header) = std::str::from_utf8(header) else {
        // Header values reach the verifier as `&str`; the edge refuses non-UTF-8 ones.
        return;
    };
    let _ = stripe::SignatureHeader::parse(header);
    if stripe_verifier().verify(body, Some(header), now()).is_ok() {
        stripe_normalise(body);
    }
}

/// A Chargebee webhook body with the right Basic credentials: authentication (which must
/// accept them), then normalisation.
pub fn chargebee_webhook(body: &[u8]) {
    let auth = chargebee_auth_config();
    let header = basic_header(CHARGEBEE_USER, CHARGEBEE_PASSWORD);
    if let Err(e) = auth.verify(Some(&header)) {
        panic!("the right credentials were refused: {e}");
    }
    chargebee_normalise(body);
}

fn chargebee_normalise(body: &[u8]) {
    if let Ok(chargebee::Normalised::Event(event)) = chargebee::normalise(body, Some(REFERRAL_KEY))
    {
        assert_queue_round_trip(&event);
    }
}

/// A hostile `Authorization` header: the input's first line is the header, the rest the
/// body, normalised only if the header authenticates.
pub fn chargebee_auth(data: &[u8]) {
    let (header, body) = split_first_line(data);
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    if chargebee_auth_config().verify(Some(header)).is_ok() {
        chargebee_normalise(body);
    }
}

/// A `POST /events` body: parsed and validated as the route does.
pub fn events_body(body: &[u8]) {
    if let Ok(event) = saguaro_app::incoming::parse_event(body) {
        assert_queue_round_trip(&event);
    }
}

/// A program file: parsed and validated as `saguaro check` and every function's start-up do.
/// The file is text; bytes that are not UTF-8 are replaced, as a lossy read would.
pub fn program_file(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let _ = Program::parse(&source);
}

/// An earn-queue message body, as the earn function decodes it; a decoded event encodes and
/// decodes back to itself.
pub fn queue_message(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        // SQS message bodies are Unicode text; the Lambda runtime hands over a `String`.
        return;
    };
    if let Ok(event) = saguaro_sqs::decode(body) {
        assert_queue_round_trip(&event);
    }
}

/// `Basic base64(user:password)`.
pub fn basic_header(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// The bytes before the first `\n` and after it (the whole input and nothing without one).
pub fn split_first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
