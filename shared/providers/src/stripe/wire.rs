//! What is read of a Stripe event body ([`super::normalise`]): small borrowing structs, one
//! per object the normaliser looks into, each field lenient ([`crate::lenient`]) so that a
//! value of an unexpected type reads as absent instead of failing the whole body. Everything
//! else in the body is skipped by the parser.

use std::borrow::Cow;

use serde::Deserialize;

use crate::lenient::{AnyStr, Field, Id, Int, List, Metadata, Obj, Str};

/// The event envelope: what is read of it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Root<'a> {
    #[serde(borrow)]
    pub(super) id: Str<'a>,
    #[serde(borrow, rename = "type")]
    pub(super) kind: Str<'a>,
    pub(super) created: Int,
    #[serde(borrow)]
    pub(super) data: Obj<Data<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Data<'a> {
    #[serde(borrow)]
    pub(super) object: Obj<Object<'a>>,
    /// Present (any value) or not: only an object holds previous values.
    #[serde(borrow)]
    pub(super) previous_attributes: Field<Obj<Previous<'a>>>,
}

/// `data.object`: the fields read of a subscription, an invoice or a charge, in one struct
/// (each event type reads its own).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Object<'a> {
    #[serde(borrow)]
    pub(super) id: Str<'a>,
    #[serde(borrow)]
    pub(super) customer: Customer<'a>,
    #[serde(borrow)]
    pub(super) metadata: Metadata<'a>,
    // subscription
    #[serde(borrow)]
    pub(super) status: Str<'a>,
    pub(super) start_date: Int,
    pub(super) created: Int,
    #[serde(borrow)]
    pub(super) items: Items<'a>,
    // invoice
    pub(super) amount_paid: Int,
    #[serde(borrow)]
    pub(super) currency: Str<'a>,
    #[serde(borrow)]
    pub(super) parent: Obj<Parent<'a>>,
    #[serde(borrow)]
    pub(super) subscription_details: Field<Obj<Details<'a>>>,
    #[serde(borrow)]
    pub(super) subscription: Id<'a>,
    #[serde(borrow)]
    pub(super) lines: Obj<Lines<'a>>,
    #[serde(borrow)]
    pub(super) payment_intent: Id<'a>,
    #[serde(borrow)]
    pub(super) payments: Obj<Payments<'a>>,
    // charge (and invoice payment: `invoice`)
    pub(super) amount_refunded: Int,
    #[serde(borrow)]
    pub(super) invoice: Id<'a>,
    // invoice payment (basil+)
    #[serde(borrow)]
    pub(super) payment: Obj<PaymentRef<'a>>,
}

