//! Domain values to and from rows: the only place that knows how a customer's state, a
//! ledger line, a reward or a marker is laid out in the tables (see the crate docs).
//!
//! The columns a person reads (`balance`, `points`, `rule`, `status`...) are plain
//! columns. A customer's state is kept in the compact encoding the DynamoDB item uses
//! ([`saguaro_domain::codec`]): `state` holds its JSON part and `lots` and `pay` the binary
//! collections, so the bytes written per event stay small however long the history. Ledger
//! lines and rewards are one JSON document each (`doc`), which is what is read back, so the
//! layout stays stable while domain types grow fields.

use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

use saguaro_domain::codec::{self, Doc};
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ledger::{Delivery, LedgerLine, RewardOutbox};
use saguaro_domain::links::InvoiceLink;
use saguaro_domain::ports::{
    Commit, CommitOutcome, EventMarker, LedgerPage, PageRequest, RewardPage, RewardPageRequest,
    RewardPosition, RewardRef,
};
use saguaro_domain::state::CustomerState;
use serde::Serialize;

use crate::error::{Error, Result};

mod schedule;
pub use schedule::{
    advance_watermark, anniversaries_page, expiring_page, reindex, reindex_all, watermark,
};

fn int(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { what, value })
}

fn json<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Serialise { what, source })
}

/// A unit enum's serde name (`earn`, `billing_credit`), for the readable columns.
fn name<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(_) => Ok(String::new()),
        Err(source) => Err(Error::Serialise { what, source }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    what: &'static str,
    customer: &CustomerId,
    doc: &str,
) -> Result<T> {
    serde_json::from_str(doc).map_err(|source| Error::Json {
        what,
        customer: customer.to_string(),
        source,
    })
}

