//! Conversion between domain values and DynamoDB items: the only place that knows how a
//! `CustomerState`, a ledger line, a reward or a marker is laid out in attributes.
//!
//! Keys, numbers the table's conditions and indexes need (version, balance, lot remaining,
//! expiry day) are plain attributes; the rest of a value is one JSON document attribute
//! ([`keys::DOC`]), which keeps the item layout stable while domain types grow fields.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ledger::{Delivery, LedgerLine, LineSeq, RewardOutbox};
use saguaro_domain::ports::EventMarker;
use saguaro_domain::state::{CustomerState, Lot, PaymentRecord, SubscriptionSnapshot};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Which state items the customer item vouches for, and the customer version that last
/// wrote each. `load` checks the items it read against it, so a read that raced a
/// transaction (DynamoDB queries are read-committed per item, not per transaction) is seen
/// and retried instead of returning a mix of two versions; `commit` uses it to know which
/// items of the previous state to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// In the state's order: (earning line, written at).
    pub lots: Vec<(LineSeq, u64)>,
    pub payments: BTreeMap<String, u64>,
    pub subscriptions: BTreeMap<String, u64>,
}

/// What a state query found.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// No customer item and no state item: never committed.
    Absent,
    Loaded(Box<CustomerState>, Manifest),
    /// The items do not match the customer item's manifest: a transaction was in flight.
    Torn(String),
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn json<T: Serialize>(what: &'static str, v: &T) -> Result<AttributeValue> {
    serde_json::to_string(v)
        .map(AttributeValue::S)
        .map_err(|source| Error::Serialise { what, source })
}

fn keyed(pk: String, sk: String, kind: &str) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(pk)),
        (keys::SK.to_owned(), s(sk)),
        (keys::KIND.to_owned(), s(kind)),
    ])
}

/// Typed reads of one item's attributes, naming the item in errors.
pub(crate) struct Reader<'a> {
    item: &'a Item,
}

impl<'a> Reader<'a> {
    pub fn new(item: &'a Item) -> Self {
        Self { item }
    }

    fn key(&self, name: &str) -> String {
        match self.item.get(name) {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => String::from("?"),
        }
    }

    fn bad(&self, attribute: &'static str) -> Error {
        Error::Attribute {
            pk: self.key(keys::PK),
            sk: self.key(keys::SK),
            attribute,
        }
    }

    pub fn opt_s(&self, name: &'static str) -> Result<Option<&'a str>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(self.bad(name)),
        }
    }

    pub fn s(&self, name: &'static str) -> Result<&'a str> {
        self.opt_s(name)?.ok_or_else(|| self.bad(name))
    }

    pub fn n<T: FromStr>(&self, name: &'static str) -> Result<T> {
        match self.item.get(name) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| self.bad(name)),
            _ => Err(self.bad(name)),
        }
    }

    pub fn doc<T: serde::de::DeserializeOwned>(&self, name: &'static str) -> Result<T> {
        serde_json::from_str(self.s(name)?).map_err(|source| Error::Json {
            pk: self.key(keys::PK),
            sk: self.key(keys::SK),
            source,
        })
    }

    pub fn customer(&self) -> Result<CustomerId> {
        keys::parse_customer_pk(self.s(keys::PK)?).ok_or_else(|| self.bad(keys::PK))
    }
}

/// The customer item: version, balance and tier as attributes, everything that is not a
/// lot, payment or subscription as the JSON document, and the manifest.
pub(crate) fn customer_item(state: &CustomerState, manifest: &Manifest) -> Result<Item> {
    let mut rest = state.clone();
    rest.lots.clear();
    rest.payments.clear();
    rest.subscriptions.clear();
    let mut item = keyed(
        keys::customer_pk(&state.customer),
        keys::META_SK.to_owned(),
        "customer",
    );
    item.insert(keys::VERSION.to_owned(), n(state.version));
    item.insert(keys::BALANCE.to_owned(), n(state.balance));
    if let Some(tier) = &state.tier {
        item.insert(keys::TIER.to_owned(), s(tier));
    }
    item.insert(keys::DOC.to_owned(), json("customer state", &rest)?);
    item.insert(keys::MANIFEST.to_owned(), json("manifest", manifest)?);
    Ok(item)
}

