//! Saguaro's outbound Stripe API calls, made with `async-stripe` (docs/design.md §7: "async-stripe
//! stays the client for outbound API calls").
//!
//! [`StripeApi`] is the adapter of the [`StripeLookup`] port of the Stripe webhook: it finds
//! the invoice a PaymentIntent paid, which basil+ (2025-03-31 and later) refunds need in
//! order to meet the payment they reverse. It asks
//! `GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]={pi}&limit=1`
//! (Stripe's "List all payments for an invoice", filtered by PaymentIntent) and reads the
//! first result's `invoice`, an id or an expanded invoice object.
//!
//! The request is built by `async-stripe-billing`'s typed `ListInvoicePayment` and sent by
//! `async-stripe`'s client, which sends `Authorization: Bearer <key>` and pins
//! `Stripe-Version` to the version the crate was generated from ([`STRIPE_VERSION`], later
//! than basil, so the endpoint exists). Only the response is read differently: as a loose
//! JSON value rather than the typed `List<InvoicePayment>`, so that an expanded invoice, a
//! field added or removed by Stripe, or a version mismatch cannot fail the lookup when the
//! one field we need is there.
//!
//! TLS is rustls with the `ring` provider. Where another crate of the same binary enables
//! rustls' `aws-lc-rs` too (the AWS SDK in the Lambda functions), rustls cannot choose a
//! provider by itself and the client would panic when built; so building a [`StripeApi`]
//! installs `ring` as the process-wide default provider, unless one is already installed.
//!
//! The key is an [`ApiKey`] (a [`Secret`]), which prints as `[redacted]`; errors carry
//! Stripe's answer (its status and error message), never the key.

use std::fmt;
use std::time::Duration;

pub mod rewards;
pub use rewards::StripeRewards;

use miniserde::json::Value;
use saguaro_app::ports::{LookupError, StripeLookup};
use saguaro_domain::secret::Secret;
use stripe::{Client, ClientBuilder, RequestStrategy, StripeError, StripeRequest};
use stripe_billing::invoice_payment::{
    ListInvoicePayment, ListInvoicePaymentPayment, ListInvoicePaymentPaymentType,
};
use tracing::debug;

/// Where requests go unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// Per-request timeout: the webhook that waits for the answer must itself answer Stripe in
/// time, and a timed-out lookup only makes Stripe deliver the refund again.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The `Stripe-Version` every request sends (the one `async-stripe` is generated from).
pub const STRIPE_VERSION: &str = "2026-09-30.endive";

/// A Stripe secret or restricted key (`sk_...`/`rk_...`): a [`Secret`], which never prints.
pub type ApiKey = Secret;

/// The client could not be built (an invalid base URL, or a key that is not a valid header).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Stripe API client for {base_url}")]
pub struct BuildError {
    base_url: String,
    #[source]
    source: StripeError,
}

/// A lookup that did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum StripeApiError {
    /// Stripe answered with an error status (its message, never the request's key).
    #[error("Stripe answered {status}")]
    Status {
        status: u16,
        #[source]
        source: StripeError,
    },
    /// The request timed out.
    #[error("Stripe did not answer within {0:?}")]
    Timeout(Duration),
    /// The request could not be sent or its answer not received.
    #[error("cannot reach Stripe")]
    Transport(#[source] StripeError),
    /// The answer (or an error answer) is not what Stripe sends.
    #[error("unreadable answer from Stripe: {0}")]
    Unreadable(String),
}

impl StripeApiError {
    /// Worth trying again later (network, timeout, 429, 5xx)?
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Unreadable(_) => false,
        }
    }
}

impl From<StripeApiError> for LookupError {
    fn from(e: StripeApiError) -> Self {
        if e.is_transient() {
            LookupError::Unavailable(Box::new(e))
        } else {
            LookupError::Failed(Box::new(e))
        }
    }
}

/// The Stripe API client Saguaro uses. Cheap to clone.
#[derive(Clone)]
pub struct StripeApi {
    client: Client,
    base_url: String,
    timeout: Duration,
}

