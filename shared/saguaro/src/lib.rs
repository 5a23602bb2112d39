//! The local runner: Saguaro's routes on a laptop, with the embedded store. The same
//! application code as the Lambda functions; only the adapters differ (the store is in
//! memory, and accepted events are applied at once instead of being queued).

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
use saguaro_domain::ports::SystemClock;
use saguaro_domain::{Program, ProgramError};
use saguaro_embedded::EmbeddedStore;
use tokio::net::TcpListener;

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

type LocalApi = Api<Arc<EmbeddedStore>, Earner<Arc<EmbeddedStore>>, SystemClock>;

/// The local runner's state: one embedded store shared by the read routes and the earner.
#[derive(Debug, Clone)]
pub struct Runner {
    api: Arc<LocalApi>,
    store: Arc<EmbeddedStore>,
}

impl Runner {
    pub fn new(program: Program) -> Self {
        let program = Arc::new(program);
        let store = Arc::new(EmbeddedStore::new());
        let earner = Earner::new(store.clone(), program.clone());
        let api = Api::new(store.clone(), earner, SystemClock, program);
        Self {
            api: Arc::new(api),
            store,
        }
    }

    pub fn store(&self) -> &Arc<EmbeddedStore> {
        &self.store
    }

    pub fn router(&self) -> Router {
        Router::new().fallback(handle).with_state(self.api.clone())
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

async fn handle(State(api): State<Arc<LocalApi>>, req: Request) -> Response {
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
    let res = api.handle(http::Request::from_parts(parts, bytes)).await;
    to_axum(res)
}

fn to_axum(res: http::Response<Bytes>) -> Response {
    let (parts, body) = res.into_parts();
    http::Response::from_parts(parts, Body::from(body)).into_response()
}
