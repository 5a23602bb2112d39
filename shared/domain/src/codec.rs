//! The compact encoding of a [`CustomerState`], shared by the stores that keep a customer's
//! state in one record written on every event (the DynamoDB customer item, the SQLite
//! `customers` row). On DynamoDB, transactional writes cost 2 write units per started KB of
//! each item, so the typical record must stay under 1 KB (design §6); on SQLite the bytes
//! written per event are what the event costs.
//!
//! - [`Doc`] (JSON, short field names, empty values left out): the scalars, caps, tiers,
//!   grants, subscriptions, referral and pending follow-ups;
//! - `lots` and `pay` (binary, [`encode_lots`], [`encode_payments`]): the two collections
//!   that grow with a customer's history, at a few bytes a lot and about 27 bytes a payment
//!   record. Both are bounded by the engine: one lot per expiry day, payment records for the
//!   refund window.
//!
//! The customer, version, balance and tier are not in it: each store keeps them as its own
//! key and columns (attributes), and [`Doc::into_state`] takes them back.
//!
//! Binary layout, version [`FORMAT`] (integers are LEB128 varints, signed ones zigzag-coded;
//! a day is days since 1970-01-01, stored +1 so that 0 can mean "none"):
//!
//! - `lots`: count, then per lot: day (0: never expires), remaining (signed), line.
//! - `pay`: count, then per record: key (8 bytes, big-endian), day (0: none), amount flag
//!   (0: none, 1: some) with minor (signed) and currency (3 ASCII bytes), refunded (signed),
//!   count of earned lines, then per line: line, points (signed), reversed (signed), month.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::Event;
use crate::ids::{CustomerId, PaymentKey};
use crate::ledger::LineSeq;
use crate::money::{Currency, Money};
use crate::state::{
    CapCounter, CustomerState, EarnedLine, Lot, PaymentRecord, SubscriptionSnapshot,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The encoding's version, in `doc` (`f`). A reader refuses a version it does not know.
pub const FORMAT: u8 = 1;

/// A malformed record: what was being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed customer record: {0}")]
pub struct Malformed(pub &'static str);

/// The JSON part of the customer item.
#[derive(Debug, Serialize, Deserialize)]
pub struct Doc {
    #[serde(rename = "f")]
    format: u8,
    #[serde(rename = "d", default, skip_serializing_if = "is_zero")]
    deficit: i64,
    #[serde(rename = "n")]
    next_seq: LineSeq,
    #[serde(rename = "q", default, skip_serializing_if = "is_zero")]
    qualifying_lifetime: i64,
    #[serde(rename = "qm", default, skip_serializing_if = "BTreeMap::is_empty")]
    qualifying_by_month: BTreeMap<u32, i64>,
    #[serde(rename = "tv", default, skip_serializing_if = "Option::is_none")]
    tier_review_on: Option<jiff::civil::Date>,
    #[serde(rename = "xn", default, skip_serializing_if = "Option::is_none")]
    expiring_notice_on: Option<jiff::civil::Date>,
    #[serde(rename = "tr", default, skip_serializing_if = "BTreeSet::is_empty")]
    tiers_reached: BTreeSet<String>,
    #[serde(rename = "g", default, skip_serializing_if = "BTreeSet::is_empty")]
    grants: BTreeSet<String>,
    /// (rule, period, ends, used).
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    caps: Vec<(String, String, Option<Time>, i64)>,
    #[serde(rename = "s", default, skip_serializing_if = "BTreeMap::is_empty")]
    subscriptions: BTreeMap<String, Sub>,
    #[serde(rename = "cur", default, skip_serializing_if = "Option::is_none")]
    currency: Option<Currency>,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    referrer: Option<CustomerId>,
    #[serde(rename = "rc", default, skip_serializing_if = "is_false")]
    referral_converted: bool,
    #[serde(rename = "pe", default, skip_serializing_if = "Vec::is_empty")]
    pending: Vec<Event>,
}

/// A subscription snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct Sub {
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(rename = "st", default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(rename = "sa", default, skip_serializing_if = "Option::is_none")]
    started_at: Option<Time>,
    /// The local start date.
    #[serde(rename = "so", default, skip_serializing_if = "Option::is_none")]
    started_on: Option<jiff::civil::Date>,
    /// (minor, currency).
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    monthly_amount: Option<(i64, Currency)>,
    #[serde(rename = "rv", default, skip_serializing_if = "Option::is_none")]
    resource_version: Option<i64>,
    #[serde(rename = "u")]
    updated_at: Time,
}

/// A timestamp as epoch seconds when it has no fraction (10 bytes instead of 22), else as
/// RFC 3339: either way it reads back exactly.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum Time {
    Seconds(i64),
    Exact(Timestamp),
}

