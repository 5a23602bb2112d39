//! Configuration from the environment, read once at start-up by the Lambda functions'
//! `main.rs` and by the local runner: the name of every variable (defined here and nowhere
//! else), one typed reader ([`Env`]) and one program-file loader ([`load_program`]). A
//! missing or bad variable is a [`ConfigError`] that names it, so a misconfigured deploy fails
//! at its first cold start.
//!
//! It lives in the application crate because both the functions and the local runner depend
//! on it, and the local runner must not depend on Lambda crates. Which variables a binary
//! needs, and whether it needs them (a function fails without its secret; the local runner
//! serves without that webhook), stays in the binary's own `config.rs` or `main.rs`.

use std::env::VarError;
use std::fmt;
use std::path::{Path, PathBuf};

use saguaro_domain::secret::Secret;
use saguaro_domain::{Program, ProgramError};
use saguaro_providers::chargebee::{BasicAuth, Password};
use saguaro_providers::stripe::Verifier;

use crate::webhooks::stripe_verifier;

/// The program file (docs/design.md §4) to read instead of the one a Lambda function has
/// bundled ([`Env::with_bundled_program`]); the local runner's `--program`.
pub const SAGUARO_PROGRAM_FILE: &str = "SAGUARO_PROGRAM_FILE";
/// Where the program file is when `SAGUARO_PROGRAM_FILE` is unset and none is bundled.
pub const DEFAULT_PROGRAM_FILE: &str = "program.toml";
/// How a bundled program is named in errors.
pub const BUNDLED_PROGRAM: &str = "program.toml (bundled)";
/// The DynamoDB table holding customer state, ledger, markers and the reward outbox.
pub const TABLE_NAME: &str = "TABLE_NAME";
/// The SQS FIFO queue the webhook functions put events on.
pub const EARN_QUEUE_URL: &str = "EARN_QUEUE_URL";
/// The earn queue's dead-letter queue, where the webhook functions park deliveries they can
/// never normalise (acknowledged 200). Unset: such deliveries are answered 500 and retried.
pub const EARN_DLQ_URL: &str = "EARN_DLQ_URL";
/// One `whsec_...` secret, or several separated by commas while one is being rolled.
pub const STRIPE_WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
/// Optional: a Stripe secret or restricted key (read access to invoices is enough), used to
/// find the invoice of a refund that names only its PaymentIntent (basil+ API versions).
pub const STRIPE_API_KEY: &str = "STRIPE_API_KEY";
/// The HTTP Basic credentials set on the Chargebee webhook.
/// Stripe API base URL, without `/v1` (tests and staging point elsewhere); default
/// `https://api.stripe.com`.
pub const STRIPE_API_BASE_URL: &str = "STRIPE_API_BASE_URL";
/// Chargebee site (`acme` for `https://acme.chargebee.com`) and API key: reward delivery.
pub const CHARGEBEE_SITE: &str = "CHARGEBEE_SITE";
pub const CHARGEBEE_API_KEY: &str = "CHARGEBEE_API_KEY";
/// Chargebee API base URL, without `/api/v2`; default `https://{CHARGEBEE_SITE}.chargebee.com`.
pub const CHARGEBEE_API_BASE_URL: &str = "CHARGEBEE_API_BASE_URL";
pub const CHARGEBEE_WEBHOOK_USERNAME: &str = "CHARGEBEE_WEBHOOK_USERNAME";
pub const CHARGEBEE_WEBHOOK_PASSWORD: &str = "CHARGEBEE_WEBHOOK_PASSWORD";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid unicode")]
    NotUnicode(&'static str),
    /// `variable` is the one that named the path, when one did (not for a path given on the
    /// command line).
    #[error("cannot read the program file {path}{}", named_by(.variable))]
    ReadProgram {
        path: PathBuf,
        variable: Option<&'static str>,
        #[source]
        source: std::io::Error,
    },
    #[error("the program file {path} is invalid")]
    Program {
        path: PathBuf,
        #[source]
        source: ProgramError,
    },
}

fn named_by(variable: &Option<&'static str>) -> String {
    variable.map(|v| format!(" ({v})")).unwrap_or_default()
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Reads and validates the program file at `path`; an error names the path (and, for an
/// invalid file, the line and key in its cause).
pub fn load_program(path: &Path) -> Result<Program> {
    read_program(path, None)
}

fn read_program(path: &Path, variable: Option<&'static str>) -> Result<Program> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadProgram {
        path: path.to_owned(),
        variable,
        source,
    })?;
    Program::parse(&text).map_err(|source| ConfigError::Program {
        path: path.to_owned(),
        source,
    })
}

