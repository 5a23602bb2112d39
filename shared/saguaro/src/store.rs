//! The store `saguaro serve` runs on: persistent in a data directory (SQLite, the default)
//! or in memory (`--memory`). One type for both, so the runner's routes are built once.

use std::path::Path;

use saguaro_domain::ids::CustomerId;
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, IndexPage, LedgerPage, PageRequest, RewardPage,
    RewardPageRequest, RewardRef, RewardStore, ScheduleStore, StateStore, StoreError,
};
use saguaro_domain::schedule::{Date, ScheduledExpiry, ScheduledSubscription};
use saguaro_domain::state::CustomerState;
use saguaro_domain::{Delivery, RewardOutbox};
use saguaro_embedded::EmbeddedStore;
use saguaro_sqlite::SqliteStore;

#[derive(Debug)]
pub enum LocalStore {
    /// Everything in process memory: a restart starts afresh.
    Memory(EmbeddedStore),
    /// `saguaro.sqlite3` in a data directory: survives restarts and crashes.
    Sqlite(SqliteStore),
}

impl LocalStore {
    pub fn memory() -> Self {
        Self::Memory(EmbeddedStore::new())
    }

    /// Opens (creating if needed) the persistent store in data directory `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, saguaro_sqlite::Error> {
        SqliteStore::open_dir(dir).map(Self::Sqlite)
    }

    /// Where the data is, for the start-up message.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory(_) => "in memory (--memory): a restart starts afresh".to_owned(),
            Self::Sqlite(s) => {
                let path = std::fs::canonicalize(s.path()).unwrap_or_else(|_| s.path().into());
                path.display().to_string()
            }
        }
    }
}

impl StateStore for LocalStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        match self {
            Self::Memory(s) => s.load(customer).await,
            Self::Sqlite(s) => s.load(customer).await,
        }
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        match self {
            Self::Memory(s) => s.commit(commit).await,
            Self::Sqlite(s) => s.commit(commit).await,
        }
    }
}

impl HistoryStore for LocalStore {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        match self {
            Self::Memory(s) => s.ledger(customer, page).await,
            Self::Sqlite(s) => s.ledger(customer, page).await,
        }
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        match self {
            Self::Memory(s) => s.rewards(customer, page).await,
            Self::Sqlite(s) => s.rewards(customer, page).await,
        }
    }
}

impl RewardStore for LocalStore {
    async fn reward(&self, at: &RewardRef) -> Result<Option<RewardOutbox>, StoreError> {
        match self {
            Self::Memory(s) => s.reward(at).await,
            Self::Sqlite(s) => s.reward(at).await,
        }
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Memory(s) => s.set_delivery(at, expected, next, notice).await,
            Self::Sqlite(s) => s.set_delivery(at, expected, next, notice).await,
        }
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>, StoreError> {
        match self {
            Self::Memory(s) => s.waiting_rewards(before, limit).await,
            Self::Sqlite(s) => s.waiting_rewards(before, limit).await,
        }
    }
}

impl ScheduleStore for LocalStore {
    async fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledExpiry>, StoreError> {
        match self {
            Self::Memory(s) => s.expiring(from, through, cursor, limit).await,
            Self::Sqlite(s) => s.expiring(from, through, cursor, limit).await,
        }
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledSubscription>, StoreError> {
        match self {
            Self::Memory(s) => s.anniversaries(month, day, cursor, limit).await,
            Self::Sqlite(s) => s.anniversaries(month, day, cursor, limit).await,
        }
    }

    async fn watermark(&self) -> Result<Option<Date>, StoreError> {
        match self {
            Self::Memory(s) => s.watermark().await,
            Self::Sqlite(s) => s.watermark().await,
        }
    }

    async fn advance_watermark(&self, from: Option<Date>, to: Date) -> Result<bool, StoreError> {
        match self {
            Self::Memory(s) => s.advance_watermark(from, to).await,
            Self::Sqlite(s) => s.advance_watermark(from, to).await,
        }
    }
}

impl InvoiceLinkStore for LocalStore {
    async fn put_invoice_link(&self, link: &InvoiceLink) -> Result<(), StoreError> {
        match self {
            Self::Memory(s) => s.put_invoice_link(link).await,
            Self::Sqlite(s) => s.put_invoice_link(link).await,
        }
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        match self {
            Self::Memory(s) => s.invoice_link(payment_intent).await,
            Self::Sqlite(s) => s.invoice_link(payment_intent).await,
        }
    }
}
