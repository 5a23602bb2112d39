//! The embedded store: Saguaro's store port held in process memory, for `saguaro serve
//! --memory` and for tests. It gives the same guarantees as the persistent stores and passes
//! the same contract suite: a commit writes marker, state, lines and rewards together or not
//! at all; a marker that exists wins; a stale version is a conflict.
//!
//! Locking: each customer sits behind its own lock, and the map of customers is locked only
//! long enough to find (or add) an entry. Cloning a large customer's state therefore blocks
//! only writers of that customer, never a read or write of another (issue 13: one global
//! lock made an unrelated GET wait 100+ ms behind clones of a large state). Event markers
//! have their own map, locked briefly inside a commit, after the customer's lock (always in
//! that order, so two commits cannot deadlock).
//!
//! The daily job's indexes (soonest expiry day, subscriptions by local start month-day) and
//! its watermark sit behind one more lock, updated in the commit after the markers' (same
//! order everywhere), so the indexes never disagree with a committed state.

use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use saguaro_domain::schedule::{
    ScheduleIndex, ScheduledExpiry, ScheduledSubscription, decode_cursor, encode_cursor,
};

use saguaro_domain::ids::{CustomerId, EventId};
use saguaro_domain::ledger::{Delivery, LedgerLine, RewardOutbox};
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, IndexPage, LedgerPage, PageRequest, RewardPage,
    RewardPageRequest, RewardPosition, RewardRef, RewardStore, ScheduleStore, StateStore,
    StoreError,
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

/// Who an event was applied to, and what it was. One event id is one event: a second
/// commit of the id matches only if both are the same.
#[derive(Debug)]
struct Marker {
    customer: CustomerId,
    payload_hash: String,
}

type Entry = Arc<RwLock<Customer>>;

type Date = saguaro_domain::schedule::Date;

/// The daily job's indexes and watermark.
#[derive(Debug, Default)]
struct Schedule {
    /// (soonest expiry day, customer).
    expiry: BTreeSet<(Date, CustomerId)>,
    /// By (month, day, customer, subscription).
    anniversaries: BTreeMap<(i8, i8, CustomerId, String), ScheduledSubscription>,
    /// What each customer's last commit indexed, to remove it on the next.
    of: HashMap<CustomerId, ScheduleIndex>,
    watermark: Option<Date>,
}

impl Schedule {
    fn reindex(&mut self, state: &CustomerState) {
        let customer = &state.customer;
        if let Some(old) = self.of.remove(customer) {
            if let Some(day) = old.expires {
                self.expiry.remove(&(day, customer.clone()));
            }
            for s in old.subscriptions {
                let (m, d) = s.month_day();
                self.anniversaries
                    .remove(&(m, d, customer.clone(), s.subscription));
            }
        }
        let new = ScheduleIndex::of(state);
        if let Some(day) = new.expires {
            self.expiry.insert((day, customer.clone()));
        }
        for s in &new.subscriptions {
            let (m, d) = s.month_day();
            self.anniversaries
                .insert((m, d, customer.clone(), s.subscription.clone()), s.clone());
        }
        self.of.insert(customer.clone(), new);
    }
}

fn bad_cursor() -> StoreError {
    StoreError::Rejected("not a cursor of this store".into())
}

/// The in-process store.
// foldhash: these maps are hit twice per event; SipHash's DoS resistance buys nothing for an
// in-process store keyed by ids the merchant's own systems issue.
#[derive(Debug, Default)]
pub struct EmbeddedStore {
    customers: RwLock<HashMap<CustomerId, Entry>>,
    /// Keyed by event id alone.
    markers: Mutex<HashMap<EventId, Marker>>,
    schedule: Mutex<Schedule>,
    /// Stripe invoice links: PaymentIntent → invoice.
    links: Mutex<HashMap<String, String>>,
}

/// A poisoned lock means a writer panicked mid-commit; refuse rather than guess.
fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("embedded store lock poisoned".to_owned())
}

fn read(entry: &Entry) -> Result<RwLockReadGuard<'_, Customer>, StoreError> {
    entry.read().map_err(poisoned)
}

