//! The daily job's rows: the expiry and anniversary indexes (rewritten from each committed
//! state), their pages, and the watermark.

use rusqlite::{Connection, OptionalExtension, params};
use saguaro_domain::ports::IndexPage;
use saguaro_domain::schedule::{
    Date, ScheduleIndex, ScheduledExpiry, ScheduledSubscription, decode_cursor, encode_cursor,
};
use saguaro_domain::state::CustomerState;
use saguaro_domain::{CustomerId as Customer, Provider};

use super::load;
use crate::error::{Error, Result};

/// Rewrites the daily job's index rows of the customer whose state this is.
pub fn reindex(conn: &Connection, state: &CustomerState) -> Result<()> {
    let c = &state.customer;
    let index = ScheduleIndex::of(state);
    conn.prepare_cached("DELETE FROM expiry_index WHERE provider = ?1 AND customer = ?2")?
        .execute(params![c.provider.as_str(), c.id])?;
    if let Some(day) = index.expires {
        conn.prepare_cached(
            "INSERT INTO expiry_index (provider, customer, day) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![c.provider.as_str(), c.id, day.to_string()])?;
    }
    conn.prepare_cached("DELETE FROM anniversaries WHERE provider = ?1 AND customer = ?2")?
        .execute(params![c.provider.as_str(), c.id])?;
    for s in &index.subscriptions {
        let (m, d) = s.month_day();
        conn.prepare_cached(
            "INSERT INTO anniversaries (provider, customer, subscription, month_day, \
             started_on, plan, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            c.provider.as_str(),
            c.id,
            s.subscription,
            format!("{m:02}-{d:02}"),
            s.started_on.to_string(),
            s.plan,
            s.active
        ])?;
    }
    Ok(())
}

/// Indexes every stored customer (a file migrated from before the indexes existed).
pub fn reindex_all(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare("SELECT provider, customer FROM customers")?;
    let ids = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (provider, id) in ids {
        let Ok(provider) = provider.parse::<Provider>() else {
            continue;
        };
        if let Some(state) = load(conn, &Customer::new(provider, id))? {
            reindex(conn, &state)?;
        }
    }
    Ok(())
}

fn bad_cursor() -> Error {
    Error::Invalid {
        what: "index cursor",
        customer: String::new(),
    }
}

fn customer_of(provider: &str, id: String) -> Result<Customer> {
    let provider = provider.parse::<Provider>().map_err(|_| Error::Invalid {
        what: "provider",
        customer: id.clone(),
    })?;
    Ok(Customer::new(provider, id))
}

fn date_of(text: &str, customer: &str) -> Result<Date> {
    text.parse().map_err(|_| Error::Invalid {
        what: "index day",
        customer: customer.to_owned(),
    })
}

/// A page of the expiry index for `from..=through`, ordered by day then customer.
pub fn expiring_page(
    conn: &Connection,
    from: Date,
    through: Date,
    cursor: Option<&str>,
    limit: usize,
) -> Result<IndexPage<ScheduledExpiry>> {
    let limit = limit.max(1);
    let after: Option<ScheduledExpiry> = cursor
        .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
        .transpose()?;
    let (a_day, a_provider, a_id) = match &after {
        Some(a) => (
            a.day.to_string(),
            a.customer.provider.as_str().to_owned(),
            a.customer.id.clone(),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let want = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT day, provider, customer FROM expiry_index \
         WHERE day BETWEEN ?1 AND ?2 AND (day, provider, customer) > (?3, ?4, ?5) \
         ORDER BY day, provider, customer LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![
            from.to_string(),
            through.to_string(),
            a_day,
            a_provider,
            a_id,
            want
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    let mut items = Vec::new();
    for row in rows {
        let (day, provider, id) = row?;
        let day = date_of(&day, &id)?;
        items.push(ScheduledExpiry {
            customer: customer_of(&provider, id)?,
            day,
        });
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(IndexPage { items, next })
}

/// A page of the subscriptions started on `month`-`day`, ordered by customer and id.
pub fn anniversaries_page(
    conn: &Connection,
    month: i8,
    day: i8,
    cursor: Option<&str>,
    limit: usize,
) -> Result<IndexPage<ScheduledSubscription>> {
    let limit = limit.max(1);
    let after: Option<(Customer, String)> = cursor
        .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
        .transpose()?;
    let (a_provider, a_id, a_sub) = match &after {
        Some((c, s)) => (c.provider.as_str().to_owned(), c.id.clone(), s.clone()),
        None => (String::new(), String::new(), String::new()),
    };
    let want = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT provider, customer, subscription, started_on, plan, active FROM anniversaries \
         WHERE month_day = ?1 AND (provider, customer, subscription) > (?2, ?3, ?4) \
         ORDER BY provider, customer, subscription LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            format!("{month:02}-{day:02}"),
            a_provider,
            a_id,
            a_sub,
            want
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        },
    )?;
    let mut items = Vec::new();
    for row in rows {
        let (provider, id, subscription, started_on, plan, active) = row?;
        let started_on = date_of(&started_on, &id)?;
        items.push(ScheduledSubscription {
            customer: customer_of(&provider, id)?,
            subscription,
            started_on,
            plan,
            active,
        });
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|s| encode_cursor(&(&s.customer, &s.subscription)))
    } else {
        None
    };
    Ok(IndexPage { items, next })
}

/// The name of the daily job's watermark row in `schedule`.
const WATERMARK: &str = "watermark";

pub fn watermark(conn: &Connection) -> Result<Option<Date>> {
    let day: Option<String> = conn
        .prepare_cached("SELECT day FROM schedule WHERE name = ?1")?
        .query_row(params![WATERMARK], |r| r.get(0))
        .optional()?;
    day.map(|d| date_of(&d, WATERMARK)).transpose()
}

/// Moves the watermark from `from` to `to` inside the caller's (immediate) transaction.
pub fn advance_watermark(conn: &Connection, from: Option<Date>, to: Date) -> Result<bool> {
    if watermark(conn)? != from {
        return Ok(false);
    }
    conn.prepare_cached("INSERT OR REPLACE INTO schedule (name, day) VALUES (?1, ?2)")?
        .execute(params![WATERMARK, to.to_string()])?;
    Ok(true)
}
