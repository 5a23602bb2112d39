//! What every HTTP route shares (docs/design.md §8): the error answers, each status and code defined
//! once ([`ErrorCode`]); request bodies read as their exact bytes under the 1 MiB limit
//! ([`JsonBody`]); what is wrong with a body, said without quoting it ([`detail`]); the
//! refusal of ids that would forge log lines ([`printable`]); and the handlers of the routes that are not webhooks, `POST /events`
//! (`events`), `POST /customers/{provider}/{id}/adjustments` (`adjustments`) and the three
//! customer reads (`customers`). Which path and method reach
//! which handler is [`crate::router`]'s business.

pub mod adjustments;
mod answer;
mod body;
pub(crate) mod customers;
pub mod detail;
pub(crate) mod events;
pub mod printable;

pub use answer::ErrorCode;
pub(crate) use answer::{internal, json, refused};
pub(crate) use body::body_limit;
pub use body::{JsonBody, MAX_BODY_BYTES};
pub use customers::WaitingReason;
