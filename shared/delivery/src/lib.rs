//! Saguaro's reward delivery adapters over HTTP and HTTPS (reqwest, rustls with *ring*), behind the
//! [`saguaro_app::fulfil::RewardDelivery`] port (docs/design.md §7.3):
//!
//! - [`chargebee::ChargebeeRewards`]: billing credits as promotional credits, coupons on the
//!   customer's subscription;
//! - [`perk::PerkRewards`]: a POST to the reward's URL signed the Standard Webhooks way
//!   ([`signing`]).
//!
//! Stripe's adapter is in `saguaro-stripe-api` (async-stripe is the Stripe client).

pub mod chargebee;
pub mod http;
pub mod perk;
pub mod signing;

pub use chargebee::ChargebeeRewards;
pub use perk::PerkRewards;
