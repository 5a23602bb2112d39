//! Which invoice a Stripe PaymentIntent paid: the link a refund needs on "basil" and later
//! API versions (2025-03-31+), where a charge no longer names its invoice and `invoice.paid`
//! usually names no PaymentIntent (docs/design.md §7).
//!
//! Basil's `invoice_payment.paid` event carries the link (`invoice`, `payment.payment_intent`)
//! but no customer, so it cannot go through a customer's commit: the Stripe webhook keeps it
//! in this port, and a later refund that names only its PaymentIntent reads it back. Each
//! store keeps links in their own records (one small write per paid invoice, one read per
//! basil refund), outside any customer's state, so they cost nothing per event of a customer.

use std::future::Future;

use jiff::Timestamp;

use crate::ports::StoreError;

/// One invoice payment: `payment_intent` paid `invoice` (Stripe ids, `pi_…` and `in_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLink {
    pub payment_intent: String,
    pub invoice: String,
    /// When Stripe reported it (the event's `created`): stores may forget a link some time
    /// after it (DynamoDB's TTL), once no refund can come.
    pub paid_at: Timestamp,
}

/// How long a store keeps a link: Stripe accepts refunds of a card payment for 180 days in
/// most cases, and some methods longer; a year and a half covers them with margin.
pub const KEEP_DAYS: i64 = 540;

/// Where the Stripe webhook keeps invoice links.
pub trait InvoiceLinkStore: Send + Sync {
    /// Whether links are kept at all (`false` for `None`, a deployment without a table).
    fn keeps(&self) -> bool {
        true
    }

    /// Keeps `link`. Writing the same PaymentIntent again replaces its link (a redelivery
    /// writes the same one).
    fn put_invoice_link(
        &self,
        link: &InvoiceLink,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The invoice `payment_intent` paid, if its link was kept.
    fn invoice_link(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// `None` keeps nothing and finds nothing, so wiring can hold an optional store.
impl<T: InvoiceLinkStore> InvoiceLinkStore for Option<T> {
    fn keeps(&self) -> bool {
        self.as_ref().is_some_and(InvoiceLinkStore::keeps)
    }

    async fn put_invoice_link(&self, link: &InvoiceLink) -> Result<(), StoreError> {
        match self {
            Some(store) => store.put_invoice_link(link).await,
            None => Ok(()),
        }
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        match self {
            Some(store) => store.invoice_link(payment_intent).await,
            None => Ok(None),
        }
    }
}

impl<T: InvoiceLinkStore> InvoiceLinkStore for std::sync::Arc<T> {
    fn keeps(&self) -> bool {
        (**self).keeps()
    }

    fn put_invoice_link(
        &self,
        link: &InvoiceLink,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_invoice_link(link)
    }

    fn invoice_link(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        (**self).invoice_link(payment_intent)
    }
}