fn write(entry: &Entry) -> Result<RwLockWriteGuard<'_, Customer>, StoreError> {
    entry.write().map_err(poisoned)
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The customer's entry, if anything was ever committed for them. The map lock is
    /// released before the caller locks the entry.
    fn entry(&self, customer: &CustomerId) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .customers
            .read()
            .map_err(poisoned)?
            .get(customer)
            .cloned())
    }

    fn entry_or_insert(&self, customer: &CustomerId) -> Result<Entry, StoreError> {
        if let Some(entry) = self.entry(customer)? {
            return Ok(entry);
        }
        Ok(self
            .customers
            .write()
            .map_err(poisoned)?
            .entry(customer.clone())
            .or_default()
            .clone())
    }

    fn markers(&self) -> Result<MutexGuard<'_, HashMap<EventId, Marker>>, StoreError> {
        self.markers.lock().map_err(poisoned)
    }

    fn commit_now(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let customer = commit.state.customer.clone();
        let entry = self.entry_or_insert(&customer)?;
        let mut c = write(&entry)?;
        // Held from the marker check to the marker insert: two commits of one event id (for
        // two customers) cannot both pass the check.
        let mut markers = self.markers()?;
        if let Some(marker) = &commit.marker
            && let Some(seen) = markers.get(&marker.event_id)
        {
            return Ok(CommitOutcome::AlreadyApplied {
                same_payload: seen.customer == marker.customer
                    && seen.payload_hash == marker.payload_hash,
            });
        }
        let current = c.state.as_ref().map_or(0, |s| s.version);
        if current != commit.expected_version || commit.state.version != current + 1 {
            return Err(StoreError::Conflict {
                customer,
                expected: commit.expected_version,
            });
        }
        if let Some(marker) = commit.marker {
            markers.insert(
                marker.event_id,
                Marker {
                    customer: marker.customer,
                    payload_hash: marker.payload_hash,
                },
            );
        }
        drop(markers);
        self.schedule
            .lock()
            .map_err(poisoned)?
            .reindex(&commit.state);
        // Still under the customer's lock: nobody sees the marker's customer without its state.
        let version = commit.state.version;
        c.state = Some(commit.state);
        c.lines.extend(commit.lines);
        c.rewards
            .extend(commit.rewards.into_iter().enumerate().map(|(i, r)| {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                (RewardPosition { version, index }, r)
            }));
        Ok(CommitOutcome::Applied)
    }
}

impl InvoiceLinkStore for EmbeddedStore {
    async fn put_invoice_link(&self, link: &InvoiceLink) -> Result<(), StoreError> {
        self.links
            .lock()
            .map_err(poisoned)?
            .insert(link.payment_intent.clone(), link.invoice.clone());
        Ok(())
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .links
            .lock()
            .map_err(poisoned)?
            .get(payment_intent)
            .cloned())
    }
}

impl StateStore for EmbeddedStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        match self.entry(customer)? {
            Some(entry) => Ok(read(&entry)?.state.clone()),
            None => Ok(None),
        }
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
        let Some(entry) = self.entry(customer)? else {
            return Ok(LedgerPage {
                lines: Vec::new(),
                next: None,
            });
        };
        let c = read(&entry)?;
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
        let Some(entry) = self.entry(customer)? else {
            return Ok(RewardPage {
                rewards: Vec::new(),
                next: None,
            });
        };
        let c = read(&entry)?;
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

