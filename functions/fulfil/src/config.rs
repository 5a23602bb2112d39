//! What the fulfil function needs, read once at cold start by `main.rs`: the table, and the
//! delivery adapters the configured keys allow (a provider without keys leaves its rewards
//! pending, and the rewards route says why). Handlers never read the environment.
//!
//! Plain settings come from [`Env`] (`TABLE_NAME`, `SAGUARO_PROGRAM_FILE`,
//! `STRIPE_API_BASE_URL`, `CHARGEBEE_SITE`, `CHARGEBEE_API_BASE_URL`); secrets
//! (`STRIPE_API_KEY`, `CHARGEBEE_API_KEY`, and every perk's `secret` named in the program)
//! through one lookup: `main.rs` passes [`Env::named`] of the environment that
//! `saguaro_lambda::env` built, the SSM SecureStrings the template names laid over the
//! process environment.

use std::collections::HashMap;
use std::sync::Arc;

use saguaro_app::config::{
    CHARGEBEE_API_BASE_URL, CHARGEBEE_API_KEY, CHARGEBEE_SITE, ConfigError, Env,
    STRIPE_API_BASE_URL, STRIPE_API_KEY, TABLE_NAME,
};
use saguaro_app::fulfil::Deliveries;
use saguaro_delivery::chargebee::{ChargebeeRewards, ProductCatalog};
use saguaro_delivery::perk::PerkRewards;
use saguaro_domain::Program;
use saguaro_domain::secret::Secret;
use saguaro_stripe_api::{StripeApi, StripeRewards};

/// A secret's value by its name; `None` when it is not set (or blank).
pub type SecretLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Everything the function needs besides its DynamoDB client.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub deliveries: Deliveries,
    /// The bundled program (its `[notify]` for the fulfiler's notifications).
    pub program: Program,
}

impl Config {
    /// The configuration from `env`, secrets from `secret`.
    pub fn from_env(env: &Env, secret: SecretLookup<'_>) -> Result<Self, ConfigError> {
        let table_name = env.required(TABLE_NAME)?;
        let program = env.program()?;
        let deliveries = deliveries(env, &program, secret)?;
        Ok(Self {
            table_name,
            deliveries,
            program,
        })
    }
}

/// The adapters the keys allow; why each missing one is missing.
pub fn deliveries(
    env: &Env,
    program: &Program,
    secret: SecretLookup<'_>,
) -> Result<Deliveries, ConfigError> {
    let mut d = Deliveries {
        stripe_missing: format!("{STRIPE_API_KEY} is not set"),
        chargebee_missing: format!("{CHARGEBEE_SITE} and {CHARGEBEE_API_KEY} are not both set"),
        ..Deliveries::default()
    };
    if let Some(key) = secret(STRIPE_API_KEY) {
        let base = env
            .optional(STRIPE_API_BASE_URL)?
            .unwrap_or_else(|| saguaro_stripe_api::DEFAULT_BASE_URL.to_owned());
        let key = Secret::new(key.trim());
        match StripeApi::with_base_url(&key, &base, saguaro_stripe_api::DEFAULT_TIMEOUT) {
            Ok(api) => d.stripe = Some(Arc::new(StripeRewards::new(api))),
            Err(e) => d.stripe_missing = format!("cannot build the Stripe client: {e}"),
        }
    }
    let site = env.optional(CHARGEBEE_SITE)?;
    let base = env.optional(CHARGEBEE_API_BASE_URL)?;
    if let (Some(site), Some(key)) = (site, secret(CHARGEBEE_API_KEY)) {
        let base = base.unwrap_or_else(|| ChargebeeRewards::site_url(site.trim()));
        match ChargebeeRewards::new(&base, Secret::new(key.trim()), ProductCatalog::V2) {
            Ok(c) => d.chargebee = Some(Arc::new(c)),
            Err(e) => d.chargebee_missing = format!("cannot build the Chargebee client: {e}"),
        }
    }
    // Perk secrets are read now, for every perk the program names and `[notify]`: a row whose secret is
    // not among them waits, saying so (the perk adapter's answer).
    let perk_secrets: HashMap<String, String> = program
        .rewards
        .iter()
        .filter_map(|r| r.secret.as_deref())
        .chain(program.notify.as_ref().map(|n| n.secret.as_str()))
        .filter_map(|name| secret(name).map(|v| (name.to_owned(), v)))
        .collect();
    match PerkRewards::new(Arc::new(move |name| perk_secrets.get(name).cloned())) {
        Ok(perk) => d.perk = Some(Arc::new(perk)),
        Err(e) => d.perk_missing = format!("cannot build the perk client: {e}"),
    }
    Ok(d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use saguaro_app::config::SAGUARO_PROGRAM_FILE;
    use saguaro_app::fulfil::RewardDelivery;
    use saguaro_domain::program::RewardKind;
    use saguaro_domain::{CustomerId, Delivery, EventId, Provider, RewardOutbox};
    use saguaro_testkit::{env_lookup, example_program};

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Env::from_lookup(env_lookup(&vars))
    }

    fn no_secrets(_: &str) -> Option<String> {
        None
    }

    fn row(provider: Provider) -> RewardOutbox {
        RewardOutbox {
            id: "x".to_owned(),
            customer: CustomerId::new(provider, "c"),
            reward: "r".to_owned(),
            kind: RewardKind::BillingCredit,
            points: 1,
            quantity: 1,
            line: None,
            event_id: EventId::new("e"),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            value: None,
            coupon: None,
            grant: None,
            url: None,
            secret: None,
            notice: None,
            delivery: Delivery::pending(),
        }
    }

    #[test]
    fn when_table_name_is_missing_then_the_error_names_it() {
        let err = Config::from_env(&env(&[]), &no_secrets).unwrap_err();
        assert!(matches!(err, ConfigError::Missing(TABLE_NAME)), "{err:?}");
    }

    #[test]
    fn when_no_keys_are_set_then_provider_rewards_wait_saying_which_variable() {
        let example = example_program();
        let config = Config::from_env(
            &env(&[(TABLE_NAME, "t"), (SAGUARO_PROGRAM_FILE, &example)]),
            &no_secrets,
        )
        .unwrap();
        assert_eq!(config.table_name, "t");
        assert!(config.deliveries.stripe.is_none());
        assert!(config.deliveries.chargebee.is_none());
        assert_eq!(
            config
                .deliveries
                .unavailable(&row(Provider::Stripe))
                .as_deref(),
            Some("STRIPE_API_KEY is not set")
        );
        assert_eq!(
            config
                .deliveries
                .unavailable(&row(Provider::Chargebee))
                .as_deref(),
            Some("CHARGEBEE_SITE and CHARGEBEE_API_KEY are not both set")
        );
    }

    #[test]
    fn when_keys_come_from_the_secret_lookup_then_both_providers_are_configured() {
        let example = example_program();
        let secrets = |name: &str| match name {
            "STRIPE_API_KEY" => Some("sk_test_1 ".to_owned()),
            "CHARGEBEE_API_KEY" => Some("cb_1".to_owned()),
            _ => None,
        };
        let config = Config::from_env(
            &env(&[
                (TABLE_NAME, "t"),
                (SAGUARO_PROGRAM_FILE, &example),
                (CHARGEBEE_SITE, "acme"),
            ]),
            &secrets,
        )
        .unwrap();
        assert_eq!(config.deliveries.unavailable(&row(Provider::Stripe)), None);
        assert_eq!(
            config.deliveries.unavailable(&row(Provider::Chargebee)),
            None
        );
    }
}
