//! One CloudWatch embedded-metric-format (EMF) line per run on stdout: CloudWatch Logs turns
//! it into metrics without an API call. `WatermarkLagDays` is what the stack alarms on.

use saguaro_app::schedule::RunReport;
use serde_json::{Value, json};

/// Namespace of every Saguaro metric.
pub const NAMESPACE: &str = "Saguaro";

/// The EMF document for `report` at `timestamp_ms` (Unix epoch, milliseconds).
pub fn emf(report: &RunReport, timestamp_ms: i64) -> Value {
    let refused: usize = report.days.iter().map(|d| d.refused).sum();
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    { "Name": "WatermarkLagDays", "Unit": "Count" },
                    { "Name": "DaysProcessed", "Unit": "Count" },
                    { "Name": "EventsSubmitted", "Unit": "Count" },
                    { "Name": "EventsRefused", "Unit": "Count" }
                ]
            }]
        },
        "Function": "scheduler",
        "WatermarkLagDays": report.lag_days(),
        "DaysProcessed": report.days.len(),
        "EventsSubmitted": report.events(),
        "EventsRefused": refused,
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use saguaro_app::schedule::DayReport;

    use super::*;

    #[test]
    fn when_a_run_is_summarised_then_the_document_declares_and_carries_each_metric() {
        let report = RunReport {
            today: date(2026, 12, 5),
            days: vec![DayReport {
                day: date(2026, 12, 2),
                expiries: 3,
                anniversaries: 2,
                grants: 0,
                refused: 1,
            }],
            watermark: Some(date(2026, 12, 2)),
            stopped: None,
        };
        let doc = emf(&report, 1_780_000_000_000);
        assert_eq!(doc["WatermarkLagDays"], json!(3));
        assert_eq!(doc["DaysProcessed"], json!(1));
        assert_eq!(doc["EventsSubmitted"], json!(5));
        assert_eq!(doc["EventsRefused"], json!(1));
        let declared: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        for name in declared {
            assert!(doc.get(name).is_some(), "{name} is declared and carried");
        }
    }
}
