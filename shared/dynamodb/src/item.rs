//! Conversion between domain values and DynamoDB items: the only place that knows how a
//! `CustomerState`, its index items, a ledger line, a reward or a marker is laid out in
//! attributes.
//!
//! Keys and what the table's conditions and indexes need (version, balance, index days) are
//! plain attributes; the rest of a value is a JSON document attribute ([`keys::DOC`]), and
//! on the customer item also the compact binary attributes of [`saguaro_domain::codec`].

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use jiff::civil::Date;
use saguaro_domain::ids::CustomerId;
use saguaro_domain::ledger::{Delivery, LedgerLine, RewardOutbox};
use saguaro_domain::links::InvoiceLink;
use saguaro_domain::ports::{EventMarker, RewardPosition};
use saguaro_domain::schedule::{ScheduleIndex, ScheduledExpiry, ScheduledSubscription};
use saguaro_domain::state::CustomerState;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::keys;
use saguaro_domain::codec::{self, Doc};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

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

    pub fn opt_b(&self, name: &'static str) -> Result<Option<&'a [u8]>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::B(v)) => Ok(Some(v.as_ref())),
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

/// The customer item: version, balance and tier as attributes, lots and payment records as
/// binary attributes, everything else as the compact JSON document.
pub(crate) fn customer_item(state: &CustomerState) -> Result<Item> {
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
    item.insert(
        keys::DOC.to_owned(),
        json("customer state", &Doc::of(state))?,
    );
    if !state.lots.is_empty() {
        let lots = codec::encode_lots(&state.lots);
        item.insert(keys::LOTS.to_owned(), AttributeValue::B(Blob::new(lots)));
    }
    if !state.payments.is_empty() {
        let payments = codec::encode_payments(&state.payments);
        item.insert(
            keys::PAYMENTS.to_owned(),
            AttributeValue::B(Blob::new(payments)),
        );
    }
    Ok(item)
}

/// The state in a customer item.
pub(crate) fn decode_customer(customer: &CustomerId, item: &Item) -> Result<CustomerState> {
    let r = Reader::new(item);
    if r.customer()? != *customer {
        return Err(r.bad(keys::PK));
    }
    let doc: Doc = r.doc(keys::DOC)?;
    let lots = match r.opt_b(keys::LOTS)? {
        None => Vec::new(),
        Some(bytes) => codec::decode_lots(bytes).map_err(|_| r.bad(keys::LOTS))?,
    };
    let payments = match r.opt_b(keys::PAYMENTS)? {
        None => BTreeMap::new(),
        Some(bytes) => codec::decode_payments(bytes).map_err(|_| r.bad(keys::PAYMENTS))?,
    };
    let tier = r.opt_s(keys::TIER)?.map(str::to_owned);
    doc.into_state(
        customer.clone(),
        r.n(keys::VERSION)?,
        r.n(keys::BALANCE)?,
        tier,
        lots,
        payments,
    )
    .map_err(|_| r.bad(keys::DOC))
}

/// What a customer's index items say ([`ScheduleIndex`]): the day their soonest lot expires
/// and each subscription's local start, plan and whether it is active. Derived from the
/// state, so a commit knows which index items changed by comparing before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Indexed {
    pub expires: Option<Date>,
    pub started: BTreeMap<String, ScheduledSubscription>,
}

impl Indexed {
    pub fn of(state: &CustomerState) -> Self {
        let index = ScheduleIndex::of(state);
        Self {
            expires: index.expires,
            started: index
                .subscriptions
                .into_iter()
                .map(|s| (s.subscription.clone(), s))
                .collect(),
        }
    }
}

/// The expiry index item: the customer, under the month and day their soonest lot expires.
pub(crate) fn expiry_index_item(customer: &CustomerId, day: Date) -> Item {
    let pk = keys::customer_pk(customer);
    let mut item = keyed(pk, keys::EXPIRY_INDEX_SK.to_owned(), "expiry-index");
    item.insert(keys::EXPIRES_ON.to_owned(), s(day.to_string()));
    item.insert(keys::GSI1_PK.to_owned(), s(keys::expiry_gsi_pk(day)));
    item.insert(
        keys::GSI1_SK.to_owned(),
        s(keys::expiry_gsi_sk(day, customer)),
    );
    item
}

pub(crate) fn decode_expiry_index(item: &Item) -> Result<ScheduledExpiry> {
    let r = Reader::new(item);
    let day = r
        .s(keys::EXPIRES_ON)?
        .parse()
        .map_err(|_| r.bad(keys::EXPIRES_ON))?;
    Ok(ScheduledExpiry {
        customer: r.customer()?,
        day,
    })
}

