//! What the earn function needs from the environment, read once at cold start by `main.rs`:
//! the table and the program, both required. Handlers never read the environment. The
//! variables themselves, and how each is read, are in [`saguaro_app::config`].

use std::sync::Arc;

use saguaro_app::config::{ConfigError, Env, TABLE_NAME};
use saguaro_domain::Program;

/// Everything the function needs besides its clients.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// From the file `SAGUARO_PROGRAM_FILE` names (`program.toml` by default), validated.
    pub program: Arc<Program>,
}

impl Config {
    /// The configuration from `env` (the process environment, or a map in tests).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let table_name = env.required(TABLE_NAME)?;
        let program = Arc::new(env.program()?);
        Ok(Self {
            table_name,
            program,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use saguaro_app::config::{DEFAULT_PROGRAM_FILE, SAGUARO_PROGRAM_FILE};
    use saguaro_testkit::{env_lookup, example_program};

    use super::*;

    fn from_vars(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Config::from_env(&Env::from_lookup(env_lookup(&vars)))
    }

    #[test]
    fn when_table_name_is_missing_then_the_error_names_it() {
        let err = from_vars(&[(SAGUARO_PROGRAM_FILE, "p.toml")]);
        assert!(matches!(err, Err(ConfigError::Missing("TABLE_NAME"))));
        let message = err.map(|_| ()).unwrap_err().to_string();
        assert_eq!(message, "environment variable TABLE_NAME is not set");
    }

    #[test]
    fn when_table_name_is_blank_then_it_counts_as_missing() {
        let err = from_vars(&[(TABLE_NAME, "  ")]);
        assert!(matches!(err, Err(ConfigError::Missing(TABLE_NAME))));
    }

    #[test]
    fn when_program_file_is_not_set_then_it_defaults_to_program_toml() {
        let err = from_vars(&[(TABLE_NAME, "saguaro")]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::ReadProgram { path, .. } if path == Path::new(DEFAULT_PROGRAM_FILE)),
            "{err:?}"
        );
        assert_eq!(DEFAULT_PROGRAM_FILE, "program.toml");
    }

    #[test]
    fn when_program_file_is_set_then_it_is_used() {
        let err = from_vars(&[
            (TABLE_NAME, "t"),
            (SAGUARO_PROGRAM_FILE, "/var/task/p.toml"),
        ])
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::ReadProgram { path, .. } if path == Path::new("/var/task/p.toml")),
            "{err:?}"
        );
    }

    #[test]
    fn when_program_file_does_not_exist_then_loading_names_the_path_and_the_variable() {
        let err = from_vars(&[
            (TABLE_NAME, "t"),
            (SAGUARO_PROGRAM_FILE, "/nonexistent/saguaro.toml"),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read the program file /nonexistent/saguaro.toml (SAGUARO_PROGRAM_FILE)"
        );
    }

    #[test]
    fn when_program_file_is_the_example_then_it_loads() {
        let example = example_program();
        let config = from_vars(&[(TABLE_NAME, "t"), (SAGUARO_PROGRAM_FILE, &example)]).unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.program.name, "Acme Rewards");
    }
}
