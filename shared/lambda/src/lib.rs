//! What Saguaro's Lambda functions share at their edge, so that each function's `main.rs`
//! only wires and its `config.rs` and `handler.rs` hold only what is its own:
//!
//! - [`logs`]: JSON log lines for CloudWatch;
//! - `http` (feature `http`): a `lambda_http` request as the `http::Request<Bytes>` the
//!   shared webhook handlers take, and their response back.
//!
//! Configuration is not here: the variables and the program-file loader are in
//! `saguaro_app::config`, which the local runner reads too (and it must not depend on Lambda
//! crates).

#[cfg(feature = "http")]
pub mod http;
pub mod logs;