/// `Ok(None)` where `result` says a variable is missing: for what the local runner can
/// serve without. Any other error stays an error.
pub fn unless_missing<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ConfigError::Missing(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

type Lookup = Box<dyn Fn(&str) -> std::result::Result<Option<String>, VarError>>;

/// Variables read through a lookup: the process environment ([`Env::process`]), or a map in
/// tests ([`Env::from_lookup`]). A blank value counts as unset. A Lambda function lays the
/// secrets it read from SSM over it ([`Env::with_values`]) and names the program it was built
/// with ([`Env::with_bundled_program`]).
pub struct Env {
    lookup: Lookup,
    bundled_program: Option<&'static str>,
}

impl Env {
    /// The process environment. A value that is not unicode is an error naming the variable,
    /// not "unset".
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| match std::env::var(name) {
                Ok(v) => Ok(Some(v)),
                Err(VarError::NotPresent) => Ok(None),
                Err(e) => Err(e),
            }),
            bundled_program: None,
        }
    }

    /// Variables answered by `lookup` (a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        Self {
            lookup: Box::new(move |name| Ok(lookup(name))),
            bundled_program: None,
        }
    }

    /// `values` first (secrets read from SSM, by variable name), then this environment.
    pub fn with_values(self, values: std::collections::HashMap<String, String>) -> Self {
        let inner = self.lookup;
        Self {
            lookup: Box::new(move |name| match values.get(name) {
                Some(v) => Ok(Some(v.clone())),
                None => inner(name),
            }),
            bundled_program: self.bundled_program,
        }
    }

    /// The program file's text compiled into the binary: what [`Env::program`] reads when
    /// `SAGUARO_PROGRAM_FILE` is unset.
    pub fn with_bundled_program(mut self, text: Option<&'static str>) -> Self {
        self.bundled_program = text;
        self
    }

    /// The value of `name`; `None` when unset or blank.
    pub fn optional(&self, name: &'static str) -> Result<Option<String>> {
        match (self.lookup)(name) {
            Ok(v) => Ok(v.filter(|v| !v.trim().is_empty())),
            Err(_) => Err(ConfigError::NotUnicode(name)),
        }
    }

    /// The value of a variable whose name comes from the program file (a perk's `secret`);
    /// `None` when unset, blank or not unicode.
    pub fn named(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, or [`ConfigError::Missing`] naming it.
    pub fn required(&self, name: &'static str) -> Result<String> {
        self.optional(name)?.ok_or(ConfigError::Missing(name))
    }

    /// The program in the file `SAGUARO_PROGRAM_FILE` names; without it the bundled one,
    /// if any, else [`DEFAULT_PROGRAM_FILE`]; an error names the path and the variable.
    pub fn program(&self) -> Result<Program> {
        let path = match (self.optional(SAGUARO_PROGRAM_FILE)?, self.bundled_program) {
            (Some(path), _) => path,
            (None, Some(text)) => {
                return Program::parse(text).map_err(|source| ConfigError::Program {
                    path: PathBuf::from(BUNDLED_PROGRAM),
                    source,
                });
            }
            (None, None) => DEFAULT_PROGRAM_FILE.to_owned(),
        };
        read_program(Path::new(&path), Some(SAGUARO_PROGRAM_FILE))
    }

    /// The Stripe webhook verifier from `STRIPE_WEBHOOK_SECRET`; missing when the variable
    /// holds no secret (unset, blank, or only commas).
    pub fn stripe_verifier(&self) -> Result<Verifier> {
        self.optional(STRIPE_WEBHOOK_SECRET)?
            .and_then(|v| stripe_verifier(&v))
            .ok_or(ConfigError::Missing(STRIPE_WEBHOOK_SECRET))
    }

    /// The Chargebee webhook's credentials; missing names the first variable unset.
    pub fn chargebee_auth(&self) -> Result<BasicAuth> {
        let username = self.required(CHARGEBEE_WEBHOOK_USERNAME)?;
        let password = Password::new(self.required(CHARGEBEE_WEBHOOK_PASSWORD)?);
        Ok(BasicAuth::new(username, &password))
    }

    /// `STRIPE_API_KEY`, trimmed (a key never holds spaces; a pasted one may end with one);
    /// `None` when unset.
    pub fn stripe_api_key(&self) -> Result<Option<Secret>> {
        Ok(self
            .optional(STRIPE_API_KEY)?
            .map(|key| Secret::new(key.trim())))
    }
}

