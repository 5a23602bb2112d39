//! Lenient reading of provider JSON. Webhooks arrive in whatever API version the endpoint was
//! created with, so we read only the fields we need, accept the shapes they have had over the
//! years, and treat a field of an unexpected type as absent rather than failing the event.

use serde_json::Value;

/// The value at `path`, if every step is an object holding the next key.
pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// A non-empty string at `path`.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An integer at `path`. Integral floats (`1.0`) and integer strings (`"12"`) are accepted
/// because some API versions and SDK re-serialisations produce them.
pub(crate) fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    as_i64(get(v, path)?)
}

pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                // Range-checked just above, so the cast is exact.
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The elements of the array at `path` (empty when absent or not an array).
pub(crate) fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
