//! The embedded store: Saguaro's store port held in process memory, for the local runner
//! (`saguaro serve`) and for tests. It gives the same guarantees as the DynamoDB store and
//! passes the same contract suite: a commit writes marker, state, lines and rewards together
//! or not at all; a marker that exists wins; a stale version is a conflict.

use foldhash::HashMap;
use std::sync::{Mutex, MutexGuard};

use saguaro_domain::ids::{CustomerId, EventId};
use saguaro_domain::ledger::{LedgerLine, RewardOutbox};
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, LedgerPage, PageRequest, RewardPage, RewardPageRequest,
    RewardPosition, StateStore, StoreError,
};
use saguaro_domain::state::CustomerState;

#[derive(Debug, Default)]
struct Customer {
    state: Option<CustomerState>,
    /// Oldest first (sequence order).
    lines: Vec<LedgerLine>,
    /// Oldest first (commit order).
    rewards: Vec<(RewardPosition, RewardOutbox)>,
}

// foldhash: these maps are hit twice per event; SipHash's DoS resistance buys nothing for an
// in-process store keyed by ids the merchant's own systems issue.
#[derive(Debug, Default)]
struct Inner {
    customers: HashMap<CustomerId, Customer>,
    /// (event, customer) → payload hash.
    markers: HashMap<(EventId, CustomerId), String>,
}

/// The in-process store. One lock makes every commit atomic.
#[derive(Debug, Default)]
pub struct EmbeddedStore {
    inner: Mutex<Inner>,
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a writer panicked mid-commit; refuse rather than guess.
        self.inner
            .lock()
            .map_err(|_| StoreError::Corrupt("embedded store lock poisoned".to_owned()))
    }

    fn commit_now(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let mut inner = self.lock()?;
        let customer = commit.state.customer.clone();
        if let Some(marker) = &commit.marker
            && let Some(hash) = inner
                .markers
                .get(&(marker.event_id.clone(), marker.customer.clone()))
        {
            return Ok(CommitOutcome::AlreadyApplied {
                same_payload: *hash == marker.payload_hash,
            });
        }
        let current = inner
            .customers
            .get(&customer)
            .and_then(|c| c.state.as_ref())
            .map_or(0, |s| s.version);
        if current != commit.expected_version || commit.state.version != current + 1 {
            return Err(StoreError::Conflict {
                customer,
                expected: commit.expected_version,
            });
        }
        if let Some(marker) = commit.marker {
            inner
                .markers
                .insert((marker.event_id, marker.customer), marker.payload_hash);
        }
        let version = commit.state.version;
        let entry = inner.customers.entry(customer).or_default();
        entry.state = Some(commit.state);
        entry.lines.extend(commit.lines);
        entry
            .rewards
            .extend(commit.rewards.into_iter().enumerate().map(|(i, r)| {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                (RewardPosition { version, index }, r)
            }));
        Ok(CommitOutcome::Applied)
    }
}

impl StateStore for EmbeddedStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        Ok(self
            .lock()?
            .customers
            .get(customer)
            .and_then(|c| c.state.clone()))
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.commit_now(commit)
    }
}

impl HistoryStore for EmbeddedStore {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        let inner = self.lock()?;
        let Some(c) = inner.customers.get(customer) else {
            return Ok(LedgerPage {
                lines: Vec::new(),
                next: None,
            });
        };
        let end = match page.before {
            Some(before) => c.lines.partition_point(|l| l.seq < before),
            None => c.lines.len(),
        };
        let start = end.saturating_sub(page.limit);
        let lines: Vec<LedgerLine> = c.lines[start..end].iter().rev().cloned().collect();
        let next = (start > 0).then(|| lines.last().map(|l| l.seq)).flatten();
        Ok(LedgerPage { lines, next })
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        let inner = self.lock()?;
        let Some(c) = inner.customers.get(customer) else {
            return Ok(RewardPage {
                rewards: Vec::new(),
                next: None,
            });
        };
        let end = match page.before {
            Some(before) => c.rewards.partition_point(|(at, _)| *at < before),
            None => c.rewards.len(),
        };
        let start = end.saturating_sub(page.limit);
        let rows = &c.rewards[start..end];
        let next = (start > 0)
            .then(|| rows.first().map(|(at, _)| *at))
            .flatten();
        Ok(RewardPage {
            rewards: rows.iter().rev().map(|(_, r)| r.clone()).collect(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    saguaro_store_contract::contract_tests!(async || crate::EmbeddedStore::new());
}
