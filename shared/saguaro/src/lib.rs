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
//! A client cannot hold a connection (or its buffered body) for long ([`Timeouts`]): hyper
//! closes a connection whose request headers are not in within [`HEADER_TIMEOUT`] of its
//! waiting for them (new, or idle between requests: the idle keep-alive timeout is the
//! same), and tower-http answers 408 `request_timeout` to a request not read and answered
//! within [`REQUEST_TIMEOUT`], dropping what it had buffered. SIGINT or SIGTERM stops
//! accepting, lets the requests in flight finish and closes idle connections, and stops
//! after [`SHUTDOWN_GRACE`] at the latest, whatever stalled clients remain.
//!
//! A webhook delivery that can never be applied is acknowledged and parked in the rejected
//! list (`GET /rejected`; `rejected.jsonl` in the data directory, read by `saguaro
//! rejected`), in memory with `--memory`.
//! The daily job ([`saguaro_app::schedule`]) runs here too: [`tick`] runs it once (`saguaro
//! tick`), its events applied through the same [`Earner`] in process; [`tick_hourly`] runs it
//! at start and every hour while `saguaro serve` is up.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use saguaro_app::Earner;
use saguaro_app::http::ErrorCode;
use saguaro_app::ports::{Clock, HistoryStore, ScheduleStore, StateStore, SystemClock};
use saguaro_app::rejected::{RejectedEvents, RejectedMemory};
use saguaro_app::router;
use saguaro_app::schedule::{self, RunReport, ScheduleError};
use saguaro_app::webhooks::{ChargebeeWebhook, StripeWebhook};
use saguaro_domain::Program;
use saguaro_domain::links::InvoiceLinkStore;
use saguaro_embedded::EmbeddedStore;
use saguaro_providers::chargebee::BasicAuth;
use saguaro_providers::stripe::Verifier;
use saguaro_stripe_api::StripeApi;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tracing::{debug, error, info, warn};

pub mod backfill;
pub mod export;
pub mod fulfil;
pub mod import;
pub mod simulate;
mod store;
pub use store::LocalStore;

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
    /// The reward delivery settings in the environment are invalid.
    #[error("{0}")]
    Config(String),
}

