//! Saguaro's domain: the normalised event, the program file, the earning engine and the ports
//! its adapters implement. Pure: no AWS, Lambda, HTTP or async runtime.

pub mod engine;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod ports;
pub mod program;
pub mod secret;
pub mod state;

pub use engine::{EngineError, apply};
pub use event::{Event, Refs, SubscriptionInfo, Trigger};
pub use ids::{CustomerId, EventId, Provider};
pub use ledger::{Delivery, LedgerLine, LineKind, LineSeq, Outcome, RewardOutbox};
pub use money::{Currency, Money};
pub use program::{Program, ProgramError, ProgramVersion};
pub use state::CustomerState;
