//! Checks of single values that several sections share: ids, numbers, multipliers, currency
//! maps, triggers and instants.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use toml::Spanned;

use super::Validator;
use crate::event::Trigger;
use crate::money::Currency;
use crate::program::ProgramError;

impl Validator<'_> {
    /// An id: `[a-z0-9-]+`.
    pub(super) fn slug(&self, key: &str, v: &Spanned<String>) -> Result<String, ProgramError> {
        let s = v.get_ref();
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return self.err(key, v.span(), format!("`{s}` must match [a-z0-9-]+"));
        }
        Ok(s.clone())
    }

    pub(super) fn unique(
        &self,
        seen: &mut HashSet<String>,
        key: &str,
        v: &Spanned<String>,
    ) -> Result<(), ProgramError> {
        if !seen.insert(v.get_ref().clone()) {
            return self.err(key, v.span(), format!("`{}` is used twice", v.get_ref()));
        }
        Ok(())
    }

    pub(super) fn non_negative(&self, key: &str, v: &Spanned<i64>) -> Result<i64, ProgramError> {
        if *v.get_ref() < 0 {
            return self.err(key, v.span(), "must not be negative");
        }
        Ok(*v.get_ref())
    }

    /// The name of the variable (locally) or SSM parameter (deployed) holding a signing
    /// secret: `A-Z`, `0-9`, `_`, at most 128 bytes, never the secret itself.
    pub(super) fn secret_name(&self, key: &str, v: &Spanned<String>) -> Result<(), ProgramError> {
        let name = v.get_ref();
        let valid = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(())
        } else {
            self.err(
                key,
                v.span(),
                "the name of the variable that holds the secret: A-Z, 0-9 and _ \
                 (`PERK_ACME`), not the secret itself",
            )
        }
    }

    /// An `http://` or `https://` URL (a perk's, `[notify] url`).
    pub(super) fn http_url(&self, key: &str, v: &Spanned<String>) -> Result<(), ProgramError> {
        let u = v.get_ref();
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        match rest {
            Some(host)
                if !host.is_empty()
                    && !host.starts_with('/')
                    && !u.contains(char::is_whitespace) =>
            {
                Ok(())
            }
            _ => self.err(key, v.span(), "must be an http(s) URL"),
        }
    }

    pub(super) fn positive(&self, key: &str, v: &Spanned<i64>) -> Result<i64, ProgramError> {
        if *v.get_ref() < 1 {
            return self.err(key, v.span(), "must be at least 1");
        }
        Ok(*v.get_ref())
    }

    /// A multiplier is a decimal string (`"1.25"`), never a float, so that points stay exact.
    pub(super) fn multiplier(
        &self,
        key: &str,
        v: &Spanned<String>,
    ) -> Result<Decimal, ProgramError> {
        match Decimal::from_str_exact(v.get_ref().trim()) {
            Ok(d) if d > Decimal::ZERO && d.scale() <= 6 => Ok(d),
            Ok(_) => self.err(
                key,
                v.span(),
                "must be a positive decimal with at most 6 decimals",
            ),
            Err(_) => self.err(
                key,
                v.span(),
                format!("`{}` is not a decimal such as \"1.25\"", v.get_ref()),
            ),
        }
    }

    /// `{ usd = 100, jpy = 100 }`: at least one currency, each amount at least `min`.
    pub(super) fn currency_map(
        &self,
        key: &str,
        v: &Spanned<BTreeMap<String, Spanned<i64>>>,
        min: i64,
    ) -> Result<BTreeMap<Currency, i64>, ProgramError> {
        let mut out = BTreeMap::new();
        for (code, n) in v.get_ref() {
            let Ok(currency) = Currency::from_str(code) else {
                return self.err(key, v.span(), format!("`{code}` is not a currency code"));
            };
            if *n.get_ref() < min {
                return self.err(
                    &format!("{key}.{code}"),
                    n.span(),
                    format!("must be at least {min}"),
                );
            }
            out.insert(currency, *n.get_ref());
        }
        if out.is_empty() {
            return self.err(key, v.span(), "names no currency");
        }
        Ok(out)
    }

    /// A trigger a rule can earn on.
    pub(super) fn trigger(&self, key: &str, v: &Spanned<String>) -> Result<Trigger, ProgramError> {
        match Trigger::from_str(v.get_ref()) {
            Ok(t) if t.can_earn() => Ok(t),
            Ok(t) => self.err(
                key,
                v.span(),
                format!("`{t}` cannot earn points through a rule"),
            ),
            Err(e) => self.err(key, v.span(), e.to_string()),
        }
    }

    pub(super) fn instant(
        &self,
        key: &str,
        v: &Spanned<toml::value::Datetime>,
        tz: &TimeZone,
    ) -> Result<Timestamp, ProgramError> {
        let dt = v.get_ref();
        let text = dt.to_string();
        let parsed = match (dt.date, dt.time, dt.offset) {
            (Some(_), Some(_), Some(_)) => text.parse::<Timestamp>().map_err(|e| e.to_string()),
            // A local date-time or a bare date is read in the program's timezone.
            (Some(_), Some(_), None) => text
                .parse::<jiff::civil::DateTime>()
                .and_then(|d| d.to_zoned(tz.clone()))
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string()),
            (Some(_), None, None) => text
                .parse::<jiff::civil::Date>()
                .and_then(|d| d.to_zoned(tz.clone()))
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string()),
            _ => Err("needs a date".to_owned()),
        };
        parsed.or_else(|m| self.err(key, v.span(), m))
    }
}
