//! The program file (docs/design.md §4): the merchant's earning rules, tiers, promotions, rewards and
//! expiry, in one TOML file. Parsing is strict: unknown keys are errors, and every error names
//! the key and the line.
//!
//! [`model`] holds the validated types, [`parse`] reads the TOML into raw shapes that keep
//! every value's position, and [`validate`] checks each section and builds the [`Program`].

pub mod model;
pub mod parse;
pub mod validate;

pub use model::{
    Beneficiary, Cap, CapPeriod, DEFAULT_REFUND_WINDOW_DAYS, EarnRule, Expiry, Program,
    ProgramVersion, Promotion, Reward, RewardKind, RewardTrigger, Tier, TierWindow,
};
pub use parse::ProgramError;

impl Program {
    /// Parses and validates a program file.
    pub fn parse(source: &str) -> Result<Self, ProgramError> {
        let raw = parse::raw(source)?;
        validate::Validator::new(source).program(raw)
    }
}
