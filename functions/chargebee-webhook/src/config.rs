//! Typed configuration from the environment, read once by `main.rs`. A missing variable is
//! an error that names it, so a misconfigured deploy fails at its first cold start.

use std::path::PathBuf;

use saguaro_domain::{Program, ProgramError};
use saguaro_providers::chargebee::{BasicAuth, Password};

pub const EARN_QUEUE_URL: &str = "EARN_QUEUE_URL";
/// The HTTP Basic credentials set on the Chargebee webhook.
pub const CHARGEBEE_WEBHOOK_USERNAME: &str = "CHARGEBEE_WEBHOOK_USERNAME";
pub const CHARGEBEE_WEBHOOK_PASSWORD: &str = "CHARGEBEE_WEBHOOK_PASSWORD";
pub const SAGUARO_PROGRAM_FILE: &str = "SAGUARO_PROGRAM_FILE";
/// Where the program file is when `SAGUARO_PROGRAM_FILE` is unset (bundled with the code).
pub const DEFAULT_PROGRAM_FILE: &str = "program.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("cannot read the program file {path} ({SAGUARO_PROGRAM_FILE})")]
    ReadProgram {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid program file {path}")]
    Program {
        path: PathBuf,
        #[source]
        source: ProgramError,
    },
}

#[derive(Debug)]
pub struct Config {
    pub queue_url: String,
    /// The password never prints: `BasicAuth`'s `Debug` redacts it.
    pub auth: BasicAuth,
    /// The program's `referral_key`.
    pub referral_key: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name| lookup(name).filter(|v| !v.trim().is_empty());
        let queue_url = var(EARN_QUEUE_URL).ok_or(ConfigError::Missing(EARN_QUEUE_URL))?;
        let username = var(CHARGEBEE_WEBHOOK_USERNAME)
            .ok_or(ConfigError::Missing(CHARGEBEE_WEBHOOK_USERNAME))?;
        let password = var(CHARGEBEE_WEBHOOK_PASSWORD)
            .ok_or(ConfigError::Missing(CHARGEBEE_WEBHOOK_PASSWORD))?;
        let auth = BasicAuth::new(username, &Password::new(password));
        let path = PathBuf::from(
            var(SAGUARO_PROGRAM_FILE).unwrap_or_else(|| DEFAULT_PROGRAM_FILE.to_owned()),
        );
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadProgram {
            path: path.clone(),
            source,
        })?;
        let program =
            Program::parse(&text).map_err(|source| ConfigError::Program { path, source })?;
        Ok(Self {
            queue_url,
            auth,
            referral_key: program.referral_key,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn example_program() -> String {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/program.example.toml"
        )
        .to_owned()
    }

    fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn when_all_variables_are_set_then_config_has_queue_and_referral_key() {
        let config = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "https://sqs/earn.fifo".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
        ]))
        .unwrap();
        assert_eq!(config.queue_url, "https://sqs/earn.fifo");
        assert_eq!(config.referral_key.as_deref(), Some("referred_by"));
        assert!(!format!("{config:?}").contains("pa55word"));
    }

    #[test]
    fn when_a_variable_is_missing_then_the_error_names_it() {
        let err = Config::from_lookup(lookup(&[
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable EARN_QUEUE_URL is not set"
        );
        let err = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable CHARGEBEE_WEBHOOK_PASSWORD is not set"
        );
    }

    #[test]
    fn when_program_file_is_missing_then_read_error_names_the_path() {
        let err = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
            (SAGUARO_PROGRAM_FILE, "/nonexistent/program.toml".to_owned()),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/program.toml"));
    }
}