/// A `customers` row as `load` reads it: version, balance, tier, `state` (the codec's JSON
/// part), `lots`, `pay`.
type StateRow = (
    i64,
    i64,
    Option<String>,
    String,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// The customer's state, or `None` if nothing was ever committed for them.
pub fn load(conn: &Connection, customer: &CustomerId) -> Result<Option<CustomerState>> {
    let row: Option<StateRow> = conn
        .prepare_cached(
            "SELECT version, balance, tier, state, lots, pay FROM customers \
             WHERE provider = ?1 AND customer = ?2",
        )?
        .query_row(params![customer.provider.as_str(), customer.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((version, balance, tier, doc, lots, pay)) = row else {
        return Ok(None);
    };
    let invalid = |what| Error::Invalid {
        what,
        customer: customer.to_string(),
    };
    let doc: Doc = parse("state", customer, &doc)?;
    let lots = match lots {
        None => Vec::new(),
        Some(bytes) => codec::decode_lots(&bytes).map_err(|_| invalid("lots"))?,
    };
    let payments = match pay {
        None => BTreeMap::new(),
        Some(bytes) => codec::decode_payments(&bytes).map_err(|_| invalid("pay"))?,
    };
    let version = u64::try_from(version).map_err(|_| invalid("version"))?;
    let state = doc
        .into_state(customer.clone(), version, balance, tier, lots, payments)
        .map_err(|_| invalid("state"))?;
    Ok(Some(state))
}

/// Writes `state` as the customer's row (inserted or replaced) in the compact encoding.
fn write_state(conn: &Connection, state: &CustomerState, version: i64, now: &str) -> Result<()> {
    let customer = &state.customer;
    let lots = (!state.lots.is_empty()).then(|| codec::encode_lots(&state.lots));
    let pay = (!state.payments.is_empty()).then(|| codec::encode_payments(&state.payments));
    conn.prepare_cached(
        "INSERT INTO customers \
         (provider, customer, version, balance, tier, updated_at, state, lots, pay) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (provider, customer) DO UPDATE SET version = excluded.version, \
         balance = excluded.balance, tier = excluded.tier, updated_at = excluded.updated_at, \
         state = excluded.state, lots = excluded.lots, pay = excluded.pay",
    )?
    .execute(params![
        customer.provider.as_str(),
        customer.id,
        version,
        state.balance,
        state.tier,
        now,
        json("customer state", &Doc::of(state))?,
        lots,
        pay
    ])?;
    Ok(())
}

/// Schema v5: every row written before it holds the whole state as JSON in `state`;
/// rewrites each in the compact encoding (inside the migration's transaction).
pub fn recode_all(conn: &Connection) -> Result<()> {
    let rows = conn
        .prepare("SELECT provider, customer, version, updated_at, state FROM customers")?
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (provider, id, version, updated_at, doc) in rows {
        let Ok(provider) = provider.parse() else {
            continue;
        };
        let customer = CustomerId::new(provider, id);
        let mut state: CustomerState = parse("state", &customer, &doc)?;
        if state.customer != customer {
            return Err(Error::Invalid {
                what: "state",
                customer: customer.to_string(),
            });
        }
        state.version = u64::try_from(version).map_err(|_| Error::Invalid {
            what: "version",
            customer: customer.to_string(),
        })?;
        write_state(conn, &state, version, &updated_at)?;
    }
    Ok(())
}

/// A page of the ledger, newest first.
pub fn ledger_page(
    conn: &Connection,
    customer: &CustomerId,
    page: PageRequest,
) -> Result<LedgerPage> {
    let empty = LedgerPage {
        lines: Vec::new(),
        next: None,
    };
    if page.limit == 0 || page.before == Some(0) {
        return Ok(empty);
    }
    // Sequence numbers past i64::MAX cannot be stored, so such a bound means "all".
    let before = page
        .before
        .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
    // One more than asked: tells whether another page exists.
    let want = i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT doc FROM ledger WHERE provider = ?1 AND customer = ?2 AND seq < ?3 \
         ORDER BY seq DESC LIMIT ?4",
    )?;
    let docs = stmt.query_map(
        params![customer.provider.as_str(), customer.id, before, want],
        |r| r.get::<_, String>(0),
    )?;
    let mut lines = Vec::new();
    for doc in docs {
        lines.push(parse::<LedgerLine>("ledger line", customer, &doc?)?);
    }
    let next = if lines.len() > page.limit {
        lines.truncate(page.limit);
        lines.last().map(|l| l.seq)
    } else {
        None
    };
    Ok(LedgerPage { lines, next })
}

/// A page of the customer's reward rows, newest first (commit order), before `page.before`.
pub fn rewards_page(
    conn: &Connection,
    customer: &CustomerId,
    page: RewardPageRequest,
) -> Result<RewardPage> {
    if page.limit == 0 {
        return Ok(RewardPage {
            rewards: Vec::new(),
            next: None,
        });
    }
    // Positions past i64::MAX cannot be stored, so such a bound means "all".
    let (version, index) = page.before.map_or((i64::MAX, 0), |b| {
        (
            i64::try_from(b.version).unwrap_or(i64::MAX),
            i64::from(b.index),
        )
    });
    // One more than asked: tells whether another page exists.
    let want = i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT commit_version, commit_index, doc FROM rewards \
         WHERE provider = ?1 AND customer = ?2 \
           AND (commit_version < ?3 OR (commit_version = ?3 AND commit_index < ?4)) \
         ORDER BY commit_version DESC, commit_index DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            customer.provider.as_str(),
            customer.id,
            version,
            index,
            want
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    let mut rewards = Vec::new();
    let mut positions = Vec::new();
    for row in rows {
        let (version, index, doc) = row?;
        rewards.push(parse::<RewardOutbox>("reward", customer, &doc)?);
        positions.push((version, index));
    }
    let next = if rewards.len() > page.limit {
        rewards.truncate(page.limit);
        let (version, index) = positions[page.limit - 1];
        Some(RewardPosition {
            version: u64::try_from(version).map_err(|_| Error::Invalid {
                what: "reward commit_version",
                customer: customer.to_string(),
            })?,
            index: u32::try_from(index).map_err(|_| Error::Invalid {
                what: "reward commit_index",
                customer: customer.to_string(),
            })?,
        })
    } else {
        None
    };
    Ok(RewardPage { rewards, next })
}

/// Applies one commit on `conn`, inside the caller's transaction (a savepoint of the
/// writer's batch): checks the marker, then the version, then writes everything. Anything
/// but `Ok(Applied)` has written nothing the caller should keep.
pub fn apply_commit(conn: &Connection, commit: &Commit, now: &str) -> Result<CommitOutcome> {
    let customer = &commit.state.customer;
    if let Some(marker) = &commit.marker
        && let Some(same_payload) = stored_marker(conn, marker)?
    {
        return Ok(CommitOutcome::AlreadyApplied { same_payload });
    }
    let current: Option<i64> = conn
        .prepare_cached("SELECT version FROM customers WHERE provider = ?1 AND customer = ?2")?
        .query_row(params![customer.provider.as_str(), customer.id], |r| {
            r.get(0)
        })
        .optional()?;
    let current = current.unwrap_or(0);
    let expected = int("version", commit.expected_version)?;
    let next = int("version", commit.state.version)?;
    if current != expected || next != current.saturating_add(1) {
        return Err(Error::Conflict {
            customer: customer.clone(),
            expected: commit.expected_version,
        });
    }
    if let Some(marker) = &commit.marker {
        conn.prepare_cached(
            "INSERT INTO markers (event_id, provider, customer, payload_hash, applied_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            marker.event_id.as_str(),
            marker.customer.provider.as_str(),
            marker.customer.id,
            marker.payload_hash,
            now
        ])?;
    }
    write_state(conn, &commit.state, next, now)?;
    reindex(conn, &commit.state)?;
    for line in &commit.lines {
        insert_line(conn, line)?;
    }
    for (index, reward) in commit.rewards.iter().enumerate() {
        insert_reward(conn, reward, next, index)?;
    }
    Ok(CommitOutcome::Applied)
}

/// Whether `marker`'s event id is known, and if so whether for the same event: one event
/// id is one event, so another customer or another payload is a reused id.
fn stored_marker(conn: &Connection, marker: &EventMarker) -> Result<Option<bool>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT provider, customer, payload_hash FROM markers WHERE event_id = ?1")?
        .query_row(params![marker.event_id.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(row.map(|(provider, customer, hash)| {
        provider == marker.customer.provider.as_str()
            && customer == marker.customer.id
            && hash == marker.payload_hash
    }))
}

fn insert_line(conn: &Connection, line: &LedgerLine) -> Result<()> {
    let refers_to = line.refers_to.map(|r| int("line", r)).transpose()?;
    conn.prepare_cached(
        "INSERT INTO ledger (provider, customer, seq, kind, points, balance_after, rule, \
         event_id, occurred_at, refers_to, program_version, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        line.customer.provider.as_str(),
        line.customer.id,
        int("line", line.seq)?,
        name("line kind", &line.kind)?,
        line.points,
        line.balance_after,
        line.rule,
        line.event_id.as_str(),
        line.occurred_at.to_string(),
        refers_to,
        line.program_version.0,
        json("ledger line", line)?
    ])?;
    Ok(())
}

/// A reward row. `(commit_version, commit_index)` restore commit order, which the id in the
/// key does not keep. A row of the same id is replaced, as DynamoDB's put does.
fn insert_reward(
    conn: &Connection,
    reward: &RewardOutbox,
    version: i64,
    index: usize,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO rewards (provider, customer, reward_id, reward, kind, points, \
         status, event_id, created_at, commit_version, commit_index, doc, waiting_since) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        reward.customer.provider.as_str(),
        reward.customer.id,
        reward.id,
        reward.reward,
        name("reward kind", &reward.kind)?,
        reward.points,
        reward.delivery.status(),
        reward.event_id.as_str(),
        reward.created_at.to_string(),
        version,
        int("reward index", u64::try_from(index).unwrap_or(u64::MAX))?,
        json("reward", reward)?,
        waiting_micros(reward)
    ])?;
    Ok(())
}

