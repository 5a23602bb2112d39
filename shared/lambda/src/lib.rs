//! What Saguaro's Lambda functions share at start-up, so that each function's `main.rs` only
//! wires: [`logs`], JSON log lines for CloudWatch.
//!
//! Their HTTP edge needs nothing here: the webhook functions hand the application crate's axum
//! router to `lambda_http::run`. Configuration is not here either: the variables and the
//! program-file loader are in `saguaro_app::config`, which the local runner reads too (and it
//! must not depend on Lambda crates).

pub mod logs;
