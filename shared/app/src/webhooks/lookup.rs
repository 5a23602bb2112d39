//! Linking a Stripe refund to the invoice it reverses. On "basil" and later API versions
//! (2025-03-31+) a charge no longer names its invoice and `invoice.paid` usually names no
//! PaymentIntent, so a refund known only by its PaymentIntent would match no payment. Before
//! such a refund is submitted, a [`StripeLookup`] says which invoice the PaymentIntent paid,
//! and that invoice becomes the refund's `payment_alias`.
//!
//! Where the answer comes from, in order:
//! 1. the links basil's `invoice_payment.paid` reported, kept by the store
//!    ([`KeptLinks`], `saguaro_domain::links`): no API key needed;
//! 2. Stripe's API (`GET /v1/invoice_payments`), when `STRIPE_API_KEY` is set.
//!
//! A failed lookup answers 503 (or 500) so that Stripe retries: the refund is never submitted
//! without its link while a lookup could still find it. A refund that still cannot be linked
//! is submitted as it is (it matches its payment if that was keyed by the PaymentIntent),
//! logged at warn with its event id and `unlinked_refund = true` (which the deployed stack's
//! metric filter counts as `UnlinkedRefunds`), and counted by the webhook
//! ([`super::StripeWebhook::unlinked_refunds`]).

use std::sync::atomic::{AtomicU64, Ordering};

use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::StoreError;
use saguaro_domain::{Event, Trigger};
use tracing::{debug, error, warn};

use crate::http::ErrorCode;
use crate::ports::{LookupError, StripeLookup};

/// The links the store kept, then `api` for what they do not hold.
#[derive(Debug)]
pub struct KeptLinks<S, L> {
    store: S,
    api: L,
}

impl<S: InvoiceLinkStore, L: StripeLookup> KeptLinks<S, L> {
    pub fn new(store: S, api: L) -> Self {
        Self { store, api }
    }
}

fn store_error(e: StoreError) -> LookupError {
    match e {
        StoreError::Unavailable(_) | StoreError::Conflict { .. } => {
            LookupError::Unavailable(Box::new(e))
        }
        StoreError::Rejected(_) | StoreError::Corrupt(_) => LookupError::Failed(Box::new(e)),
    }
}

impl<S: InvoiceLinkStore, L: StripeLookup> StripeLookup for KeptLinks<S, L> {
    /// Whether a miss is final: only Stripe's API can say a PaymentIntent paid no invoice.
    fn configured(&self) -> bool {
        self.api.configured()
    }

    async fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        if let Some(invoice) = self
            .store
            .invoice_link(payment_intent)
            .await
            .map_err(store_error)?
        {
            return Ok(Some(invoice));
        }
        if !self.api.configured() {
            return Ok(None);
        }
        self.api.invoice_for_payment_intent(payment_intent).await
    }

    async fn keep_invoice_link(&self, link: &InvoiceLink) -> Result<bool, LookupError> {
        if !self.store.keeps() {
            return Ok(false);
        }
        self.store
            .put_invoice_link(link)
            .await
            .map_err(store_error)?;
        Ok(true)
    }
}

/// A refund that names only its PaymentIntent (basil+ charges carry no `invoice`) gets the
/// invoice that PaymentIntent paid as its `payment_alias`, which is the key a basil+
/// `invoice.paid` without `payments` was recorded under. Any other event is left as it is,
/// without a lookup. `unlinked` counts the refunds that could not be linked.
pub(super) async fn link_refund_to_invoice<L: StripeLookup>(
    lookup: &L,
    unlinked: &AtomicU64,
    event: &mut Event,
) -> Result<(), ErrorCode> {
    if event.trigger != Trigger::PaymentRefunded || event.refs.payment_alias.is_some() {
        return Ok(());
    }
    let Some(payment_intent) = event
        .refs
        .payment
        .as_deref()
        .filter(|p| p.starts_with("pi_"))
    else {
        return Ok(());
    };
    match lookup.invoice_for_payment_intent(payment_intent).await {
        Ok(Some(invoice)) => {
            debug!(provider = "stripe", event_id = %event.id, payment_intent, invoice, "refund linked to its invoice");
            if event.refs.invoice.is_none() {
                event.refs.invoice = Some(invoice.clone());
            }
            event.refs.payment_alias = Some(invoice).filter(|i| i != payment_intent);
            Ok(())
        }
        Ok(None) if lookup.configured() => {
            debug!(provider = "stripe", event_id = %event.id, payment_intent, "refund of a payment with no invoice");
            Ok(())
        }
        Ok(None) => {
            // Applied anyway: it matches its payment if that was keyed by the PaymentIntent
            // (pre-basil, or `payments` included); otherwise the engine reverses nothing.
            let total = unlinked.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            warn!(provider = "stripe", event_id = %event.id, payment_intent,
                unlinked_refund = true, unlinked_refunds = total,
                "refund cannot be linked to its invoice: it names only its PaymentIntent, no invoice_payment.paid linked it and STRIPE_API_KEY is not set; it reverses nothing unless its payment was recorded under the PaymentIntent");
            Ok(())
        }
        Err(e) => {
            let code = match &e {
                LookupError::Unavailable(_) => ErrorCode::Unavailable,
                LookupError::Failed(_) => ErrorCode::Internal,
            };
            error!(
                provider = "stripe",
                event_id = %event.id,
                payment_intent,
                error = %e,
                cause = ?std::error::Error::source(&e).map(ToString::to_string),
                "cannot look up the refunded payment's invoice; Stripe will retry"
            );
            Err(code)
        }
    }
}
