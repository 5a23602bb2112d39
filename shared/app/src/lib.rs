//! Saguaro's application layer, shared by the local runner and the Lambda functions:
//! applying events through the store port ([`earn`]), the `POST /events` format
//! ([`incoming`]) and the HTTP routes of DESIGN §8 over plain `http` types ([`http`]).

pub mod earn;
pub mod http;
pub mod incoming;
pub mod webhooks;

pub use earn::{Applied, EarnError, Earner, StateCache};