impl fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeApi")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl StripeApi {
    /// A client of `api.stripe.com` with [`DEFAULT_TIMEOUT`].
    pub fn new(key: &ApiKey) -> Result<Self, BuildError> {
        Self::with_base_url(key, DEFAULT_BASE_URL, DEFAULT_TIMEOUT)
    }

    /// A client of another server (a local stand-in in tests), `base_url` without `/v1`.
    pub fn with_base_url(
        key: &ApiKey,
        base_url: &str,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        // Err means a default provider is already installed, which is as good.
        let _already_installed = rustls::crypto::CryptoProvider::install_default(
            rustls::crypto::ring::default_provider(),
        );
        let client = ClientBuilder::new(key.expose())
            .url(base_url)
            .timeout(timeout)
            // One attempt: Stripe redelivers the webhook, which is the retry.
            .request_strategy(RequestStrategy::Once)
            .build()
            .map_err(|source| BuildError {
                base_url: base_url.to_owned(),
                source,
            })?;
        Ok(Self {
            client,
            base_url: base_url.to_owned(),
            timeout,
        })
    }

    /// The invoice `payment_intent` paid, `None` when it paid none (a one-off charge).
    pub async fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StripeApiError> {
        let mut payment =
            ListInvoicePaymentPayment::new(ListInvoicePaymentPaymentType::PaymentIntent);
        payment.payment_intent = Some(payment_intent.to_owned());
        let answer: Value = ListInvoicePayment::new()
            .payment(payment)
            .limit(1)
            .build()
            .customize::<Value>()
            .send(&self.client)
            .await
            .map_err(|e| self.classify(e))?;
        let invoice = first_invoice(&answer)?;
        debug!(
            payment_intent,
            invoice = invoice.as_deref(),
            "Stripe invoice payment looked up"
        );
        Ok(invoice)
    }

    fn classify(&self, e: StripeError) -> StripeApiError {
        match e {
            StripeError::Stripe(_, status) => StripeApiError::Status { status, source: e },
            StripeError::Timeout => StripeApiError::Timeout(self.timeout),
            StripeError::ClientError(_) | StripeError::ConfigError(_) => {
                StripeApiError::Transport(e)
            }
            StripeError::JSONDeserialize(message) => StripeApiError::Unreadable(message),
        }
    }
}

impl StripeLookup for StripeApi {
    async fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        Ok(StripeApi::invoice_for_payment_intent(self, payment_intent).await?)
    }
}

/// `data[0].invoice` of a list answer: an id, or an expanded invoice's `id`.
fn first_invoice(answer: &Value) -> Result<Option<String>, StripeApiError> {
    let unreadable = |what: &str| StripeApiError::Unreadable(what.to_owned());
    let Value::Object(list) = answer else {
        return Err(unreadable("the answer is not an object"));
    };
    let Some(Value::Array(data)) = list.get("data") else {
        return Err(unreadable("the answer has no data list"));
    };
    let Some(first) = data.first() else {
        return Ok(None);
    };
    let Value::Object(payment) = first else {
        return Err(unreadable("an invoice payment is not an object"));
    };
    match payment.get("invoice") {
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(Value::Object(invoice)) => match invoice.get("id") {
            Some(Value::String(id)) => Ok(Some(id.clone())),
            _ => Err(unreadable("an expanded invoice has no id")),
        },
        Some(Value::Null) | None => Ok(None),
        Some(_) => Err(unreadable(
            "an invoice payment's invoice is neither id nor object",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn when_key_is_printed_then_it_is_redacted() {
        let key = ApiKey::new("sk_test_secret123");
        assert_eq!(format!("{key:?} {key}"), "[redacted] [redacted]");
        let api = StripeApi::new(&key).unwrap();
        let shown = format!("{api:?}");
        assert!(!shown.contains("sk_test_secret123"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn when_errors_are_classified_then_network_and_5xx_are_transient() {
        assert!(StripeApiError::Timeout(DEFAULT_TIMEOUT).is_transient());
        assert!(!StripeApiError::Unreadable("x".to_owned()).is_transient());
        assert!(matches!(
            LookupError::from(StripeApiError::Timeout(DEFAULT_TIMEOUT)),
            LookupError::Unavailable(_)
        ));
        assert!(matches!(
            LookupError::from(StripeApiError::Unreadable("x".to_owned())),
            LookupError::Failed(_)
        ));
    }
}
