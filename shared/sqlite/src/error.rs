//! The adapter's errors, and their mapping to the port's [`StoreError`].

use std::sync::Arc;

use saguaro_domain::ids::CustomerId;
use saguaro_domain::ports::StoreError;

/// Everything that can go wrong with the SQLite file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the data directory {path}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {path}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer Saguaro: refuse rather than misread it.
    #[error("{path} has schema version {found}; this Saguaro reads versions up to {supported}")]
    SchemaTooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    /// WAL could not be enabled (e.g. the file is on a network file system).
    #[error("{path} cannot use write-ahead logging (journal_mode is {mode})")]
    NotWal { path: String, mode: String },
    #[error("SQLite failed")]
    Sqlite(#[from] rusqlite::Error),
    /// Another writer committed this customer first: the port's conflict.
    #[error("customer {customer} was changed concurrently (expected version {expected})")]
    Conflict { customer: CustomerId, expected: u64 },
    /// The write transaction of a group of commits failed: none of them was written.
    #[error("the write transaction failed; nothing of it was written")]
    Transaction(#[source] Arc<Error>),
    /// A stored JSON document does not parse.
    #[error("stored {what} of {customer} does not parse")]
    Json {
        what: &'static str,
        customer: String,
        #[source]
        source: serde_json::Error,
    },
    /// A stored value is not what the store writes (a negative version, another customer).
    #[error("stored {what} of {customer} is invalid")]
    Invalid {
        what: &'static str,
        customer: String,
    },
    #[error("could not serialise {what}")]
    Serialise {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// SQLite integers are signed 64-bit; versions and sequence numbers beyond are refused.
    #[error("{what} {value} does not fit a SQLite integer")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("cannot start the writer thread")]
    Spawn(#[source] std::io::Error),
    /// The writer thread is gone (the store is shutting down, or the thread panicked).
    #[error("the store's writer has stopped")]
    WriterStopped,
    #[error("a blocking read task failed")]
    Task(#[source] tokio::task::JoinError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Conflict { customer, expected } => StoreError::Conflict { customer, expected },
            Error::Json { .. } | Error::Invalid { .. } | Error::SchemaTooNew { .. } => {
                StoreError::Corrupt(display_chain(&e))
            }
            _ => StoreError::Unavailable(Box::new(e)),
        }
    }
}

/// `e: cause: cause`, for `StoreError::Corrupt`, which only holds a message.
fn display_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
