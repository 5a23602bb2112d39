//! [`SqliteStore`]: the state and history ports on one SQLite file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::links::{InvoiceLink, InvoiceLinkStore};
use saguaro_domain::ports::{
    Commit, CommitOutcome, HistoryStore, IndexPage, LedgerPage, PageRequest, RewardPage,
    RewardPageRequest, RewardRef, RewardStore, ScheduleStore, StateStore, StoreError,
};
use saguaro_domain::schedule::{Date, ScheduledExpiry, ScheduledSubscription};
use saguaro_domain::state::CustomerState;
use saguaro_domain::{Delivery, RewardOutbox};

use crate::error::{Error, Result};
use crate::writer::Writer;
use crate::{rows, schema};

/// The file's name inside a data directory.
pub const FILE_NAME: &str = "saguaro.sqlite3";

/// Idle reader connections kept for reuse; more are opened while more reads run at once.
const MAX_IDLE_READERS: usize = 8;

/// The Saguaro store on a SQLite file. Build it once per process and share it (`Arc`);
/// other processes may open the same file at the same time.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Arc<Readers>,
    /// The connection of reward delivery updates: small conditional writes outside the
    /// commit writer's groups (SQLite's lock orders them with the commits).
    deliveries: Arc<Mutex<Connection>>,
}

/// Read connections, each used by one read at a time. In WAL mode a reader sees the last
/// committed transaction and never waits for the writer, nor for another reader.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // The pool is only a list of connections: a panic elsewhere leaves it usable.
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let out = read(&conn);
        // A connection whose read failed is dropped rather than reused.
        if out.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        out
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|source| Error::Open {
        path: shown(path),
        source,
    })?;
    schema::configure(&conn)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = open_connection(path)?;
    // Reads only: a bug can never write through a reader.
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens the store in data directory `dir` (created if missing), in the file
    /// [`FILE_NAME`].
    pub fn open_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: shown(dir),
            source,
        })?;
        Self::open(&dir.join(FILE_NAME))
    }

    /// Opens (or creates) the store in file `path`: WAL mode, schema brought to
    /// [`crate::SCHEMA_VERSION`]. Blocking: call it before serving, or off the executor.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = open_connection(path)?;
        schema::enable_wal(&conn, &shown(path))?;
        schema::migrate(&mut conn, &shown(path))?;
        let deliveries = Arc::new(Mutex::new(open_connection(path)?));
        Ok(Self {
            deliveries,
            path: path.to_owned(),
            writer: Writer::start(conn)?,
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` on a reader connection, off the async executor.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let out = tokio::task::spawn_blocking(move || readers.with(read))
            .await
            .map_err(Error::Task)?;
        Ok(out?)
    }
}

impl StateStore for SqliteStore {
    async fn load(&self, customer: &CustomerId) -> Result<Option<CustomerState>, StoreError> {
        let customer = customer.clone();
        self.read(move |conn| rows::load(conn, &customer)).await
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.writer.commit(commit).await
    }
}

impl HistoryStore for SqliteStore {
    async fn ledger(
        &self,
        customer: &CustomerId,
        page: PageRequest,
    ) -> Result<LedgerPage, StoreError> {
        let customer = customer.clone();
        self.read(move |conn| rows::ledger_page(conn, &customer, page))
            .await
    }

    async fn rewards(
        &self,
        customer: &CustomerId,
        page: RewardPageRequest,
    ) -> Result<RewardPage, StoreError> {
        let customer = customer.clone();
        self.read(move |conn| rows::rewards_page(conn, &customer, page))
            .await
    }
}

impl RewardStore for SqliteStore {
    async fn reward(&self, at: &RewardRef) -> Result<Option<RewardOutbox>, StoreError> {
        let at = at.clone();
        self.read(move |conn| rows::reward_at(conn, &at)).await
    }

    async fn set_delivery(
        &self,
        at: &RewardRef,
        expected: &Delivery,
        next: &Delivery,
        notice: Option<&RewardOutbox>,
    ) -> Result<bool, StoreError> {
        let (at, expected, next) = (at.clone(), expected.clone(), next.clone());
        let notice = notice.cloned();
        let conn = self.deliveries.clone();
        let out = tokio::task::spawn_blocking(move || {
            // A panic mid-update rolled its transaction back: the connection is still usable.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            rows::set_delivery(&mut conn, &at, &expected, &next, notice.as_ref())
        })
        .await
        .map_err(Error::Task)?;
        Ok(out?)
    }

    async fn waiting_rewards(
        &self,
        before: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(RewardRef, RewardOutbox)>, StoreError> {
        self.read(move |conn| rows::waiting_rewards(conn, before, limit))
            .await
    }
}

impl InvoiceLinkStore for SqliteStore {
    /// On the delivery updates' connection: one small write, outside the commit groups.
    async fn put_invoice_link(&self, link: &InvoiceLink) -> Result<(), StoreError> {
        let link = link.clone();
        let conn = self.deliveries.clone();
        let out = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            rows::put_invoice_link(&conn, &link)
        })
        .await
        .map_err(Error::Task)?;
        Ok(out?)
    }

    async fn invoice_link(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        let payment_intent = payment_intent.to_owned();
        self.read(move |conn| rows::invoice_link(conn, &payment_intent))
            .await
    }
}

impl ScheduleStore for SqliteStore {
    async fn expiring(
        &self,
        from: Date,
        through: Date,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledExpiry>, StoreError> {
        self.read(move |conn| rows::expiring_page(conn, from, through, cursor.as_deref(), limit))
            .await
    }

    async fn anniversaries(
        &self,
        month: i8,
        day: i8,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<IndexPage<ScheduledSubscription>, StoreError> {
        self.read(move |conn| rows::anniversaries_page(conn, month, day, cursor.as_deref(), limit))
            .await
    }

    async fn watermark(&self) -> Result<Option<Date>, StoreError> {
        self.read(rows::watermark).await
    }

    /// On a connection of its own, in an immediate transaction: another process's writer
    /// (a second `saguaro tick`) waits for it, so the check and the write are one step.
    async fn advance_watermark(&self, from: Option<Date>, to: Date) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let out = tokio::task::spawn_blocking(move || -> Result<bool> {
            let mut conn = open_connection(&path)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let moved = rows::advance_watermark(&tx, from, to)?;
            tx.commit()?;
            Ok(moved)
        })
        .await
        .map_err(Error::Task)?;
        Ok(out?)
    }
}
