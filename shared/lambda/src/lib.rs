//! What Saguaro's Lambda functions share at start-up, so that each function's `main.rs` only
//! wires: [`logs`], JSON log lines for CloudWatch; [`secrets`], the SSM SecureStrings the
//! template names, read once at cold start; and the program file bundled at build time
//! ([`BUNDLED_PROGRAM`], from `program.toml` at the workspace root: `build.rs`). [`env`]
//! puts them together: the environment every function's configuration reads.
//!
//! Their HTTP edge needs nothing here: the webhook functions hand the application crate's axum
//! router to `lambda_http::run`. The variables and the program-file loader are in
//! `saguaro_app::config`, which the local runner reads too (and it must not depend on Lambda
//! crates).

pub mod logs;
pub mod secrets;

use saguaro_app::config::Env;

pub use secrets::SecretsError;

include!(concat!(env!("OUT_DIR"), "/bundled_program.rs"));

/// The process environment with the function's SSM secrets laid over it and the bundled
/// program: what `main.rs` hands its `Config::from_env`. Reads SSM only when the template
/// names parameters.
pub async fn env(aws: &aws_config::SdkConfig) -> Result<Env, SecretsError> {
    let names = secrets::SecretNames::from_process()?;
    let env = Env::process().with_bundled_program(BUNDLED_PROGRAM);
    if names.is_empty() {
        return Ok(env);
    }
    let client = aws_sdk_ssm::Client::new(aws);
    let secrets::Secrets(values) = secrets::load(&client, &names).await?;
    Ok(env.with_values(values))
}
