//! The adapter's errors, and their mapping to the port's [`StoreError`].

use saguaro_domain::ports::StoreError;

/// Everything that can go wrong talking to the table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A DynamoDB request failed (network, throttling, permissions, missing table...).
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The commit needs more items than one `TransactWriteItems` accepts. Nothing was
    /// written. Splitting it would break atomicity, so it is refused.
    #[error(
        "commit for {customer} needs {items} transaction items, more than the limit of {limit}"
    )]
    TransactionTooLarge {
        customer: String,
        items: usize,
        limit: usize,
    },
    /// The transaction was cancelled for a reason other than the marker or the version
    /// condition (e.g. an item too large, or a validation error).
    #[error("transaction for {customer} was cancelled: {reasons}")]
    Cancelled { customer: String, reasons: String },
    /// An item is missing an attribute or holds one of the wrong type.
    #[error("item {pk}/{sk}: attribute `{attribute}` is missing or malformed")]
    Attribute {
        pk: String,
        sk: String,
        attribute: &'static str,
    },
    /// A JSON document attribute does not parse.
    #[error("item {pk}/{sk}: document does not parse")]
    Json {
        pk: String,
        sk: String,
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be serialised to JSON.
    #[error("could not serialise {what}")]
    Serialise {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The customer item would be larger than DynamoDB accepts. Nothing was written.
    #[error("customer item of {customer} would be {bytes} bytes, more than the limit of {limit}")]
    ItemTooLarge {
        customer: String,
        bytes: usize,
        limit: usize,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn sdk<E>(operation: &'static str, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Sdk {
            operation,
            source: Box::new(source),
        }
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Attribute { .. } | Error::Json { .. } => StoreError::Corrupt(display_chain(&e)),
            Error::Sdk { .. }
            | Error::TransactionTooLarge { .. }
            | Error::ItemTooLarge { .. }
            | Error::Cancelled { .. }
            | Error::Serialise { .. } => StoreError::Unavailable(Box::new(e)),
        }
    }
}

/// `e: cause: cause`, for `StoreError::Corrupt`, which only holds a message.
fn display_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