/// Values may be secrets: `Debug` shows none of them.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Env {
        Env::from_lookup(|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn example_program() -> &'static str {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/program.example.toml"
        )
    }

    #[test]
    fn when_a_variable_is_blank_then_it_counts_as_unset() {
        let env = env(&[("A", " "), ("B", "b")]);
        assert_eq!(env.optional("A").unwrap(), None);
        assert_eq!(env.optional("B").unwrap().as_deref(), Some("b"));
        let err = env.required("A").unwrap_err();
        assert_eq!(err.to_string(), "environment variable A is not set");
    }

    #[test]
    fn when_a_variable_is_not_unicode_then_the_error_names_it() {
        let env = Env {
            lookup: Box::new(|_| Err(VarError::NotUnicode("\u{fffd}".into()))),
            bundled_program: None,
        };
        let err = env.required(TABLE_NAME).unwrap_err();
        assert!(
            matches!(err, ConfigError::NotUnicode(TABLE_NAME)),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "environment variable TABLE_NAME is not valid unicode"
        );
    }

    #[test]
    fn when_the_program_file_is_unset_then_program_toml_is_read() {
        let err = env(&[]).program().unwrap_err();
        assert!(
            matches!(&err, ConfigError::ReadProgram { path, .. } if path.as_os_str() == DEFAULT_PROGRAM_FILE),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "cannot read the program file program.toml (SAGUARO_PROGRAM_FILE)"
        );
    }

    #[test]
    fn when_the_program_file_is_set_then_it_is_loaded() {
        let env = Env::from_lookup(|name| {
            (name == SAGUARO_PROGRAM_FILE).then(|| example_program().to_owned())
        });
        assert_eq!(env.program().unwrap().name, "Acme Rewards");
        assert_eq!(
            load_program(Path::new(example_program())).unwrap().name,
            "Acme Rewards"
        );
    }

    #[test]
    fn when_program_file_does_not_exist_then_loading_names_the_path() {
        let err = load_program(Path::new("/nonexistent/saguaro.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::ReadProgram { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read the program file /nonexistent/saguaro.toml"
        );
    }

    #[test]
    fn when_program_file_is_invalid_then_the_error_names_the_path_and_the_cause_the_line() {
        let path = std::env::temp_dir().join(format!("saguaro-config-{}.toml", std::process::id()));
        std::fs::write(&path, "name = 1\n").unwrap();
        let err = load_program(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(&err, ConfigError::Program { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("line 1"), "{cause}");
    }

    #[test]
    fn when_stripe_secret_holds_only_commas_then_it_is_missing() {
        let err = env(&[(STRIPE_WEBHOOK_SECRET, " , ")])
            .stripe_verifier()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Missing(STRIPE_WEBHOOK_SECRET)));
        assert!(
            env(&[(STRIPE_WEBHOOK_SECRET, "whsec_a, whsec_b")])
                .stripe_verifier()
                .is_ok()
        );
    }

    #[test]
    fn when_chargebee_password_is_missing_then_the_error_names_it_and_the_runner_may_go_without() {
        let env = env(&[(CHARGEBEE_WEBHOOK_USERNAME, "saguaro")]);
        let err = env.chargebee_auth().unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable CHARGEBEE_WEBHOOK_PASSWORD is not set"
        );
        assert!(unless_missing(env.chargebee_auth()).unwrap().is_none());
        let bad = Env {
            lookup: Box::new(|_| Err(VarError::NotUnicode("\u{fffd}".into()))),
            bundled_program: None,
        };
        assert!(unless_missing(bad.chargebee_auth()).is_err());
    }

    #[test]
    fn when_stripe_api_key_is_set_then_it_is_trimmed_and_redacted() {
        let key = env(&[(STRIPE_API_KEY, " rk_live_lookup ")])
            .stripe_api_key()
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "rk_live_lookup");
        assert_eq!(format!("{key:?}"), "[redacted]");
        assert_eq!(env(&[]).stripe_api_key().unwrap(), None);
    }

    #[test]
    fn when_a_program_is_bundled_then_it_is_read_unless_the_variable_names_a_file() {
        let text = std::fs::read_to_string(example_program()).unwrap();
        let text: &'static str = Box::leak(text.into_boxed_str());
        let program = env(&[]).with_bundled_program(Some(text)).program().unwrap();
        assert_eq!(program.name, "Acme Rewards");
        let err = env(&[(SAGUARO_PROGRAM_FILE, "/nonexistent/p.toml")])
            .with_bundled_program(Some(text))
            .program()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.toml"), "{err}");
        let err = env(&[])
            .with_bundled_program(Some("name = 1\n"))
            .program()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the program file program.toml (bundled) is invalid"
        );
    }

    #[test]
    fn when_values_are_laid_over_then_they_win_and_the_rest_is_read_through() {
        let values = std::collections::HashMap::from([(
            STRIPE_WEBHOOK_SECRET.to_owned(),
            "whsec_from_ssm".to_owned(),
        )]);
        let env =
            env(&[(STRIPE_WEBHOOK_SECRET, "whsec_env"), (TABLE_NAME, "t")]).with_values(values);
        assert_eq!(
            env.required(STRIPE_WEBHOOK_SECRET).unwrap(),
            "whsec_from_ssm"
        );
        assert_eq!(env.required(TABLE_NAME).unwrap(), "t");
        assert!(matches!(
            env.required(EARN_QUEUE_URL),
            Err(ConfigError::Missing(_))
        ));
    }
}
