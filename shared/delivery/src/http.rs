//! What the adapters share: the client (HTTPS through rustls with the *ring* provider and
//! the webpki roots), and what an HTTP answer means for a delivery.
//!
//! reqwest is built with `rustls-no-provider`: no default crypto provider is compiled in
//! (the workspace's rustls already has *ring* for async-stripe; aws-lc is not linked into
//! `saguaro serve`), so a client built by reqwest's own `Client::new()`/`Client::builder()`
//! would panic for want of a provider. Every reqwest client in the workspace is therefore
//! built through [`builder`], which hands reqwest a ready rustls configuration; clippy's
//! `disallowed-methods` (clippy.toml) refuses the other constructors.

use std::sync::Arc;
use std::time::Duration;

use saguaro_app::fulfil::Sent;

/// Per-request timeout; an attempt stays well under the fulfiler's lease.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` waited for inside one attempt; longer waits are left to the
/// next attempt.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("HTTP client: {0}")]
    Build(#[from] reqwest::Error),
}

/// The roots public endpoints are checked against: Mozilla's, compiled in (webpki-roots),
/// so nothing depends on the host's certificate files (Lambda, scratch containers).
pub fn public_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The rustls client configuration: the *ring* provider, TLS 1.2 and 1.3, `roots`.
pub fn tls_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A reqwest builder with TLS configured (public roots): the one way to start a client.
pub fn builder() -> Result<reqwest::ClientBuilder, ClientError> {
    builder_trusting(public_roots())
}

/// A reqwest builder whose TLS trusts only `roots` (tests use their own certificate).
pub fn builder_trusting(
    roots: rustls::RootCertStore,
) -> Result<reqwest::ClientBuilder, ClientError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place a builder is made: TLS is configured before it is used"
    )]
    let builder = reqwest::Client::builder();
    Ok(builder.use_preconfigured_tls(tls_config(roots)?))
}

/// The adapters' client: public roots, [`TIMEOUT`].
pub fn client() -> Result<reqwest::Client, ClientError> {
    Ok(builder()?.timeout(TIMEOUT).build()?)
}

/// The adapters' client trusting only `roots`.
pub fn client_trusting(roots: rustls::RootCertStore) -> Result<reqwest::Client, ClientError> {
    Ok(builder_trusting(roots)?.timeout(TIMEOUT).build()?)
}

/// `Retry-After` in seconds (the form Chargebee and most APIs send), if present.
pub(crate) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
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
pub(crate) fn no_answer(what: &str, e: &reqwest::Error) -> Sent {
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
pub(crate) fn refused(what: &str, status: u16, message: &str) -> Sent {
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
