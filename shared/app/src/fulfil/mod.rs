//! Handing out reward rows exactly once (docs/design.md §5.3, issue 9).
//!
//! [`Fulfiler::fulfil`] takes one row through its delivery state with conditional writes
//! ([`RewardStore::set_delivery`]): claim it (pending → delivering), then, if an earlier
//! attempt's outcome is unknown (a 5xx, a timeout, a fulfiler that died mid-call), ask the
//! provider whether the reward is already there ([`RewardDelivery::find`]) before sending
//! anything; then send ([`RewardDelivery::send`]) and write what came of it. A reward is
//! never sent while another fulfiler holds a fresh claim, and never re-sent without looking
//! first after an attempt that may have been applied. [`Fulfiler::sweep`] re-drives rows
//! still waiting after [`SWEEP_AFTER`].
//!
//! Who delivers what is the [`RewardDelivery`] port: [`Deliveries`] routes a row by kind and
//! customer provider to the adapters (Stripe in `saguaro-stripe-api`, Chargebee and perks in
//! `saguaro-delivery`); `access` rewards are already held in the customer's state (the
//! engine added the grant when it redeemed them), so they are delivered by recording it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use saguaro_domain::notify::Notify;
use saguaro_domain::ports::{Clock, RewardRef, RewardStore, StoreError};
use saguaro_domain::program::{Program, RewardKind};
use saguaro_domain::{Delivery, Provider, RewardOutbox};
use tracing::{info, warn};

/// A claim older than this may be taken over: longer than any one attempt takes (the
/// adapters' timeouts and in-attempt retries stay well under it).
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);
/// The sweep re-drives rows waiting longer than this (issue 9: 15 minutes).
pub const SWEEP_AFTER: SignedDuration = SignedDuration::from_mins(15);
/// Looking for an earlier attempt starts this long before it began (clock skew between us
/// and the provider).
pub const LOOK_BACK_MARGIN: SignedDuration = SignedDuration::from_mins(10);
/// After this many attempts a reward is failed for an operator to look at.
pub const MAX_ATTEMPTS: u32 = 8;

/// A boxed future: the delivery port is used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What one attempt at the provider came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted; the provider's id of what it made.
    Delivered(Option<String>),
    /// Not delivered this time; `maybe_applied` when the provider may have applied it
    /// anyway (5xx, timeout, no answer), so the next attempt looks first.
    Retry { error: String, maybe_applied: bool },
    /// Refused for good (a 400, a 410, a coupon conflict, no subscription): visible, never
    /// retried.
    Failed(String),
}

/// Whether the provider already has a reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// It does; its id.
    Yes(Option<String>),
    No,
    /// Could not tell (the provider is unavailable): try again later.
    Unknown(String),
}

/// The port of whoever hands a reward out.
pub trait RewardDelivery: Send + Sync {
    /// Why rows like this one cannot be delivered by this process at all (no keys for its
    /// provider): they stay pending and the rewards route says why.
    fn unavailable(&self, row: &RewardOutbox) -> Option<String>;

    /// Whether the provider already has `row`, made since `since`.
    fn find<'a>(&'a self, row: &'a RewardOutbox, since: Timestamp) -> BoxFuture<'a, Found>;

    /// Sends `row` as attempt `attempt` (1-based).
    fn send<'a>(&'a self, row: &'a RewardOutbox, attempt: u32) -> BoxFuture<'a, Sent>;
}

impl<T: RewardDelivery + ?Sized> RewardDelivery for Arc<T> {
    fn unavailable(&self, row: &RewardOutbox) -> Option<String> {
        (**self).unavailable(row)
    }

    fn find<'a>(&'a self, row: &'a RewardOutbox, since: Timestamp) -> BoxFuture<'a, Found> {
        (**self).find(row, since)
    }

    fn send<'a>(&'a self, row: &'a RewardOutbox, attempt: u32) -> BoxFuture<'a, Sent> {
        (**self).send(row, attempt)
    }
}

/// The idempotency key of `row`'s attempt `attempt`: the reward id, and the attempt so that a
/// provider that stored a failed answer (Stripe keeps 5xx answers for the key) does not
/// replay it after we have looked and found nothing. Retries inside one attempt reuse it.
pub fn idempotency_key(row: &RewardOutbox, attempt: u32) -> String {
    format!("saguaro:{}:{attempt}", row.id)
}

