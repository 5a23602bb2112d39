//! The batch commands of `saguaro`: `export`, `import` and `backfill` (to the local store or
//! the deployed earn queue), each from its parsed arguments to an exit code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use saguaro::{LocalStore, program_error};
use saguaro_app::config::{STRIPE_API_KEY, load_program};

use crate::print_error;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExportWhat {
    Ledger,
    Balances,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    Csv,
    Jsonl,
}

pub(crate) fn export(
    what: ExportWhat,
    format: ExportFormat,
    program: &std::path::Path,
    data: &std::path::Path,
    table: Option<String>,
) -> ExitCode {
    use saguaro::export::{Format, What};
    let Some(program) = program_at(program) else {
        return ExitCode::FAILURE;
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let what = match what {
        ExportWhat::Ledger => What::Ledger,
        ExportWhat::Balances => What::Balances,
    };
    let format = match format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Jsonl => Format::Jsonl,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = runtime.block_on(async {
        let source = match table {
            Some(table) => {
                let aws = aws_config::load_from_env().await;
                saguaro::export::Source::Table {
                    client: aws_sdk_dynamodb::Client::new(&aws),
                    table,
                }
            }
            None => saguaro::export::Source::Dir(data),
        };
        let now = jiff::Timestamp::now();
        saguaro::export::export(source, &program, what, format, now, &mut out).await
    });
    match result.and_then(|t| {
        std::io::Write::flush(&mut out)
            .map(|()| t)
            .map_err(Into::into)
    }) {
        Ok(totals) => {
            eprintln!("{}", totals.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", saguaro::simulate::run::chain(&e));
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportProvider {
    /// Stripe (STRIPE_API_KEY; STRIPE_API_BASE_URL to use another server).
    Stripe {
        /// The first day to read (UTC midnight).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: jiff::civil::Date,
        /// The program's `referral_key` (metadata naming the referrer).
        #[arg(long, value_name = "KEY")]
        referral_key: Option<String>,
    },
    /// Chargebee (CHARGEBEE_SITE and CHARGEBEE_API_KEY; CHARGEBEE_API_BASE_URL to use
    /// another server).
    Chargebee {
        /// The first day to read (UTC midnight).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: jiff::civil::Date,
        /// The program's `referral_key` (the custom field `cf_<key>` naming the referrer).
        #[arg(long, value_name = "KEY")]
        referral_key: Option<String>,
    },
}

pub(crate) fn utc_midnight(d: jiff::civil::Date) -> jiff::Timestamp {
    d.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

pub(crate) fn import(provider: ImportProvider) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = runtime.block_on(async {
        match provider {
            ImportProvider::Stripe {
                since,
                referral_key,
            } => {
                let key = std::env::var(STRIPE_API_KEY)
                    .map_err(|_| saguaro::import::ImportError::Missing(STRIPE_API_KEY))?;
                let base = std::env::var("STRIPE_API_BASE_URL")
                    .unwrap_or_else(|_| saguaro::import::stripe::DEFAULT_BASE_URL.to_owned());
                let mut api = saguaro::import::stripe::fetcher(&base, &key)?;
                let since = since
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .map(|z| z.timestamp())
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let bar = saguaro::import::spinner("stripe");
                let report = saguaro::import::stripe::import(
                    &mut api,
                    since,
                    referral_key.as_deref(),
                    &mut out,
                    &bar,
                )
                .await;
                bar.finish_and_clear();
                report
            }
            ImportProvider::Chargebee {
                since,
                referral_key,
            } => {
                let env = |name: &'static str| {
                    std::env::var(name).map_err(|_| saguaro::import::ImportError::Missing(name))
                };
                let key = env("CHARGEBEE_API_KEY")?;
                let base = match std::env::var("CHARGEBEE_API_BASE_URL") {
                    Ok(base) => base,
                    Err(_) => format!("https://{}.chargebee.com", env("CHARGEBEE_SITE")?),
                };
                let mut api = saguaro::import::chargebee::fetcher(&base, &key)?;
                let bar = saguaro::import::spinner("chargebee");
                let report = saguaro::import::chargebee::import(
                    &mut api,
                    utc_midnight(since),
                    referral_key.as_deref(),
                    &mut out,
                    &bar,
                )
                .await;
                bar.finish_and_clear();
                report
            }
        }
    });
    let flushed = std::io::Write::flush(&mut out);
    match (result, flushed) {
        (Ok(report), Ok(())) => {
            eprintln!("{}", report.describe());
            ExitCode::SUCCESS
        }
        (Err(e), _) => {
            eprintln!("error: {}", saguaro::simulate::run::chain(&e));
            ExitCode::FAILURE
        }
        (_, Err(e)) => {
            eprintln!("error: cannot write the history: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn backfill(
    program: &std::path::Path,
    events: &std::path::Path,
    data: &std::path::Path,
    queue_url: Option<String>,
) -> ExitCode {
    let Some(program) = program_at(program).map(Arc::new) else {
        return ExitCode::FAILURE;
    };
    let size = std::fs::metadata(events).map(|m| m.len()).unwrap_or(0);
    let reading = saguaro::simulate::bar(size, "reading  {bar:40.cyan/blue} {bytes}/{total_bytes}");
    let history = match saguaro::simulate::history::read(events, &|n| reading.inc(n)) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {}", saguaro::simulate::describe(&e.into()));
            return ExitCode::FAILURE;
        }
    };
    reading.finish_and_clear();
    if let Some(url) = queue_url {
        return backfill_queue(url, &history);
    }
    let store = match LocalStore::open_dir(data) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e);
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let bar = saguaro::simulate::bar(
        history.len() as u64,
        "backfill {bar:40.green/white} {pos}/{len} events ({per_sec}, {eta})",
    );
    let result = runtime.block_on(saguaro::backfill::backfill(store, program, &history, &bar));
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            println!("{}", report.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: {}: run the backfill again to resume",
                saguaro::simulate::describe(&e.into())
            );
            ExitCode::FAILURE
        }
    }
}

/// `saguaro backfill --queue-url`: the history onto the deployed earn queue.
pub(crate) fn backfill_queue(url: String, history: &[saguaro::simulate::HistoryEvent]) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let bar = saguaro::simulate::bar(
        history.len() as u64,
        "enqueue  {bar:40.green/white} {pos}/{len} events ({per_sec}, {eta})",
    );
    let result = runtime.block_on(async {
        let aws = aws_config::load_from_env().await;
        let queue = saguaro_sqs::SqsQueue::new(aws_sdk_sqs::Client::new(&aws), url);
        saguaro::backfill::queue::enqueue(&queue, history, &bar).await
    });
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            println!("{}", report.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&e);
            eprintln!("run the backfill again to resume");
            ExitCode::FAILURE
        }
    }
}

/// A current-thread runtime for one command; `None` (the error printed) if it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            None
        }
    }
}

/// The program file at `path`; `None` (its errors printed) if it cannot be used.
fn program_at(path: &std::path::Path) -> Option<saguaro_domain::Program> {
    match load_program(path) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("error: {}", program_error(&e));
            None
        }
    }
}