impl From<Timestamp> for Time {
    fn from(t: Timestamp) -> Self {
        if t.subsec_nanosecond() == 0 {
            Self::Seconds(t.as_second())
        } else {
            Self::Exact(t)
        }
    }
}

impl Time {
    fn timestamp(self) -> Result<Timestamp, Malformed> {
        match self {
            Self::Seconds(s) => Timestamp::from_second(s).map_err(|_| Malformed("timestamp")),
            Self::Exact(t) => Ok(t),
        }
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl Doc {
    /// Everything of `state` but what the item holds elsewhere: the customer (its key), the
    /// version, balance and tier (attributes), lots and payments (binary).
    pub fn of(state: &CustomerState) -> Self {
        Self {
            format: FORMAT,
            deficit: state.deficit,
            next_seq: state.next_seq,
            qualifying_lifetime: state.qualifying_lifetime,
            qualifying_by_month: state.qualifying_by_month.clone(),
            tier_review_on: state.tier_review_on,
            expiring_notice_on: state.expiring_notice_on,
            tiers_reached: state.tiers_reached.clone(),
            grants: state.grants.clone(),
            caps: state
                .caps
                .iter()
                .map(|c| {
                    (
                        c.rule.clone(),
                        c.period.clone(),
                        c.ends.map(Time::from),
                        c.used,
                    )
                })
                .collect(),
            subscriptions: state
                .subscriptions
                .iter()
                .map(|(id, s)| {
                    let sub = Sub {
                        plan: s.plan.clone(),
                        status: s.status.clone(),
                        started_at: s.started_at.map(Time::from),
                        started_on: s.started_on,
                        monthly_amount: s.monthly_amount.map(|m| (m.minor, m.currency)),
                        resource_version: s.resource_version,
                        updated_at: s.updated_at.into(),
                    };
                    (id.clone(), sub)
                })
                .collect(),
            currency: state.currency,
            referrer: state.referrer.clone(),
            referral_converted: state.referral_converted,
            pending: state.pending.clone(),
        }
    }

    /// The state this document, the item's attributes and its lots and payments make.
    pub fn into_state(
        self,
        customer: CustomerId,
        version: u64,
        balance: i64,
        tier: Option<String>,
        lots: Vec<Lot>,
        payments: BTreeMap<PaymentKey, PaymentRecord>,
    ) -> Result<CustomerState, Malformed> {
        if self.format != FORMAT {
            return Err(Malformed("format version"));
        }
        let caps = self
            .caps
            .into_iter()
            .map(|(rule, period, ends, used)| {
                Ok(CapCounter {
                    rule,
                    period,
                    ends: ends.map(Time::timestamp).transpose()?,
                    used,
                })
            })
            .collect::<Result<_, Malformed>>()?;
        let subscriptions = self
            .subscriptions
            .into_iter()
            .map(|(id, s)| {
                let snapshot = SubscriptionSnapshot {
                    plan: s.plan,
                    status: s.status,
                    started_at: s.started_at.map(Time::timestamp).transpose()?,
                    started_on: s.started_on,
                    monthly_amount: s.monthly_amount.map(|(m, c)| Money::new(m, c)),
                    resource_version: s.resource_version,
                    updated_at: s.updated_at.timestamp()?,
                };
                Ok((id, snapshot))
            })
            .collect::<Result<_, Malformed>>()?;
        let mut state = CustomerState::new(customer);
        state.version = version;
        state.balance = balance;
        state.deficit = self.deficit;
        state.next_seq = self.next_seq;
        state.lots = lots;
        state.qualifying_lifetime = self.qualifying_lifetime;
        state.qualifying_by_month = self.qualifying_by_month;
        state.tier = tier;
        state.tier_review_on = self.tier_review_on;
        state.expiring_notice_on = self.expiring_notice_on;
        state.tiers_reached = self.tiers_reached;
        state.grants = self.grants;
        state.caps = caps;
        state.payments = payments;
        state.subscriptions = subscriptions;
        state.currency = self.currency;
        state.referrer = self.referrer;
        state.referral_converted = self.referral_converted;
        state.pending = self.pending;
        Ok(state)
    }
}

/// The `lots` attribute.
pub fn encode_lots(lots: &[Lot]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + lots.len() * 8);
    put_u64(&mut out, lots.len() as u64);
    for lot in lots {
        put_day(&mut out, lot.expires_on);
        put_i64(&mut out, lot.remaining);
        put_u64(&mut out, lot.line);
    }
    out
}

pub fn decode_lots(bytes: &[u8]) -> Result<Vec<Lot>, Malformed> {
    let mut r = Bytes(bytes);
    let n = r.len("lot count")?;
    let mut lots = Vec::with_capacity(n);
    for _ in 0..n {
        lots.push(Lot {
            expires_on: r.day()?,
            remaining: r.i64("lot remaining")?,
            line: r.u64("lot line")?,
        });
    }
    r.end("lots")?;
    Ok(lots)
}

/// The `pay` attribute.
pub fn encode_payments(payments: &BTreeMap<PaymentKey, PaymentRecord>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + payments.len() * 28);
    put_u64(&mut out, payments.len() as u64);
    for (key, record) in payments {
        out.extend_from_slice(&key.0.to_be_bytes());
        put_day(&mut out, record.day);
        match record.amount {
            None => out.push(0),
            Some(amount) => {
                out.push(1);
                put_i64(&mut out, amount.minor);
                out.extend_from_slice(amount.currency.as_str().as_bytes());
            }
        }
        put_i64(&mut out, record.refunded);
        put_u64(&mut out, record.earned.len() as u64);
        for line in &record.earned {
            put_u64(&mut out, line.line);
            put_i64(&mut out, line.points);
            put_i64(&mut out, line.reversed);
            put_u64(&mut out, u64::from(line.month));
        }
    }
    out
}

