//! Saguaro's application layer, shared by the local runner and the Lambda functions:
//! applying events through the store port ([`earn`]), the `POST /events` format
//! ([`incoming`]), the HTTP routes of DESIGN §8 over plain `http` types ([`http`]), and the
//! configuration both read from the environment at start-up ([`config`]).

pub mod config;
pub mod earn;
pub mod http;
pub mod incoming;
pub mod webhooks;

pub use earn::{Applied, EarnError, Earner, StateCache};