/// What [`Fulfiler::fulfil`] did with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Delivered now (or found already at the provider).
    Delivered(Option<String>),
    /// Failed for good now.
    Failed(String),
    /// Not delivered this time; pending again.
    RetryLater(String),
    /// Not for this process (no keys): left pending, untouched.
    Unavailable(String),
    /// Someone else holds it, or it is already delivered or failed: nothing done.
    Skipped,
    /// No row there.
    Missing,
}

/// Routes each row to the adapter of its kind and provider.
#[derive(Default)]
pub struct Deliveries {
    pub stripe: Option<Arc<dyn RewardDelivery>>,
    pub chargebee: Option<Arc<dyn RewardDelivery>>,
    pub perk: Option<Arc<dyn RewardDelivery>>,
    /// Why each missing adapter is missing (shown while rows wait).
    pub stripe_missing: String,
    pub chargebee_missing: String,
    pub perk_missing: String,
}

impl std::fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliveries")
            .field("stripe", &self.stripe.is_some())
            .field("chargebee", &self.chargebee.is_some())
            .field("perk", &self.perk.is_some())
            .finish()
    }
}

enum Route<'a> {
    Adapter(&'a dyn RewardDelivery),
    Missing(&'a str),
    Access,
    Impossible(&'static str),
}

impl Deliveries {
    fn route(&self, row: &RewardOutbox) -> Route<'_> {
        fn pick<'a>(a: &'a Option<Arc<dyn RewardDelivery>>, why: &'a str) -> Route<'a> {
            match a {
                Some(a) => Route::Adapter(a.as_ref()),
                None => Route::Missing(why),
            }
        }
        match (row.kind, row.customer.provider) {
            (RewardKind::Access, _) => Route::Access,
            // A merchant notification is posted and signed as a perk is.
            (RewardKind::Perk | RewardKind::Notification, _) => {
                pick(&self.perk, &self.perk_missing)
            }
            (_, Provider::Stripe) => pick(&self.stripe, &self.stripe_missing),
            (_, Provider::Chargebee) => pick(&self.chargebee, &self.chargebee_missing),
            (_, _) => {
                Route::Impossible("billing credits and coupons need a Stripe or Chargebee customer")
            }
        }
    }
}

impl RewardDelivery for Deliveries {
    fn unavailable(&self, row: &RewardOutbox) -> Option<String> {
        match self.route(row) {
            Route::Adapter(a) => a.unavailable(row),
            Route::Missing(why) => Some(why.to_owned()),
            Route::Access | Route::Impossible(_) => None,
        }
    }

    fn find<'a>(&'a self, row: &'a RewardOutbox, since: Timestamp) -> BoxFuture<'a, Found> {
        match self.route(row) {
            Route::Adapter(a) => a.find(row, since),
            Route::Missing(why) => Box::pin(async move { Found::Unknown(why.to_owned()) }),
            Route::Access | Route::Impossible(_) => Box::pin(async { Found::No }),
        }
    }

    fn send<'a>(&'a self, row: &'a RewardOutbox, attempt: u32) -> BoxFuture<'a, Sent> {
        match self.route(row) {
            Route::Adapter(a) => a.send(row, attempt),
            Route::Missing(why) => Box::pin(async move {
                Sent::Retry {
                    error: why.to_owned(),
                    maybe_applied: false,
                }
            }),
            // The engine put the grant in the customer's state with the redemption.
            Route::Access => Box::pin(async move {
                Sent::Delivered(row.grant.as_ref().map(|g| format!("grant:{g}")))
            }),
            Route::Impossible(why) => Box::pin(async move { Sent::Failed(why.to_owned()) }),
        }
    }
}

/// Delivers reward rows of store `S` through `D`.
pub struct Fulfiler<S, D> {
    store: S,
    delivery: D,
    clock: Arc<dyn Clock>,
    /// `[notify]` and the program's name: `reward.issued` / `reward.failed` rows are
    /// written with the transition they report.
    notify: Option<(String, Notify)>,
}

impl<S, D> std::fmt::Debug for Fulfiler<S, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fulfiler").finish_non_exhaustive()
    }
}