/// How long a connection may wait for its request headers (from its opening, or from the
/// previous answer: this is also how long an idle keep-alive connection is kept).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take from its headers to its answer: the body must be in by
/// then (a local event is applied in milliseconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// After SIGINT or SIGTERM, how long the requests in flight have to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The runner's timeouts; [`Default`] is the constants above, `saguaro serve` takes others
/// from `--header-timeout-ms`, `--request-timeout-ms` and `--shutdown-grace-ms` (tests
/// shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub headers: Duration,
    pub request: Duration,
    pub shutdown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            headers: HEADER_TIMEOUT,
            request: REQUEST_TIMEOUT,
            shutdown: SHUTDOWN_GRACE,
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM. A handler that cannot be installed
/// never resolves (the process then runs until killed).
pub async fn stop_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// tower-http's timeout answers 408 with an empty body: ours says `request_timeout`.
async fn timeout_answer(res: Response) -> Response {
    if res.status() == http::StatusCode::REQUEST_TIMEOUT {
        ErrorCode::RequestTimeout.into_response()
    } else {
        res
    }
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

    /// The runner over `store`, whichever store it is, with its rejected list in memory.
    pub fn with_store<S>(
        store: Arc<S>,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self
    where
        S: StateStore + HistoryStore + InvoiceLinkStore + 'static,
    {
        let rejected = Arc::new(RejectedMemory::default());
        Self::with_store_and_rejected(store, rejected, program, secrets, stripe_api)
    }

    /// The runner over `store`, parking the webhook deliveries it can never apply in
    /// `rejected` (served at `GET /rejected`).
    pub fn with_store_and_rejected<S>(
        store: Arc<S>,
        rejected: Arc<dyn RejectedEvents>,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self
    where
        S: StateStore + HistoryStore + InvoiceLinkStore + 'static,
    {
        Self::build(store, rejected, program, secrets, stripe_api, None)
    }

    fn build<S>(
        store: Arc<S>,
        rejected: Arc<dyn RejectedEvents>,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
        waiting: Option<saguaro_app::http::WaitingReason>,
    ) -> Self
    where
        S: StateStore + HistoryStore + InvoiceLinkStore + 'static,
    {
        let program = Arc::new(program);
        let earner = || Earner::new(store.clone(), program.clone());
        let referral_key = program.referral_key.clone();
        let configured = (secrets.stripe.is_some(), secrets.chargebee.is_some());
        let stripe = match secrets.stripe {
            Some(verifier) => router::stripe_webhook(
                StripeWebhook::new(verifier, earner(), SystemClock, referral_key.clone())
                    .with_lookup(stripe_api)
                    .with_links(store.clone())
                    .with_rejected(rejected.clone()),
            ),
            None => router::stripe_webhook_not_configured(),
        };
        let chargebee = match secrets.chargebee {
            Some(auth) => router::chargebee_webhook(
                ChargebeeWebhook::new(auth, earner(), referral_key).with_rejected(rejected.clone()),
            ),
            None => router::chargebee_webhook_not_configured(),
        };
        let reads = match waiting {
            Some(waiting) => {
                router::customers_with_waiting(store.clone(), SystemClock, program.clone(), waiting)
            }
            None => router::customers(store.clone(), SystemClock, program.clone()),
        };
        let routes = router::events(earner())
            .merge(router::adjustments(earner(), SystemClock))
            .merge(reads)
            .merge(stripe)
            .merge(chargebee)
            .merge(router::rejected(rejected));
        Self {
            router: router::with_not_found(routes),
            configured,
        }
    }

    /// The runner over `store`, delivering every reward it commits in-process through
    /// `deliveries` (see [`fulfil`]), with a sweep. Call it inside the Tokio runtime.
    pub fn with_store_and_delivery<S>(
        store: Arc<S>,
        rejected: Arc<dyn RejectedEvents>,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
        deliveries: saguaro_app::fulfil::Deliveries,
    ) -> Self
    where
        S: StateStore
            + HistoryStore
            + saguaro_domain::ports::RewardStore
            + InvoiceLinkStore
            + 'static,
    {
        let (store, waiting) = fulfil::start(store, deliveries, Arc::new(SystemClock), &program);
        Self::build(store, rejected, program, secrets, stripe_api, Some(waiting))
    }

    /// Which webhook routes have their secrets: (stripe, chargebee).
    pub fn webhooks_configured(&self) -> (bool, bool) {
        self.configured
    }

    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves with the default [`Timeouts`] until SIGINT or SIGTERM ([`stop_signal`]).
    pub async fn serve(self, listener: TcpListener) -> Result<(), RunnerError> {
        self.serve_until(listener, Timeouts::default(), stop_signal())
            .await
    }

    /// Serves HTTP/1.1 with `timeouts` until `stop` resolves; then stops accepting, lets the
    /// requests in flight finish (idle connections are closed at once) and returns when
    /// they have, or after `timeouts.shutdown` with whatever connections remain dropped.
    pub async fn serve_until(
        self,
        listener: TcpListener,
        timeouts: Timeouts,
        stop: impl Future<Output = ()>,
    ) -> Result<(), RunnerError> {
        let app = self
            .router
            .layer(TimeoutLayer::with_status_code(
                http::StatusCode::REQUEST_TIMEOUT,
                timeouts.request,
            ))
            .layer(axum::middleware::map_response(timeout_answer));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(timeouts.headers);
        let graceful = GracefulShutdown::new();
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of file descriptors, for instance: wait, do not spin.
                            warn!(error = %e, "cannot accept a connection");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let service = TowerToHyperService::new(app.clone());
                    let connection =
                        graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            debug!(error = %e, "connection closed");
                        }
                    });
                }
                () = &mut stop => break,
            }
        }
        drop(listener);
        info!("stopping: finishing the requests in flight");
        tokio::select! {
            () = graceful.shutdown() => info!("stopped"),
            () = tokio::time::sleep(timeouts.shutdown) => warn!(
                grace_ms = u64::try_from(timeouts.shutdown.as_millis()).unwrap_or(u64::MAX),
                "stopped with connections still open: they are dropped"
            ),
        }
        Ok(())
    }
}

/// A program file `check` or `serve` cannot use, said as a compiler says it
/// (`FILE: line N: ...`), with the cause on the same line: a terminal has no log to look in.
pub fn program_error(e: &saguaro_app::config::ConfigError) -> String {
    match e {
        saguaro_app::config::ConfigError::ReadProgram { path, source, .. } => {
            format!("cannot read {}: {source}", path.display())
        }
        saguaro_app::config::ConfigError::Program { path, source } => {
            format!("{}: {source}", path.display())
        }
        other => other.to_string(),
    }
}