pub(crate) fn lot_item(customer: &CustomerId, lot: &Lot, written_at: u64) -> Item {
    let mut item = keyed(keys::customer_pk(customer), keys::lot_sk(lot.line), "lot");
    item.insert(keys::LINE.to_owned(), n(lot.line));
    item.insert(keys::REMAINING.to_owned(), n(lot.remaining));
    item.insert(keys::WRITTEN_AT.to_owned(), n(written_at));
    if let Some(day) = lot.expires_on {
        item.insert(keys::EXPIRES_ON.to_owned(), s(day.to_string()));
        item.insert(keys::GSI1_PK.to_owned(), s(keys::expiry_gsi_pk(day)));
        item.insert(
            keys::GSI1_SK.to_owned(),
            s(keys::lot_gsi_sk(customer, lot.line)),
        );
    }
    item
}

pub(crate) fn decode_lot(item: &Item) -> Result<(CustomerId, Lot)> {
    let r = Reader::new(item);
    let expires_on = match r.opt_s(keys::EXPIRES_ON)? {
        None => None,
        Some(day) => Some(day.parse().map_err(|_| r.bad(keys::EXPIRES_ON))?),
    };
    let lot = Lot {
        line: r.n(keys::LINE)?,
        expires_on,
        remaining: r.n(keys::REMAINING)?,
    };
    Ok((r.customer()?, lot))
}

pub(crate) fn payment_item(
    customer: &CustomerId,
    id: &str,
    record: &PaymentRecord,
    written_at: u64,
) -> Result<Item> {
    let mut item = keyed(keys::customer_pk(customer), keys::payment_sk(id), "payment");
    item.insert(keys::ID.to_owned(), s(id));
    item.insert(keys::WRITTEN_AT.to_owned(), n(written_at));
    item.insert(keys::DOC.to_owned(), json("payment record", record)?);
    Ok(item)
}

pub(crate) fn subscription_item(
    customer: &CustomerId,
    id: &str,
    snapshot: &SubscriptionSnapshot,
    written_at: u64,
) -> Result<Item> {
    let mut item = keyed(
        keys::customer_pk(customer),
        keys::subscription_sk(id),
        "subscription",
    );
    item.insert(keys::ID.to_owned(), s(id));
    item.insert(keys::WRITTEN_AT.to_owned(), n(written_at));
    item.insert(
        keys::DOC.to_owned(),
        json("subscription snapshot", snapshot)?,
    );
    if let Some(started_at) = snapshot.started_at {
        item.insert(
            keys::GSI1_PK.to_owned(),
            s(keys::anniversary_gsi_pk_of(started_at)),
        );
        item.insert(
            keys::GSI1_SK.to_owned(),
            s(keys::subscription_gsi_sk(customer, id)),
        );
    }
    Ok(item)
}

pub(crate) fn decode_subscription(
    item: &Item,
) -> Result<(CustomerId, String, SubscriptionSnapshot)> {
    let r = Reader::new(item);
    Ok((r.customer()?, r.s(keys::ID)?.to_owned(), r.doc(keys::DOC)?))
}

pub(crate) fn line_item(line: &LedgerLine) -> Result<Item> {
    let mut item = keyed(
        keys::customer_pk(&line.customer),
        keys::line_sk(line.seq),
        "line",
    );
    item.insert(keys::SEQ.to_owned(), n(line.seq));
    item.insert(keys::DOC.to_owned(), json("ledger line", line)?);
    Ok(item)
}

pub(crate) fn decode_line(item: &Item) -> Result<LedgerLine> {
    Reader::new(item).doc(keys::DOC)
}

/// A reward row. `(version, index)` of the commit that created it restore commit order,
/// which the id-sorted sort key does not keep.
pub(crate) fn reward_item(reward: &RewardOutbox, version: u64, index: usize) -> Result<Item> {
    let mut item = keyed(
        keys::customer_pk(&reward.customer),
        keys::reward_sk(&reward.id),
        "reward",
    );
    let status = match reward.delivery {
        Delivery::Pending => "pending",
        Delivery::Delivered { .. } => "delivered",
        Delivery::Failed { .. } => "failed",
    };
    item.insert(keys::DELIVERY.to_owned(), s(status));
    item.insert(keys::WRITTEN_AT.to_owned(), n(version));
    item.insert(keys::SEQ.to_owned(), n(index));
    item.insert(keys::DOC.to_owned(), json("reward", reward)?);
    Ok(item)
}

/// The reward and its commit order.
pub(crate) fn decode_reward(item: &Item) -> Result<((u64, u64), RewardOutbox)> {
    let r = Reader::new(item);
    Ok(((r.n(keys::WRITTEN_AT)?, r.n(keys::SEQ)?), r.doc(keys::DOC)?))
}

