//! Applying events: load the customer, run the engine, commit atomically, retry on a
//! concurrent writer, then deliver follow-ups (a referral to the referrer). Every write to a
//! customer's points goes through here, locally and in the earn Lambda alike. An [`Earner`]
//! is also the local runner's [`EventSink`]: an accepted event is applied at once.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use saguaro_domain::engine::{self, EngineError, Notice};
use saguaro_domain::ids::CustomerId;
use saguaro_domain::{CustomerState, Event, EventId, Program};
use tracing::{debug, info, warn};

use crate::ports::{
    Commit, CommitOutcome, EventMarker, EventSink, SinkError, StateStore, StoreError,
};

/// Optimistic-concurrency retries before giving up (the queue will redeliver).
const MAX_ATTEMPTS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum EarnError {
    /// The event cannot be applied as it is; retrying will not help.
    #[error("event {event_id} cannot be applied")]
    Rejected {
        event_id: EventId,
        #[source]
        source: EngineError,
    },
    /// The id was first used for a different event.
    #[error("event id {0} was already used for a different event")]
    IdReused(EventId),
    #[error("store failed")]
    Store(#[from] StoreError),
    #[error("customer {0} kept changing under us")]
    Contended(CustomerId),
}

impl EarnError {
    /// Whether a later retry of the same event may succeed. A store that rejected the
    /// commit, or holds data it cannot read, gives the same answer next time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Rejected { .. } | Self::IdReused(_) => false,
            Self::Store(StoreError::Rejected(_) | StoreError::Corrupt(_)) => false,
            Self::Store(StoreError::Unavailable(_) | StoreError::Conflict { .. }) => true,
            Self::Contended(_) => true,
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// First application: the event's lines and rewards were committed.
    New { lines: usize, rewards: usize },
    /// The event had been applied before; nothing changed.
    Duplicate,
}

/// States already read in this batch (the earn Lambda reads each customer once per batch).
/// Entries are exactly what was last committed or loaded; a conflict evicts the entry.
#[derive(Debug, Default)]
pub struct StateCache {
    states: HashMap<CustomerId, CustomerState>,
    /// A disabled cache keeps nothing: every read goes to the store.
    disabled: bool,
}

impl StateCache {
    /// A cache that keeps nothing (one-off applications).
    pub fn disabled() -> Self {
        Self {
            states: HashMap::new(),
            disabled: true,
        }
    }

    fn keep(&mut self, customer: &CustomerId, state: &CustomerState) {
        if !self.disabled {
            self.states.insert(customer.clone(), state.clone());
        }
    }

    fn put_back(&mut self, state: CustomerState) {
        if !self.disabled {
            self.states.insert(state.customer.clone(), state);
        }
    }
}

/// Applies events to a store under one program.
#[derive(Debug)]
pub struct Earner<S> {
    store: S,
    program: Arc<Program>,
}

impl<S: StateStore> Earner<S> {
    pub fn new(store: S, program: Arc<Program>) -> Self {
        Self { store, program }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies one event, with no cache.
    pub async fn apply(&self, event: &Event) -> Result<Applied, EarnError> {
        self.apply_cached(event, &mut StateCache::disabled()).await
    }

    /// Applies one event, reading customer state from `cache` when it has it.
    pub async fn apply_cached(
        &self,
        event: &Event,
        cache: &mut StateCache,
    ) -> Result<Applied, EarnError> {
        let (applied, pending) = self.apply_to(event, &event.customer, cache).await?;
        // Also after a duplicate: a crash may have come between the commit and the follow-ups.
        if pending || applied == Applied::Duplicate {
            self.deliver_follow_ups(&event.customer, cache).await?;
        }
        Ok(applied)
    }

    /// The customer's state, taken out of the cache: the caller puts back what it commits.
    async fn state(
        &self,
        customer: &CustomerId,
        cache: &mut StateCache,
    ) -> Result<CustomerState, EarnError> {
        if let Some(s) = cache.states.remove(customer) {
            return Ok(s);
        }
        Ok(self
            .store
            .load(customer)
            .await?
            .unwrap_or_else(|| CustomerState::new(customer.clone())))
    }

    /// Applies `event` to `beneficiary`; also says whether the committed state has follow-ups
    /// to deliver.
    async fn apply_to(
        &self,
        event: &Event,
        beneficiary: &CustomerId,
        cache: &mut StateCache,
    ) -> Result<(Applied, bool), EarnError> {
        let marker = EventMarker::for_event(event, beneficiary);
        for _ in 0..MAX_ATTEMPTS {
            let state = self.state(beneficiary, cache).await?;
            let version = state.version;
            let mut outcome =
                engine::apply_owned(&self.program, state, event).map_err(|source| {
                    EarnError::Rejected {
                        event_id: event.id.clone(),
                        source,
                    }
                })?;
            let (lines, rewards) = (outcome.lines.len(), outcome.rewards.len());
            let notices = std::mem::take(&mut outcome.notices);
            let commit = Commit::of(Some(marker.clone()), version, outcome);
            let balance = commit.state.balance;
            let pending = !commit.state.pending.is_empty();
            // Kept before the commit consumes it; evicted below unless the commit is applied.
            cache.keep(beneficiary, &commit.state);
            match self.store.commit(commit).await {
                Ok(CommitOutcome::Applied) => {
                    log_notices(event, beneficiary, &notices);
                    info!(event_id = %event.id, customer = %beneficiary, lines, rewards, balance, "applied");
                    return Ok((Applied::New { lines, rewards }, pending));
                }
                Ok(CommitOutcome::AlreadyApplied { same_payload: true }) => {
                    cache.states.remove(beneficiary);
                    debug!(event_id = %event.id, customer = %beneficiary, "duplicate delivery");
                    return Ok((Applied::Duplicate, false));
                }
                Ok(CommitOutcome::AlreadyApplied {
                    same_payload: false,
                }) => {
                    cache.states.remove(beneficiary);
                    warn!(event_id = %event.id, customer = %beneficiary, "event id reused for a different event");
                    return Err(EarnError::IdReused(event.id.clone()));
                }
                Err(StoreError::Conflict { .. }) => {
                    debug!(event_id = %event.id, customer = %beneficiary, "version conflict, retrying");
                    cache.states.remove(beneficiary);
                }
                Err(e) => {
                    cache.states.remove(beneficiary);
                    return Err(e.into());
                }
            }
        }
        Err(EarnError::Contended(beneficiary.clone()))
    }

    /// Applies the follow-ups kept in `customer`'s state to their own customers, then clears
    /// them. Each follow-up is idempotent by its marker, so a crash anywhere here is harmless.
    async fn deliver_follow_ups(
        &self,
        customer: &CustomerId,
        cache: &mut StateCache,
    ) -> Result<(), EarnError> {
        for _ in 0..MAX_ATTEMPTS {
            let state = self.state(customer, cache).await?;
            if state.pending.is_empty() {
                cache.put_back(state);
                return Ok(());
            }
            for follow_up in &state.pending {
                if let Some(referrer) = &follow_up.refs.referrer {
                    self.apply_to(follow_up, referrer, cache).await?;
                }
            }
            let expected_version = state.version;
            let mut cleared = state;
            cleared.pending.clear();
            cleared.version = expected_version + 1;
            cache.keep(customer, &cleared);
            let commit = Commit {
                marker: None,
                expected_version,
                state: cleared,
                lines: Vec::new(),
                rewards: Vec::new(),
            };
            match self.store.commit(commit).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => {
                    cache.states.remove(customer);
                }
                Err(e) => {
                    cache.states.remove(customer);
                    return Err(e.into());
                }
            }
        }
        Err(EarnError::Contended(customer.clone()))
    }
}

/// The engine's notices about an applied event, as log lines.
fn log_notices(event: &Event, customer: &CustomerId, notices: &[Notice]) {
    for notice in notices {
        match notice {
            Notice::RefundOfUnknownPayment { payment } => {
                warn!(event_id = %event.id, customer = %customer, payment = %payment,
                    "refund of a payment with no record (older than the refund window, or not delivered yet): nothing reversed");
            }
        }
    }
}

impl<S: StateStore> EventSink for Earner<S> {
    async fn submit(&self, event: Event) -> Result<(), SinkError> {
        match self.apply(&event).await {
            Ok(_) => Ok(()),
            Err(EarnError::IdReused(_)) => Err(SinkError::IdReused),
            Err(e) if !e.is_retryable() => Err(SinkError::Rejected(Box::new(e))),
            Err(e) => Err(SinkError::Unavailable(Box::new(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use saguaro_domain::ids::Provider;

    use super::*;

    #[test]
    fn when_the_store_rejects_or_holds_corrupt_data_then_retrying_cannot_help() {
        let rejected = EarnError::Store(StoreError::Rejected("transaction too large".into()));
        let corrupt = EarnError::Store(StoreError::Corrupt("doc does not parse".to_owned()));
        assert!(!rejected.is_retryable());
        assert!(!corrupt.is_retryable());
        assert!(!EarnError::IdReused(EventId::new("e1")).is_retryable());
    }

    #[test]
    fn when_the_store_is_unavailable_or_contended_then_a_retry_may_succeed() {
        let customer = CustomerId::new(Provider::Custom, "c-1");
        assert!(EarnError::Store(StoreError::Unavailable("throttled".into())).is_retryable());
        assert!(EarnError::Contended(customer).is_retryable());
    }
}
