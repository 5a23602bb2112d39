//! Reading the TOML: raw shapes with exactly the keys of docs/design.md §4, each value spanned so that
//! validation can name its line, and the error type every failure becomes.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A program that cannot be loaded, with the key and the line that are at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{key}`: {message}")]
pub struct ProgramError {
    pub key: String,
    pub line: usize,
    pub message: String,
}

/// The file as TOML says it is, before validation.
pub(super) fn raw(source: &str) -> Result<RawFile, ProgramError> {
    toml::from_str(source).map_err(|e| from_toml(source, &e))
}

/// The 1-based line of a byte offset.
pub(super) fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset.min(source.len()))
        .map_or(1, |s| s.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// Turns a TOML or serde error into one that names the key: serde says which field is
/// unknown or missing; otherwise the key is read from the line the error points at.
fn from_toml(source: &str, e: &toml::de::Error) -> ProgramError {
    let message = e.message().trim().to_owned();
    let offset = e.span().map_or(0, |s| s.start);
    let line = line_of(source, offset);
    let quoted = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"));
    let key = match quoted {
        Some(k) => k.to_owned(),
        None => source
            .lines()
            .nth(line - 1)
            .map(|l| {
                let l = l.trim();
                match l.split_once('=') {
                    Some((k, _)) => k.trim().to_owned(),
                    None => l.trim_matches(|c| c == '[' || c == ']').to_owned(),
                }
            })
            .unwrap_or_default(),
    };
    ProgramError { key, line, message }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) program: Spanned<RawProgram>,
    #[serde(default)]
    pub(super) earn: Vec<Spanned<RawEarn>>,
    #[serde(default)]
    pub(super) tiers: Vec<Spanned<RawTier>>,
    #[serde(default)]
    pub(super) promotions: Vec<Spanned<RawPromotion>>,
    #[serde(default)]
    pub(super) rewards: Vec<Spanned<RawReward>>,
    pub(super) expiry: Option<Spanned<RawExpiry>>,
    pub(super) notify: Option<Spanned<RawNotify>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProgram {
    pub(super) name: Spanned<String>,
    pub(super) timezone: Spanned<String>,
    pub(super) tier_window: Option<Spanned<String>>,
    pub(super) referral_key: Option<Spanned<String>>,
    pub(super) refund_window_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEarn {
    pub(super) id: Spanned<String>,
    pub(super) on: Spanned<String>,
    pub(super) points: Option<Spanned<i64>>,
    pub(super) per_amount: Option<Spanned<BTreeMap<String, Spanned<i64>>>>,
    pub(super) plans: Option<Spanned<Vec<String>>>,
    pub(super) cap: Option<Spanned<RawCap>>,
    pub(super) beneficiary: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCap {
    pub(super) points: Spanned<i64>,
    pub(super) per: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
    pub(super) name: Spanned<String>,
    pub(super) min_points: Spanned<i64>,
    pub(super) multiplier: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) grants: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromotion {
    pub(super) id: Spanned<String>,
    pub(super) starts: Spanned<toml::value::Datetime>,
    pub(super) ends: Spanned<toml::value::Datetime>,
    pub(super) multiplier: Option<Spanned<String>>,
    pub(super) bonus: Option<Spanned<i64>>,
    pub(super) applies_to: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) plans: Option<Spanned<Vec<String>>>,
    pub(super) grant: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReward {
    pub(super) id: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) cost: Option<Spanned<i64>>,
    pub(super) value: Option<Spanned<BTreeMap<String, Spanned<i64>>>>,
    pub(super) coupon: Option<Spanned<String>>,
    pub(super) grant: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) secret: Option<Spanned<String>>,
    pub(super) on_tier: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpiry {
    pub(super) after_days: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) url: Spanned<String>,
    pub(super) kinds: Spanned<Vec<Spanned<String>>>,
    pub(super) secret: Option<Spanned<String>>,
    pub(super) expiring_days: Option<Spanned<i64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_offset_is_on_the_third_line_then_line_is_3() {
        let source = "a = 1\nb = 2\nc = 3\n";
        assert_eq!(line_of(source, 0), 1);
        // `c` is the 13th byte.
        assert_eq!(line_of(source, 12), 3);
    }

    #[test]
    fn when_offset_is_past_the_end_then_line_is_the_last() {
        assert_eq!(line_of("a = 1\nb = 2", 1_000), 2);
    }
}
