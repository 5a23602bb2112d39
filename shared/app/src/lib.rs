//! Saguaro's application layer, shared by the local runner and the Lambda functions.
//!
//! - [`ports`]: every port, in one place: the domain's store and clock, the event sink, the
//!   Stripe lookup;
//! - [`config`]: the environment variables, their typed loader and the program file, read
//!   once at start-up by the functions and the local runner alike;
//! - [`earn`]: applying events through the store port ([`Earner`]);
//! - [`incoming`]: the `POST /events` format;
//! - [`router`]: the HTTP routes (docs/design.md §8) as axum routers, one per concern, served by
//!   `saguaro serve` and handed to `lambda_http::run` by the webhook functions;
//! - [`http`]: what the routes share (error answers, the body extractor) and the handlers of
//!   `POST /events` and the customer reads;
//! - [`webhooks`]: the Stripe and Chargebee webhook handlers;
//! - [`rejected`]: where webhooks park deliveries that can never be applied.
//! - [`schedule`]: the daily job (anniversaries, expiry, promotion grants), shared by the
//!   scheduler Lambda and `saguaro tick`.

pub mod config;
pub mod earn;
pub mod fulfil;
pub mod http;
pub mod incoming;
pub mod ports;
pub mod rejected;
pub mod router;
pub mod schedule;
pub mod webhooks;

pub use earn::{Applied, EarnError, Earner, StateCache};
