//! Secrets from SSM Parameter Store, read once at cold start (README "Deploying").
//!
//! The template gives each function the parameters it may read, by name, in two variables:
//!
//! - [`SAGUARO_SSM_PARAMETERS`]: `VARIABLE=/parameter/name` pairs, comma-separated (blank
//!   entries skipped), e.g. `STRIPE_WEBHOOK_SECRET=/saguaro/stripe/webhook-secret`;
//! - [`SAGUARO_SSM_PATH`]: a path whose parameters, directly under it, are read too, each as
//!   the variable its last segment names (`/saguaro/perks/PERK_ACME` → `PERK_ACME`): the
//!   perks' secrets, whose names the program file chooses.
//!
//! Both are read with decryption (`GetParameters`, 10 names a call; `GetParametersByPath`),
//! and the values are laid over the process environment ([`saguaro_app::config::Env`]), so
//! every function's configuration code reads a secret as it reads any variable. A named
//! parameter that does not exist is an error naming it: a misconfigured deploy fails at its
//! first cold start, not on the first webhook.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_ssm::Client;

/// `VARIABLE=/parameter/name,...`: the SSM parameters this function reads.
pub const SAGUARO_SSM_PARAMETERS: &str = "SAGUARO_SSM_PARAMETERS";
/// A path: every parameter directly under it, as the variable its last segment names.
pub const SAGUARO_SSM_PATH: &str = "SAGUARO_SSM_PATH";

/// `GetParameters` takes at most this many names.
const NAMES_PER_CALL: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{SAGUARO_SSM_PARAMETERS}: `{0}` is not VARIABLE=/parameter/name")]
    BadEntry(String),
    #[error("{0} is not valid unicode")]
    NotUnicode(&'static str),
    #[error("SSM parameters not found (create them with `aws ssm put-parameter`): {}", .0.join(", "))]
    NotFound(Vec<String>),
    #[error("SSM parameter {0} has no value")]
    NoValue(String),
    #[error("cannot read SSM parameters")]
    Ssm(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What one function reads: variable → parameter name, and an optional path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretNames {
    pub parameters: Vec<(String, String)>,
    pub path: Option<String>,
}

impl SecretNames {
    /// From the two variables' values (`None` when unset).
    pub fn parse(parameters: Option<&str>, path: Option<&str>) -> Result<Self, SecretsError> {
        let mut names = Vec::new();
        for entry in parameters.unwrap_or_default().split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match entry.split_once('=') {
                Some((var, name)) if !var.trim().is_empty() && name.trim().starts_with('/') => {
                    names.push((var.trim().to_owned(), name.trim().to_owned()));
                }
                _ => return Err(SecretsError::BadEntry(entry.to_owned())),
            }
        }
        let path = path
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.trim_end_matches('/').to_owned());
        Ok(Self {
            parameters: names,
            path,
        })
    }

    /// From the process environment.
    pub fn from_process() -> Result<Self, SecretsError> {
        let read = |name: &'static str| match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(_) => Err(SecretsError::NotUnicode(name)),
        };
        Self::parse(
            read(SAGUARO_SSM_PARAMETERS)?.as_deref(),
            read(SAGUARO_SSM_PATH)?.as_deref(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.path.is_none()
    }
}

/// Variable → secret value. `Debug` shows the variables, never a value.
#[derive(Default)]
pub struct Secrets(pub HashMap<String, String>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Secrets").field(&names).finish()
    }
}

/// Reads every parameter `names` lists, decrypted: one `GetParameters` per 10 names, and the
/// pages of `GetParametersByPath` for the path. No request when there is nothing to read.
pub async fn load(client: &Client, names: &SecretNames) -> Result<Secrets, SecretsError> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for chunk in names.parameters.chunks(NAMES_PER_CALL) {
        let mut request = client.get_parameters().with_decryption(true);
        for (_, name) in chunk {
            request = request.names(name);
        }
        let out = request
            .send()
            .await
            .map_err(|e| SecretsError::Ssm(Box::new(e)))?;
        missing.extend(out.invalid_parameters().iter().cloned());
        let found: HashMap<&str, Option<&str>> = out
            .parameters()
            .iter()
            .filter_map(|p| Some((p.name()?, p.value())))
            .collect();
        for (var, name) in chunk {
            match found.get(name.as_str()) {
                Some(Some(value)) => {
                    values.insert(var.clone(), (*value).to_owned());
                }
                Some(None) => return Err(SecretsError::NoValue(name.clone())),
                None if !missing.contains(name) => missing.push(name.clone()),
                None => {}
            }
        }
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(SecretsError::NotFound(missing));
    }
    if let Some(path) = &names.path {
        let mut pages = client
            .get_parameters_by_path()
            .path(path)
            .recursive(false)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| SecretsError::Ssm(Box::new(e)))?;
            for p in page.parameters() {
                let (Some(name), Some(value)) = (p.name(), p.value()) else {
                    continue;
                };
                let var = name.rsplit('/').next().unwrap_or(name);
                values.insert(var.to_owned(), value.to_owned());
            }
        }
    }
    tracing::info!(
        variables = ?Secrets(values.clone()),
        "read secrets from SSM Parameter Store"
    );
    Ok(Secrets(values))
}
