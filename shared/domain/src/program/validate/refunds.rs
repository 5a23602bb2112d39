//! `[program] refund_window_days`: how long payment records are kept for refunds, at least a
//! day and at most ten years (each record kept costs state size on every event).

use toml::Spanned;

use super::Validator;
use crate::program::ProgramError;

/// Ten years.
const MAX_REFUND_WINDOW_DAYS: i64 = 3_660;

impl Validator<'_> {
    pub(super) fn refund_window(&self, days: &Spanned<i64>) -> Result<i64, ProgramError> {
        let days_value = self.positive("program.refund_window_days", days)?;
        if days_value > MAX_REFUND_WINDOW_DAYS {
            return self.err(
                "program.refund_window_days",
                days.span(),
                format!("must be at most {MAX_REFUND_WINDOW_DAYS}"),
            );
        }
        Ok(days_value)
    }
}