/// [`RewardOutbox::waiting_since`] as the `waiting_since` column.
fn waiting_micros(reward: &RewardOutbox) -> Option<i64> {
    reward.waiting_since().map(|t| t.as_microsecond())
}

fn position(r: &RewardRef) -> Result<(i64, i64)> {
    Ok((int("reward version", r.at.version)?, i64::from(r.at.index)))
}

/// The reward row at `r`, if any.
pub fn reward_at(conn: &Connection, r: &RewardRef) -> Result<Option<RewardOutbox>> {
    let (version, index) = position(r)?;
    let doc: Option<String> = conn
        .prepare_cached(
            "SELECT doc FROM rewards WHERE provider = ?1 AND customer = ?2 \
             AND commit_version = ?3 AND commit_index = ?4",
        )?
        .query_row(
            params![r.customer.provider.as_str(), r.customer.id, version, index],
            |row| row.get(0),
        )
        .optional()?;
    doc.map(|d| parse("reward", &r.customer, &d)).transpose()
}

/// Sets the delivery of the row at `r` to `next` if it is `expected`, in one immediate
/// transaction (the write lock is held from the read to the write, across processes too),
/// with the outcome's `notice` row, if any, inserted in the same transaction.
pub fn set_delivery(
    conn: &mut Connection,
    r: &RewardRef,
    expected: &Delivery,
    next: &Delivery,
    notice: Option<&RewardOutbox>,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(mut row) = reward_at(&tx, r)? else {
        return Ok(false);
    };
    if row.delivery != *expected {
        return Ok(false);
    }
    row.delivery = next.clone();
    let (version, index) = position(r)?;
    tx.prepare_cached(
        "UPDATE rewards SET status = ?5, doc = ?6, waiting_since = ?7 \
         WHERE provider = ?1 AND customer = ?2 AND commit_version = ?3 AND commit_index = ?4",
    )?
    .execute(params![
        r.customer.provider.as_str(),
        r.customer.id,
        version,
        index,
        next.status(),
        json("reward", &row)?,
        waiting_micros(&row)
    ])?;
    if let Some(notice) = notice {
        let at = saguaro_domain::notify::notice_position(r.at);
        insert_reward(
            &tx,
            notice,
            version,
            usize::try_from(at.index).unwrap_or(usize::MAX),
        )?;
    }
    tx.commit()?;
    Ok(true)
}

