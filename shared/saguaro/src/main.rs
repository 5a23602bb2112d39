//! `saguaro serve` and `saguaro check`: wiring only.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod batch;

use batch::{ExportFormat, ExportWhat, ImportProvider, backfill, export, import};
use clap::{Parser, Subcommand};
use std::sync::Arc;

use saguaro::{LocalStore, Runner, Timeouts, WebhookSecrets, program_error};
use saguaro_app::config::{
    CHARGEBEE_WEBHOOK_PASSWORD, CHARGEBEE_WEBHOOK_USERNAME, ConfigError, Env, STRIPE_API_KEY,
    STRIPE_WEBHOOK_SECRET, load_program, unless_missing,
};
use saguaro_app::rejected::{REJECTED_FILE, RejectedEvents, RejectedFile, RejectedMemory};
use saguaro_domain::secret::Secret;
use saguaro_stripe_api::StripeApi;
use tracing::warn;
use tracing_subscriber::EnvFilter;

/// What `serve` reads from the environment: the same variables as the Lambda functions.
/// A provider whose variables are unset is left unconfigured (its route answers 503), and
/// without `STRIPE_API_KEY` basil+ refunds are not linked to their invoices; a variable that
/// is set but unreadable is an error.
#[derive(Debug)]
struct ServeEnv {
    secrets: WebhookSecrets,
    stripe_api_key: Option<Secret>,
}

