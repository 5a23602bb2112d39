//! Configuration from the environment, read once at start-up. A missing variable is an error
//! that names it, so a misconfigured deploy fails at its first cold start.

use std::fmt;
use std::path::PathBuf;

use saguaro_domain::{Program, ProgramError};

/// The program file (DESIGN §4).
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

/// Variables read through `lookup`: the process environment
/// (`|name| std::env::var(name).ok()`), or a map in tests. A blank value counts as unset.
pub struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The value of `name`; `None` when unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, or [`ConfigError::Missing`] naming it.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// The program in the file `SAGUARO_PROGRAM_FILE` names, by default
    /// [`DEFAULT_PROGRAM_FILE`]; an error names the path.
    pub fn program(&self) -> Result<Program, ConfigError> {
        let path = PathBuf::from(
            self.optional(SAGUARO_PROGRAM_FILE)
                .unwrap_or_else(|| DEFAULT_PROGRAM_FILE.to_owned()),
        );
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadProgram {
            path: path.clone(),
            source,
        })?;
        Program::parse(&text).map_err(|source| ConfigError::Program { path, source })
    }
}

/// Values may be secrets: `Debug` shows none of them.
impl<F> fmt::Debug for Env<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn when_a_variable_is_blank_then_it_counts_as_unset() {
        let env = env(&[("A", " "), ("B", "b")]);
        assert_eq!(env.optional("A"), None);
        assert_eq!(env.optional("B").as_deref(), Some("b"));
        let err = env.required("A").unwrap_err();
        assert_eq!(err.to_string(), "environment variable A is not set");
    }

    #[test]
    fn when_the_program_file_is_unset_then_program_toml_is_read() {
        let err = env(&[]).program().unwrap_err();
        assert!(
            matches!(&err, ConfigError::ReadProgram { path, .. } if path.as_os_str() == DEFAULT_PROGRAM_FILE),
            "{err:?}"
        );
    }
}
