//! The shared store contract (docs/design.md §6), run against the SQLite store, each case on a new
//! file in its own temporary directory.

mod common;

saguaro_store_contract::contract_tests!(async || common::TempStore::new("contract"));
