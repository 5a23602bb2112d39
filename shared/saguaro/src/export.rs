//! `saguaro export ledger|balances --format csv|jsonl [--data DIR | --table NAME]`: the store's
//! ledgers or balances on stdout, for finance and for other tools, with the totals on
//! stderr.
//!
//! - `balances`: one row per customer (by provider, then id): `provider`, `customer`,
//!   `balance`, `qualifying_points` (now, in the program's tier window), `tier`, `currency`
//!   (of their latest payment) and `liability` (minor units of that currency, by the rule of
//!   [`crate::simulate::summary::LIABILITY_RULE`]; empty without a rate).
//! - `ledger`: every line of every customer, oldest first per customer: `provider`,
//!   `customer`, `seq`, `kind`, `points`, `balance_after`, `rule`, `event_id`,
//!   `occurred_at`, `refers_to`, `program_version`.
//! - stderr: customers, outstanding points, the liability per currency and the points
//!   without a rate.
//!
//! Customers are listed from the SQLite `customers` table (read-only), or with `--table`
//! from the deployed DynamoDB table (one Scan of the customer items, sorted the same way),
//! each read back through the store, a page of ledger lines at a time; the work per customer
//! is its own history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use saguaro_domain::engine::qualifying_points;
use saguaro_domain::ports::{HistoryStore, PageRequest, StateStore, StoreError};
use saguaro_domain::{CustomerId, LedgerLine, Program, Provider};
use serde::Serialize;

use crate::LocalStore;
use crate::simulate::summary::{LIABILITY_RULE, Liability};

/// Ledger lines read per request.
const PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Ledger,
    Balances,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot open the data directory")]
    Open(#[from] saguaro_sqlite::Error),
    #[error("cannot list the customers")]
    List(#[from] rusqlite::Error),
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("cannot write")]
    Write(#[from] std::io::Error),
    #[error("cannot write CSV")]
    Csv(#[from] csv::Error),
    #[error("a total passed i64")]
    Overflow,
}

#[derive(Debug, Serialize)]
struct BalanceRow<'a> {
    provider: &'a str,
    customer: &'a str,
    balance: i64,
    qualifying_points: i64,
    tier: Option<&'a str>,
    currency: Option<String>,
    liability: Option<i64>,
}

#[derive(Debug, Serialize)]
struct LedgerRow<'a> {
    provider: &'a str,
    customer: &'a str,
    seq: u64,
    kind: saguaro_domain::LineKind,
    points: i64,
    balance_after: i64,
    rule: &'a str,
    event_id: &'a str,
    occurred_at: String,
    refers_to: Option<u64>,
    program_version: &'a str,
}

/// What the export read, for stderr.
#[derive(Debug, Clone)]
pub struct Totals {
    pub customers: u64,
    pub lines: u64,
    pub outstanding: i64,
    pub liability: Liability,
}

impl Totals {
    pub fn describe(&self) -> String {
        let value: Vec<String> = self
            .liability
            .value
            .iter()
            .map(|(c, v)| crate::simulate::text::money(*v, c))
            .collect();
        format!(
            "{} customers, {} ledger lines; outstanding {} points; liability {} ({} points valued, {} points without a rate; rule: {})",
            self.customers,
            self.lines,
            self.outstanding,
            if value.is_empty() {
                "none".to_owned()
            } else {
                value.join(", ")
            },
            self.liability.points_valued,
            self.liability.points_without_rate,
            LIABILITY_RULE
        )
    }
}

/// Every customer of the SQLite file in `dir`, by provider then id.
fn customers(dir: &Path) -> Result<Vec<CustomerId>, ExportError> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join(saguaro_sqlite::FILE_NAME),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt =
        db.prepare("SELECT provider, customer FROM customers ORDER BY provider, customer")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (provider, id) = row?;
        let provider: Provider = provider
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown provider {provider}")))?;
        out.push(CustomerId::new(provider, id));
    }
    Ok(out)
}

