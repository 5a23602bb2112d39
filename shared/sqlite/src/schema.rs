//! The file's schema, the pragmas every connection sets, and the migration that brings a
//! file of any older schema version (0: new, empty) to [`SCHEMA_VERSION`].

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Stored in `PRAGMA user_version`. Bump it with a new entry in [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = 6;

/// How long a connection waits for another one (of this or another process) that holds the
/// write lock, before a write fails as unavailable (retryable).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `MIGRATIONS[n]` takes a file from version `n` to `n + 1`.
const MIGRATIONS: [&str; 6] = [V1, V2, V3, V4, V5, V6];

/// Plain rowid tables: state documents can be large, which `WITHOUT ROWID` handles badly.
/// Each table's primary key is also its only index; every query of the store is a lookup
/// or a range of it.
const V1: &str = "
CREATE TABLE customers (
    provider   TEXT NOT NULL,
    customer   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    balance    INTEGER NOT NULL,
    tier       TEXT,
    updated_at TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (provider, customer)
);
CREATE TABLE ledger (
    provider        TEXT NOT NULL,
    customer        TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    points          INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    rule            TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    refers_to       INTEGER,
    program_version TEXT NOT NULL,
    doc             TEXT NOT NULL,
    PRIMARY KEY (provider, customer, seq)
);
CREATE TABLE rewards (
    provider       TEXT NOT NULL,
    customer       TEXT NOT NULL,
    reward_id      TEXT NOT NULL,
    reward         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    points         INTEGER NOT NULL,
    status         TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    commit_version INTEGER NOT NULL,
    commit_index   INTEGER NOT NULL,
    doc            TEXT NOT NULL,
    PRIMARY KEY (provider, customer, reward_id)
);
CREATE TABLE markers (
    event_id     TEXT NOT NULL PRIMARY KEY,
    provider     TEXT NOT NULL,
    customer     TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    applied_at   TEXT NOT NULL
);
";

/// Rewards page newest first by commit position, like the ledger by line: an index on it,
/// so a page reads only its rows.
const V2: &str = "
CREATE INDEX rewards_by_commit ON rewards (provider, customer, commit_version, commit_index);
";

/// Reward delivery (issue 9): `waiting_since` (microseconds since the Unix epoch) is set
/// while a row waits for a fulfiler (pending, delivering) and cleared once it is delivered or
/// failed; the sweep reads the rows waiting longest through a partial index of only those.
/// Rows pending before this version wait since their creation (to the second).
const V3: &str = "
ALTER TABLE rewards ADD COLUMN waiting_since INTEGER;
UPDATE rewards SET waiting_since = unixepoch(created_at) * 1000000 WHERE status = 'pending';
CREATE INDEX rewards_waiting ON rewards (waiting_since) WHERE waiting_since IS NOT NULL;
";

/// The daily job's indexes, derived from each customer's state in the same transaction as
/// the state (`saguaro_domain::schedule::ScheduleIndex`), and its watermark. A file of an
/// older version is indexed from its stored states when it is migrated.
const V4: &str = "
CREATE TABLE expiry_index (
    provider TEXT NOT NULL,
    customer TEXT NOT NULL,
    day      TEXT NOT NULL,
    PRIMARY KEY (provider, customer)
);
CREATE INDEX expiry_by_day ON expiry_index (day, provider, customer);
CREATE TABLE anniversaries (
    provider     TEXT NOT NULL,
    customer     TEXT NOT NULL,
    subscription TEXT NOT NULL,
    month_day    TEXT NOT NULL,
    started_on   TEXT NOT NULL,
    plan         TEXT,
    active       INTEGER NOT NULL,
    PRIMARY KEY (provider, customer, subscription)
);
CREATE INDEX anniversaries_by_day ON anniversaries (month_day, provider, customer, subscription);
CREATE TABLE schedule (
    name TEXT NOT NULL PRIMARY KEY,
    day  TEXT NOT NULL
);
";

/// A customer's state in the compact encoding (`saguaro_domain::codec`): `state` keeps only
/// the JSON part, `lots` and `pay` the binary collections. Until v4 `state` held the whole
/// state as JSON, which grew with every lot and payment and was rewritten on every event;
/// the migration re-encodes every row ([`crate::rows::recode_all`]).
const V5: &str = "
ALTER TABLE customers ADD COLUMN lots BLOB;
ALTER TABLE customers ADD COLUMN pay BLOB;
";

/// Stripe invoice links (`saguaro_domain::links`): which invoice a PaymentIntent paid, as
/// basil's `invoice_payment.paid` reports it, for refunds that name only the PaymentIntent.
const V6: &str = "
CREATE TABLE invoice_links (
    payment_intent TEXT NOT NULL PRIMARY KEY,
    invoice        TEXT NOT NULL,
    paid_at        TEXT NOT NULL
);
";

/// Pragmas that hold per connection.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // FULL: in WAL mode, every commit fsyncs the log before returning, so a commit that
    // returned (and the 2xx sent after it) survives `kill -9` and power loss. NORMAL would
    // only fsync at checkpoints: a power cut could lose the last acknowledged events.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Switches the file to write-ahead logging (persistent: later connections inherit it).
/// WAL lets readers run while the writer writes, and other processes read meanwhile.
pub fn enable_wal(conn: &Connection, path: &str) -> Result<()> {
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(Error::NotWal {
            path: path.to_owned(),
            mode,
        })
    }
}

/// Brings the file to [`SCHEMA_VERSION`] in one immediate transaction, so that two
/// processes opening a new file at once cannot both create the tables.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let from = usize::try_from(found).unwrap_or(0);
    for step in &MIGRATIONS[from..] {
        tx.execute_batch(step)?;
    }
    if found > 0 && found < 5 {
        crate::rows::recode_all(&tx)?;
    }
    if found > 0 && found < 4 {
        crate::rows::reindex_all(&tx)?;
    }
    if found != SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}
