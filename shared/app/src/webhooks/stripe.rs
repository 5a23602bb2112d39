//! `POST /webhooks/stripe`: `Stripe-Signature` verification, normalisation, the invoice
//! lookup for refunds that need it ([`super::lookup`]), submission.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_providers::stripe::{self, Verifier, WebhookSecret};
use tracing::{debug, error, info, warn};

use super::lookup::{self, KeptLinks};
use super::{Answer, Parking, Received, ignored, submit, unprocessable};
use crate::http::ErrorCode;
use crate::ports::{Clock, EventSink, LookupError, NoStripeLookup, StripeLookup};
use crate::rejected::{LocalParking, ParkRejected, RejectedEvents};

/// The header Stripe signs with.
pub const STRIPE_SIGNATURE: &str = "stripe-signature";

/// A verifier for the value of `STRIPE_WEBHOOK_SECRET`: one `whsec_...` secret, or several
/// separated by commas while a secret is being rolled. `None` when it holds no secret.
pub fn stripe_verifier(secrets: &str) -> Option<Verifier> {
    let secrets: Vec<WebhookSecret> = secrets
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(WebhookSecret::new)
        .collect();
    (!secrets.is_empty()).then(|| Verifier::new(secrets))
}

/// The Stripe webhook: what it verifies with, where events go, and how refunds find their
/// invoice.
#[derive(Debug)]
pub struct StripeWebhook<K, C, L = NoStripeLookup> {
    verifier: Verifier,
    sink: K,
    clock: C,
    referral_key: Option<String>,
    lookup: L,
    rejected: Parking,
    /// Refunds that could not be linked to their invoice (see [`super::lookup`]).
    unlinked: AtomicU64,
}

impl<K: EventSink, C: Clock> StripeWebhook<K, C> {
    /// `referral_key` is the program's `referral_key` (metadata key naming the referrer).
    /// Without [`StripeWebhook::with_lookup`] refunds are not linked to their invoices.
    pub fn new(verifier: Verifier, sink: K, clock: C, referral_key: Option<String>) -> Self {
        Self {
            verifier,
            sink,
            clock,
            referral_key,
            lookup: NoStripeLookup,
            rejected: None,
            unlinked: AtomicU64::new(0),
        }
    }
}

impl<K: EventSink, C: Clock, L: StripeLookup> StripeWebhook<K, C, L> {
    /// The same webhook, asking `lookup` for the invoice of refunds that name only their
    /// PaymentIntent.
    pub fn with_lookup<M: StripeLookup>(self, lookup: M) -> StripeWebhook<K, C, M> {
        self.map_lookup(|_| lookup)
    }

    /// The same webhook with its lookup replaced by `f` of it.
    fn map_lookup<M: StripeLookup>(self, f: impl FnOnce(L) -> M) -> StripeWebhook<K, C, M> {
        StripeWebhook {
            verifier: self.verifier,
            sink: self.sink,
            clock: self.clock,
            referral_key: self.referral_key,
            lookup: f(self.lookup),
            rejected: self.rejected,
            unlinked: self.unlinked,
        }
    }

    /// The same webhook, keeping the links basil's `invoice_payment.paid` reports in `store`
    /// and asking it first (then the lookup it had) for the invoice of a refund.
    pub fn with_links<S: InvoiceLinkStore>(self, store: S) -> StripeWebhook<K, C, KeptLinks<S, L>> {
        self.map_lookup(|api| KeptLinks::new(store, api))
    }

    /// Refunds this webhook submitted without a link to their invoice, since it was built.
    pub fn unlinked_refunds(&self) -> u64 {
        self.unlinked.load(Ordering::Relaxed)
    }

    /// The same webhook, parking what it can never apply in `rejected` (answered 200) instead
    /// of answering 500.
    pub fn with_rejected(self, rejected: Arc<dyn RejectedEvents>) -> Self {
        self.with_parking(Arc::new(LocalParking(rejected)))
    }

    /// The same webhook, parking what it can never apply in `parking` (answered 200 once it
    /// is kept there): on AWS, the earn dead-letter queue.
    pub fn with_parking(mut self, parking: Arc<dyn ParkRejected>) -> Self {
        self.rejected = Some(parking);
        self
    }

    pub fn lookup(&self) -> &L {
        &self.lookup
    }

    /// One delivery: its headers and the exact body bytes Stripe signed (already checked for
    /// size and content type).
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Answer {
        let header = headers.get(STRIPE_SIGNATURE).and_then(|v| v.to_str().ok());
        if let Err(e) = self.verifier.verify(body, header, self.clock.now()) {
            warn!(provider = "stripe", reason = %e, "webhook refused");
            return Err(ErrorCode::Unauthorized);
        }
        let mut event = match stripe::normalise(body, self.referral_key.as_deref()) {
            Ok(stripe::Normalised::Event(event)) => *event,
            Ok(stripe::Normalised::Ignored { event_type, reason }) => {
                return ignored("stripe", &event_type, reason);
            }
            Ok(stripe::Normalised::InvoiceLink(link)) => return self.keep(&link).await,
            Ok(stripe::Normalised::NoCustomer {
                event_id,
                event_type,
            }) => {
                info!(
                    provider = "stripe",
                    event_id,
                    event_type,
                    "payment of no customer (a guest payment): nothing to do for loyalty"
                );
                return Ok(Received);
            }
            Err(stripe::NormaliseError::Unprocessable {
                event_id,
                event_type,
                reason,
            }) => {
                return unprocessable(
                    &self.rejected,
                    "stripe",
                    &event_id,
                    &event_type,
                    reason,
                    body,
                )
                .await;
            }
            Err(e) => {
                warn!(provider = "stripe", error = %e, "webhook body is not an event");
                return Err(ErrorCode::Malformed);
            }
        };
        // Before the lookup, which logs the event's id.
        super::printable("stripe", &event)?;
        lookup::link_refund_to_invoice(&self.lookup, &self.unlinked, &mut event).await?;
        submit(&self.sink, &self.rejected, "stripe", event).await
    }

    /// Basil's `invoice_payment.paid`: the link is kept before the 200, so a refund after it
    /// finds its invoice; a store that cannot keep it now answers 5xx and Stripe retries.
    async fn keep(&self, link: &InvoiceLink) -> Answer {
        // Stripe ids are short and printable; anything else would forge logs or overflow a
        // store key, and can never be kept.
        let bad = |id: &str| id.len() > 255 || id.chars().any(char::is_control);
        if bad(&link.payment_intent) || bad(&link.invoice) {
            warn!(
                provider = "stripe",
                "invoice_payment.paid refused: an id is over 255 bytes or holds a control character"
            );
            return Err(ErrorCode::InvalidEvent);
        }
        match self.lookup.keep_invoice_link(link).await {
            Ok(true) => {
                debug!(provider = "stripe", payment_intent = %link.payment_intent, invoice = %link.invoice, "invoice payment link kept");
                Ok(Received)
            }
            Ok(false) => {
                info!(provider = "stripe", payment_intent = %link.payment_intent, invoice = %link.invoice, "invoice_payment.paid: no store keeps invoice links here, nothing to do");
                Ok(Received)
            }
            Err(e) => {
                error!(provider = "stripe", payment_intent = %link.payment_intent, error = %e,
                    cause = ?std::error::Error::source(&e).map(ToString::to_string),
                    "cannot keep the invoice payment link; Stripe will retry");
                Err(match e {
                    LookupError::Unavailable(_) => ErrorCode::Unavailable,
                    LookupError::Failed(_) => ErrorCode::Internal,
                })
            }
        }
    }
}