impl ServeEnv {
    fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            secrets: WebhookSecrets {
                stripe: unless_missing(env.stripe_verifier())?,
                chargebee: unless_missing(env.chargebee_auth())?,
            },
            stripe_api_key: env.stripe_api_key()?,
        })
    }

    /// Once listening (the first line on stdout says where), what is not configured.
    fn warn_unconfigured(&self) {
        if self.secrets.stripe.is_none() {
            warn!(
                "{STRIPE_WEBHOOK_SECRET} is not set: POST /webhooks/stripe answers 503 not_configured"
            );
        }
        if self.secrets.chargebee.is_none() {
            warn!(
                "{CHARGEBEE_WEBHOOK_USERNAME} and {CHARGEBEE_WEBHOOK_PASSWORD} are not both set: POST /webhooks/chargebee answers 503 not_configured"
            );
        }
        if self.stripe_api_key.is_none() {
            warn!(
                "{STRIPE_API_KEY} is not set: refunds on basil+ Stripe API versions cannot be linked to their invoices and reverse no points"
            );
        }
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
        /// Close a connection whose request headers are not in within MS of its waiting
        /// for them (also the idle keep-alive timeout).
        #[arg(long, value_name = "MS", default_value_t = millis(saguaro::HEADER_TIMEOUT))]
        header_timeout_ms: u64,
        /// Answer 408 to a request not read and answered within MS of its headers.
        #[arg(long, value_name = "MS", default_value_t = millis(saguaro::REQUEST_TIMEOUT))]
        request_timeout_ms: u64,
        /// On SIGINT or SIGTERM, give the requests in flight MS to finish.
        #[arg(long, value_name = "MS", default_value_t = millis(saguaro::SHUTDOWN_GRACE))]
        shutdown_grace_ms: u64,
    },
    /// Validate a program file without running anything.
    Check { file: PathBuf },
    /// Apply a history of events to a program, as production would, and report what it
    /// would have done: points per month, tiers, rewards and their cost, liability.
    Simulate {
        /// The program file.
        #[arg(long)]
        program: PathBuf,
        /// The history: events in the POST /events format, one JSON object a line, any order.
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// A second program to run on the same history, reported side by side.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
        /// The last day simulated (program timezone); later events are not applied.
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<jiff::civil::Date>,
        /// Write the summary and every customer's final balance, qualifying points and tier.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write a self-contained HTML report (charts as inline SVG, tables below).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Apply a history (POST /events lines, any order) to the local store, or put it on the
    /// deployed stack's earn queue, in order per customer; idempotent, and resumed by running
    /// it again after an interruption.
    Backfill {
        /// The program file.
        #[arg(long, default_value = "infra/program.example.toml")]
        program: PathBuf,
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Data directory (as for `serve`).
        #[arg(long, value_name = "DIR", default_value = "saguaro-data")]
        data: PathBuf,
        /// The deployed earn queue (the stack's `EarnQueueUrl` output) instead of the local
        /// store; AWS credentials and region from the environment, as for the AWS CLI.
        #[arg(long, value_name = "URL", conflicts_with = "data")]
        queue_url: Option<String>,
    },
    /// Write the local store's (or the deployed table's) ledgers or balances to stdout (CSV
    /// or JSON lines), with the totals and the liability on stderr.
    Export {
        #[arg(value_enum)]
        what: ExportWhat,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// The program file (tier window, billing credit rates).
        #[arg(long, default_value = "infra/program.example.toml")]
        program: PathBuf,
        /// Data directory (as for `serve`).
        #[arg(long, value_name = "DIR", default_value = "saguaro-data")]
        data: PathBuf,
        /// The deployed stack's DynamoDB table (its `TableName` output) instead of the data
        /// directory; AWS credentials and region from the environment. Reads the whole table.
        #[arg(long, value_name = "NAME", conflicts_with = "data")]
        table: Option<String>,
    },
    /// Write a provider's history (subscriptions, payments, refunds since DATE) to stdout as
    /// events in the POST /events format, one a line, for `simulate`.
    Import {
        #[command(subcommand)]
        provider: ImportProvider,
    },
    /// Prints the webhook deliveries `saguaro serve` parked because they can never be applied
    /// (newest first, one JSON object a line), from the data directory's `rejected.jsonl`.
    Rejected {
        #[arg(long, value_name = "DIR", default_value = "saguaro-data")]
        data: PathBuf,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Run the daily job once (anniversaries, expiry, promotion grants) on the data
    /// directory: every day since the last one completed, up to DATE, applied at once.
    Tick {
        /// The program file.
        #[arg(long, default_value = "infra/program.example.toml")]
        program: PathBuf,
        /// Data directory (as for `serve`).
        #[arg(long, value_name = "DIR", default_value = "saguaro-data")]
        data: PathBuf,
        /// The last day to process, YYYY-MM-DD in the program timezone (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<jiff::civil::Date>,
    },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Batch commands log nothing unless `RUST_LOG` asks (a history can hold thousands of
/// refunds of unknown payments, each worth a warning on a live system, not here).
fn init_logs_if_asked() {
    if let Ok(filter) = EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(filter)
            .init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Backfill {
            program,
            events,
            data,
            queue_url,
        } => {
            init_logs_if_asked();
            backfill(&program, &events, &data, queue_url)
        }
        Command::Export {
            what,
            format,
            program,
            data,
            table,
        } => export(what, format, &program, &data, table),
        Command::Import { provider } => {
            init_logs_if_asked();
            import(provider)
        }
        Command::Simulate {
            program,
            events,
            compare,
            until,
            json,
            report,
        } => {
            init_logs_if_asked();
            let opts = saguaro::simulate::Options {
                program,
                events,
                compare,
                until,
                json,
                report,
            };
            match saguaro::simulate::execute(&opts) {
                Ok(outcome) => {
                    print!("{}", saguaro::simulate::text::outcome(&outcome));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}", saguaro::simulate::describe(&e));
                    ExitCode::FAILURE
                }
            }
        }
        Command::Rejected { data, limit } => match RejectedFile::in_dir(&data).newest(limit) {
            Ok(list) => {
                if list.is_empty() {
                    eprintln!(
                        "no rejected events in {}",
                        data.join(REJECTED_FILE).display()
                    );
                }
                for rejection in list {
                    // Plain data with string keys cannot fail to serialise.
                    println!("{}", serde_json::to_string(&rejection).unwrap_or_default());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                print_error(&e);
                ExitCode::FAILURE
            }
        },
        Command::Tick {
            program,
            data,
            date,
        } => run_tick(&program, &data, date),
        Command::Check { file } => match load_program(&file) {
            Ok(p) => {
                let notify = p.notify.as_ref().map_or_else(String::new, |n| {
                    let kinds: Vec<_> = n.kinds.iter().map(|k| k.as_str()).collect();
                    format!(", notifications ({}) to {}", kinds.join(", "), n.url)
                });
                println!(
                    "{}: ok: \"{}\" (version {}): {} earn rules, {} tiers, {} promotions, {} rewards{notify}",
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
                eprintln!("error: {}", program_error(&e));
                ExitCode::FAILURE
            }
        },
        Command::Serve {
            program,
            addr,
            data,
            memory,
            header_timeout_ms,
            request_timeout_ms,
            shutdown_grace_ms,
        } => {
            let timeouts = Timeouts {
                headers: Duration::from_millis(header_timeout_ms),
                request: Duration::from_millis(request_timeout_ms),
                shutdown: Duration::from_millis(shutdown_grace_ms),
            };
            tracing_subscriber::fmt()
                // Colours only for a person at a terminal: never escape codes in a file.
                .with_ansi(std::io::stdout().is_terminal())
                .with_env_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
                .init();
            let program = match load_program(&program) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {}", program_error(&e));
                    return ExitCode::FAILURE;
                }
            };
            let serve_env = match ServeEnv::read(&Env::process()) {
                Ok(read) => read,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let stripe_api = match serve_env
                .stripe_api_key
                .as_ref()
                .map(StripeApi::new)
                .transpose()
            {
                Ok(api) => api,
                Err(e) => {
                    let cause = std::error::Error::source(&e).map(ToString::to_string);
                    eprintln!("error: {e}: {}", cause.unwrap_or_default());
                    return ExitCode::FAILURE;
                }
            };
            // Opened before serving: a data directory that cannot be used stops the start.
            let rejected: Arc<dyn RejectedEvents> = if memory {
                Arc::new(RejectedMemory::default())
            } else {
                Arc::new(RejectedFile::in_dir(&data))
            };
            let store = if memory {
                LocalStore::memory()
            } else {
                match LocalStore::open_dir(&data) {
                    Ok(store) => store,
                    Err(e) => {
                        print_error(&e);
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
                serve_env.warn_unconfigured();
                let deliveries = saguaro::fulfil::deliveries_from_env(&Env::process())
                    .map_err(|e| saguaro::RunnerError::Config(e.to_string()))?;
                for (missing, why) in [
                    (deliveries.stripe.is_none(), &deliveries.stripe_missing),
                    (
                        deliveries.chargebee.is_none(),
                        &deliveries.chargebee_missing,
                    ),
                ] {
                    if missing {
                        warn!("{why}: that provider's rewards stay pending");
                    }
                }
                let store = Arc::new(store);
                tokio::spawn(saguaro::tick_hourly(
                    store.clone(),
                    Arc::new(program.clone()),
                ));
                Runner::with_store_and_delivery(
                    store,
                    rejected,
                    program,
                    serve_env.secrets,
                    stripe_api,
                    deliveries,
                )
                .serve_until(listener, timeouts, saguaro::stop_signal())
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

/// `saguaro tick`: one run of the daily job, a line per day completed.
fn run_tick(
    program: &std::path::Path,
    data: &std::path::Path,
    date: Option<jiff::civil::Date>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let program = match load_program(program) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("error: {}", program_error(&e));
            return ExitCode::FAILURE;
        }
    };
    let store = match LocalStore::open_dir(data) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            print_error(&e);
            return ExitCode::FAILURE;
        }
    };
    let today =
        date.unwrap_or_else(|| saguaro_app::schedule::today(&program, jiff::Timestamp::now()));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(saguaro::tick(store, program, today)) {
        Ok(report) => {
            for day in &report.days {
                println!(
                    "{}: {} expired, {} anniversaries, {} grants, {} refused",
                    day.day, day.expiries, day.anniversaries, day.grants, day.refused
                );
            }
            let watermark = report
                .watermark
                .map_or_else(|| "none".to_owned(), |d| d.to_string());
            let note = match report.stopped {
                Some(saguaro_app::schedule::Stop::DayLimit) => {
                    " (31 days done; run again to continue)"
                }
                Some(saguaro_app::schedule::Stop::Overtaken) => {
                    " (another run is processing these days)"
                }
                None => "",
            };
            println!(
                "done through {watermark}, {} days behind {today}{note}",
                report.lag_days()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// `error: {e}` on stderr, with its first cause when it has one.
fn print_error(e: &dyn std::error::Error) {
    match e.source() {
        Some(cause) => eprintln!("error: {e}: {cause}"),
        None => eprintln!("error: {e}"),
    }
}