impl<S: RewardStore, D: RewardDelivery> Fulfiler<S, D> {
    pub fn new(store: S, delivery: D, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            delivery,
            clock,
            notify: None,
        }
    }

    /// Writes the program's `[notify]` `reward.issued` / `reward.failed` notifications in
    /// the same store operation as each reward's transition (none without the section).
    pub fn with_notify(mut self, program: &Program) -> Self {
        self.notify = program.notify.clone().map(|n| (program.name.clone(), n));
        self
    }

    pub fn delivery(&self) -> &D {
        &self.delivery
    }

    /// Takes the row at `at` as far as it goes now. Store errors are returned (the caller
    /// retries later; the row's state says where it stands).
    pub async fn fulfil(&self, at: &RewardRef) -> Result<Done, StoreError> {
        let Some(row) = self.store.reward(at).await? else {
            return Ok(Done::Missing);
        };
        if let Some(why) = self.delivery.unavailable(&row) {
            return Ok(Done::Unavailable(why));
        }
        let Some(claim) = row.delivery.claim(self.clock.now(), LEASE) else {
            return Ok(Done::Skipped);
        };
        let held = claim.state();
        if !self
            .store
            .set_delivery(at, &row.delivery, &held, None)
            .await?
        {
            return Ok(Done::Skipped);
        }
        let (next, done) = self.attempt(&row, &claim).await;
        let notice = self
            .notify
            .as_ref()
            .and_then(|(program, n)| n.of_outcome(program, &row, &next, self.clock.now()));
        if !self
            .store
            .set_delivery(at, &held, &next, notice.as_ref())
            .await?
        {
            // Our lease ran out and another fulfiler took over; it looks before sending.
            warn!(reward = %row.id, "reward claim was taken over before the outcome was written");
            return Ok(Done::Skipped);
        }
        info!(reward = %row.id, attempt = claim.attempt, status = next.status(), "reward attempt");
        if notice.is_some() {
            // Written with the outcome; sent at once (the stream or the sweep would also
            // find it, and its claim keeps it to one delivery).
            let at = RewardRef {
                customer: at.customer.clone(),
                at: saguaro_domain::notify::notice_position(at.at),
            };
            match Box::pin(self.fulfil(&at)).await {
                Ok(sent) => info!(notification = %at.at, outcome = ?sent, "notification attempt"),
                Err(e) => {
                    warn!(error = %e, "notification delivery failed on the store; the sweep retries")
                }
            }
        }
        Ok(done)
    }

    async fn attempt(&self, row: &RewardOutbox, claim: &saguaro_domain::Claim) -> (Delivery, Done) {
        let now = || self.clock.now();
        if let Some(since) = claim.check_since {
            match self.delivery.find(row, since - LOOK_BACK_MARGIN).await {
                Found::Yes(id) => {
                    return (claim.delivered(now(), id.clone()), Done::Delivered(id));
                }
                Found::No => {}
                Found::Unknown(error) => {
                    let error = format!("cannot tell whether an earlier attempt arrived: {error}");
                    return (
                        claim.retry_later(now(), error.clone(), true),
                        Done::RetryLater(error),
                    );
                }
            }
        }
        match self.delivery.send(row, claim.attempt).await {
            Sent::Delivered(id) => (claim.delivered(now(), id.clone()), Done::Delivered(id)),
            Sent::Failed(reason) => (claim.failed(reason.clone()), Done::Failed(reason)),
            Sent::Retry {
                error,
                maybe_applied,
            } if claim.attempt >= MAX_ATTEMPTS => {
                let mut reason = format!("gave up after {} attempts: {error}", claim.attempt);
                if maybe_applied {
                    reason.push_str(" (the last may have arrived: check the provider)");
                }
                (claim.failed(reason.clone()), Done::Failed(reason))
            }
            Sent::Retry {
                error,
                maybe_applied,
            } => (
                claim.retry_later(now(), error.clone(), maybe_applied),
                Done::RetryLater(error),
            ),
        }
    }

    /// Re-drives up to `limit` rows waiting longer than [`SWEEP_AFTER`] (their stream
    /// record or in-process attempt was lost, or their last attempt failed). Returns what
    /// each came to.
    pub async fn sweep(&self, limit: usize) -> Result<Vec<(RewardRef, Done)>, StoreError> {
        self.sweep_within(limit, None).await
    }

    /// [`Fulfiler::sweep`], starting no row after `until` (a Lambda's deadline less a
    /// margin): the rows not reached are still waiting, for the next sweep.
    pub async fn sweep_within(
        &self,
        limit: usize,
        until: Option<std::time::Instant>,
    ) -> Result<Vec<(RewardRef, Done)>, StoreError> {
        let due = self
            .store
            .waiting_rewards(self.clock.now() - SWEEP_AFTER, limit)
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for (at, _) in due {
            if until.is_some_and(|until| std::time::Instant::now() >= until) {
                break;
            }
            let done = self.fulfil(&at).await?;
            out.push((at, done));
        }
        Ok(out)
    }
}
