//! Stripe-Signature verification: every case of docs/design.md §7, the golden vectors, and a check
//! against Stripe's own Python library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use jiff::Timestamp;
use saguaro_providers::stripe::{
    SignatureError, SignatureHeader, Skew, Verifier, WebhookSecret, sign_header,
};
use serde_json::Value;

const SECRET: &str = "whsec_test_secret_for_saguaro";
const T: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new([WebhookSecret::new(SECRET)])
}

fn good_header(t: i64, body: &[u8]) -> String {
    sign_header(&WebhookSecret::new(SECRET), t, body)
}

fn v1_of(header: &str) -> String {
    header.split_once(",v1=").unwrap().1.to_owned()
}

#[test]
fn when_signature_is_good_then_request_is_accepted() {
    // given
    let header = good_header(T, BODY);
    // when
    let result = verifier().verify(BODY, Some(&header), at(T));
    // then
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn when_header_is_missing_or_empty_then_missing_header() {
    assert!(matches!(
        verifier().verify(BODY, None, at(T)),
        Err(SignatureError::MissingHeader)
    ));
    assert!(matches!(
        verifier().verify(BODY, Some(" "), at(T)),
        Err(SignatureError::MissingHeader)
    ));
}

#[test]
fn when_header_is_garbled_then_malformed_header() {
    // given headers without a usable t
    for header in [
        "garbage",
        "v1=abc",
        "t=,v1=00",
        "t=notanumber,v1=00",
        "t=1,t=2,v1=00",
    ] {
        // when
        let err = verifier().verify(BODY, Some(header), at(T)).unwrap_err();
        // then
        assert!(
            matches!(err, SignatureError::MalformedHeader { .. }),
            "{header}: {err:?}"
        );
    }
    // and the parse error is kept as the source
    let err = verifier()
        .verify(BODY, Some("t=12x,v1=00"), at(T))
        .unwrap_err();
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn when_header_has_no_v1_then_no_signatures() {
    // given only a v0 (and an unknown key)
    let v1 = v1_of(&good_header(T, BODY));
    let header = format!("t={T},v0={v1},foo=bar");
    // when
    let err = verifier().verify(BODY, Some(&header), at(T)).unwrap_err();
    // then: a valid-looking v0 is not accepted
    assert!(matches!(err, SignatureError::NoSignatures), "{err:?}");
}

#[test]
fn when_secret_is_wrong_then_invalid_signature() {
    let header = sign_header(&WebhookSecret::new("whsec_other"), T, BODY);
    let err = verifier().verify(BODY, Some(&header), at(T)).unwrap_err();
    assert!(matches!(err, SignatureError::InvalidSignature), "{err:?}");
}

#[test]
fn when_one_byte_of_payload_changes_then_invalid_signature() {
    // given a header for BODY
    let header = good_header(T, BODY);
    // when the last byte of the body differs
    let mut tampered = BODY.to_vec();
    *tampered.last_mut().unwrap() ^= 0x01;
    let err = verifier()
        .verify(&tampered, Some(&header), at(T))
        .unwrap_err();
    // then
    assert!(matches!(err, SignatureError::InvalidSignature), "{err:?}");
}

#[test]
fn when_timestamp_is_exactly_at_the_tolerance_then_it_is_accepted_both_ways() {
    let header = good_header(T, BODY);
    assert!(verifier().verify(BODY, Some(&header), at(T + 300)).is_ok());
    assert!(verifier().verify(BODY, Some(&header), at(T - 300)).is_ok());
}

#[test]
fn when_timestamp_is_one_second_past_the_tolerance_then_too_old_or_in_future() {
    // given a good signature at T
    let header = good_header(T, BODY);
    // when now is 301 s later
    let err = verifier()
        .verify(BODY, Some(&header), at(T + 301))
        .unwrap_err();
    // then
    match err {
        SignatureError::TimestampOutsideTolerance {
            timestamp,
            now,
            tolerance_secs,
            skew,
        } => {
            assert_eq!(
                (timestamp, now, tolerance_secs, skew),
                (T, T + 301, 300, Skew::TooOld)
            );
        }
        other => panic!("{other:?}"),
    }
    // when now is 301 s earlier (the timestamp is in the future)
    let err = verifier()
        .verify(BODY, Some(&header), at(T - 301))
        .unwrap_err();
    assert!(
        matches!(
            err,
            SignatureError::TimestampOutsideTolerance {
                skew: Skew::InFuture,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn when_tolerance_is_configured_then_it_replaces_the_default() {
    let header = good_header(T, BODY);
    let strict = verifier().with_tolerance(Duration::from_secs(10));
    assert!(strict.verify(BODY, Some(&header), at(T + 10)).is_ok());
    assert!(matches!(
        strict.verify(BODY, Some(&header), at(T + 11)),
        Err(SignatureError::TimestampOutsideTolerance {
            tolerance_secs: 10,
            ..
        })
    ));
}

#[test]
fn when_a_good_v1_is_among_bad_ones_then_it_is_accepted() {
    // given a wrong v1, a non-hex v1, a short v1, then the good one, and a v0
    let good = v1_of(&good_header(T, BODY));
    let wrong = "0".repeat(64);
    let header = format!("t={T},v1={wrong},v1=not-hex-at-all,v1=abcd,v1={good},v0={wrong}");
    // when / then
    assert!(verifier().verify(BODY, Some(&header), at(T)).is_ok());
}

#[test]
fn when_every_v1_is_non_hex_then_they_are_skipped_and_signature_is_invalid() {
    // given v1 keys that are present but none decodes
    let header = format!("t={T},v1=zz{},v1=", "0".repeat(62));
    let parsed = SignatureHeader::parse(&header).unwrap();
    assert!(parsed.had_v1);
    assert!(parsed.v1.is_empty());
    // when / then: a signature was attempted, and it is wrong
    assert!(matches!(
        verifier().verify(BODY, Some(&header), at(T)),
        Err(SignatureError::InvalidSignature)
    ));
}

#[test]
fn when_two_secrets_are_configured_then_either_signs() {
    // given a verifier mid-rotation
    let old = WebhookSecret::new("whsec_old");
    let new = WebhookSecret::new("whsec_new");
    let verifier = Verifier::new([old.clone(), new.clone()]);
    // then a header signed by either is accepted
    for secret in [&old, &new] {
        let header = sign_header(secret, T, BODY);
        assert!(verifier.verify(BODY, Some(&header), at(T)).is_ok());
    }
    // and Stripe's rotation header (one v1 per secret) with only the new one known
    let both = format!(
        "{},v1={}",
        sign_header(&old, T, BODY),
        v1_of(&sign_header(&new, T, BODY))
    );
    assert!(
        Verifier::new([new])
            .verify(BODY, Some(&both), at(T))
            .is_ok()
    );
    // and a third secret is not
    let header = sign_header(&WebhookSecret::new("whsec_third"), T, BODY);
    assert!(matches!(
        verifier.verify(BODY, Some(&header), at(T)),
        Err(SignatureError::InvalidSignature)
    ));
}

#[test]
fn when_secret_is_printed_then_it_is_redacted() {
    let secret = WebhookSecret::new(SECRET);
    let printed = format!("{secret:?} {secret} {:?}", verifier());
    assert!(!printed.contains("whsec_"), "{printed}");
    assert_eq!(format!("{secret}"), "[redacted]");
}

#[test]
fn when_golden_async_stripe_vector_is_verified_then_it_is_valid_and_v0_is_ignored() {
    // given the vector from async-stripe's own test
    let vector = common::read_json(&common::fixture_path(
        "stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
    ));
    let payload = vector["payload"].as_str().unwrap().as_bytes();
    let header = vector["header"].as_str().unwrap();
    let secret = WebhookSecret::new(vector["secret"].as_str().unwrap());
    let now = at(vector["verify_at_unix_time"].as_i64().unwrap());
    // when
    let result = Verifier::new([secret.clone()]).verify(payload, Some(header), now);
    // then
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        v1_of(&sign_header(
            &secret,
            vector["timestamp"].as_i64().unwrap(),
            payload
        )),
        vector["expected_v1"].as_str().unwrap()
    );
    // and the v0 alone would not do
    let v0_only = header.replace(",v1=", ",x1=");
    assert!(matches!(
        Verifier::new([secret]).verify(payload, Some(&v0_only), now),
        Err(SignatureError::NoSignatures)
    ));
}

#[test]
fn when_stripe_docs_header_is_parsed_then_t_and_v1_match() {
    let vector = common::read_json(&common::fixture_path(
        "stripe/signature_vectors/stripe_docs_header_parse_vector.json",
    ));
    let parsed = SignatureHeader::parse(vector["header"].as_str().unwrap()).unwrap();
    assert_eq!(
        parsed.timestamp,
        vector["expected_parse"]["t"].as_i64().unwrap()
    );
    let v1: Vec<String> = parsed.v1.iter().map(hex::encode).collect();
    let expected: Vec<String> = vector["expected_parse"]["v1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(v1, expected);
}

/// Runs `script` under `$SAGUARO_PYTHON` with the stripe library; never skips.
fn stripe_python(script: &str, args: &[&str]) -> String {
    let python = std::env::var("SAGUARO_PYTHON").unwrap_or_else(|_| {
        panic!(
            "SAGUARO_PYTHON is not set: run infra/test.sh, which installs stripe==16.1.0 into \
             ./.venv and sets it (or set SAGUARO_PYTHON=.venv/bin/python yourself)"
        )
    });
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; run infra/test.sh"));
    assert!(
        out.status.success(),
        "{python} failed (is stripe==16.1.0 installed? run infra/test.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const STRIPE_SIGN: &str = r#"
import sys, stripe
assert stripe.VERSION == "16.1.0", stripe.VERSION
payload, secret, t = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=t))
"#;

const STRIPE_VERIFY: &str = r#"
import sys, stripe
payload, header, secret = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
    print("ok")
except stripe.SignatureVerificationError as e:
    print("rejected")
"#;

#[test]
fn when_stripe_python_signs_then_our_verifier_accepts_and_rejects_tampering() {
    // given a payload with non-ASCII text, signed by Stripe's own library
    let payload = r#"{"id":"evt_py","object":"event","type":"invoice.paid","data":{"object":{"name":"Zoë ✓"}}}"#;
    let header = stripe_python(STRIPE_SIGN, &[payload, SECRET, &T.to_string()]);
    assert!(header.starts_with(&format!("t={T},v1=")), "{header}");
    // when / then our verifier accepts it
    let result = verifier().verify(payload.as_bytes(), Some(&header), at(T + 5));
    assert!(result.is_ok(), "{result:?}");
    // and rejects the same header on a tampered payload
    let tampered = payload.replace("Zoë", "Zoe");
    assert!(matches!(
        verifier().verify(tampered.as_bytes(), Some(&header), at(T + 5)),
        Err(SignatureError::InvalidSignature)
    ));
    // and our own signing agrees byte for byte
    assert_eq!(header, good_header(T, payload.as_bytes()));
}

#[test]
fn when_we_sign_then_stripe_python_accepts_it() {
    // given a header made by us
    let header = good_header(T, BODY);
    let body = std::str::from_utf8(BODY).unwrap();
    // then Stripe's verifier accepts it, and rejects it for another secret
    assert_eq!(stripe_python(STRIPE_VERIFY, &[body, &header, SECRET]), "ok");
    assert_eq!(
        stripe_python(STRIPE_VERIFY, &[body, &header, "whsec_other"]),
        "rejected"
    );
}

#[test]
fn when_vector_file_is_read_then_it_is_json() {
    // guards the relative path the other tests rely on
    let v: Value = common::read_json(&common::fixture_path(
        "stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
    ));
    assert_eq!(v["timestamp"].as_i64(), Some(1_533_204_620));
}
