//! Validation: raw shapes → [`Program`], one file per section of the program file, in the
//! order the sections are checked (the first error found is the one reported). The
//! `[program]` table itself is checked here.

pub mod earn;
pub mod expiry;
pub mod fields;
pub mod notify;
pub mod promotions;
pub mod refunds;
pub mod rewards;
pub mod tiers;

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::model::{DEFAULT_REFUND_WINDOW_DAYS, Program, ProgramVersion, TierWindow};
use super::parse::{ProgramError, RawFile, line_of};

/// Builds errors that name the line of a value in `source`.
pub(super) struct Validator<'a> {
    source: &'a str,
}

impl<'a> Validator<'a> {
    pub(super) fn new(source: &'a str) -> Self {
        Self { source }
    }

    fn err<T>(
        &self,
        key: &str,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, ProgramError> {
        Err(ProgramError {
            key: key.to_owned(),
            line: line_of(self.source, span.start),
            message: message.into(),
        })
    }

    pub(super) fn program(&self, raw: RawFile) -> Result<Program, ProgramError> {
        let p = raw.program.into_inner();
        let tz_name = p.timezone.get_ref();
        let Ok(timezone) = TimeZone::get(tz_name) else {
            return self.err(
                "program.timezone",
                p.timezone.span(),
                format!("`{tz_name}` is not an IANA timezone"),
            );
        };
        let tier_window = match p
            .tier_window
            .as_ref()
            .map(|w| (w.get_ref().as_str(), w.span()))
        {
            None | Some(("lifetime", _)) => TierWindow::Lifetime,
            Some(("rolling-12-months", _)) => TierWindow::Rolling12Months,
            Some((other, span)) => {
                return self.err(
                    "program.tier_window",
                    span,
                    format!("`{other}` is not lifetime or rolling-12-months"),
                );
            }
        };
        if p.name.get_ref().trim().is_empty() {
            return self.err("program.name", p.name.span(), "must not be empty");
        }
        let refund_window_days = match &p.refund_window_days {
            None => DEFAULT_REFUND_WINDOW_DAYS,
            Some(days) => self.refund_window(days)?,
        };

        let tiers = self.tiers(raw.tiers)?;
        let earn = self.earn(raw.earn)?;
        let promotions = self.promotions(raw.promotions, &timezone)?;
        let rewards = self.rewards(raw.rewards, &tiers)?;
        let expiry = raw.expiry.map(|e| self.expiry(e.get_ref())).transpose()?;
        let notify = raw
            .notify
            .map(|n| self.notify(n, expiry.as_ref()))
            .transpose()?;

        let digest = Sha256::digest(self.source.as_bytes());
        Ok(Program {
            name: p.name.into_inner(),
            timezone,
            tier_window,
            referral_key: p.referral_key.map(Spanned::into_inner),
            earn,
            tiers,
            promotions,
            rewards,
            expiry,
            notify,
            refund_window_days,
            version: ProgramVersion(hex::encode(&digest[..8])),
        })
    }
}
