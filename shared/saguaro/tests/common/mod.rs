//! Running the `saguaro` binary in tests: a temporary data directory, a small program, and
//! `saguaro serve` started on a free port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Every payment earns exactly one line of `amount / 100` points: a ledger that is easy to
/// check line by line against the events posted.
pub const PROGRAM: &str = r#"
[program]
name = "Crash test"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#;

/// A directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("saguaro-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes [`PROGRAM`] into the directory and returns its path.
    pub fn program(&self) -> PathBuf {
        let path = self.0.join("program.toml");
        std::fs::write(&path, PROGRAM).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `saguaro serve`. Dropping it kills the process (SIGKILL).
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// What the second start-up line said about the data.
    pub data_line: String,
}

impl Serve {
    /// Starts `saguaro serve --program PROGRAM --addr 127.0.0.1:0` with `store_args`, and
    /// waits until it listens (it prints its address once bound).
    pub fn start(program: &Path, store_args: &[&str]) -> Self {
        Self::start_in(&std::env::temp_dir(), program, store_args)
    }

    /// [`Serve::start`] with `cwd` as the working directory.
    pub fn start_in(cwd: &Path, program: &Path, store_args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_saguaro"))
            .current_dir(cwd)
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "--program"])
            .arg(program)
            .args(store_args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut listening = String::new();
        out.read_line(&mut listening).unwrap();
        let mut data_line = String::new();
        out.read_line(&mut data_line).unwrap();
        // Keep reading: a closed pipe would make the server's next line (or log) fail.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = listening
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {listening:?}"))
            .to_owned();
        Self {
            child,
            base: format!("http://{addr}"),
            data_line: data_line.trim_end().to_owned(),
        }
    }

    /// SIGKILL, as a crash or `kill -9` would: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `payment.succeeded` in Saguaro's format: `minor` cents earn `minor / 100` points.
pub fn payment(id: &str, customer: &str, minor: i64) -> String {
    serde_json::json!({
        "id": id,
        "type": "payment.succeeded",
        "customer": { "provider": "custom", "id": customer },
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount": { "minor": minor, "currency": "usd" },
        "payment": format!("pay-{id}"),
    })
    .to_string()
}
