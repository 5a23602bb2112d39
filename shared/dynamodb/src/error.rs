//! The adapter's errors, their classification, and their mapping to the port's
//! [`StoreError`]: `Unavailable` for what a later try may not meet (the earn function retries
//! it, the local runner answers 503), `Rejected` for what the same commit meets again (the
//! message goes to the DLQ without retries, the local runner answers 422), `Corrupt` for
//! stored data that does not read back.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use saguaro_domain::ports::StoreError;

/// DynamoDB error codes that the same request meets again: it is invalid (`ValidationException`,
/// which also reports an item over 400 KB), cannot be read (`SerializationException`), or
/// would grow an item collection past 10 GB. Anything else may pass later: throttling,
/// `InternalServerError`, `ServiceUnavailable`, `RequestLimitExceeded`,
/// `TransactionInProgressException`, and deployment errors an operator fixes
/// (`ResourceNotFoundException`, `AccessDeniedException`); so does an unknown code.
const PERMANENT_CODES: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "IdempotentParameterMismatchException",
];

/// `TransactionCanceledException` reason codes that the same transaction meets again
/// (`ValidationError` includes an item over the size limit). `TransactionConflict` and
/// `ConditionalCheckFailed` are handled before (a conflict is retried on the new state);
/// `ProvisionedThroughputExceeded` and `ThrottlingError` pass later.
const PERMANENT_REASONS: &[&str] = &["ValidationError", "ItemCollectionSizeLimitExceeded"];

/// Whether DynamoDB's error `code` says the same request will fail again.
pub(crate) fn is_permanent_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| PERMANENT_CODES.contains(&c))
}

/// Whether a cancelled transaction's reason codes say it will be cancelled again.
pub(crate) fn is_permanent_cancellation<'a>(codes: impl IntoIterator<Item = &'a str>) -> bool {
    codes.into_iter().any(|c| PERMANENT_REASONS.contains(&c))
}

