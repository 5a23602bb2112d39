//! The program file (DESIGN §4): the merchant's earning rules, tiers, promotions, rewards and
//! expiry, in one TOML file. Parsing is strict: unknown keys are errors, and every error names
//! the key and the line.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::event::Trigger;
use crate::money::{Currency, Money};

/// A validated program.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub timezone: TimeZone,
    pub tier_window: TierWindow,
    pub referral_key: Option<String>,
    pub earn: Vec<EarnRule>,
    /// Ordered by `min_points`, the first at 0 (or empty: no tiers).
    pub tiers: Vec<Tier>,
    pub promotions: Vec<Promotion>,
    pub rewards: Vec<Reward>,
    pub expiry: Option<Expiry>,
    /// A hash of the file's bytes, recorded on every ledger line.
    pub version: ProgramVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ProgramVersion(pub String);

impl fmt::Display for ProgramVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierWindow {
    Lifetime,
    /// The calendar month of the event and the eleven before it, in the program timezone.
    Rolling12Months,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beneficiary {
    Customer,
    Referrer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapPeriod {
    Day,
    Month,
    Year,
    Ever,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub points: i64,
    pub per: CapPeriod,
}

#[derive(Debug, Clone)]
pub struct EarnRule {
    pub id: String,
    pub on: Trigger,
    pub points: i64,
    /// +1 point per N minor units of that currency.
    pub per_amount: BTreeMap<Currency, i64>,
    pub plans: Option<Vec<String>>,
    pub cap: Option<Cap>,
    pub beneficiary: Beneficiary,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub name: String,
    pub min_points: i64,
    pub multiplier: Decimal,
    pub grants: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Promotion {
    pub id: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub multiplier: Option<Decimal>,
    pub bonus: i64,
    pub applies_to: Option<Vec<Trigger>>,
    pub plans: Option<Vec<String>>,
    pub grant: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    BillingCredit,
    Coupon,
    Access,
    Perk,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardTrigger {
    /// Redeemed automatically, repeatedly, while the balance covers the cost.
    Cost(i64),
    /// Issued once, when the customer first enters the tier.
    OnTier(String),
}

#[derive(Debug, Clone)]
pub struct Reward {
    pub id: String,
    pub kind: RewardKind,
    pub trigger: RewardTrigger,
    pub value: BTreeMap<Currency, i64>,
    pub coupon: Option<String>,
    pub grant: Option<String>,
    pub url: Option<String>,
}

impl Reward {
    /// The billing credit for a customer paying in `currency`, if the reward has one.
    pub fn value_in(&self, currency: Currency) -> Option<Money> {
        self.value
            .get(&currency)
            .map(|&minor| Money::new(minor, currency))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub after_days: i32,
}

/// A program that cannot be loaded, with the key and the line that are at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{key}`: {message}")]
pub struct ProgramError {
    pub key: String,
    pub line: usize,
    pub message: String,
}

impl Program {
    /// Parses and validates a program file.
    pub fn parse(source: &str) -> Result<Self, ProgramError> {
        let raw: RawFile = toml::from_str(source).map_err(|e| from_toml(source, &e))?;
        Validator { source }.program(raw, source)
    }

    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    pub fn promotion(&self, id: &str) -> Option<&Promotion> {
        self.promotions.iter().find(|p| p.id == id)
    }

    /// The tier a customer with `qualifying` points is in.
    pub fn tier_for(&self, qualifying: i64) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| qualifying >= t.min_points)
    }
}

// ---- raw shapes, exactly the keys of DESIGN §4 ------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    program: Spanned<RawProgram>,
    #[serde(default)]
    earn: Vec<Spanned<RawEarn>>,
    #[serde(default)]
    tiers: Vec<Spanned<RawTier>>,
    #[serde(default)]
    promotions: Vec<Spanned<RawPromotion>>,
    #[serde(default)]
    rewards: Vec<Spanned<RawReward>>,
    expiry: Option<Spanned<RawExpiry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: Spanned<String>,
    timezone: Spanned<String>,
    tier_window: Option<Spanned<String>>,
    referral_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEarn {
    id: Spanned<String>,
    on: Spanned<String>,
    points: Option<Spanned<i64>>,
    per_amount: Option<Spanned<BTreeMap<String, Spanned<i64>>>>,
    plans: Option<Spanned<Vec<String>>>,
    cap: Option<Spanned<RawCap>>,
    beneficiary: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    points: Spanned<i64>,
    per: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    name: Spanned<String>,
    min_points: Spanned<i64>,
    multiplier: Option<Spanned<String>>,
    #[serde(default)]
    grants: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromotion {
    id: Spanned<String>,
    starts: Spanned<toml::value::Datetime>,
    ends: Spanned<toml::value::Datetime>,
    multiplier: Option<Spanned<String>>,
    bonus: Option<Spanned<i64>>,
    applies_to: Option<Spanned<Vec<Spanned<String>>>>,
    plans: Option<Spanned<Vec<String>>>,
    grant: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReward {
    id: Spanned<String>,
    kind: Spanned<String>,
    cost: Option<Spanned<i64>>,
    value: Option<Spanned<BTreeMap<String, Spanned<i64>>>>,
    coupon: Option<Spanned<String>>,
    grant: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    on_tier: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpiry {
    after_days: Spanned<i64>,
}

// ---- errors with lines ----------------------------------------------------------------

fn line_of(source: &str, offset: usize) -> usize {
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

struct Validator<'a> {
    source: &'a str,
}

impl Validator<'_> {
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

    fn slug(&self, key: &str, v: &Spanned<String>) -> Result<String, ProgramError> {
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

    fn unique(
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

    fn non_negative(&self, key: &str, v: &Spanned<i64>) -> Result<i64, ProgramError> {
        if *v.get_ref() < 0 {
            return self.err(key, v.span(), "must not be negative");
        }
        Ok(*v.get_ref())
    }

    fn positive(&self, key: &str, v: &Spanned<i64>) -> Result<i64, ProgramError> {
        if *v.get_ref() < 1 {
            return self.err(key, v.span(), "must be at least 1");
        }
        Ok(*v.get_ref())
    }

    fn multiplier(&self, key: &str, v: &Spanned<String>) -> Result<Decimal, ProgramError> {
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

    fn currency_map(
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

    fn trigger(&self, key: &str, v: &Spanned<String>) -> Result<Trigger, ProgramError> {
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

    fn instant(
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

    fn program(&self, raw: RawFile, source: &str) -> Result<Program, ProgramError> {
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

        let mut tiers: Vec<Tier> = Vec::new();
        let mut tier_names = HashSet::new();
        for t in raw.tiers {
            let span = t.span();
            let t = t.into_inner();
            self.unique(&mut tier_names, "tiers.name", &t.name)?;
            let min_points = self.non_negative("tiers.min_points", &t.min_points)?;
            if tiers.is_empty() && min_points != 0 {
                return self.err(
                    "tiers.min_points",
                    t.min_points.span(),
                    "the lowest tier must start at 0",
                );
            }
            if tiers
                .last()
                .is_some_and(|prev| prev.min_points >= min_points)
            {
                return self.err(
                    "tiers.min_points",
                    t.min_points.span(),
                    "tiers must be ordered by increasing min_points",
                );
            }
            let multiplier = match &t.multiplier {
                Some(m) => self.multiplier("tiers.multiplier", m)?,
                None => Decimal::ONE,
            };
            let _ = span;
            tiers.push(Tier {
                name: t.name.into_inner(),
                min_points,
                multiplier,
                grants: t.grants,
            });
        }

        let mut earn = Vec::new();
        let mut ids = HashSet::new();
        for r in raw.earn {
            let r = r.into_inner();
            let id = self.slug("earn.id", &r.id)?;
            self.unique(&mut ids, "earn.id", &r.id)?;
            let on = self.trigger("earn.on", &r.on)?;
            let points = match &r.points {
                Some(p) => self.non_negative("earn.points", p)?,
                None => 0,
            };
            let per_amount = match &r.per_amount {
                Some(m) => self.currency_map("earn.per_amount", m, 1)?,
                None => BTreeMap::new(),
            };
            let cap = match &r.cap {
                Some(c) => {
                    let c = c.get_ref();
                    let per = match c.per.get_ref().as_str() {
                        "day" => CapPeriod::Day,
                        "month" => CapPeriod::Month,
                        "year" => CapPeriod::Year,
                        "ever" => CapPeriod::Ever,
                        other => {
                            return self.err(
                                "earn.cap.per",
                                c.per.span(),
                                format!("`{other}` is not day, month, year or ever"),
                            );
                        }
                    };
                    Some(Cap {
                        points: self.non_negative("earn.cap.points", &c.points)?,
                        per,
                    })
                }
                None => None,
            };
            let beneficiary = match r
                .beneficiary
                .as_ref()
                .map(|b| (b.get_ref().as_str(), b.span()))
            {
                None | Some(("customer", _)) => Beneficiary::Customer,
                Some(("referrer", span)) => {
                    if on != Trigger::ReferralConverted {
                        return self.err(
                            "earn.beneficiary",
                            span,
                            "`referrer` is only for rules on referral.converted",
                        );
                    }
                    Beneficiary::Referrer
                }
                Some((other, span)) => {
                    return self.err(
                        "earn.beneficiary",
                        span,
                        format!("`{other}` is not customer or referrer"),
                    );
                }
            };
            if points == 0 && per_amount.is_empty() {
                return self.err(
                    "earn.points",
                    r.id.span(),
                    format!("rule `{id}` earns nothing: set points or per_amount"),
                );
            }
            earn.push(EarnRule {
                id,
                on,
                points,
                per_amount,
                plans: r.plans.map(Spanned::into_inner),
                cap,
                beneficiary,
            });
        }

        let mut promotions = Vec::new();
        let mut promo_ids = HashSet::new();
        for pr in raw.promotions {
            let pr = pr.into_inner();
            let id = self.slug("promotions.id", &pr.id)?;
            self.unique(&mut promo_ids, "promotions.id", &pr.id)?;
            let starts = self.instant("promotions.starts", &pr.starts, &timezone)?;
            let ends = self.instant("promotions.ends", &pr.ends, &timezone)?;
            if ends <= starts {
                return self.err("promotions.ends", pr.ends.span(), "must be after starts");
            }
            let multiplier = pr
                .multiplier
                .as_ref()
                .map(|m| self.multiplier("promotions.multiplier", m))
                .transpose()?;
            let bonus = pr
                .bonus
                .as_ref()
                .map(|b| self.non_negative("promotions.bonus", b))
                .transpose()?
                .unwrap_or(0);
            let grant = pr
                .grant
                .as_ref()
                .map(|g| self.positive("promotions.grant", g))
                .transpose()?;
            let applies_to = match pr.applies_to {
                Some(list) => Some(
                    list.into_inner()
                        .iter()
                        .map(|t| self.trigger("promotions.applies_to", t))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None => None,
            };
            if multiplier.is_none() && bonus == 0 && grant.is_none() {
                return self.err(
                    "promotions.multiplier",
                    pr.id.span(),
                    format!("promotion `{id}` does nothing: set multiplier, bonus or grant"),
                );
            }
            promotions.push(Promotion {
                id,
                starts,
                ends,
                multiplier,
                bonus,
                applies_to,
                plans: pr.plans.map(Spanned::into_inner),
                grant,
            });
        }

        let mut rewards = Vec::new();
        let mut reward_ids = HashSet::new();
        for rw in raw.rewards {
            let rw = rw.into_inner();
            let id = self.slug("rewards.id", &rw.id)?;
            self.unique(&mut reward_ids, "rewards.id", &rw.id)?;
            let kind = match rw.kind.get_ref().as_str() {
                "billing_credit" => RewardKind::BillingCredit,
                "coupon" => RewardKind::Coupon,
                "access" => RewardKind::Access,
                "perk" => RewardKind::Perk,
                other => {
                    return self.err(
                        "rewards.kind",
                        rw.kind.span(),
                        format!("`{other}` is not billing_credit, coupon, access or perk"),
                    );
                }
            };
            let trigger = match (&rw.cost, &rw.on_tier) {
                (Some(c), None) => RewardTrigger::Cost(self.positive("rewards.cost", c)?),
                (None, Some(t)) => {
                    if !tier_names.contains(t.get_ref()) {
                        return self.err(
                            "rewards.on_tier",
                            t.span(),
                            format!("no tier is named `{}`", t.get_ref()),
                        );
                    }
                    RewardTrigger::OnTier(t.get_ref().clone())
                }
                (Some(_), Some(t)) => {
                    return self.err("rewards.on_tier", t.span(), "set cost or on_tier, not both");
                }
                (None, None) => {
                    return self.err(
                        "rewards.cost",
                        rw.id.span(),
                        format!("reward `{id}` needs cost or on_tier"),
                    );
                }
            };
            let value = match &rw.value {
                Some(v) => self.currency_map("rewards.value", v, 1)?,
                None => BTreeMap::new(),
            };
            let needs = |present: bool, key: &str| -> Result<(), ProgramError> {
                if present {
                    Ok(())
                } else {
                    self.err(
                        key,
                        rw.kind.span(),
                        format!("a {} reward needs `{key}`", rw.kind.get_ref()),
                    )
                }
            };
            match kind {
                RewardKind::BillingCredit => needs(!value.is_empty(), "value")?,
                RewardKind::Coupon => needs(rw.coupon.is_some(), "coupon")?,
                RewardKind::Access => needs(rw.grant.is_some(), "grant")?,
                RewardKind::Perk => {
                    needs(rw.url.is_some(), "url")?;
                    if let Some(u) = &rw.url
                        && !(u.get_ref().starts_with("https://")
                            || u.get_ref().starts_with("http://"))
                    {
                        return self.err("rewards.url", u.span(), "must be an http(s) URL");
                    }
                }
            }
            rewards.push(Reward {
                id,
                kind,
                trigger,
                value,
                coupon: rw.coupon.map(Spanned::into_inner),
                grant: rw.grant.map(Spanned::into_inner),
                url: rw.url.map(Spanned::into_inner),
            });
        }

        let expiry = match raw.expiry {
            Some(e) => {
                let days = self.positive("expiry.after_days", &e.get_ref().after_days)?;
                if days > 36_500 {
                    return self.err(
                        "expiry.after_days",
                        e.get_ref().after_days.span(),
                        "must be at most 36500",
                    );
                }
                Some(Expiry {
                    after_days: days as i32,
                })
            }
            None => None,
        };

        let digest = Sha256::digest(source.as_bytes());
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
            version: ProgramVersion(hex::encode(&digest[..8])),
        })
    }
}
