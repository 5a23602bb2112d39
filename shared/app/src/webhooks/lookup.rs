//! Linking a Stripe refund to the invoice it reverses. On "basil" and later API versions
//! (2025-03-31+) a charge no longer names its invoice and `invoice.paid` usually names no
//! PaymentIntent, so a refund known only by its PaymentIntent would match no payment. Before
//! such a refund is submitted, a [`StripeLookup`] says which invoice the PaymentIntent paid,
//! and that invoice becomes the refund's `payment_alias`. A failed lookup answers 503 (or
//! 500) so that Stripe retries: the refund is never submitted without its link while a
//! lookup is configured.

use saguaro_domain::{Event, Trigger};
use tracing::{debug, error, warn};

use crate::http::ErrorCode;
use crate::ports::{LookupError, StripeLookup};

/// A refund that names only its PaymentIntent (basil+ charges carry no `invoice`) gets the
/// invoice that PaymentIntent paid as its `payment_alias`, which is the key a basil+
/// `invoice.paid` without `payments` was recorded under. Any other event is left as it is,
/// without a lookup.
pub(super) async fn link_refund_to_invoice<L: StripeLookup>(
    lookup: &L,
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
    if !lookup.configured() {
        // Applied anyway: it matches its payment if that was keyed by the PaymentIntent
        // (pre-basil, or `payments` included); otherwise the engine reverses nothing.
        warn!(provider = "stripe", event_id = %event.id, payment_intent,
            "refund names only its PaymentIntent and STRIPE_API_KEY is not set: it cannot be linked to its invoice, and reverses nothing unless its payment was recorded under the PaymentIntent");
        return Ok(());
    }
    match lookup.invoice_for_payment_intent(payment_intent).await {
        Ok(Some(invoice)) => {
            debug!(provider = "stripe", event_id = %event.id, payment_intent, invoice, "refund linked to its invoice");
            if event.refs.invoice.is_none() {
                event.refs.invoice = Some(invoice.clone());
            }
            event.refs.payment_alias = Some(invoice).filter(|i| i != payment_intent);
            Ok(())
        }
        Ok(None) => {
            debug!(provider = "stripe", event_id = %event.id, payment_intent, "refund of a payment with no invoice");
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