/// Everything that can go wrong talking to the table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A DynamoDB request failed for a reason a later try may not meet: network, timeout,
    /// throttling, a 5xx, or the deployment (permissions, a missing table).
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// DynamoDB refused the request as it is ([`PERMANENT_CODES`]), or the request could not
    /// be built: sending it again is refused again.
    #[error("DynamoDB refused {operation}")]
    Refused {
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
    /// condition. `permanent` when a reason is one the same transaction meets again (an item
    /// too large, a validation error); not for throttling.
    #[error("transaction for {customer} was cancelled: {reasons}")]
    Cancelled {
        customer: String,
        reasons: String,
        permanent: bool,
    },
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
    /// A failure not classified further (table set-up, waiters): counts as transient.
    pub(crate) fn sdk<E>(operation: &'static str, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::Sdk {
            operation,
            source: Box::new(source),
        }
    }

    /// A failed request of the store, classified: one that could not be built, or that
    /// DynamoDB refused with a [permanent code](PERMANENT_CODES), is [`Error::Refused`]; a
    /// timeout, a network or response error, or any other service error is [`Error::Sdk`].
    pub(crate) fn request<E, R>(operation: &'static str, source: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let permanent = match &source {
            SdkError::ConstructionFailure(_) => true,
            SdkError::ServiceError(_) => is_permanent_code(source.code()),
            _ => false,
        };
        let source = Box::new(source);
        if permanent {
            Self::Refused { operation, source }
        } else {
            Self::Sdk { operation, source }
        }
    }

    /// A request whose builder refused its input (a required field missing): building it
    /// again fails again.
    pub(crate) fn build(
        operation: &'static str,
        source: aws_sdk_dynamodb::error::BuildError,
    ) -> Self {
        Self::Refused {
            operation,
            source: Box::new(source),
        }
    }
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Attribute { .. } | Error::Json { .. } => StoreError::Corrupt(display_chain(&e)),
            Error::Refused { .. }
            | Error::TransactionTooLarge { .. }
            | Error::ItemTooLarge { .. }
            | Error::Cancelled {
                permanent: true, ..
            }
            | Error::Serialise { .. } => StoreError::Rejected(Box::new(e)),
            Error::Sdk { .. }
            | Error::Cancelled {
                permanent: false, ..
            } => StoreError::Unavailable(Box::new(e)),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

    use super::*;

    fn service_error(code: &str, status: u16) -> SdkError<TransactWriteItemsError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("from the service")
            .build();
        let raw = HttpResponse::new(status.try_into().unwrap(), "".into());
        SdkError::service_error(TransactWriteItemsError::generic(meta), raw)
    }

    fn store_error(e: Error) -> StoreError {
        StoreError::from(e)
    }

    #[test]
    fn when_dynamodb_refuses_the_request_as_invalid_then_it_is_rejected_not_retried() {
        for code in [
            "ValidationException",
            "SerializationException",
            "ItemCollectionSizeLimitExceededException",
        ] {
            let e = Error::request("TransactWriteItems", service_error(code, 400));
            assert!(matches!(e, Error::Refused { .. }), "{code}: {e:?}");
            assert!(matches!(store_error(e), StoreError::Rejected(_)), "{code}");
        }
        let unbuildable = SdkError::<TransactWriteItemsError, HttpResponse>::construction_failure(
            "a required field is missing",
        );
        let e = store_error(Error::request("TransactWriteItems", unbuildable));
        assert!(matches!(e, StoreError::Rejected(_)), "{e:?}");
    }

    #[test]
    fn when_dynamodb_throttles_fails_or_times_out_then_it_is_unavailable_and_retried() {
        for (code, status) in [
            ("ThrottlingException", 400),
            ("ProvisionedThroughputExceededException", 400),
            ("RequestLimitExceeded", 400),
            ("TransactionInProgressException", 400),
            ("InternalServerError", 500),
            ("ServiceUnavailable", 503),
            // the deployment is wrong: an operator fixes it, then the retries pass
            ("ResourceNotFoundException", 400),
            ("AccessDeniedException", 400),
            ("SomethingNewException", 400),
        ] {
            let e = Error::request("Query", service_error(code, status));
            assert!(matches!(e, Error::Sdk { .. }), "{code}: {e:?}");
            assert!(
                matches!(store_error(e), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        let timeout = SdkError::<TransactWriteItemsError, HttpResponse>::timeout_error("slow");
        let e = store_error(Error::request("Query", timeout));
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn when_a_transaction_is_cancelled_then_its_reasons_decide_the_class() {
        assert!(is_permanent_cancellation(["None", "ValidationError"]));
        assert!(is_permanent_cancellation([
            "ItemCollectionSizeLimitExceeded"
        ]));
        // a validation error is met again even if another item was throttled
        assert!(is_permanent_cancellation([
            "ThrottlingError",
            "ValidationError"
        ]));
        assert!(!is_permanent_cancellation(["None", "ThrottlingError"]));
        assert!(!is_permanent_cancellation([
            "ProvisionedThroughputExceeded"
        ]));
        assert!(!is_permanent_cancellation(["TransactionConflict"]));
        assert!(!is_permanent_cancellation([]));
        let cancelled = |permanent| Error::Cancelled {
            customer: "stripe:cus_1".to_owned(),
            reasons: "item 1: ValidationError Item size has exceeded the maximum allowed size"
                .to_owned(),
            permanent,
        };
        assert!(matches!(
            store_error(cancelled(true)),
            StoreError::Rejected(_)
        ));
        assert!(matches!(
            store_error(cancelled(false)),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn when_a_commit_cannot_be_written_as_computed_then_it_is_rejected() {
        let too_large = Error::TransactionTooLarge {
            customer: "stripe:cus_1".to_owned(),
            items: 101,
            limit: 100,
        };
        assert!(matches!(store_error(too_large), StoreError::Rejected(_)));
        let item_too_large = Error::ItemTooLarge {
            customer: "stripe:cus_1".to_owned(),
            bytes: 400_001,
            limit: 400_000,
        };
        assert!(matches!(
            store_error(item_too_large),
            StoreError::Rejected(_)
        ));
        let unserialisable = Error::Serialise {
            what: "customer state",
            source: serde_json::from_str::<u8>("x").unwrap_err(),
        };
        assert!(matches!(
            store_error(unserialisable),
            StoreError::Rejected(_)
        ));
        let unreadable = Error::Json {
            pk: "C#stripe:cus_1".to_owned(),
            sk: "S#META".to_owned(),
            source: serde_json::from_str::<u8>("x").unwrap_err(),
        };
        assert!(matches!(store_error(unreadable), StoreError::Corrupt(_)));
    }
}
