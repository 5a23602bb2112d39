//! Chargebee webhooks: [`auth`] checks the HTTP Basic credentials configured on the webhook
//! (Chargebee signs nothing), then [`normalise`] turns the body into an
//! [`saguaro_domain::Event`], or, for `subscription_changed`, into a [`SubscriptionChange`]:
//! the new state only, which the engine classifies as an upgrade or a downgrade against the
//! snapshot it keeps.

pub mod auth;
pub mod normalise;

pub use auth::{AuthError, BasicAuth, Password};
pub use normalise::{NormaliseError, Normalised, SubscriptionChange, normalise};
