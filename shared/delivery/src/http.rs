//! What the adapters share: the client, and what an HTTP answer means for a delivery.

use std::time::Duration;

use saguaro_app::fulfil::Sent;

/// Per-request timeout; an attempt stays well under the fulfiler's lease.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` waited for inside one attempt; longer waits are left to the
/// next attempt.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The HTTP client. Built without a TLS feature for now: reqwest's `rustls-no-provider`
/// unified into every workspace crate and made clients built elsewhere panic, so HTTPS
/// endpoints (real Chargebee, https perks) are not reachable yet (left open in issue 9).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// `Retry-After` in seconds (the form Chargebee and most APIs send), if present.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A request that got no answer: it may have been applied.
pub fn no_answer(what: &str, e: &reqwest::Error) -> Sent {
    Sent::Retry {
        error: format!(
            "{what}: no answer ({})",
            if e.is_timeout() {
                "timeout"
            } else {
                "connection"
            }
        ),
        maybe_applied: true,
    }
}

/// An error status: 5xx may have been applied; 429 and 409 (a request with the same key
/// in progress) were not and are retried; any other 4xx is permanent.
pub fn refused(what: &str, status: u16, message: &str) -> Sent {
    let error = format!("{what}: HTTP {status}: {message}");
    match status {
        500.. => Sent::Retry {
            error,
            maybe_applied: true,
        },
        429 | 409 => Sent::Retry {
            error,
            maybe_applied: status == 409,
        },
        _ => Sent::Failed(error),
    }
}
