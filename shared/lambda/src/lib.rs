//! What Saguaro's Lambda functions share at start-up, so that each function's `main.rs` only
//! wires and its `config.rs` holds only what is its own. (Their HTTP edge needs nothing
//! here: the webhook functions hand the application crate's axum router to
//! `lambda_http::run`.)
//!
//! - [`config`]: variables read once at start-up, failing with the name of the one missing,
//!   and the program file;
//! - [`logs`]: JSON log lines for CloudWatch.

pub mod config;
pub mod logs;
