//! Set-up shared by the tests that run against the local AWS emulator (moto server, which
//! `infra/test.sh` starts and names in `SAGUARO_TEST_AWS_ENDPOINT`): the SDK configuration,
//! names no other test uses, [`sqs`] queues, [`dynamodb`] tables, [`apigw`] request events
//! and the repository's test data ([`fixture`]: the public payloads in `tests/fixtures`).
//! Only ever a dev-dependency.
//!
//! Everything here panics instead of returning errors: a test whose set-up fails must fail,
//! and the panic message says which step did.

pub mod apigw;
pub mod dynamodb;
pub mod sqs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const ENDPOINT_VAR: &str = "SAGUARO_TEST_AWS_ENDPOINT";

/// The emulator's endpoint. A test without it fails: it never passes by skipping.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{ENDPOINT_VAR} is not set: run infra/test.sh, which starts moto server"),
    }
}

/// The SDK configuration from the environment (`infra/test.sh` sets the `AWS_*` variables),
/// pointed at the emulator.
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::from_env().endpoint_url(endpoint()).load().await
}

/// A name no other test (or earlier run against the same server) uses: `prefix`, the
/// process id, the clock and a per-process counter.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An environment lookup (as a function's `Config::from_lookup` takes) holding just `vars`.
pub fn env_lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| map.get(name).cloned()
}

/// The path of `infra/program.example.toml`, the example program file.
pub fn example_program() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    )
    .to_owned()
}

/// The providers crate's hand-built test data (`shared/providers/tests/data`).
pub fn provider_data(rel: &str) -> Vec<u8> {
    read(repo_root().join("shared/providers/tests/data").join(rel))
}

/// The path of `tests/fixtures/<rel>`: the public payloads kept in the repository, with
/// their provenance in `tests/fixtures/README.md`. Panics, naming the path, if it is missing.
pub fn fixture_path(rel: &str) -> PathBuf {
    let path = repo_root().join("tests/fixtures").join(rel);
    if !path.exists() {
        panic!(
            "fixture {} is missing (see tests/fixtures/README.md)",
            path.display()
        );
    }
    path
}

/// The bytes of `tests/fixtures/<rel>`, as [`fixture_path`] finds it.
pub fn fixture(rel: &str) -> Vec<u8> {
    read(fixture_path(rel))
}

/// The workspace root: this crate lives in `shared/testkit`. Built from the manifest
/// directory so that it holds wherever the repository is cloned, with nothing beside it.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or_else(|| panic!("{} has no grandparent", manifest.display()))
        .to_path_buf()
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
