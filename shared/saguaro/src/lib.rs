//! The local runner: Saguaro's routes on a laptop. The same application code as the Lambda
//! functions; only the adapters differ (the store is a local one, [`LocalStore`]: SQLite in
//! a data directory or in memory, and accepted events are applied at once instead of being
//! queued).
//!
//! The webhook routes (`POST /webhooks/stripe`, `POST /webhooks/chargebee`) are served when
//! their secrets are given ([`WebhookSecrets`], read from the environment by `main.rs`);
//! without them the route answers 503 `{"error":"not_configured"}`. With a Stripe API client
//! ([`Runner::with_webhooks_and_stripe_api`], from `STRIPE_API_KEY`) the Stripe route links
//! basil+ refunds to their invoices; without one they are submitted unlinked.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use saguaro_app::Earner;
use saguaro_app::http::{Api, MAX_BODY_BYTES, error_response};
use saguaro_app::webhooks::{ChargebeeWebhook, StripeWebhook};
use saguaro_domain::ports::SystemClock;
use saguaro_domain::{Program, ProgramError};
use saguaro_providers::chargebee::BasicAuth;
use saguaro_providers::stripe::Verifier;
use saguaro_stripe_api::StripeApi;
use tokio::net::TcpListener;

mod store;
pub use store::LocalStore;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Program {
        path: String,
        #[source]
        source: ProgramError,
    },
    #[error("cannot listen: {0}")]
    Listen(#[source] std::io::Error),
}

/// Reads and validates a program file; the error names the file, the line and the key.
pub fn load_program(path: &Path) -> Result<Program, RunnerError> {
    let shown = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|source| RunnerError::Read {
        path: shown.clone(),
        source,
    })?;
    Program::parse(&source).map_err(|source| RunnerError::Program {
        path: shown,
        source,
    })
}

type LocalApi = Api<Arc<LocalStore>, Earner<Arc<LocalStore>>, SystemClock>;
type LocalStripe = StripeWebhook<Earner<Arc<LocalStore>>, SystemClock, Option<StripeApi>>;
type LocalChargebee = ChargebeeWebhook<Earner<Arc<LocalStore>>>;

/// The webhook secrets, as the functions take them. A provider left `None` is not
/// configured: its route answers 503 `not_configured`.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// From `STRIPE_WEBHOOK_SECRET` (comma-separated during a rotation).
    pub stripe: Option<Verifier>,
    /// From `CHARGEBEE_WEBHOOK_USERNAME` and `CHARGEBEE_WEBHOOK_PASSWORD`.
    pub chargebee: Option<BasicAuth>,
}

/// Every route, over one store.
#[derive(Debug)]
struct Routes {
    api: LocalApi,
    stripe: Option<LocalStripe>,
    chargebee: Option<LocalChargebee>,
}

/// The local runner's state: one store shared by the read routes, the earner and
/// the webhooks (whose sink is an earner too: an accepted webhook is applied at once).
#[derive(Debug, Clone)]
pub struct Runner {
    routes: Arc<Routes>,
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
    /// In memory: see [`Runner::with_store`] for another store.
    pub fn with_webhooks_and_stripe_api(
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self {
        Self::with_store(LocalStore::memory(), program, secrets, stripe_api)
    }

    /// The runner on `store` (`saguaro serve`: SQLite in the data directory by default).
    pub fn with_store(
        store: LocalStore,
        program: Program,
        secrets: WebhookSecrets,
        stripe_api: Option<StripeApi>,
    ) -> Self {
        let program = Arc::new(program);
        let store = Arc::new(store);
        let earner = || Earner::new(store.clone(), program.clone());
        let referral_key = program.referral_key.clone();
        let stripe = secrets.stripe.map(|v| {
            StripeWebhook::new(v, earner(), SystemClock, referral_key.clone())
                .with_lookup(stripe_api)
        });
        let chargebee = secrets
            .chargebee
            .map(|a| ChargebeeWebhook::new(a, earner(), referral_key.clone()));
        let api = Api::new(store.clone(), earner(), SystemClock, program.clone());
        Self {
            routes: Arc::new(Routes {
                api,
                stripe,
                chargebee,
            }),
        }
    }

    /// Which webhook routes have their secrets: (stripe, chargebee).
    pub fn webhooks_configured(&self) -> (bool, bool) {
        (
            self.routes.stripe.is_some(),
            self.routes.chargebee.is_some(),
        )
    }

    pub fn router(&self) -> Router {
        Router::new()
            .fallback(handle)
            .with_state(self.routes.clone())
    }

    /// Serves until the process is stopped.
    pub async fn serve(self, listener: TcpListener) -> Result<(), RunnerError> {
        axum::serve(listener, self.router())
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

async fn handle(State(routes): State<Arc<Routes>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Read one byte past the limit, so that an oversized body is told from a full one.
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => {
            return to_axum(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ));
        }
    };
    let req = http::Request::from_parts(parts, bytes);
    let path = req.uri().path().trim_end_matches('/');
    let res = match (path, req.method() == http::Method::POST) {
        ("/webhooks/stripe", true) => match &routes.stripe {
            Some(hook) => hook.handle(req).await,
            None => not_configured(),
        },
        ("/webhooks/chargebee", true) => match &routes.chargebee {
            Some(hook) => hook.handle(req).await,
            None => not_configured(),
        },
        ("/webhooks/stripe" | "/webhooks/chargebee", false) => {
            error_response(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        }
        _ => routes.api.handle(req).await,
    };
    to_axum(res)
}

fn not_configured() -> http::Response<Bytes> {
    error_response(StatusCode::SERVICE_UNAVAILABLE, "not_configured")
}

fn to_axum(res: http::Response<Bytes>) -> Response {
    let (parts, body) = res.into_parts();
    http::Response::from_parts(parts, Body::from(body)).into_response()
}
