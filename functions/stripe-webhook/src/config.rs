//! What the `stripe-webhook` function needs from the environment, read once by `main.rs`:
//! the earn queue, the webhook secret(s) and the program (for its `referral_key`), all
//! required, and the optional Stripe API key and table (for invoice links). The variables themselves, and how each is read,
//! are in [`saguaro_app::config`].

use saguaro_app::config::{ConfigError, EARN_DLQ_URL, EARN_QUEUE_URL, Env, TABLE_NAME};
use saguaro_domain::secret::Secret;
use saguaro_providers::stripe::Verifier;

#[derive(Debug)]
pub struct Config {
    pub queue_url: String,
    /// From `EARN_DLQ_URL`: where deliveries that can never be applied are parked.
    pub parking_url: Option<String>,
    /// Secrets never print: `Verifier`'s `Debug` redacts them.
    pub verifier: Verifier,
    /// The program's `referral_key`.
    pub referral_key: Option<String>,
    /// From `STRIPE_API_KEY`; `None` when unset. Prints as `[redacted]`.
    pub stripe_api_key: Option<Secret>,
    /// From `TABLE_NAME`: where the links basil's `invoice_payment.paid` reports are kept
    /// (`LINK#` items), so refunds find their invoice without an API key.
    pub link_table: Option<String>,
}

impl Config {
    /// The configuration from `env` (the process environment, or a map in tests).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let queue_url = env.required(EARN_QUEUE_URL)?;
        let verifier = env.stripe_verifier()?;
        let program = env.program()?;
        Ok(Self {
            queue_url,
            parking_url: env.optional(EARN_DLQ_URL)?,
            verifier,
            referral_key: program.referral_key,
            stripe_api_key: env.stripe_api_key()?,
            link_table: env.optional(TABLE_NAME)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use saguaro_app::config::{SAGUARO_PROGRAM_FILE, STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET};
    use saguaro_stripe_api::ApiKey;
    use saguaro_testkit::{env_lookup, example_program};

    use super::*;

    fn from_vars(vars: &[(&str, String)]) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_lookup(env_lookup(vars)))
    }

    #[test]
    fn when_all_variables_are_set_then_config_has_queue_and_referral_key() {
        let config = from_vars(&[
            (EARN_QUEUE_URL, "https://sqs/earn.fifo".to_owned()),
            (STRIPE_WEBHOOK_SECRET, "whsec_a,whsec_b".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
        ])
        .unwrap();
        assert_eq!(config.queue_url, "https://sqs/earn.fifo");
        assert_eq!(config.referral_key.as_deref(), Some("referred_by"));
        assert!(!format!("{config:?}").contains("whsec_a"));
        assert_eq!(config.stripe_api_key, None);
    }

    #[test]
    fn when_stripe_api_key_is_set_then_config_has_it_redacted() {
        let config = from_vars(&[
            (EARN_QUEUE_URL, "https://sqs/earn.fifo".to_owned()),
            (STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned()),
            (SAGUARO_PROGRAM_FILE, example_program()),
            (STRIPE_API_KEY, " rk_live_lookup ".to_owned()),
        ])
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
        let err = from_vars(&[(STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable EARN_QUEUE_URL is not set"
        );
        let err = from_vars(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (STRIPE_WEBHOOK_SECRET, " , ".to_owned()),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable STRIPE_WEBHOOK_SECRET is not set"
        );
    }

    #[test]
    fn when_program_file_is_missing_then_read_error_names_the_path() {
        let err = from_vars(&[
            (EARN_QUEUE_URL, "q".to_owned()),
            (STRIPE_WEBHOOK_SECRET, "whsec_a".to_owned()),
            (SAGUARO_PROGRAM_FILE, "/nonexistent/program.toml".to_owned()),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/program.toml"));
    }
}
