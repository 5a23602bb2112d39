//! CloudWatch embedded-metric-format (EMF) lines: one JSON object per batch on stdout, which
//! CloudWatch Logs turns into metrics without any API call from the function.

use serde_json::{Value, json};

/// Namespace of every Saguaro metric.
pub const NAMESPACE: &str = "Saguaro";

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchMetrics {
    pub messages: usize,
    /// First applications.
    pub applied: usize,
    /// Redeliveries of events already applied (nothing changed).
    pub duplicates: usize,
    /// Reported failed: SQS redelivers them, and after `maxReceiveCount` they reach the DLQ.
    pub failed: usize,
}

impl BatchMetrics {
    /// The EMF document for this batch at `timestamp_ms` (Unix epoch, milliseconds).
    pub fn emf(&self, timestamp_ms: i64) -> Value {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        { "Name": "MessagesReceived", "Unit": "Count" },
                        { "Name": "EventsApplied", "Unit": "Count" },
                        { "Name": "DuplicateDeliveries", "Unit": "Count" },
                        { "Name": "MessagesFailed", "Unit": "Count" }
                    ]
                }]
            },
            "Function": "earn",
            "MessagesReceived": self.messages,
            "EventsApplied": self.applied,
            "DuplicateDeliveries": self.duplicates,
            "MessagesFailed": self.failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_batch_is_summarised_then_the_emf_document_declares_and_carries_each_metric() {
        let m = BatchMetrics {
            messages: 10,
            applied: 7,
            duplicates: 2,
            failed: 1,
        };
        let doc = m.emf(1_780_000_000_000);
        assert_eq!(doc["_aws"]["Timestamp"], json!(1_780_000_000_000_i64));
        let declared: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(
            declared,
            [
                "MessagesReceived",
                "EventsApplied",
                "DuplicateDeliveries",
                "MessagesFailed"
            ]
        );
        for name in declared {
            assert!(doc[name].is_u64(), "{name} has a value");
        }
        assert_eq!(
            (doc["EventsApplied"].clone(), doc["MessagesFailed"].clone()),
            (json!(7), json!(1))
        );
        assert_eq!(doc["Function"], json!("earn"));
    }
}