/// The anniversary index item of a subscription, under its local start month-day.
pub(crate) fn anniversary_index_item(sub: &ScheduledSubscription) -> Item {
    let mut item = keyed(
        keys::customer_pk(&sub.customer),
        keys::anniversary_index_sk(&sub.subscription),
        "anniversary-index",
    );
    item.insert(keys::ID.to_owned(), s(&sub.subscription));
    item.insert(keys::STARTED_ON.to_owned(), s(sub.started_on.to_string()));
    if let Some(plan) = &sub.plan {
        item.insert(keys::PLAN.to_owned(), s(plan));
    }
    item.insert(keys::ACTIVE.to_owned(), AttributeValue::Bool(sub.active));
    item.insert(
        keys::GSI1_PK.to_owned(),
        s(keys::anniversary_gsi_pk_of(sub.started_on)),
    );
    item.insert(
        keys::GSI1_SK.to_owned(),
        s(keys::subscription_gsi_sk(&sub.customer, &sub.subscription)),
    );
    item
}

pub(crate) fn decode_anniversary_index(item: &Item) -> Result<ScheduledSubscription> {
    let r = Reader::new(item);
    let started_on = r
        .s(keys::STARTED_ON)?
        .parse()
        .map_err(|_| r.bad(keys::STARTED_ON))?;
    let active = match item.get(keys::ACTIVE) {
        Some(AttributeValue::Bool(b)) => *b,
        _ => return Err(r.bad(keys::ACTIVE)),
    };
    Ok(ScheduledSubscription {
        customer: r.customer()?,
        subscription: r.s(keys::ID)?.to_owned(),
        started_on,
        plan: r.opt_s(keys::PLAN)?.map(str::to_owned),
        active,
    })
}

/// The daily job's watermark item.
pub(crate) fn watermark_item(day: Date) -> Item {
    let mut item = keyed(
        keys::WATERMARK_PK.to_owned(),
        keys::WATERMARK_SK.to_owned(),
        "watermark",
    );
    item.insert(keys::DAY.to_owned(), s(day.to_string()));
    item
}

pub(crate) fn decode_watermark(item: &Item) -> Result<Date> {
    let r = Reader::new(item);
    r.s(keys::DAY)?.parse().map_err(|_| r.bad(keys::DAY))
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

/// A reward row, keyed by where it was committed (`version`, `index` in the commit), which
/// is also kept as attributes. The delivery state is its own attribute
/// ([`keys::DELIVERY_STATE`]), and a waiting row is in the index ([`waiting_index`]).
pub(crate) fn reward_item(reward: &RewardOutbox, at: RewardPosition) -> Result<Item> {
    let pk = keys::customer_pk(&reward.customer);
    let sk = keys::reward_sk(at);
    let mut item = keyed(pk.clone(), sk.clone(), "reward");
    item.insert(keys::ID.to_owned(), s(&reward.id));
    item.insert(keys::DELIVERY.to_owned(), s(reward.delivery.status()));
    item.insert(
        keys::DELIVERY_STATE.to_owned(),
        json("delivery", &reward.delivery)?,
    );
    item.insert(keys::WRITTEN_AT.to_owned(), n(at.version));
    item.insert(keys::SEQ.to_owned(), n(at.index));
    item.insert(keys::DOC.to_owned(), json("reward", reward)?);
    if let Some((gpk, gsk)) = waiting_index(reward, &pk, &sk) {
        item.insert(keys::GSI1_PK.to_owned(), gpk);
        item.insert(keys::GSI1_SK.to_owned(), gsk);
    }
    Ok(item)
}

/// The index keys of a reward row while it waits for a fulfiler; `None` once it is
/// delivered or failed.
pub(crate) fn waiting_index(
    reward: &RewardOutbox,
    pk: &str,
    sk: &str,
) -> Option<(AttributeValue, AttributeValue)> {
    reward.waiting_since().map(|since| {
        (
            s(keys::WAITING_REWARDS_GSI_PK),
            s(keys::waiting_reward_gsi_sk(since, pk, sk)),
        )
    })
}

/// The delivery state attribute of `delivery`.
pub(crate) fn delivery_value(delivery: &Delivery) -> Result<AttributeValue> {
    json("delivery", delivery)
}

/// The reward and where it was committed; the delivery state attribute, when present,
/// overrides the document's (rows written before it existed are as committed).
pub(crate) fn decode_reward(item: &Item) -> Result<(RewardPosition, RewardOutbox)> {
    let r = Reader::new(item);
    let at = RewardPosition {
        version: r.n(keys::WRITTEN_AT)?,
        index: r.n(keys::SEQ)?,
    };
    let mut reward: RewardOutbox = r.doc(keys::DOC)?;
    if item.contains_key(keys::DELIVERY_STATE) {
        reward.delivery = r.doc(keys::DELIVERY_STATE)?;
    }
    Ok((at, reward))
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

/// The invoice link item of `link`, deleted by DynamoDB's TTL `expires_at` (epoch seconds).
pub(crate) fn link_item(link: &InvoiceLink, expires_at: i64) -> Item {
    let mut item = keyed(
        keys::link_pk(&link.payment_intent),
        keys::LINK_SK.to_owned(),
        "invoice-link",
    );
    item.insert(keys::INVOICE.to_owned(), s(&link.invoice));
    item.insert(keys::PAID_AT.to_owned(), s(link.paid_at.to_string()));
    item.insert(keys::TTL.to_owned(), n(expires_at));
    item
}

pub(crate) fn decode_link_invoice(item: &Item) -> Result<String> {
    Ok(Reader::new(item).s(keys::INVOICE)?.to_owned())
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
