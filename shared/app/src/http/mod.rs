//! What every HTTP route shares (docs/design.md §8): the error answers, each status and code defined
//! once ([`ErrorCode`]); request bodies read as their exact bytes under the 1 MiB limit
//! ([`JsonBody`]); and the handlers of the routes that are not webhooks, `POST /events`
//! (`events`) and the three customer reads (`customers`). Which path and method reach
//! which handler is [`crate::router`]'s business.

mod answer;
mod body;
pub(crate) mod customers;
pub(crate) mod events;

pub use answer::ErrorCode;
pub(crate) use answer::{internal, json};
pub(crate) use body::body_limit;
pub use body::{JsonBody, MAX_BODY_BYTES};
pub use customers::WaitingReason;
