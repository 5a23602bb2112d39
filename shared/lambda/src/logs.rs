//! Log lines as JSON for CloudWatch (STYLE §7).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::SubscriberBuilder;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields};

/// A subscriber builder for JSON log lines, as [`json_logs`] returns it.
pub type JsonLogs = SubscriberBuilder<JsonFields, Format<Json, ()>, EnvFilter>;

/// JSON lines filtered by `RUST_LOG` (by default `info`), without a timestamp (CloudWatch
/// stamps every line). Each function adds what its lines carry (spans, target), then calls
/// `init()`.
pub fn json_logs() -> JsonLogs {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .without_time()
        // JSON escapes control characters in every value; no colour codes either.
        .with_ansi(false)
}
