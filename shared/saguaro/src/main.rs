//! `saguaro serve` and `saguaro check`: wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use saguaro::{LocalStore, Runner, WebhookSecrets, load_program};
use saguaro_app::webhooks::stripe_verifier;
use saguaro_providers::chargebee::{BasicAuth, Password};
use saguaro_stripe_api::{ApiKey, StripeApi};
use tracing::warn;
use tracing_subscriber::EnvFilter;

/// The webhook secrets, from the same variables as the Lambda functions. A provider whose
/// variables are unset is left unconfigured, with a warning: its route answers 503.
fn webhook_secrets() -> WebhookSecrets {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let stripe = var("STRIPE_WEBHOOK_SECRET").and_then(|v| stripe_verifier(&v));
    if stripe.is_none() {
        warn!("STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe answers 503 not_configured");
    }
    let chargebee = match (
        var("CHARGEBEE_WEBHOOK_USERNAME"),
        var("CHARGEBEE_WEBHOOK_PASSWORD"),
    ) {
        (Some(user), Some(password)) => Some(BasicAuth::new(user, &Password::new(password))),
        _ => {
            warn!(
                "CHARGEBEE_WEBHOOK_USERNAME and CHARGEBEE_WEBHOOK_PASSWORD are not both set: POST /webhooks/chargebee answers 503 not_configured"
            );
            None
        }
    };
    WebhookSecrets { stripe, chargebee }
}

/// The Stripe API client, from `STRIPE_API_KEY` (the same variable as the `stripe-webhook`
/// function). Unset: `None` (warned about once serving), and basil+ refunds are not linked
/// to their invoices.
fn stripe_api() -> Result<Option<StripeApi>, saguaro_stripe_api::BuildError> {
    match std::env::var("STRIPE_API_KEY")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(key) => StripeApi::new(&ApiKey::new(key)).map(Some),
        None => Ok(None),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "saguaro",
    version,
    about = "Saguaro loyalty engine: the local runner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP routes, keeping the data in a directory (or in memory).
    Serve {
        /// The program file.
        #[arg(long, default_value = "infra/program.example.toml")]
        program: PathBuf,
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Data directory: balances, ledger, rewards and "already applied" markers persist
        /// in DIR/saguaro.sqlite3 across restarts and crashes (created if missing).
        #[arg(long, value_name = "DIR", default_value = "saguaro-data")]
        data: PathBuf,
        /// Keep everything in memory instead: a restart starts afresh.
        #[arg(long, conflicts_with = "data")]
        memory: bool,
    },
    /// Validate a program file without running anything.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file } => match load_program(&file) {
            Ok(p) => {
                println!(
                    "{}: ok: \"{}\" (version {}): {} earn rules, {} tiers, {} promotions, {} rewards",
                    file.display(),
                    p.name,
                    p.version,
                    p.earn.len(),
                    p.tiers.len(),
                    p.promotions.len(),
                    p.rewards.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve {
            program,
            addr,
            data,
            memory,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
                .init();
            let program = match load_program(&program) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let stripe_api = match stripe_api() {
                Ok(api) => api,
                Err(e) => {
                    let cause = std::error::Error::source(&e).map(ToString::to_string);
                    eprintln!("error: {e}: {}", cause.unwrap_or_default());
                    return ExitCode::FAILURE;
                }
            };
            // Opened before serving: a data directory that cannot be used stops the start.
            let store = if memory {
                LocalStore::memory()
            } else {
                match LocalStore::open_dir(&data) {
                    Ok(store) => store,
                    Err(e) => {
                        match std::error::Error::source(&e) {
                            Some(cause) => eprintln!("error: {e}: {cause}"),
                            None => eprintln!("error: {e}"),
                        }
                        return ExitCode::FAILURE;
                    }
                }
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(saguaro::RunnerError::Listen)?;
                let local = listener
                    .local_addr()
                    .map_err(saguaro::RunnerError::Listen)?;
                println!(
                    "saguaro listening on http://{local} (program \"{}\", version {})",
                    program.name, program.version
                );
                println!("data: {}", store.describe());
                if stripe_api.is_none() {
                    warn!(
                        "STRIPE_API_KEY is not set: refunds on basil+ Stripe API versions cannot be linked to their invoices and reverse no points"
                    );
                }
                Runner::with_store(store, program, webhook_secrets(), stripe_api)
                    .serve(listener)
                    .await
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