pub fn decode_payments(bytes: &[u8]) -> Result<BTreeMap<PaymentKey, PaymentRecord>, Malformed> {
    let mut r = Bytes(bytes);
    let n = r.len("payment count")?;
    let mut payments = BTreeMap::new();
    for _ in 0..n {
        let key = PaymentKey(u64::from_be_bytes(r.array("payment key")?));
        let day = r.day()?;
        let amount = match r.byte("amount flag")? {
            0 => None,
            1 => {
                let minor = r.i64("amount")?;
                let code: [u8; 3] = r.array("currency")?;
                let currency = std::str::from_utf8(&code)
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .ok_or(Malformed("currency"))?;
                Some(Money::new(minor, currency))
            }
            _ => return Err(Malformed("amount flag")),
        };
        let refunded = r.i64("refunded")?;
        let lines = r.len("earned count")?;
        let mut earned = Vec::with_capacity(lines);
        for _ in 0..lines {
            earned.push(EarnedLine {
                line: r.u64("earned line")?,
                points: r.i64("earned points")?,
                reversed: r.i64("reversed")?,
                month: u32::try_from(r.u64("month")?).map_err(|_| Malformed("month"))?,
            });
        }
        let record = PaymentRecord {
            day,
            amount,
            earned,
            refunded,
        };
        if payments.insert(key, record).is_some() {
            return Err(Malformed("duplicate payment key"));
        }
    }
    r.end("payments")?;
    Ok(payments)
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

fn put_day(out: &mut Vec<u8>, day: Option<Date>) {
    match day {
        None => put_u64(out, 0),
        Some(d) => put_u64(out, zigzag(days_since_epoch(d)) + 1),
    }
}

/// Small magnitudes of either sign take few bytes: 0, -1, 1, -2... → 0, 1, 2, 3...
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn days_since_epoch(d: Date) -> i64 {
    // A civil date's distance from 1970-01-01 in days: exact, and within ±3.7 million.
    let epoch = jiff::civil::date(1970, 1, 1);
    epoch.until(d).map_or(0, |span| i64::from(span.get_days()))
}

/// A reader over a binary attribute.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, Malformed> {
        let (&first, rest) = self.0.split_first().ok_or(Malformed(what))?;
        self.0 = rest;
        Ok(first)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(Malformed(what))?;
        self.0 = rest;
        head.try_into().map_err(|_| Malformed(what))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed(what))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, Malformed> {
        self.u64(what).map(unzigzag)
    }

    /// A count, which cannot exceed the bytes left (every element takes at least one).
    fn len(&mut self, what: &'static str) -> Result<usize, Malformed> {
        let n = usize::try_from(self.u64(what)?).map_err(|_| Malformed(what))?;
        if n > self.0.len() {
            return Err(Malformed(what));
        }
        Ok(n)
    }

    fn day(&mut self) -> Result<Option<Date>, Malformed> {
        match self.u64("day")? {
            0 => Ok(None),
            v => {
                let days = unzigzag(v - 1);
                jiff::civil::date(1970, 1, 1)
                    .checked_add(jiff::Span::new().days(days))
                    .map(Some)
                    .map_err(|_| Malformed("day"))
            }
        }
    }

    fn end(&self, what: &'static str) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        "usd".parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn when_lots_are_encoded_then_they_decode_exactly_at_a_few_bytes_each() {
        let lots = vec![
            Lot {
                line: 36,
                expires_on: Some(jiff::civil::date(2027, 1, 15)),
                remaining: 29,
            },
            Lot {
                line: 1,
                expires_on: None,
                remaining: i64::MAX,
            },
            Lot {
                line: u64::MAX,
                expires_on: Some(jiff::civil::date(1969, 12, 31)),
                remaining: -5,
            },
        ];
        let bytes = encode_lots(&lots);
        assert_eq!(decode_lots(&bytes), Ok(lots.clone()));
        assert!(encode_lots(&lots[..1]).len() <= 1 + 6);
    }

    #[test]
    fn when_payments_are_encoded_then_they_decode_exactly_at_about_27_bytes_each() {
        let payments = BTreeMap::from([
            (
                PaymentKey::of("pi_3QxYzAbCdEfGhIjKlMnO0013"),
                PaymentRecord {
                    day: Some(jiff::civil::date(2026, 2, 15)),
                    amount: Some(Money::new(2999, usd())),
                    earned: vec![EarnedLine {
                        line: 36,
                        points: 29,
                        reversed: 0,
                        month: 202_602,
                    }],
                    refunded: 0,
                },
            ),
            (
                PaymentKey::of("in_refund_first"),
                PaymentRecord {
                    day: None,
                    amount: None,
                    earned: vec![],
                    refunded: i64::MIN,
                },
            ),
        ]);
        let bytes = encode_payments(&payments);
        assert_eq!(decode_payments(&bytes), Ok(payments.clone()));
        let one: BTreeMap<_, _> = payments.into_iter().take(1).collect();
        assert!(
            encode_payments(&one).len() <= 1 + 27,
            "{}",
            encode_payments(&one).len()
        );
    }

    #[test]
    fn when_bytes_are_truncated_or_trailing_then_decoding_fails_instead_of_guessing() {
        let lots = encode_lots(&[Lot {
            line: 300,
            expires_on: None,
            remaining: 1_000,
        }]);
        assert!(decode_lots(&lots[..lots.len() - 1]).is_err());
        let mut longer = lots.clone();
        longer.push(0);
        assert!(decode_lots(&longer).is_err());
        assert!(decode_lots(&[0xff; 3]).is_err());
        assert!(decode_payments(&[1, 0, 0]).is_err());
    }
}
