//! The earn function's configuration, read once at cold start from the environment.
//! Handlers never read the environment: `main.rs` builds a [`Config`] and hands its parts on.

use std::path::PathBuf;
use std::sync::Arc;

use saguaro_domain::{Program, ProgramError};

/// The DynamoDB table holding customer state, ledger, markers and the reward outbox.
pub const TABLE_NAME: &str = "TABLE_NAME";
/// Where the program file is when [`PROGRAM_FILE`] is not set.
pub use saguaro_lambda::config::DEFAULT_PROGRAM_FILE;
/// The program file (DESIGN §4), packaged with the function.
pub use saguaro_lambda::config::SAGUARO_PROGRAM_FILE as PROGRAM_FILE;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid unicode")]
    NotUnicode(&'static str),
    #[error("cannot read the program file {path}")]
    ProgramUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the program file {path} is invalid")]
    ProgramInvalid {
        path: PathBuf,
        #[source]
        source: ProgramError,
    },
}

/// Everything the function needs besides its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    pub program_file: PathBuf,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name))
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &'static str| match lookup(name) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v)),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(name)),
        };
        let table_name = var(TABLE_NAME)?.ok_or(ConfigError::Missing(TABLE_NAME))?;
        let program_file = var(PROGRAM_FILE)?.unwrap_or_else(|| DEFAULT_PROGRAM_FILE.to_owned());
        Ok(Self {
            table_name,
            program_file: PathBuf::from(program_file),
        })
    }

    /// Reads and validates the program file.
    pub fn load_program(&self) -> Result<Arc<Program>, ConfigError> {
        let path = &self.program_file;
        let source =
            std::fs::read_to_string(path).map_err(|source| ConfigError::ProgramUnreadable {
                path: path.clone(),
                source,
            })?;
        Program::parse(&source)
            .map(Arc::new)
            .map_err(|source| ConfigError::ProgramInvalid {
                path: path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::env::VarError;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, VarError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned().ok_or(VarError::NotPresent)
    }

    #[test]
    fn when_table_name_is_missing_then_the_error_names_it() {
        let err = Config::from_lookup(lookup(&[(PROGRAM_FILE, "p.toml")]));
        assert!(matches!(err, Err(ConfigError::Missing("TABLE_NAME"))));
        let message = err.map(|_| ()).unwrap_err().to_string();
        assert_eq!(message, "environment variable TABLE_NAME is not set");
    }

    #[test]
    fn when_table_name_is_blank_then_it_counts_as_missing() {
        let err = Config::from_lookup(lookup(&[(TABLE_NAME, "  ")]));
        assert!(matches!(err, Err(ConfigError::Missing(TABLE_NAME))));
    }

    #[test]
    fn when_program_file_is_not_set_then_it_defaults_to_program_toml() {
        let config = Config::from_lookup(lookup(&[(TABLE_NAME, "saguaro")])).unwrap();
        assert_eq!(
            config,
            Config {
                table_name: "saguaro".to_owned(),
                program_file: PathBuf::from("program.toml"),
            }
        );
    }

    #[test]
    fn when_program_file_is_set_then_it_is_used() {
        let config = Config::from_lookup(lookup(&[
            (TABLE_NAME, "t"),
            (PROGRAM_FILE, "/var/task/p.toml"),
        ]))
        .unwrap();
        assert_eq!(config.program_file, PathBuf::from("/var/task/p.toml"));
    }

    #[test]
    fn when_program_file_does_not_exist_then_loading_names_the_path() {
        let config = Config {
            table_name: "t".to_owned(),
            program_file: PathBuf::from("/nonexistent/saguaro.toml"),
        };
        let err = config.load_program().unwrap_err();
        assert!(matches!(err, ConfigError::ProgramUnreadable { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read the program file /nonexistent/saguaro.toml"
        );
    }

    #[test]
    fn when_program_file_is_the_example_then_it_loads() {
        let config = Config {
            table_name: "t".to_owned(),
            program_file: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../infra/program.example.toml"
            )),
        };
        let program = config.load_program().unwrap();
        assert_eq!(program.name, "Acme Rewards");
    }
}
