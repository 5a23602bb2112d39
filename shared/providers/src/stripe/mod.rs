//! Stripe webhooks: [`signature`] checks `Stripe-Signature` on the raw body, then
//! [`normalise`] turns the verified body into an [`saguaro_domain::Event`].

pub mod normalise;
pub mod signature;
mod wire;

pub use normalise::{NormaliseError, Normalised, normalise};
pub use signature::{
    DEFAULT_TOLERANCE, SignatureError, SignatureHeader, Skew, Verifier, WebhookSecret, sign_header,
};
