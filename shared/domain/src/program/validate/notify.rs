//! `[notify]`: where merchant notifications go, which kinds are sent, the secret that signs
//! them, and how many days ahead `points.expiring` is sent.

use std::collections::BTreeSet;

use toml::Spanned;

use super::Validator;
use crate::notify::{DEFAULT_EXPIRING_DAYS, Notify, NotifyKind};
use crate::program::parse::RawNotify;
use crate::program::{Expiry, ProgramError};

/// `expiring_days` is at most this many days.
pub const MAX_EXPIRING_DAYS: i64 = 90;

impl Validator<'_> {
    /// `expiry` is the validated `[expiry]`: `points.expiring` needs points that expire.
    pub(super) fn notify(
        &self,
        raw: Spanned<RawNotify>,
        expiry: Option<&Expiry>,
    ) -> Result<Notify, ProgramError> {
        let span = raw.span();
        let raw = raw.into_inner();
        self.http_url("notify.url", &raw.url)?;
        let Some(secret) = &raw.secret else {
            return self.err(
                "notify.secret",
                span,
                "[notify] needs `secret`: the name of the variable that holds its whsec_ \
                 signing secret (`secret = \"NOTIFY\"`)",
            );
        };
        self.secret_name("notify.secret", secret)?;
        let mut kinds = BTreeSet::new();
        for k in raw.kinds.get_ref() {
            let Some(kind) = NotifyKind::parse(k.get_ref()) else {
                let known: Vec<_> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
                return self.err(
                    "notify.kinds",
                    k.span(),
                    format!(
                        "`{}` is not a notification kind ({})",
                        k.get_ref(),
                        known.join(", ")
                    ),
                );
            };
            if !kinds.insert(kind) {
                return self.err(
                    "notify.kinds",
                    k.span(),
                    format!("`{}` is listed twice", k.get_ref()),
                );
            }
        }
        if kinds.is_empty() {
            return self.err("notify.kinds", raw.kinds.span(), "lists no kind");
        }
        let expiring_days = match &raw.expiring_days {
            None => DEFAULT_EXPIRING_DAYS,
            Some(d) => {
                let days = self.positive("notify.expiring_days", d)?;
                if days > MAX_EXPIRING_DAYS {
                    return self.err(
                        "notify.expiring_days",
                        d.span(),
                        format!("must be at most {MAX_EXPIRING_DAYS}"),
                    );
                }
                // At most 90: fits.
                days as i32
            }
        };
        if kinds.contains(&NotifyKind::PointsExpiring) {
            let Some(expiry) = expiry else {
                return self.err(
                    "notify.kinds",
                    raw.kinds.span(),
                    "`points.expiring` needs an [expiry] section (points never expire without one)",
                );
            };
            if expiring_days >= expiry.after_days {
                let span = raw
                    .expiring_days
                    .as_ref()
                    .map_or_else(|| raw.kinds.span(), Spanned::span);
                return self.err(
                    "notify.expiring_days",
                    span,
                    format!(
                        "must be less than [expiry] after_days ({}): a lot would expire before \
                         its notice is due",
                        expiry.after_days
                    ),
                );
            }
        }
        Ok(Notify {
            url: raw.url.into_inner(),
            kinds,
            secret: secret.get_ref().clone(),
            expiring_days,
        })
    }
}
