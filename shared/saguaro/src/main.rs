//! `saguaro serve` and `saguaro check`: wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use saguaro::{Runner, load_program};
use tracing_subscriber::EnvFilter;

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
    /// Serve the HTTP routes with the embedded store.
    Serve {
        /// The program file.
        #[arg(long, default_value = "infra/program.example.toml")]
        program: PathBuf,
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
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
        Command::Serve { program, addr } => {
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
                Runner::new(program).serve(listener).await
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
