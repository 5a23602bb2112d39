//! What the scheduler needs from the environment, read once at cold start by `main.rs`: the
//! table, the earn queue and the program, all required.

use std::sync::Arc;

use saguaro_app::config::{ConfigError, EARN_QUEUE_URL, Env, TABLE_NAME};
use saguaro_domain::Program;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub queue_url: String,
    /// From the file `SAGUARO_PROGRAM_FILE` names (`program.toml` by default), validated.
    pub program: Arc<Program>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required(TABLE_NAME)?,
            queue_url: env.required(EARN_QUEUE_URL)?,
            program: Arc::new(env.program()?),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use saguaro_app::config::SAGUARO_PROGRAM_FILE;
    use saguaro_testkit::{env_lookup, example_program};

    use super::*;

    fn from_vars(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Config::from_env(&Env::from_lookup(env_lookup(&vars)))
    }

    #[test]
    fn when_the_queue_or_table_is_missing_then_the_error_names_it() {
        let example = example_program();
        let err = from_vars(&[(TABLE_NAME, "t"), (SAGUARO_PROGRAM_FILE, &example)]);
        assert!(matches!(err, Err(ConfigError::Missing(EARN_QUEUE_URL))));
        let err = from_vars(&[(EARN_QUEUE_URL, "q"), (SAGUARO_PROGRAM_FILE, &example)]);
        assert!(matches!(err, Err(ConfigError::Missing(TABLE_NAME))));
    }

    #[test]
    fn when_everything_is_set_then_it_loads() {
        let example = example_program();
        let config = from_vars(&[
            (TABLE_NAME, "t"),
            (EARN_QUEUE_URL, "https://queue"),
            (SAGUARO_PROGRAM_FILE, &example),
        ])
        .unwrap();
        assert_eq!(config.queue_url, "https://queue");
        assert_eq!(config.program.name, "Acme Rewards");
    }
}
