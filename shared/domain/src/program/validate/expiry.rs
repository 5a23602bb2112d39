//! `[expiry]`: how many days earned points live, at least 1 and at most 100 years.

use super::Validator;
use crate::program::parse::RawExpiry;
use crate::program::{Expiry, ProgramError};

/// A hundred years; it also keeps `as i32` below and the expiry date arithmetic far from any
/// limit.
const MAX_AFTER_DAYS: i64 = 36_500;

impl Validator<'_> {
    pub(super) fn expiry(&self, raw: &RawExpiry) -> Result<Expiry, ProgramError> {
        let days = self.positive("expiry.after_days", &raw.after_days)?;
        if days > MAX_AFTER_DAYS {
            return self.err(
                "expiry.after_days",
                raw.after_days.span(),
                format!("must be at most {MAX_AFTER_DAYS}"),
            );
        }
        Ok(Expiry {
            after_days: days as i32,
        })
    }
}