/// One customer's ledger, oldest first.
async fn ledger<S: HistoryStore>(
    store: &S,
    customer: &CustomerId,
) -> Result<Vec<LedgerLine>, ExportError> {
    let mut lines = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .ledger(
                customer,
                PageRequest {
                    limit: PAGE,
                    before,
                },
            )
            .await?;
        lines.extend(page.lines);
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    lines.reverse();
    Ok(lines)
}

enum Sink<'w> {
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
    Jsonl(&'w mut dyn Write),
}

impl Sink<'_> {
    fn row(&mut self, row: &impl Serialize) -> Result<(), ExportError> {
        match self {
            Self::Csv(w) => w.serialize(row)?,
            Self::Jsonl(w) => {
                serde_json::to_writer(&mut *w, row).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        match self {
            Self::Csv(mut w) => w.flush()?,
            Self::Jsonl(w) => w.flush()?,
        }
        Ok(())
    }
}

/// Where the export reads.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// A data directory (`saguaro serve`'s SQLite file).
    Dir(&'a Path),
    /// The deployed stack's table (`--table`): every customer is found by one Scan of the
    /// table, then each is read like the API function reads it.
    Table {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
}

/// Writes `what` from `source` to `out`.
pub async fn export(
    source: Source<'_>,
    program: &Program,
    what: What,
    format: Format,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<Totals, ExportError> {
    match source {
        Source::Dir(dir) => {
            let store = LocalStore::open_dir(dir)?;
            let ids = customers(dir)?;
            write(&store, &ids, program, what, format, now, out).await
        }
        Source::Table { client, table } => {
            let store = saguaro_dynamodb::DynamoStore::new(client, table);
            let mut ids = store.customer_ids().await.map_err(StoreError::from)?;
            ids.sort_by(|a, b| (a.provider.as_str(), &a.id).cmp(&(b.provider.as_str(), &b.id)));
            write(&store, &ids, program, what, format, now, out).await
        }
    }
}

/// Writes `what` of the customers `ids` (in that order), read from `store`.
async fn write<S: StateStore + HistoryStore>(
    store: &S,
    ids: &[CustomerId],
    program: &Program,
    what: What,
    format: Format,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<Totals, ExportError> {
    let mut sink = match format {
        Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
        Format::Jsonl => Sink::Jsonl(out),
    };
    let mut totals = Totals {
        customers: 0,
        lines: 0,
        outstanding: 0,
        liability: Liability {
            rule: LIABILITY_RULE,
            value: BTreeMap::new(),
            points_valued: 0,
            points_without_rate: 0,
        },
    };
    for id in ids {
        let Some(state) = store.load(id).await? else {
            continue;
        };
        totals.customers += 1;
        totals.outstanding = totals
            .outstanding
            .checked_add(state.balance)
            .ok_or(ExportError::Overflow)?;
        let before = totals.liability.value.clone();
        if state.balance > 0 {
            crate::simulate::run::value_balance(program, &state, &mut totals.liability)
                .map_err(|_| ExportError::Overflow)?;
        }
        match what {
            What::Balances => {
                let currency = state.currency.map(|c| c.to_string());
                let liability = currency.as_ref().and_then(|c| {
                    let now = totals.liability.value.get(c)?;
                    Some(now - before.get(c).copied().unwrap_or(0))
                });
                sink.row(&BalanceRow {
                    provider: id.provider.as_str(),
                    customer: &id.id,
                    balance: state.balance,
                    qualifying_points: qualifying_points(program, &state, now),
                    tier: state.tier.as_deref(),
                    liability: liability.filter(|_| state.balance > 0),
                    currency,
                })?;
            }
            What::Ledger => {
                for l in ledger(store, id).await? {
                    totals.lines += 1;
                    sink.row(&LedgerRow {
                        provider: id.provider.as_str(),
                        customer: &id.id,
                        seq: l.seq,
                        kind: l.kind,
                        points: l.points,
                        balance_after: l.balance_after,
                        rule: &l.rule,
                        event_id: l.event_id.as_str(),
                        occurred_at: l.occurred_at.to_string(),
                        refers_to: l.refers_to,
                        program_version: &l.program_version.0,
                    })?;
                }
            }
        }
    }
    sink.finish()?;
    Ok(totals)
}
