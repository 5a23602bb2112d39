//! Typed configuration from the environment, read once by `main.rs`. A missing variable is
//! an error that names it, so a misconfigured deploy fails at its first cold start.

use saguaro_app::webhooks::stripe_verifier;
use saguaro_lambda::config::Env;
pub use saguaro_lambda::config::{ConfigError, DEFAULT_PROGRAM_FILE, SAGUARO_PROGRAM_FILE};
use saguaro_providers::stripe::Verifier;
use saguaro_stripe_api::ApiKey;

pub const EARN_QUEUE_URL: &str = "EARN_QUEUE_URL";
/// One `whsec_...` secret, or several separated by commas while one is being rolled.
pub const STRIPE_WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
/// Optional: a Stripe secret or restricted key (read access to invoices is enough), used to
/// find the invoice of a refund that names only its PaymentIntent (basil+ API versions).
pub const STRIPE_API_KEY: &str = "STRIPE_API_KEY";

#[derive(Debug)]
pub struct Config {
    pub queue_url: String,
    /// Secrets never print: `Verifier`'s `Debug` redacts them.
    pub verifier: Verifier,
    /// The program's `referral_key`.
    pub referral_key: Option<String>,
    /// From `STRIPE_API_KEY`; `None` when unset. Prints as `[redacted]`.
    pub stripe_api_key: Option<ApiKey>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let queue_url = env.required(EARN_QUEUE_URL)?;
        let verifier = env
            .optional(STRIPE_WEBHOOK_SECRET)
            .and_then(|v| stripe_verifier(&v))
            .ok_or(ConfigError::Missing(STRIPE_WEBHOOK_SECRET))?;
        let program = env.program()?;
        Ok(Self {
            queue_url,
            verifier,
            referral_key: program.referral_key,
            stripe_api_key: env.optional(STRIPE_API_KEY).map(ApiKey::new),
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
            (STRIPE_WEBHOOK_SECRET, "whsec_a,whsec_b".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
        ]))
        .unwrap();
        assert_eq!(config.queue_url, "https://sqs/earn.fifo");
        assert_eq!(config.referral_key.as_deref(), Some("referred_by"));
        assert!(!format!("{config:?}").contains("whsec_a"));
        assert_eq!(config.stripe_api_key, None);
    }

    #[test]
    fn when_stripe_api_key_is_set_then_config_has_it_redacted() {
        let config = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "https://sqs/earn.fifo".to_owned()),
            (STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
            (STRIPE_API_KEY, " rk_live_lookup ".to_owned()),
        ]))
        .unwrap();
        assert_eq!(config.stripe_api_key, Some(ApiKey::new("rk_live_lookup")));
        let shown = format!("{config:?}");
        assert!(!shown.contains("rk_live_lookup"), "{shown}");
        assert!(
            shown.contains("stripe_api_key: Some([redacted])"),
            "{shown}"
        );
        // rustls has both `ring` and `aws-lc-rs` (the AWS SDK's) in this binary: building the
        // client must not panic for want of a chosen crypto provider
        let api = saguaro_stripe_api::StripeApi::new(config.stripe_api_key.as_ref().unwrap());
        assert!(api.is_ok(), "{api:?}");
    }

    #[test]
    fn when_a_variable_is_missing_then_the_error_names_it() {
        let err = Config::from_lookup(lookup(&[(STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned())]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable EARN_QUEUE_URL is not set"
        );
        let err = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (STRIPE_WEBHOOK_SECRET, " , ".to_owned()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable STRIPE_WEBHOOK_SECRET is not set"
        );
    }

    #[test]
    fn when_program_file_is_missing_then_read_error_names_the_path() {
        let err = Config::from_lookup(lookup(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned()),
            (SAGUARO_PROGRAM_FILE, "/nonexistent/program.toml".to_owned()),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/program.toml"));
    }
}