/// Reward delivery state: a row is found by its position (rows are in commit order); the
/// compare-and-set runs under the customer's write lock. The sweep's listing visits every
/// customer (fine for a local store; the persistent stores index waiting rows).
impl RewardStore for EmbeddedStore {
    async fn reward(&self, at: &RewardRef) -> Result<Option<RewardOutbox>, StoreError> {
        let Some(entry) = self.entry(&at.customer)? else {
            return Ok(None);
        };
        let c = read(&entry)?;
        Ok(c.rewards
            .binary_search_by_key(&at.at, |(p, _)| *p)
            .ok()
            .map(|i| c.rewards[i].1.clone()))
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> Result<bool, StoreError> {
        let Some(entry) = self.entry(&at.customer)? else {
            return Ok(false);
        };
        let mut c = write(&entry)?;
        let Ok(i) = c.rewards.binary_search_by_key(&at.at, |(p, _)| *p) else {
            return Ok(false);
        };
        let row = &mut c.rewards[i].1;
        if row.delivery != *expected {
            return Ok(false);
        }
        row.delivery = next.clone();
        // Under the same lock: the notification exists exactly when the transition does.
        if let Some(notice) = notice {
            let pos = saguaro_domain::notify::notice_position(at.at);
            if let Err(j) = c.rewards.binary_search_by_key(&pos, |(p, _)| *p) {
                c.rewards.insert(j, (pos, notice.clone()));
            }
        }
        Ok(true)
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>, StoreError> {
        let entries: Vec<Entry> = self
            .customers
            .read()
            .map_err(poisoned)?
            .values()
            .cloned()
            .collect();
        let mut found = Vec::new();
        for entry in entries {
            let c = read(&entry)?;
            for (at, row) in &c.rewards {
                if row.waiting_since().is_some_and(|t| t < before) {
                    let r = RewardRef {
                        customer: row.customer.clone(),
                        at: *at,
                    };
                    found.push((r, row.clone()));
                }
            }
        }
        found.sort_by_key(|(_, row)| row.waiting_since());
        found.truncate(limit);
        Ok(found)
    }
}

impl ScheduleStore for EmbeddedStore {
    async fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledExpiry>, StoreError> {
        let schedule = self.schedule.lock().map_err(poisoned)?;
        let lower = match cursor {
            Some(c) => {
                let last: ScheduledExpiry = decode_cursor(&c).ok_or_else(bad_cursor)?;
                Bound::Excluded((last.day, last.customer))
            }
            None => Bound::Included((
                from,
                CustomerId::new(saguaro_domain::Provider::Stripe, String::new()),
            )),
        };
        let mut items: Vec<ScheduledExpiry> = schedule
            .expiry
            .range((lower, Bound::Unbounded))
            .take_while(|(day, _)| *day <= through)
            .take(limit.max(1).saturating_add(1))
            .map(|(day, customer)| ScheduledExpiry {
                customer: customer.clone(),
                day: *day,
            })
            .collect();
        let next = if items.len() > limit.max(1) {
            items.truncate(limit.max(1));
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(IndexPage { items, next })
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledSubscription>, StoreError> {
        let schedule = self.schedule.lock().map_err(poisoned)?;
        let lower = match cursor {
            Some(c) => {
                let (customer, subscription): (CustomerId, String) =
                    decode_cursor(&c).ok_or_else(bad_cursor)?;
                Bound::Excluded((month, day, customer, subscription))
            }
            None => Bound::Included((
                month,
                day,
                CustomerId::new(saguaro_domain::Provider::Stripe, String::new()),
                String::new(),
            )),
        };
        let mut items: Vec<ScheduledSubscription> = schedule
            .anniversaries
            .range((lower, Bound::Unbounded))
            .take_while(|((m, d, _, _), _)| (*m, *d) == (month, day))
            .take(limit.max(1).saturating_add(1))
            .map(|(_, s)| s.clone())
            .collect();
        let next = if items.len() > limit.max(1) {
            items.truncate(limit.max(1));
            items
                .last()
                .map(|s| encode_cursor(&(&s.customer, &s.subscription)))
        } else {
            None
        };
        Ok(IndexPage { items, next })
    }

    async fn watermark(&self) -> Result<Option<Date>, StoreError> {
        Ok(self.schedule.lock().map_err(poisoned)?.watermark)
    }

    async fn advance_watermark(&self, from: Option<Date>, to: Date) -> Result<bool, StoreError> {
        let mut schedule = self.schedule.lock().map_err(poisoned)?;
        if schedule.watermark != from {
            return Ok(false);
        }
        schedule.watermark = Some(to);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use saguaro_store_contract::{customer, payment};

    saguaro_store_contract::contract_tests!(async || crate::EmbeddedStore::new());

    fn first_commit(c: &CustomerId) -> Commit {
        let mut state = CustomerState::new(c.clone());
        state.version = 1;
        let event = payment(c, 1, 1_000);
        Commit {
            marker: Some(saguaro_domain::ports::EventMarker::for_event(&event, c)),
            expected_version: 0,
            state,
            lines: Vec::new(),
            rewards: Vec::new(),
        }
    }

    #[tokio::test]
    async fn when_one_customer_is_locked_then_another_is_read_and_written_without_waiting() {
        let store = EmbeddedStore::new();
        let (busy, other) = (customer("busy"), customer("other"));
        for c in [&busy, &other] {
            assert_eq!(
                store.commit(first_commit(c)).await.ok(),
                Some(CommitOutcome::Applied)
            );
        }
        // As if a long clone or commit of `busy` were in progress on another thread: with
        // one store-wide lock, everything below would wait for it (here: deadlock).
        let entry = store.entry(&busy).ok().flatten();
        let held = entry.as_ref().map(|e| e.write());
        assert!(matches!(held, Some(Ok(_))));

        assert!(matches!(store.load(&other).await, Ok(Some(_))));
        let page = PageRequest {
            limit: 10,
            before: None,
        };
        assert!(store.ledger(&other, page).await.is_ok());
        let page = RewardPageRequest {
            limit: 10,
            before: None,
        };
        assert!(store.rewards(&other, page).await.is_ok());
        let newcomer = customer("newcomer");
        assert_eq!(
            store.commit(first_commit(&newcomer)).await.ok(),
            Some(CommitOutcome::Applied)
        );
        drop(held);
        assert!(matches!(store.load(&busy).await, Ok(Some(_))));
    }
}
