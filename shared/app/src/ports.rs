//! Every port of the application, in one place: the domain's store and clock ports
//! (re-exported), where accepted events go ([`EventSink`]) and the outbound Stripe reads the
//! Stripe webhook needs ([`StripeLookup`]). Adapters implement these: the embedded, DynamoDB
//! (and other) stores, the SQS earn queue (`saguaro-sqs`), the Stripe API client
//! (`saguaro-stripe-api`), and the [`Earner`](crate::Earner) itself as the local runner's sink.

use std::future::Future;
use std::sync::Arc;

use saguaro_domain::Event;
use saguaro_domain::links::InvoiceLink;
pub use saguaro_domain::ports::{
    Clock, Commit, CommitOutcome, EventMarker, HistoryStore, IndexPage, LedgerPage, PageRequest,
    RewardPage, RewardPageRequest, RewardPosition, ScheduleStore, StateStore, StoreError,
    SystemClock,
};

/// Where accepted events go: applied at once (local runner) or enqueued (Lambda).
pub trait EventSink: Send + Sync {
    fn submit(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The event cannot be applied (4xx: the sender must fix it).
    #[error("event rejected: {0}")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The id was already used for a different event (409).
    #[error("event id reused")]
    IdReused,
    /// Try again later (5xx).
    #[error("sink unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// So that a sink can be shared, e.g. by a test that looks at what it was given.
impl<K: EventSink> EventSink for Arc<K> {
    fn submit(&self, event: Event) -> impl Future<Output = Result<(), SinkError>> + Send {
        (**self).submit(event)
    }
}

/// Why a [`StripeLookup`] could not answer. Either way the webhook is answered with a 5xx so
/// that Stripe delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Stripe could not be reached, timed out or answered 429/5xx: try again later (503).
    #[error("Stripe API unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stripe refused the request (401, 403, 400...) or answered something unreadable: an
    /// operator has to look (500; Stripe's retries keep the event until then).
    #[error("Stripe API lookup failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Outbound Stripe reads the webhook needs (`saguaro-stripe-api` is the adapter).
pub trait StripeLookup: Send + Sync {
    /// Whether lookups reach Stripe at all (`false`: no `STRIPE_API_KEY`, every lookup finds
    /// nothing).
    fn configured(&self) -> bool {
        true
    }

    /// The id of the invoice that `payment_intent` paid, `None` when it paid no invoice (a
    /// one-off charge).
    fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, LookupError>> + Send;

    /// Keeps a link basil's `invoice_payment.paid` reported, for later refunds. `false`:
    /// this lookup keeps nothing (only [`crate::webhooks::KeptLinks`] does).
    fn keep_invoice_link(
        &self,
        _link: &InvoiceLink,
    ) -> impl Future<Output = Result<bool, LookupError>> + Send {
        async { Ok(false) }
    }
}

/// No Stripe API key configured: every lookup finds nothing, so a basil+ refund is submitted
/// with only its PaymentIntent (and matches a payment only if that was keyed by it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStripeLookup;

impl StripeLookup for NoStripeLookup {
    fn configured(&self) -> bool {
        false
    }

    async fn invoice_for_payment_intent(
        &self,
        _payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        Ok(None)
    }
}

/// `None` behaves as [`NoStripeLookup`], so that wiring can hold an optional adapter.
impl<L: StripeLookup> StripeLookup for Option<L> {
    fn configured(&self) -> bool {
        self.as_ref().is_some_and(StripeLookup::configured)
    }

    async fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, LookupError> {
        match self {
            Some(lookup) => lookup.invoice_for_payment_intent(payment_intent).await,
            None => Ok(None),
        }
    }

    async fn keep_invoice_link(&self, link: &InvoiceLink) -> Result<bool, LookupError> {
        match self {
            Some(lookup) => lookup.keep_invoice_link(link).await,
            None => Ok(false),
        }
    }
}

impl<L: StripeLookup> StripeLookup for Arc<L> {
    fn configured(&self) -> bool {
        (**self).configured()
    }

    fn invoice_for_payment_intent(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, LookupError>> + Send {
        (**self).invoice_for_payment_intent(payment_intent)
    }

    fn keep_invoice_link(
        &self,
        link: &InvoiceLink,
    ) -> impl Future<Output = Result<bool, LookupError>> + Send {
        (**self).keep_invoice_link(link)
    }
}
