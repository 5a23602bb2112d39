//! What the `chargebee-webhook` function needs from the environment, read once by
//! `main.rs`: the earn queue, the webhook's Basic credentials and the program (for its
//! `referral_key`), all required. The variables themselves, and how each is read, are in
//! [`saguaro_app::config`].

use saguaro_app::config::{ConfigError, EARN_DLQ_URL, EARN_QUEUE_URL, Env};
use saguaro_providers::chargebee::BasicAuth;

#[derive(Debug)]
pub struct Config {
    pub queue_url: String,
    /// From `EARN_DLQ_URL`: where deliveries that can never be applied are parked.
    pub parking_url: Option<String>,
    /// The password never prints: `BasicAuth`'s `Debug` redacts it.
    pub auth: BasicAuth,
    /// The program's `referral_key`.
    pub referral_key: Option<String>,
}

impl Config {
    /// The configuration from `env` (the process environment, or a map in tests).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let queue_url = env.required(EARN_QUEUE_URL)?;
        let auth = env.chargebee_auth()?;
        let program = env.program()?;
        Ok(Self {
            queue_url,
            parking_url: env.optional(EARN_DLQ_URL)?,
            auth,
            referral_key: program.referral_key,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use saguaro_app::config::{
        CHARGEBEE_WEBHOOK_PASSWORD, CHARGEBEE_WEBHOOK_USERNAME, SAGUARO_PROGRAM_FILE,
    };
    use saguaro_testkit::{env_lookup, example_program};

    use super::*;

    fn from_vars(vars: &[(&str, String)]) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_lookup(env_lookup(vars)))
    }

    #[test]
    fn when_all_variables_are_set_then_config_has_queue_and_referral_key() {
        let config = from_vars(&[
            (EARN_QUEUE_URL, "https://sqs/earn.fifo".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
        ])
        .unwrap();
        assert_eq!(config.queue_url, "https://sqs/earn.fifo");
        assert_eq!(config.referral_key.as_deref(), Some("referred_by"));
        assert!(!format!("{config:?}").contains("pa55word"));
    }

    #[test]
    fn when_a_variable_is_missing_then_the_error_names_it() {
        let err = from_vars(&[
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable EARN_QUEUE_URL is not set"
        );
        let err = from_vars(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable CHARGEBEE_WEBHOOK_PASSWORD is not set"
        );
    }

    #[test]
    fn when_program_file_is_missing_then_read_error_names_the_path() {
        let err = from_vars(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (CHARGEBEE_WEBHOOK_USERNAME, "saguaro".to_owned()),
            (CHARGEBEE_WEBHOOK_PASSWORD, "pa55word".to_owned()),
            (SAGUARO_PROGRAM_FILE, "/nonexistent/program.toml".to_owned()),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/program.toml"));
    }
}
