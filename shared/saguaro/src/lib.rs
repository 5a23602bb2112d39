//! The local runner: Saguaro's routes on a laptop. The same application code as the Lambda
//! functions, the very same axum routers ([`saguaro_app::router`]) merged into one and served
//! by hyper; only the adapters differ (the store is a local one, [`LocalStore`]: SQLite in a
//! data directory for `saguaro serve`, or in memory; any store can be given to
//! [`Runner::with_store`]; and accepted events are applied at once instead of being queued).
//!
//! The webhook routes (`POST /webhooks/stripe`, `POST /webhooks/chargebee`) are served when
//! their secrets are given ([`WebhookSecrets`], read from the environment by `main.rs`);
//! without them the route answers 503 `{"error":"not_configured"}`. With a Stripe API client
//! ([`Runner::with_webhooks_and_stripe_api`], from `STRIPE_API_KEY`) the Stripe route links
//! basil+ refunds to their invoices; without one they are submitted unlinked.
//!
//! The daily job ([`saguaro_app::schedule`]) runs here too: [`tick`] runs it once (`saguaro
//! tick`), its events applied through the same [`Earner`] in process; [`tick_hourly`] runs it
//! at start and every hour while `saguaro serve` is up.

use std::sync::Arc;

use axum::Router;
use saguaro_app::Earner;
use saguaro_app::ports::{HistoryStore, StateStore, SystemClock};
use saguaro_app::router;
use saguaro_app::webhooks::{ChargebeeWebhook, StripeWebhook};
use saguaro_domain::Program;
use saguaro_embedded::EmbeddedStore;
use saguaro_providers::chargebee::BasicAuth;
use saguaro_providers::stripe::Verifier;
use saguaro_stripe_api::StripeApi;
use tokio::net::TcpListener;

mod store;
pub use store::LocalStore;

use std::time::Duration;

use saguaro_app::ports::{Clock, ScheduleStore};
use saguaro_app::schedule::{self, RunReport, ScheduleError};
use tracing::{error, info, warn};

/// How often `saguaro serve` runs the daily job (which does nothing until a day is due).
pub const TICK_EVERY: Duration = Duration::from_secs(3600);

/// Runs the daily job once over `store` up to `today` (program timezone): every day since
/// the watermark, each day's events applied at once through an [`Earner`].
pub async fn tick<S>(
    store: Arc<S>,
    program: Arc<Program>,
    today: jiff::civil::Date,
) -> Result<RunReport, ScheduleError>
where
    S: StateStore + ScheduleStore + 'static,
{
    let earner = Earner::new(store.clone(), program.clone());
    schedule::run(&*store, &earner, &program, today).await
}

/// Runs [`tick`] now (catching up on the days missed while the runner was down) and then
/// every [`TICK_EVERY`], forever; failures are logged and retried at the next tick.
pub async fn tick_hourly<S>(store: Arc<S>, program: Arc<Program>)
where
    S: StateStore + ScheduleStore + 'static,
{
    let mut every = tokio::time::interval(TICK_EVERY);
    loop {
        every.tick().await;
        let today = schedule::today(&program, SystemClock.now());
        match tick(store.clone(), program.clone(), today).await {
            Ok(report) => {
                if !report.days.is_empty() {
                    info!(
                        days = report.days.len(),
                        events = report.events(),
                        watermark = ?report.watermark,
                        "daily job ran"
                    );
                }
                if report.lag_days() > 2 {
                    warn!(lag_days = report.lag_days(), "the daily job is behind");
                }
            }
            Err(e) => error!(error = %e, "the daily job failed; retrying at the next tick"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot listen: {0}")]
    Listen(#[source] std::io::Error),
}

/// The webhook secrets, as the functions take them. A provider left `None` is not
/// configured: its route answers 503 `not_configured`.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// From `STRIPE_WEBHOOK_SECRET` (comma-separated during a rotation).
    pub stripe: Option<Verifier>,
    /// From `CHARGEBEE_WEBHOOK_USERNAME` and `CHARGEBEE_WEBHOOK_PASSWORD`.
    pub chargebee: Option<BasicAuth>,
}

/// The local runner: every route of the application crate's routers, merged, over one store
/// shared by the read routes, `POST /events` and the webhooks (whose sink is an earner too:
/// an accepted webhook is applied at once).
#[derive(Debug, Clone)]
pub struct Runner {
    router: Router,
    configured: (bool, bool),
}

impl Runner {
    /// The runner without webhooks (both webhook routes answer `not_configured`).
    pub fn new(program: Program) -> Self {
        Self::with_webhooks(program, WebhookSecrets::default())
    }

    /// The runner with the webhooks whose secrets are given, without a Stripe API client.
    pub fn with_webhooks(program: Program, secrets: WebhookSecrets) -> Self {
        Self::with_webhooks_and_stripe_api(program, secrets, None)
    }

    /// The runner with the webhooks whose secrets are given; `stripe_api` (from
    /// `STRIPE_API_KEY`) looks up the invoice of refunds that name only their PaymentIntent.
    /// Everything is kept in memory ([`EmbeddedStore`]).
    pub fn with_webhooks_and_stripe_api(
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self {
        Self::with_store(Arc::new(EmbeddedStore::new()), program, secrets, stripe_api)
    }

    /// The runner over `store`, whichever store it is.
    pub fn with_store<S>(
        store: Arc<S>,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self
    where
        S: StateStore + HistoryStore + 'static,
    {
        let program = Arc::new(program);
        let earner = || Earner::new(store.clone(), program.clone());
        let referral_key = program.referral_key.clone();
        let configured = (secrets.stripe.is_some(), secrets.chargebee.is_some());
        let stripe = match secrets.stripe {
            Some(verifier) => router::stripe_webhook(
                StripeWebhook::new(verifier, earner(), SystemClock, referral_key.clone())
                    .with_lookup(stripe_api),
            ),
            None => router::stripe_webhook_not_configured(),
        };
        let chargebee = match secrets.chargebee {
            Some(auth) => {
                router::chargebee_webhook(ChargebeeWebhook::new(auth, earner(), referral_key))
            }
            None => router::chargebee_webhook_not_configured(),
        };
        let routes = router::events(earner())
            .merge(router::customers(
                store.clone(),
                SystemClock,
                program.clone(),
            ))
            .merge(stripe)
            .merge(chargebee);
        Self {
            router: router::with_not_found(routes),
            configured,
        }
    }

    /// Which webhook routes have their secrets: (stripe, chargebee).
    pub fn webhooks_configured(&self) -> (bool, bool) {
        self.configured
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves until the process is stopped.
    pub async fn serve(self, listener: TcpListener) -> Result<(), RunnerError> {
        axum::serve(listener, self.router)
            .with_graceful_shutdown(async {
                // If the signal handler cannot be installed, run until killed.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
            .map_err(RunnerError::Listen)
    }
}
