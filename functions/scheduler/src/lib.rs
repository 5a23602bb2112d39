//! The scheduler Lambda (docs/design.md §1, §4.5): invoked hourly by EventBridge Scheduler,
//! it runs the daily job of [`saguaro_app::schedule`] over the DynamoDB store's indexes and
//! puts each synthetic event on the earn queue; the earn function applies them like any
//! other event. It never writes balances; its only write is the watermark item. `main.rs`
//! only wires; [`config`] reads the environment; [`handler`] runs the job once per
//! invocation; [`metrics`] writes one CloudWatch embedded-metric line per run (the
//! watermark's lag, which the stack alarms on).

pub mod config;
pub mod handler;
pub mod metrics;

pub use config::Config;
pub use handler::{HandlerError, SchedulerHandler};
