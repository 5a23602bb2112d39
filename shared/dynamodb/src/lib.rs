//! Saguaro's store on DynamoDB: [`DynamoStore`] implements the domain's `StateStore` and
//! `HistoryStore` ports on one on-demand table (docs/design.md §6).
//!
//! - [`keys`]: the table layout, every key builder and attribute name.
//! - [`create_table`]: the table definition as code (tests, local runs), mirrored by the SAM
//!   template.
//! - [`RequestCounter`]: an SDK interceptor counting requests by operation, for tests and
//!   benchmarks, and the item sizes of each transaction.
//! - [`size`]: item sizes and write units by DynamoDB's published rules.
//!
//! A customer's state is one item in a compact encoding (`saguaro_domain::codec`): a load is one GetItem, a
//! commit one `TransactWriteItems` (three items for a typical payment). See [`store`] for
//! what a commit writes and what bounds it.

mod counter;
mod error;
mod item;
pub mod keys;
pub mod size;
pub mod store;
mod table;

pub use counter::RequestCounter;
pub use error::{Error, Result};
pub use store::{DEFAULT_MARKER_TTL, DynamoStore, MAX_ITEM_BYTES, MAX_TRANSACTION_ITEMS};
pub use table::{create_table, create_table_with_stream};
