//! Provider adapters for inbound webhooks (docs/design.md §5.5, §7): verify a Stripe or Chargebee
//! request on its raw bytes, then normalise the body into the one [`saguaro_domain::Event`]
//! everything downstream sees.
//!
//! The crate is pure on purpose: no runtime, no HTTP types, no AWS. The HTTP edge (Lambda or
//! the local runner) passes in header values, the raw body and the current time, and maps the
//! typed errors to statuses once (401 for verification failures, 400 for bodies that are not
//! events, 5xx for relevant events that lack what we need so that the provider retries).

pub mod chargebee;
mod lenient;
mod period;
pub mod stripe;
