//! What is wrong with a request body, said without quoting it. serde's messages quote the
//! values they refuse (`invalid type: string "alice.smith@example.com", expected i64`), and a
//! body may carry personal data or bytes that forge log lines; [`describe`] keeps the field
//! path, the kind of error, what was expected and the position, and drops the value.

use std::borrow::Cow;

use serde_json::error::Category;
use serde_path_to_error::Segment;

/// serde messages that name one of our own fields, never a value: kept whole.
const NAMING_OUR_FIELD: [&str; 2] = ["missing field", "duplicate field"];

/// serde messages of the form `<kind>: <the value>, expected <what we expected>` (or
/// `<kind> `<the value>`, expected ...`): the kind and the expectation are kept.
const KINDS: [&str; 5] = [
    "invalid type",
    "invalid value",
    "invalid length",
    "unknown variant",
    "unknown field",
];

/// `` `amount.minor`: invalid type, expected i64 (line 1, column 40) ``: the path of the field
/// (none for the body itself), what is wrong and the position, never the value.
pub fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    // The path is made of the keys and variants as the body spelled them. Those that were
    // read into a field are our own names; the key an "unknown field" error is about is the
    // body's, and is left out (an unknown variant is not in the path); a key not read yet
    // is `Unknown`, left out too.
    let mut segments: Vec<(bool, String)> = err
        .path()
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some((false, index.to_string())),
            Segment::Map { key } => Some((true, key.clone())),
            Segment::Enum { variant } => Some((true, variant.clone())),
            Segment::Unknown => None,
        })
        .collect();
    let message = err.inner().to_string();
    if message.starts_with("unknown field") && segments.last().is_some_and(|(named, _)| *named) {
        segments.pop();
    }
    let path: Vec<String> = segments.into_iter().map(|(_, s)| s).collect();
    described(&path.join("."), err.inner())
}

/// [`describe`] for an error without a path (after the value, for instance).
pub fn describe_json(err: &serde_json::Error) -> String {
    described("", err)
}

fn described(path: &str, inner: &serde_json::Error) -> String {
    let message = inner.to_string();
    // serde_json appends " at line L column C" to every message that has a position.
    let message = match inner.line() {
        0 => message.as_str(),
        _ => message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m),
    };
    let what: Cow<'_, str> = match inner.classify() {
        // serde_json's own syntax messages are fixed texts ("expected `,` or `}`", "EOF
        // while parsing a string"): nothing of the body is in them.
        Category::Syntax | Category::Eof | Category::Io => Cow::Borrowed(message),
        Category::Data => data(message),
    };
    let position = format!("line {}, column {}", inner.line(), inner.column());
    // The path is made of our own field names, but a stray control character must not
    // reach a log line even so.
    let path: String = path
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if path.is_empty() {
        format!("{what} ({position})")
    } else {
        format!("`{path}`: {what} ({position})")
    }
}

fn data(message: &str) -> Cow<'_, str> {
    if NAMING_OUR_FIELD.iter().any(|p| message.starts_with(p)) {
        return Cow::Borrowed(message);
    }
    let Some(kind) = KINDS.iter().find(|k| message.starts_with(*k)) else {
        // A custom message (a type's own parser) may quote the value: say only the kind.
        return Cow::Borrowed("invalid value");
    };
    // What follows the last ", expected " is serde's `Expected` of our type; a value that
    // itself contains ", expected " comes before it.
    match message.rsplit_once(", expected ") {
        Some((_, expected)) => Cow::Owned(format!("{kind}, expected {expected}")),
        None => Cow::Borrowed(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        amount: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        minor: i64,
    }

    fn described(body: &str) -> String {
        let de = &mut serde_json::Deserializer::from_str(body);
        let err = serde_path_to_error::deserialize::<_, Outer>(de).unwrap_err();
        describe(&err)
    }

    #[test]
    fn when_a_value_has_the_wrong_type_then_path_and_expectation_without_the_value() {
        let d = described(r#"{"amount": {"minor": "alice.smith@example.com, expected x"}}"#);
        assert_eq!(
            d,
            "`amount.minor`: invalid type, expected i64 (line 1, column 58)"
        );
    }

    #[test]
    fn when_a_field_is_unknown_or_missing_then_said_without_the_value() {
        let d = described("{\"amount\": {\"minor\": 1, \"evil\\n\": 2}}");
        assert_eq!(
            d,
            "`amount`: unknown field, expected `minor` (line 1, column 32)"
        );
        assert!(
            d.starts_with("`amount`: unknown field, expected `minor`"),
            "{d}"
        );
        assert!(!d.contains("evil"), "{d}");
        assert_eq!(
            described(r#"{"amount": {}}"#),
            "`amount`: missing field `minor` (line 1, column 13)"
        );
    }

    #[test]
    fn when_the_body_is_not_json_then_the_syntax_error_and_position() {
        assert_eq!(
            described(r#"{"amount": {"minor": 1"#),
            "`amount`: EOF while parsing an object (line 1, column 22)"
        );
    }
}
