//! Typed configuration from the environment, read once by `main.rs`. A missing variable is
//! an error that names it, so a misconfigured deploy fails at its first cold start.

use saguaro_lambda::config::Env;
pub use saguaro_lambda::config::{ConfigError, DEFAULT_PROGRAM_FILE, SAGUARO_PROGRAM_FILE};
use saguaro_providers::chargebee::{BasicAuth, Password};

pub const EARN_QUEUE_URL: &str = "EARN_QUEUE_URL";
/// The HTTP Basic credentials set on the Chargebee webhook.
pub const CHARGEBEE_WEBHOOK_USERNAME: &str = "CHARGEBEE_WEBHOOK_USERNAME";
pub const CHARGEBEE_WEBHOOK_PASSWORD: &str = "CHARGEBEE_WEBHOOK_PASSWORD";

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
        let env = Env::new(lookup);
        let queue_url = env.required(EARN_QUEUE_URL)?;
        let username = env.required(CHARGEBEE_WEBHOOK_USERNAME)?;
        let password = env.required(CHARGEBEE_WEBHOOK_PASSWORD)?;
        let auth = BasicAuth::new(username, &Password::new(password));
        let program = env.program()?;
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
    use saguaro_testkit::{env_lookup as lookup, example_program};

    use super::*;

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
