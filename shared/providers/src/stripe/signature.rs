//! Verification of Stripe's `Stripe-Signature` header (docs/design.md §5.5, §7), on the raw body
//! bytes, before anything is parsed.
//!
//! `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`. Each `v1` is the
//! hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the whole `whsec_...` string. During a
//! secret rotation Stripe sends one `v1` per active secret, and we may hold several secrets
//! ourselves, so a request is authentic if any `v1` matches any configured secret.

use std::fmt;
use std::num::ParseIntError;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use saguaro_domain::secret::Secret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's own libraries default to five minutes; so do we.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a request was refused. Every variant maps to 401 at the edge; the variant is for logs.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    #[error("malformed Stripe-Signature header: {reason}")]
    MalformedHeader {
        reason: &'static str,
        #[source]
        source: Option<ParseIntError>,
    },
    #[error("Stripe-Signature header has no v1 signature")]
    NoSignatures,
    /// Only reported for a request whose signature matched: a replay or a skewed clock, not
    /// a forgery.
    #[error("timestamp {timestamp} is {skew} (now {now}, tolerance {tolerance_secs} s)")]
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: u64,
        skew: Skew,
    },
    #[error("no v1 signature matches a configured secret")]
    InvalidSignature,
}

/// Which side of the tolerance window a timestamp fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skew {
    TooOld,
    InFuture,
}

impl fmt::Display for Skew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooOld => "too old",
            Self::InFuture => "in the future",
        })
    }
}

/// An endpoint's signing secret (`whsec_...`): a [`Secret`], which never prints.
pub type WebhookSecret = Secret;

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'h> {
    /// `t` exactly as sent: the signed payload uses this text, not a re-formatted number.
    pub timestamp_text: &'h str,
    pub timestamp: i64,
    /// Every `v1` that decoded to 32 bytes; `v0` and unknown keys are ignored.
    pub v1: Vec<[u8; 32]>,
    /// Whether any `v1` key was present at all, even one that did not decode.
    pub had_v1: bool,
}

impl<'h> SignatureHeader<'h> {
    /// Parses the header. Items are `key=value` separated by commas; stray whitespace and
    /// items without `=` are tolerated, because the schemes we ignore may evolve.
    pub fn parse(header: &'h str) -> Result<Self, SignatureError> {
        let mut timestamp_text = None;
        let mut v1 = Vec::new();
        let mut had_v1 = false;
        for item in header.split(',') {
            let Some((key, value)) = item.trim().split_once('=') else {
                continue;
            };
            match key {
                // Two `t`s would leave it ambiguous which one was signed.
                "t" if timestamp_text.replace(value).is_some() => {
                    return Err(SignatureError::MalformedHeader {
                        reason: "more than one t",
                        source: None,
                    });
                }
                "v1" => {
                    had_v1 = true;
                    let mut bytes = [0u8; 32];
                    // A value that is not 64 hex digits can never match: skip it rather than
                    // fail, so that one garbled entry does not hide a good one.
                    if hex::decode_to_slice(value, &mut bytes).is_ok() {
                        v1.push(bytes);
                    }
                }
                _ => {}
            }
        }
        let timestamp_text = timestamp_text.ok_or(SignatureError::MalformedHeader {
            reason: "no t",
            source: None,
        })?;
        let timestamp =
            timestamp_text
                .parse::<i64>()
                .map_err(|e| SignatureError::MalformedHeader {
                    reason: "t is not an integer",
                    source: Some(e),
                })?;
        Ok(Self {
            timestamp_text,
            timestamp,
            v1,
            had_v1,
        })
    }
}

/// Checks `Stripe-Signature` against one or more secrets. Build it once at start-up.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
}

impl Verifier {
    /// A verifier accepting any of `secrets` (more than one during a rotation), with the
    /// default tolerance of 300 s either way.
    pub fn new(secrets: impl IntoIterator<Item = WebhookSecret>) -> Self {
        Self {
            secrets: secrets.into_iter().collect(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// How far the signed timestamp may be from `now`, in either direction.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies `payload` (the raw request body, unparsed) against `header` (the value of
    /// `Stripe-Signature`, `None` when absent) at time `now`.
    ///
    /// The signature is checked before the timestamp, as Stripe's libraries do: a timestamp
    /// error then always means an authentic but stale (or clock-skewed) request, which is
    /// worth telling apart from a forgery in the logs.
    pub fn verify(
        &self,
        payload: &[u8],
        header: Option<&str>,
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(SignatureError::MissingHeader)?;
        let parsed = SignatureHeader::parse(header)?;
        if !parsed.had_v1 {
            return Err(SignatureError::NoSignatures);
        }
        let matched = self.secrets.iter().any(|secret| {
            let expected = sign(secret, parsed.timestamp_text, payload);
            // Every candidate is compared in constant time; stopping at the first match
            // reveals nothing about the secret.
            parsed
                .v1
                .iter()
                .any(|candidate| bool::from(candidate.ct_eq(&expected)))
        });
        if !matched {
            return Err(SignatureError::InvalidSignature);
        }
        let now = now.as_second();
        let tolerance_secs = self.tolerance.as_secs();
        let skew = i128::from(now) - i128::from(parsed.timestamp);
        if skew.unsigned_abs() > u128::from(tolerance_secs) {
            return Err(SignatureError::TimestampOutsideTolerance {
                timestamp: parsed.timestamp,
                now,
                tolerance_secs,
                skew: if skew > 0 {
                    Skew::TooOld
                } else {
                    Skew::InFuture
                },
            });
        }
        Ok(())
    }
}

/// HMAC-SHA256 of `"{t}.{payload}"`, the bytes a `v1` signature encodes.
fn sign(secret: &WebhookSecret, timestamp_text: &str, payload: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; an empty
    // fallback MAC would only ever fail to match.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return [0; 32];
    };
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Builds a `Stripe-Signature` header for `payload`, as Stripe would: for tests of the
/// handlers that sit behind the verifier, and for the local runner's examples.
pub fn sign_header(secret: &WebhookSecret, timestamp: i64, payload: &[u8]) -> String {
    let t = timestamp.to_string();
    format!("t={t},v1={}", hex::encode(sign(secret, &t, payload)))
}
