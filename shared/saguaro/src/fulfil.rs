//! Reward delivery in the local runner (docs/design.md §5.3): the same fulfil code as the
//! deployed `fulfil` function, run in-process. [`AfterCommit`] wraps the store: every commit
//! that writes reward rows hands their addresses to a background task that fulfils them at
//! once; a sweep every [`SWEEP_EVERY`] re-drives rows still waiting after
//! [`saguaro_app::fulfil::SWEEP_AFTER`] (a row whose hand-off was dropped, a process that
//! stopped mid-delivery, a failed attempt).
//!
//! Adapters come from the environment ([`deliveries_from_env`]): Stripe with
//! `STRIPE_API_KEY` (base URL `STRIPE_API_BASE_URL`), Chargebee with `CHARGEBEE_SITE` and
//! `CHARGEBEE_API_KEY` (base URL `CHARGEBEE_API_BASE_URL`), perks with the secrets their
//! rewards and `[notify]` name. Without keys a provider's rewards stay pending and the rewards route says
//! why (`waiting_for`).

use std::sync::Arc;
use std::time::Duration;

use saguaro_app::config::{
    CHARGEBEE_API_BASE_URL, CHARGEBEE_API_KEY, CHARGEBEE_SITE, ConfigError, Env,
    STRIPE_API_BASE_URL, STRIPE_API_KEY,
};
use saguaro_app::fulfil::{Deliveries, Fulfiler, RewardDelivery};
use saguaro_app::http::WaitingReason;
use saguaro_delivery::PerkRewards;
use saguaro_delivery::chargebee::{ChargebeeRewards, ProductCatalog};
use saguaro_domain::ids::CustomerId;
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::{
    Clock, Commit, CommitOutcome, HistoryStore, LedgerPage, PageRequest, RewardPage,
    RewardPageRequest, RewardPosition, RewardRef, RewardStore, StateStore, StoreError,
};
use saguaro_domain::secret::Secret;
use saguaro_domain::state::CustomerState;
use saguaro_domain::{Delivery, Program, RewardOutbox};
use saguaro_stripe_api::{StripeApi, StripeRewards};
use tokio::sync::mpsc;
use tracing::warn;

/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Rows the sweep takes per run.
pub const SWEEP_BATCH: usize = 100;
/// Hand-offs waiting for the delivery task at most; beyond, rows wait for the sweep.
const QUEUE: usize = 1024;

/// The delivery adapters the environment configures, and why the others are missing.
pub fn deliveries_from_env(env: &Env) -> Result<Deliveries, ConfigError> {
    let mut d = Deliveries {
        stripe_missing: format!("{STRIPE_API_KEY} is not set"),
        chargebee_missing: format!("{CHARGEBEE_SITE} and {CHARGEBEE_API_KEY} are not both set"),
        ..Deliveries::default()
    };
    match PerkRewards::from_env() {
        Ok(perk) => d.perk = Some(Arc::new(perk)),
        Err(e) => d.perk_missing = format!("cannot build the perk client: {e}"),
    }
    if let Some(key) = env.stripe_api_key()? {
        let base = env
            .optional(STRIPE_API_BASE_URL)?
            .unwrap_or_else(|| saguaro_stripe_api::DEFAULT_BASE_URL.to_owned());
        match StripeApi::with_base_url(&key, &base, saguaro_stripe_api::DEFAULT_TIMEOUT) {
            Ok(api) => d.stripe = Some(Arc::new(StripeRewards::new(api))),
            Err(e) => d.stripe_missing = format!("cannot build the Stripe client: {e}"),
        }
    }
    let site = env.optional(CHARGEBEE_SITE)?;
    let key = env.optional(CHARGEBEE_API_KEY)?;
    let base = env.optional(CHARGEBEE_API_BASE_URL)?;
    if let (Some(site), Some(key)) = (site, key) {
        let base = base.unwrap_or_else(|| ChargebeeRewards::site_url(site.trim()));
        match ChargebeeRewards::new(&base, Secret::new(key.trim()), ProductCatalog::V2) {
            Ok(c) => d.chargebee = Some(Arc::new(c)),
            Err(e) => d.chargebee_missing = format!("cannot build the Chargebee client: {e}"),
        }
    }
    Ok(d)
}

/// A store whose commits hand their new reward rows to the in-process fulfiler.
#[derive(Debug)]
pub struct AfterCommit<S> {
    inner: Arc<S>,
    handoff: mpsc::Sender<RewardRef>,
}

/// Wraps `store`, starts the delivery task and the sweep on the current runtime, and returns
/// the wrapped store with the explanation of why pending rows wait (for the rewards route).
pub fn start<S>(
    store: Arc<S>,
    deliveries: Deliveries,
    clock: Arc<dyn Clock>,
    program: &Program,
) -> (Arc<AfterCommit<S>>, WaitingReason)
where
    S: RewardStore + 'static,
{
    let deliveries = Arc::new(deliveries);
    let fulfiler =
        Arc::new(Fulfiler::new(store.clone(), deliveries.clone(), clock).with_notify(program));
    let (handoff, mut queue) = mpsc::channel::<RewardRef>(QUEUE);
    let worker = fulfiler.clone();
    tokio::spawn(async move {
        while let Some(at) = queue.recv().await {
            if let Err(e) = worker.fulfil(&at).await {
                warn!(error = %e, "reward delivery failed on the store; the sweep retries");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = fulfiler.sweep(SWEEP_BATCH).await {
                warn!(error = %e, "reward sweep failed on the store");
            }
        }
    });
    let waiting: WaitingReason = Arc::new(move |row: &RewardOutbox| deliveries.unavailable(row));
    (
        Arc::new(AfterCommit {
            inner: store,
            handoff,
        }),
        waiting,
    )
}

impl<S: InvoiceLinkStore> InvoiceLinkStore for AfterCommit<S> {
    fn keeps(&self) -> bool {
        self.inner.keeps()
    }

    fn put_invoice_link(
        &self,
        link: &InvoiceLink,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.put_invoice_link(link)
    }

    fn invoice_link(
        &self,
        payment_intent: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        self.inner.invoice_link(payment_intent)
    }
}

impl<S: StateStore> StateStore for AfterCommit<S> {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        self.inner.load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let customer = commit.state.customer.clone();
        let version = commit.expected_version + 1;
        let rows = commit.rewards.len();
        let outcome = self.inner.commit(commit).await?;
        if outcome == CommitOutcome::Applied {
            for index in 0..rows {
                let at = RewardRef {
                    customer: customer.clone(),
                    at: RewardPosition {
                        version,
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                    },
                };
                // Full or stopped: the sweep delivers it later.
                let _ = self.handoff.try_send(at);
            }
        }
        Ok(outcome)
    }
}

impl<S: HistoryStore> HistoryStore for AfterCommit<S> {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        self.inner.ledger(customer, page).await
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        self.inner.rewards(customer, page).await
    }
}

impl<S: RewardStore> RewardStore for AfterCommit<S> {
    async fn reward(&self, at: &RewardRef) -> Result<Option<RewardOutbox>, StoreError> {
        self.inner.reward(at).await
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> Result<bool, StoreError> {
        self.inner.set_delivery(at, expected, next, notice).await
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>, StoreError> {
        self.inner.waiting_rewards(before, limit).await
    }
}
