//! What Saguaro's Lambda functions share, so that each function's `main.rs` only wires and
//! its `config.rs` and `handler.rs` hold only what is its own:
//!
//! - [`config`]: variables read once at start-up, failing with the name of the one missing,
//!   and the program file;
//! - [`logs`]: JSON log lines for CloudWatch;
//! - `http` (feature `http`): a `lambda_http` request as the `http::Request<Bytes>` the
//!   shared webhook handlers take, and their response back.

pub mod config;
#[cfg(feature = "http")]
pub mod http;
pub mod logs;