/// `customer`: an id, or the expanded customer with its metadata.
#[derive(Default)]
pub(super) struct Customer<'a> {
    pub(super) id: Option<Cow<'a, str>>,
    pub(super) metadata: Metadata<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ExpandedCustomer<'a> {
    #[serde(borrow)]
    pub(super) id: Str<'a>,
    #[serde(borrow)]
    pub(super) metadata: Metadata<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Customer<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // An id string, an object, or anything else (absent); read in one pass.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Customer<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Customer {
                    id: (!v.is_empty()).then_some(Cow::Borrowed(v)),
                    metadata: Metadata::default(),
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Customer {
                    id: (!v.is_empty()).then(|| Cow::Owned(v.to_owned())),
                    metadata: Metadata::default(),
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let c = ExpandedCustomer::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(Customer {
                    id: c.id.0,
                    metadata: c.metadata,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                serde::de::IgnoredAny.visit_seq(seq)?;
                Ok(Customer::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Customer::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Parent<'a> {
    /// Present (any value) or not: when present it is the one read, as on basil+.
    #[serde(borrow)]
    pub(super) subscription_details: Field<Obj<Details<'a>>>,
}

/// `subscription_details` (2023+) or `parent.subscription_details` (basil+): the
/// subscription's id and metadata on an invoice.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Details<'a> {
    #[serde(borrow)]
    pub(super) subscription: Id<'a>,
    #[serde(borrow)]
    pub(super) metadata: Metadata<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Lines<'a> {
    #[serde(borrow)]
    pub(super) data: List<Obj<Line<'a>>>,
}

/// An invoice line: its price id as `price` (pre-basil, id or object),
/// `pricing.price_details.price` (basil+), or the legacy `plan`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Line<'a> {
    #[serde(borrow)]
    pub(super) price: Id<'a>,
    #[serde(borrow)]
    pub(super) pricing: Obj<Pricing<'a>>,
    #[serde(borrow)]
    pub(super) plan: Id<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Pricing<'a> {
    #[serde(borrow)]
    pub(super) price_details: Obj<PriceDetails<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PriceDetails<'a> {
    #[serde(borrow)]
    pub(super) price: Id<'a>,
}

impl Line<'_> {
    pub(super) fn price(&self) -> Option<&str> {
        self.price
            .get()
            .or_else(|| {
                self.pricing
                    .get()
                    .and_then(|p| p.price_details.get())
                    .and_then(|d| d.price.get())
            })
            .or_else(|| self.plan.get())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Payments<'a> {
    #[serde(borrow)]
    pub(super) data: List<Obj<InvoicePayment<'a>>>,
}

/// An entry of an invoice's `payments` (basil+, when included).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct InvoicePayment<'a> {
    #[serde(borrow)]
    pub(super) status: Str<'a>,
    #[serde(borrow)]
    pub(super) payment: Obj<PaymentRef<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PaymentRef<'a> {
    #[serde(borrow)]
    pub(super) payment_intent: Id<'a>,
}

/// `previous_attributes` of `customer.subscription.updated`: which keys changed (present,
/// whatever their value) and their old values.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Previous<'a> {
    #[serde(borrow)]
    pub(super) items: Field<Items<'a>>,
    #[serde(borrow)]
    pub(super) plan: Field<Obj<Price<'a>>>,
    pub(super) quantity: Field<Int>,
    #[serde(borrow)]
    pub(super) status: Str<'a>,
}

/// A subscription's `items`: the list object's `data`, or a bare array; empty for anything
/// else.
#[derive(Default)]
pub(super) struct Items<'a>(pub(super) Vec<Obj<RawItem<'a>>>);

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ItemList<'a> {
    #[serde(borrow)]
    pub(super) data: List<Obj<RawItem<'a>>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Items<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Items)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                ItemList::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|l| Items(l.data.0))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                _: &str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_bool<E: serde::de::Error>(
                self,
                _: bool,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Items::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A subscription item: its quantity and its `price` object (or legacy `plan` object).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawItem<'a> {
    pub(super) quantity: Int,
    #[serde(borrow)]
    pub(super) price: Obj<Price<'a>>,
    #[serde(borrow)]
    pub(super) plan: Obj<Price<'a>>,
}

/// A `price` object (`unit_amount`, `recurring.interval`) or a legacy `plan` object
/// (`amount`, `interval`).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Price<'a> {
    #[serde(borrow)]
    pub(super) id: Str<'a>,
    pub(super) unit_amount: Int,
    pub(super) amount: Int,
    pub(super) unit_amount_decimal: Int,
    #[serde(borrow)]
    pub(super) currency: Str<'a>,
    #[serde(borrow)]
    pub(super) recurring: Obj<Recurring<'a>>,
    #[serde(borrow)]
    pub(super) interval: AnyStr<'a>,
    pub(super) interval_count: Int,
    #[serde(borrow)]
    pub(super) usage_type: AnyStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Recurring<'a> {
    #[serde(borrow)]
    pub(super) interval: AnyStr<'a>,
    pub(super) interval_count: Int,
    #[serde(borrow)]
    pub(super) usage_type: AnyStr<'a>,
}
