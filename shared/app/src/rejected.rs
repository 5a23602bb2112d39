//! Rejected events: webhook deliveries that can never be applied as they are (a refund in
//! another currency than its payment, a timestamp out of range, a relevant event that lacks
//! what Saguaro needs, a sum past `i64`). Retrying them would not help, so the webhook
//! acknowledges them (2xx: the provider stops retrying) and parks them here, with the reason,
//! where an operator sees them: `GET /rejected` and `saguaro rejected` on the local runner.
//! Nothing is dropped: when parking fails, the webhook answers 500 and the provider retries.
//!
//! On AWS the earn function reports such events failed, and SQS moves them to the earn
//! dead-letter queue, whose alarm fires; the webhook functions park what they can never
//! normalise in that same queue (`saguaro_sqs::SqsParking`), so an operator finds every
//! event Saguaro could not apply in one place, with its reason.
//!
//! Three places: [`RejectedFile`], JSON lines in the data directory (`rejected.jsonl`),
//! [`RejectedMemory`] for `saguaro serve --memory` and tests, and the queue. A webhook
//! parks through [`ParkRejected`], which the two local lists implement through
//! [`LocalParking`].

use std::fs::OpenOptions;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One parked delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// `stripe` or `chargebee`.
    pub provider: String,
    pub event_id: String,
    /// The provider's event type, or the normalised trigger for an event the engine refused.
    pub event_type: String,
    /// Why it cannot be applied.
    pub reason: String,
    pub received_at: Timestamp,
    /// What to replay once fixed: the provider's body (verified), or the normalised event's
    /// JSON when the engine refused it.
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RejectedError {
    #[error("cannot write the rejected list {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the rejected list {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The queue that parks rejections on AWS did not take it.
    #[error("cannot send the rejection to the parking queue")]
    Queue {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("line {line} of {path} is not a rejection")]
    Corrupt {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// Where rejected events are parked. Synchronous: parking is one small append.
pub trait RejectedEvents: Send + Sync + std::fmt::Debug {
    fn park(&self, rejection: &Rejection) -> Result<(), RejectedError>;
    /// The newest `limit` rejections, newest first.
    fn newest(&self, limit: usize) -> Result<Vec<Rejection>, RejectedError>;
}

/// What [`ParkRejected::park`] returns.
pub type ParkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), RejectedError>> + Send + 'a>>;

/// Where a webhook parks what it can never apply: asynchronous, since on AWS it is a queue.
pub trait ParkRejected: Send + Sync + std::fmt::Debug {
    fn park<'a>(&'a self, rejection: &'a Rejection) -> ParkFuture<'a>;
}

/// A local rejected list ([`RejectedFile`], [`RejectedMemory`]) as a webhook's parking place.
#[derive(Debug, Clone)]
pub struct LocalParking(pub Arc<dyn RejectedEvents>);

impl ParkRejected for LocalParking {
    fn park<'a>(&'a self, rejection: &'a Rejection) -> ParkFuture<'a> {
        Box::pin(std::future::ready(self.0.park(rejection)))
    }
}

/// The rejected list in memory.
#[derive(Debug, Default)]
pub struct RejectedMemory(Mutex<Vec<Rejection>>);

impl RejectedEvents for RejectedMemory {
    fn park(&self, rejection: &Rejection) -> Result<(), RejectedError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(rejection.clone());
        Ok(())
    }

    fn newest(&self, limit: usize) -> Result<Vec<Rejection>, RejectedError> {
        let all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(all.iter().rev().take(limit).cloned().collect())
    }
}

/// The rejected list as JSON lines in a file, appended and flushed to disk per rejection.
#[derive(Debug)]
pub struct RejectedFile {
    path: PathBuf,
    /// Serialises appends from concurrent requests.
    lock: Mutex<()>,
}

/// The file's name in a data directory.
pub const REJECTED_FILE: &str = "rejected.jsonl";

impl RejectedFile {
    /// `rejected.jsonl` in data directory `dir` (created on the first rejection).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(REJECTED_FILE),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RejectedEvents for RejectedFile {
    fn park(&self, rejection: &Rejection) -> Result<(), RejectedError> {
        let write = |source| RejectedError::Write {
            path: self.path.clone(),
            source,
        };
        // Plain data with string keys cannot fail to serialise.
        let mut line = serde_json::to_vec(rejection).unwrap_or_default();
        line.push(b'\n');
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(write)?;
        file.write_all(&line).map_err(write)?;
        file.sync_data().map_err(write)
    }

    fn newest(&self, limit: usize) -> Result<Vec<Rejection>, RejectedError> {
        let read = |source| RejectedError::Read {
            path: self.path.clone(),
            source,
        };
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(read(e)),
        };
        // Kept to the newest `limit` while reading, so memory is bounded by `limit`.
        let mut newest = std::collections::VecDeque::with_capacity(limit.min(1024));
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(read)?;
            if line.trim().is_empty() {
                continue;
            }
            let rejection =
                serde_json::from_str(&line).map_err(|source| RejectedError::Corrupt {
                    path: self.path.clone(),
                    line: n + 1,
                    source,
                })?;
            if newest.len() == limit {
                newest.pop_front();
            }
            if limit > 0 {
                newest.push_back(rejection);
            }
        }
        Ok(newest.into_iter().rev().collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rejection(n: u32) -> Rejection {
        Rejection {
            provider: "stripe".to_owned(),
            event_id: format!("evt_{n}"),
            event_type: "charge.refunded".to_owned(),
            reason: "refund in eur of a payment in usd".to_owned(),
            received_at: Timestamp::from_second(1_700_000_000).unwrap(),
            body: "{}".to_owned(),
        }
    }

    #[test]
    fn when_rejections_are_parked_then_the_newest_come_first_in_memory_and_on_disk() {
        let dir = std::env::temp_dir().join(format!("saguaro-rejected-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = RejectedFile::in_dir(&dir);
        let _ = std::fs::remove_file(file.path());
        let memory = RejectedMemory::default();
        assert!(file.newest(10).unwrap().is_empty());
        for n in 1..=3 {
            file.park(&rejection(n)).unwrap();
            memory.park(&rejection(n)).unwrap();
        }
        let ids = |list: Vec<Rejection>| list.into_iter().map(|r| r.event_id).collect::<Vec<_>>();
        assert_eq!(ids(file.newest(2).unwrap()), ["evt_3", "evt_2"]);
        assert_eq!(ids(memory.newest(2).unwrap()), ["evt_3", "evt_2"]);
        assert_eq!(file.newest(10).unwrap(), memory.newest(10).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
