//! Saguaro's domain: the normalised event, the program file, the earning engine and the ports
//! its adapters implement. Pure: no AWS, Lambda, HTTP or async runtime.
//!
//! # Where things are
//!
//! - What comes in: the normalised [`Event`] and its [`Trigger`] ([`event`]); ids ([`ids`]);
//!   [`Money`] in minor units ([`money`]).
//! - The merchant's rules: [`Program::parse`] reads the program file ([`program::parse`]) and
//!   validates it, one section per file ([`program::validate`]), into the types of
//!   [`program::model`].
//! - Applying one event: [`engine::apply`] returns an [`Outcome`]; the dispatch per trigger is
//!   in [`engine`], and each rule has its own module:
//!   - the tier multiplier (with promotions): [`engine::rule_points`] in [`engine::earn`]; the
//!     qualifying points that pick the tier ([`engine::qualifying_points`]) and the tier
//!     after the event: [`engine::tiers`];
//!   - a cap: [`engine::caps`];
//!   - a refund reversal: [`engine::refunds`] (what a payment earned is recorded by
//!     [`engine::payments`] in a [`state::PaymentRecord`]);
//!   - lot consumption, the deficit and expiry: [`engine::lots`];
//!   - reward redemption and the outbox row: [`engine::rewards`];
//!   - referrals: [`engine::referral`]; subscription snapshots: [`engine::subscriptions`].
//! - What the engine reads and writes: the customer's [`CustomerState`] ([`state`]), ledger
//!   lines and reward outbox rows ([`ledger`]).
//! - Which invoice a Stripe PaymentIntent paid (basil+ refunds), kept by the stores:
//!   [`links`].
//! - How stores keep a customer's state in one compact record: [`codec`].
//! - What the daily job reads by day and its calendar rules: [`schedule`].
//! - Merchant notifications (`[notify]`): the rows and bodies' data, [`notify`].
//! - The ports adapters implement (customer state and history stores, the clock): [`ports`].

pub mod codec;
pub mod engine;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod links;
pub mod money;
pub mod notify;
pub mod ports;
pub mod program;
pub mod schedule;
pub mod secret;
pub mod state;

pub use engine::{EngineError, Notice, Outcome, apply};
pub use event::{Event, Refs, SubscriptionInfo, Trigger};
pub use ids::{CustomerId, EventId, Provider};
pub use ledger::{Claim, Delivery, LedgerLine, LineKind, LineSeq, RewardOutbox};
pub use money::{Currency, Money};
pub use program::{Program, ProgramError, ProgramVersion};
pub use state::CustomerState;
