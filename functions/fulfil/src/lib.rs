//! The fulfil Lambda: hands out reward rows exactly once (docs/design.md §7.3, issue 9).
//! It is invoked by the table's stream (inserted reward rows) and by the scheduler (a sweep
//! for rows whose stream record was lost). `main.rs` only wires; [`config`] reads the
//! environment and builds the delivery adapters; [`handler`] tells the invocations apart,
//! runs the shared fulfiler (`saguaro_app::fulfil`) and answers with partial batch failures.

pub mod config;
pub mod handler;

pub use config::Config;
pub use handler::{
    FulfilHandler, HandlerError, Invocation, MAX_SWEEP, RecordOutcome, SweepReport, SweepRequest,
};
