//! The earn Lambda: applies events from the SQS FIFO earn queue (`MessageGroupId` = customer)
//! to the store, exactly once (docs/design.md §1, §5.1). `main.rs` only wires; [`config`] reads the
//! environment; [`handler`] turns a batch into partial batch failures; [`metrics`] writes
//! one CloudWatch embedded-metric line per batch.

pub mod config;
pub mod handler;
pub mod metrics;

pub use config::Config;
pub use handler::{EarnHandler, HandlerError, MessageError, MessageOutcome, RetryPolicy};
