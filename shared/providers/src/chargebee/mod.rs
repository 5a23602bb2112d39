//! Chargebee webhooks: [`auth`] checks the HTTP Basic credentials configured on the webhook
//! (Chargebee signs nothing), then [`normalise`] turns the body into an
//! [`saguaro_domain::Event`], or, for `subscription_changed`, into a [`SubscriptionChange`]
//! that the caller classifies against its stored snapshot with [`classify_change`].

pub mod auth;
pub mod normalise;

pub use auth::{AuthError, BasicAuth, Password};
pub use normalise::{
    ChangeSnapshot, NormaliseError, Normalised, SubscriptionChange, SubscriptionSnapshotLike,
    classify_change, normalise, supersedes,
};