pub(crate) fn marker_item(marker: &EventMarker, applied_at: Timestamp, expires_at: i64) -> Item {
    let mut item = keyed(
        keys::marker_pk(&marker.event_id),
        keys::MARKER_SK.to_owned(),
        "marker",
    );
    item.insert(
        keys::MARKER_CUSTOMER.to_owned(),
        s(keys::customer_pk(&marker.customer)),
    );
    item.insert(keys::PAYLOAD_HASH.to_owned(), s(&marker.payload_hash));
    item.insert(keys::APPLIED_AT.to_owned(), s(applied_at.to_string()));
    item.insert(keys::TTL.to_owned(), n(expires_at));
    item
}

/// Rebuilds a customer's state from the items under their `S#` prefix, checking them
/// against the manifest.
pub(crate) fn decode_state(customer: &CustomerId, items: &[Item]) -> Result<Decoded> {
    let mut meta = None;
    let mut lots: HashMap<LineSeq, (Lot, u64)> = HashMap::new();
    let mut payments: HashMap<String, (PaymentRecord, u64)> = HashMap::new();
    let mut subscriptions: HashMap<String, (SubscriptionSnapshot, u64)> = HashMap::new();
    for item in items {
        let r = Reader::new(item);
        match r.s(keys::KIND)? {
            "customer" => meta = Some(item),
            "lot" => {
                let (_, lot) = decode_lot(item)?;
                lots.insert(lot.line, (lot, r.n(keys::WRITTEN_AT)?));
            }
            "payment" => {
                payments.insert(
                    r.s(keys::ID)?.to_owned(),
                    (r.doc(keys::DOC)?, r.n(keys::WRITTEN_AT)?),
                );
            }
            "subscription" => {
                subscriptions.insert(
                    r.s(keys::ID)?.to_owned(),
                    (r.doc(keys::DOC)?, r.n(keys::WRITTEN_AT)?),
                );
            }
            _ => return Err(r.bad(keys::KIND)),
        }
    }
    let Some(meta) = meta else {
        return Ok(if items.is_empty() {
            Decoded::Absent
        } else {
            Decoded::Torn(format!("{} state items but no customer item", items.len()))
        });
    };
    let r = Reader::new(meta);
    let manifest: Manifest = r.doc(keys::MANIFEST)?;
    let mut state: CustomerState = r.doc(keys::DOC)?;
    state.version = r.n(keys::VERSION)?;
    if state.customer != *customer {
        return Err(r.bad(keys::DOC));
    }
    if lots.len() != manifest.lots.len()
        || payments.len() != manifest.payments.len()
        || subscriptions.len() != manifest.subscriptions.len()
    {
        return Ok(Decoded::Torn(format!(
            "manifest of version {} lists {}/{}/{} lots/payments/subscriptions, read {}/{}/{}",
            state.version,
            manifest.lots.len(),
            manifest.payments.len(),
            manifest.subscriptions.len(),
            lots.len(),
            payments.len(),
            subscriptions.len()
        )));
    }
    for (line, at) in &manifest.lots {
        match lots.remove(line) {
            Some((lot, v)) if v == *at => state.lots.push(lot),
            _ => return Ok(Decoded::Torn(format!("lot {line} is not at version {at}"))),
        }
    }
    for (id, at) in &manifest.payments {
        match payments.remove(id) {
            Some((p, v)) if v == *at => {
                let key = id.parse().map_err(|_| r.bad(keys::ID))?;
                state.payments.insert(key, p);
            }
            _ => {
                return Ok(Decoded::Torn(format!(
                    "payment {id} is not at version {at}"
                )));
            }
        }
    }
    for (id, at) in &manifest.subscriptions {
        match subscriptions.remove(id) {
            Some((sub, v)) if v == *at => {
                state.subscriptions.insert(id.clone(), sub);
            }
            _ => {
                return Ok(Decoded::Torn(format!(
                    "subscription {id} is not at version {at}"
                )));
            }
        }
    }
    Ok(Decoded::Loaded(Box::new(state), manifest))
}

/// Whether the stored marker `item` (from a cancelled transaction or a read) records the
/// same event as `marker`: same customer and same payload hash. `None` if `item` is not a
/// readable marker.
pub(crate) fn same_event(item: &Item, marker: &EventMarker) -> Option<bool> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    };
    let customer = text(keys::MARKER_CUSTOMER)?;
    let hash = text(keys::PAYLOAD_HASH)?;
    Some(customer == keys::customer_pk(&marker.customer) && hash == marker.payload_hash)
}

/// Attribute value helpers for the store's expressions.
pub(crate) fn str_value(v: impl Into<String>) -> AttributeValue {
    s(v)
}

pub(crate) fn num_value(v: impl ToString) -> AttributeValue {
    n(v)
}
