//! The SQLite store: Saguaro's store port persisted in one SQLite file, for `saguaro serve`
//! (by default `./saguaro-data/saguaro.sqlite3`) and for any other process that opens the
//! same data directory meanwhile (the scheduler's `saguaro tick`, a CLI read, or the
//! merchant's own `sqlite3 saguaro-data/saguaro.sqlite3`).
//!
//! It gives the guarantees of the embedded and DynamoDB stores and passes the same
//! contract suite (`tests/contract.rs`): a commit writes the marker, the state, the ledger
//! lines and the reward rows in one SQLite transaction, or nothing; a known event id wins
//! over the version check (the same event: already applied; another customer or payload:
//! a reused id); a stale version is a conflict.
//!
//! # Schema (version [`SCHEMA_VERSION`], kept in `PRAGMA user_version`)
//!
//! | table | key | columns |
//! |---|---|---|
//! | `customers` | `provider`, `customer` | `version`, `balance`, `tier`, `updated_at`, `state` (JSON part of the compact encoding, `saguaro_domain::codec`), `lots`, `pay` (its binary parts) |
//! | `ledger` | `provider`, `customer`, `seq` | `kind`, `points`, `balance_after`, `rule`, `event_id`, `occurred_at`, `refers_to`, `program_version`, `doc` (JSON: the line) |
//! | `rewards` | `provider`, `customer`, `reward_id` | `reward`, `kind`, `points`, `status` (pending/delivering/delivered/failed), `event_id`, `created_at`, `commit_version`, `commit_index`, `doc` (JSON: the outbox row with its delivery state), `waiting_since` (µs since the epoch while pending or delivering; a partial index serves the sweep) |
//! | `markers` | `event_id` | `provider`, `customer`, `payload_hash`, `applied_at` |
//! | `invoice_links` | `payment_intent` | `invoice`, `paid_at` (Stripe invoice links, `saguaro_domain::links`) |
//!
//! The plain columns are for people (`SELECT provider, customer, balance, tier FROM
//! customers`); the store reads the JSON documents back. Timestamps are RFC 3339 text. The
//! marker is keyed by event id alone: one event id is one event. Markers are kept for
//! good (a few dozen bytes each), so a provider's retry is recognised however late.
//!
//! # Durability and concurrency
//!
//! - Write-ahead logging with `synchronous = FULL`: a commit's log is fsynced before the
//!   commit returns, so an event acknowledged with 2xx survives `kill -9` and power loss,
//!   and a crash mid-commit leaves nothing of it (SQLite rolls the log back on open).
//! - One writer thread owns the one write connection and group-commits whatever is queued
//!   (`writer.rs`): one fsync for a burst of events.
//! - Reads run on a small pool of separate connections through `spawn_blocking`: in WAL
//!   mode they see the last committed transaction and wait neither for the writer nor for
//!   each other, so a large customer's read never delays another customer's.
//! - Another process can open the same file: SQLite's file locks serialise writers across
//!   processes (`busy_timeout` [`BUSY_TIMEOUT`]), and the version check inside the
//!   write transaction keeps two processes' commits to one customer from both winning.

mod error;
mod rows;
mod schema;
mod store;
mod writer;

pub use error::{Error, Result};
pub use schema::{BUSY_TIMEOUT, SCHEMA_VERSION};
pub use store::{FILE_NAME, SqliteStore};
