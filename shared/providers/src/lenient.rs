//! Lenient typed reading of provider JSON, straight from the bytes. Webhooks arrive in
//! whatever API version the endpoint was created with, so the normalisers read only the
//! fields they need into small borrowing structs (everything else is skipped by the parser
//! without being built), accept the shapes those fields have had over the years, and treat a
//! field of an unexpected type as absent rather than failing the event: the same rules as a
//! `serde_json::Value` read field by field, without building the tree.
//!
//! The building blocks, each of which accepts any JSON value and never fails on its type:
//!
//! - [`Str`]: a non-empty string (borrowed from the body unless it has escapes);
//! - [`Int`]: an integer, also as an integral float (`1.0`) or an integer string (`"12"`);
//! - [`Id`]: a Stripe id, as a string or an expanded object's `id`;
//! - [`Obj`]: a struct read from an object, absent for any other value;
//! - [`List`]: the elements of an array, empty for any other value;
//! - [`Field`]: whether a key is present at all (even as `null`), and its value;
//! - [`Metadata`]: an object of strings looked up by a key known only at run time.
//!
//! Duplicate keys of a struct read here are refused by serde (the body is malformed); a
//! provider never sends them.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What every lenient visitor does with a value of a type it does not read: skip it whole
/// and answer `absent`.
macro_rules! skip_others {
    ($absent:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

macro_rules! skip_numbers {
    ($absent:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

macro_rules! skip_strings {
    ($absent:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

macro_rules! skip_containers {
    ($absent:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_seq(seq)?;
            Ok($absent)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_map(map)?;
            Ok($absent)
        }
    };
}

/// A non-empty string; absent for an empty string or any other type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A string, empty or not (`Value::as_str`); absent for any other type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AnyStr<'a>(pub Option<Cow<'a, str>>);

impl AnyStr<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct StrVisitor {
    allow_empty: bool,
}

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((self.allow_empty || !v.is_empty()).then_some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.allow_empty || !v.is_empty()).then(|| Cow::Owned(v.to_owned())))
    }
    skip_others!(None);
    skip_numbers!(None);
    skip_containers!(None);
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor { allow_empty: false })
            .map(Str)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor { allow_empty: true })
            .map(AnyStr)
    }
}

/// An integer. Integral floats (`1.0`, below 9e15) and integer strings (`"12"`, trimmed)
/// are accepted because some API versions and SDK re-serialisations produce them; anything
/// else is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Int(pub Option<i64>);

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok().or_else(|| float_int(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(float_int(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }
    skip_others!(None);
    skip_containers!(None);
}

/// An integral float within ±9e15, exactly.
fn float_int(f: f64) -> Option<i64> {
    // Range-checked, so the cast is exact.
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor).map(Int)
    }
}

/// An id that may be a plain string or an expanded object (`{"id": ...}`), as Stripe does
/// for `customer`, `subscription`, `payment_intent` and friends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Id<'a>(pub Option<Cow<'a, str>>);

impl Id<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Expanded<'a> {
    #[serde(borrow)]
    id: Str<'a>,
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then_some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then(|| Cow::Owned(v.to_owned())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Expanded::deserialize(MapAccessDeserializer::new(map)).map(|e| e.id.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }
    skip_others!(None);
    skip_numbers!(None);
}

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor).map(Id)
    }
}

/// `T` read from an object; absent for any other value (which is skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }
    skip_others!(None);
    skip_numbers!(None);
    skip_strings!(None);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData)).map(Obj)
    }
}

/// The elements of an array (each read leniently by `T`); empty for any other value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<T>::deserialize(SeqAccessDeserializer::new(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Vec::new())
    }
    skip_others!(Vec::new());
    skip_numbers!(Vec::new());
    skip_strings!(Vec::new());
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData)).map(List)
    }
}

/// Whether a key is present at all (`Value::get(..).is_some()`, `null` included), and its
/// value read by `T`. Use with `#[serde(default)]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Field<T> {
    #[default]
    Absent,
    Present(T),
}

impl<T> Field<T> {
    pub fn present(&self) -> Option<&T> {
        match self {
            Self::Absent => None,
            Self::Present(v) => Some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::Present)
    }
}

/// An object's string values, for a lookup by a key known only at run time (the program's
/// `referral_key`); empty for any other value. Values that are not strings are absent. A
/// later duplicate key wins, as in a `serde_json::Value`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata<'a>(Vec<(Cow<'a, str>, Str<'a>)>);

impl Metadata<'_> {
    /// The non-empty string under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.get())
    }
}

struct MetadataVisitor;

impl<'de> Visitor<'de> for MetadataVisitor {
    type Value = Vec<(Cow<'de, str>, Str<'de>)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(entries)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Vec::new())
    }
    skip_others!(Vec::new());
    skip_numbers!(Vec::new());
    skip_strings!(Vec::new());
}

impl<'de: 'a, 'a> Deserialize<'de> for Metadata<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MetadataVisitor).map(Metadata)
    }
}

/// An object key, borrowed unless it has escapes.
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(KeyVisitor).map(Key)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Probe<'a> {
        #[serde(borrow)]
        s: Str<'a>,
        n: Int,
        #[serde(borrow)]
        id: Id<'a>,
        #[serde(borrow)]
        o: Obj<Inner<'a>>,
        l: List<Int>,
        f: Field<Int>,
        #[serde(borrow)]
        m: Metadata<'a>,
    }

    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Inner<'a> {
        #[serde(borrow)]
        s: Str<'a>,
    }

    fn probe(json: &str) -> Probe<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn when_fields_have_the_expected_shapes_then_they_are_read() {
        let p = probe(
            r#"{"s":"a\u00e9","n":"12","id":{"id":"cus_1","x":[1]},"o":{"s":"x"},
                "l":[1,2.0,"3",{}],"f":null,"m":{"k":"v1","k":"v2","z":1}}"#,
        );
        assert_eq!(p.s.get(), Some("aé"));
        assert_eq!(p.n.0, Some(12));
        assert_eq!(p.id.get(), Some("cus_1"));
        assert_eq!(p.o.get().and_then(|i| i.s.get()), Some("x"));
        assert_eq!(p.l.0, [Int(Some(1)), Int(Some(2)), Int(Some(3)), Int(None)]);
        assert_eq!(p.f, Field::Present(Int(None)));
        assert_eq!(p.m.get("k"), Some("v2"));
        assert_eq!(p.m.get("z"), None);
    }

    #[test]
    fn when_fields_have_other_types_then_they_are_absent_and_nothing_fails() {
        let p = probe(
            r#"{"s":"","n":1.5,"id":[1],"o":"text","l":{"a":1},"m":[1],"extra":{"deep":[{}]}}"#,
        );
        assert_eq!(p.s.get(), None);
        assert_eq!(p.n.0, None);
        assert_eq!(p.id.get(), None);
        assert!(p.o.get().is_none());
        assert!(p.l.0.is_empty());
        assert_eq!(p.f, Field::Absent);
        assert_eq!(p.m.get("k"), None);
        assert_eq!(probe(r#"{"n":1e300}"#).n.0, None);
        assert_eq!(probe(r#"{"n":18446744073709551615}"#).n.0, None);
        assert_eq!(probe(r#"{"n":-3}"#).n.0, Some(-3));
    }
}