/// Up to `limit` rows waiting since before `before`, oldest first.
pub fn waiting_rewards(
    conn: &Connection,
    before: jiff::Timestamp,
    limit: usize,
) -> Result<Vec<(RewardRef, RewardOutbox)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT provider, customer, commit_version, commit_index, doc FROM rewards \
         WHERE waiting_since IS NOT NULL AND waiting_since < ?1 \
         ORDER BY waiting_since LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before.as_microsecond(), limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (provider, id, version, index, doc) = row?;
        let invalid = |what| Error::Invalid {
            what,
            customer: format!("{provider}:{id}"),
        };
        let provider = provider.parse().map_err(|_| invalid("reward provider"))?;
        let customer = CustomerId::new(provider, id.clone());
        let reward: RewardOutbox = parse("reward", &customer, &doc)?;
        let at = RewardPosition {
            version: u64::try_from(version).map_err(|_| invalid("reward commit_version"))?,
            index: u32::try_from(index).map_err(|_| invalid("reward commit_index"))?,
        };
        out.push((RewardRef { customer, at }, reward));
    }
    Ok(out)
}

/// Keeps a Stripe invoice link (replacing the PaymentIntent's earlier one).
pub fn put_invoice_link(conn: &Connection, link: &InvoiceLink) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO invoice_links (payment_intent, invoice, paid_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (payment_intent) DO UPDATE SET invoice = excluded.invoice, \
         paid_at = excluded.paid_at",
    )?
    .execute(params![
        link.payment_intent,
        link.invoice,
        link.paid_at.to_string()
    ])?;
    Ok(())
}

/// The invoice `payment_intent` paid, if its link was kept.
pub fn invoice_link(conn: &Connection, payment_intent: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT invoice FROM invoice_links WHERE payment_intent = ?1")?
        .query_row(params![payment_intent], |r| r.get(0))
        .optional()?)
}
