//! Test set-up: a store in a fresh temporary data directory, removed when the store is
//! dropped.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use saguaro_domain::ids::CustomerId;
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, LedgerPage, PageRequest, RewardPage, RewardPageRequest,
    RewardRef, RewardStore, StateStore, StoreError,
};
use saguaro_domain::state::CustomerState;
use saguaro_sqlite::SqliteStore;

/// A directory under the system's temporary directory, unique to this process and call,
/// removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("saguaro-sqlite-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A [`SqliteStore`] in its own [`TempDir`]; the store is closed before the directory goes.
#[derive(Debug)]
pub struct TempStore {
    store: Option<SqliteStore>,
    _dir: TempDir,
}

impl TempStore {
    pub fn new(what: &str) -> Self {
        let dir = TempDir::new(what);
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        Self {
            store: Some(store),
            _dir: dir,
        }
    }

    pub fn store(&self) -> &SqliteStore {
        self.store.as_ref().unwrap()
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        drop(self.store.take());
    }
}

impl StateStore for TempStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        self.store().load(customer).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.store().commit(commit).await
    }
}

impl HistoryStore for TempStore {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        self.store().ledger(customer, page).await
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        self.store().rewards(customer, page).await
    }
}

impl RewardStore for TempStore {
    async fn reward(
        &self,
        at: &RewardRef,
    ) -> Result<Option<saguaro_domain::RewardOutbox>, StoreError> {
        self.store().reward(at).await
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &saguaro_domain::Delivery,
        next: &saguaro_domain::Delivery,
        notice: Option<&saguaro_domain::RewardOutbox>,
    ) -> Result<bool, StoreError> {
        self.store().set_delivery(at, expected, next, notice).await
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, saguaro_domain::RewardOutbox)>, StoreError> {
        self.store().waiting_rewards(before, limit).await
    }
}

impl saguaro_domain::ports::ScheduleStore for TempStore {
    async fn expiring(
        &self,
        from: saguaro_domain::schedule::Date,
        through: saguaro_domain::schedule::Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<
        saguaro_domain::ports::IndexPage<saguaro_domain::schedule::ScheduledExpiry>,
        StoreError,
    > {
        self.store().expiring(from, through, cursor, limit).await
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<
        saguaro_domain::ports::IndexPage<saguaro_domain::schedule::ScheduledSubscription>,
        StoreError,
    > {
        self.store().anniversaries(month, day, cursor, limit).await
    }

    async fn watermark(&self) -> Result<Option<saguaro_domain::schedule::Date>, StoreError> {
        self.store().watermark().await
    }

    async fn advance_watermark(
        &self,
        from: Option<saguaro_domain::schedule::Date>,
        to: saguaro_domain::schedule::Date,
    ) -> Result<bool, StoreError> {
        self.store().advance_watermark(from, to).await
    }
}

impl saguaro_domain::links::InvoiceLinkStore for TempStore {
    async fn put_invoice_link(
        &self,
        link: &saguaro_domain::links::InvoiceLink,
    ) -> Result<(), StoreError> {
        self.store().put_invoice_link(link).await
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        self.store().invoice_link(payment_intent).await
    }
}
