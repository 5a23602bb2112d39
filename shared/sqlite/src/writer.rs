//! The single writer: one thread owns the one write connection (SQLite has one writer per
//! file anyway) and applies commits in groups.
//!
//! Group commit: the thread takes every commit waiting in its queue (up to
//! [`MAX_GROUP`]), applies each in its own savepoint of one `BEGIN IMMEDIATE` transaction,
//! and answers all of them after the one `COMMIT`, so a burst of events costs one fsync
//! instead of one each. A commit that is refused (marker, version) or fails rolls back its
//! savepoint only; if the transaction itself fails, every commit of the group fails and
//! none was written. No answer is sent before `COMMIT` returned: an acknowledged event is
//! on disk.
//!
//! A dedicated thread rather than `spawn_blocking` per commit: the connection and its
//! statement cache stay on one thread, and the queue is what makes grouping possible.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior};
use saguaro_domain::ports::{Commit, CommitOutcome, StoreError};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::rows;

/// Commits applied in one transaction at most: bounds the time a commit waits behind
/// others, and the work lost to a failed transaction.
pub const MAX_GROUP: usize = 128;

type Answer = Result<CommitOutcome, StoreError>;

#[derive(Debug)]
struct Request {
    commit: Commit,
    reply: oneshot::Sender<Answer>,
}

/// The handle to the writer thread. Dropping it lets the thread finish what is queued,
/// close the connection (checkpointing the log) and exit; the drop waits for that.
#[derive(Debug)]
pub struct Writer {
    requests: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(conn: Connection) -> Result<Self> {
        let (requests, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("saguaro-sqlite-writer".to_owned())
            .spawn(move || run(conn, &queue))
            .map_err(Error::Spawn)?;
        Ok(Self {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    pub async fn commit(&self, commit: Commit) -> Answer {
        let (reply, answer) = oneshot::channel();
        let requests = self.requests.as_ref().ok_or(Error::WriterStopped)?;
        requests
            .send(Request { commit, reply })
            .map_err(|_| Error::WriterStopped)?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            // A panicked writer has nothing left to close; there is nobody to tell.
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, queue: &Receiver<Request>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let commits: Vec<&Commit> = group.iter().map(|r| &r.commit).collect();
        let answers = match apply_group(&mut conn, &commits) {
            Ok(answers) => answers,
            Err(e) => {
                let e = Arc::new(e);
                commits
                    .iter()
                    .map(|_| Err(Error::Transaction(e.clone()).into()))
                    .collect()
            }
        };
        for (request, answer) in group.into_iter().zip(answers) {
            // The caller may have gone away (request cancelled): the commit stands anyway.
            let _ = request.reply.send(answer);
        }
    }
}

/// One transaction for the whole group, one savepoint per commit. The answers are only
/// valid once the transaction committed: an "already applied" may rest on a marker
/// written earlier in the same group.
fn apply_group(conn: &mut Connection, commits: &[&Commit]) -> Result<Vec<Answer>> {
    let now = jiff::Timestamp::now().to_string();
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(commits.len());
    for commit in commits {
        let savepoint = tx.savepoint()?;
        let outcome = rows::apply_commit(&savepoint, commit, &now);
        match outcome {
            Ok(CommitOutcome::Applied) => savepoint.commit()?,
            // Nothing of a refused or failed commit is kept (the default: roll back).
            _ => savepoint.finish()?,
        }
        answers.push(outcome.map_err(StoreError::from));
    }
    tx.commit()?;
    Ok(answers)
}
