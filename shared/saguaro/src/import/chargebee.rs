//! `saguaro import chargebee`: subscriptions and transactions from Chargebee's list APIs
//! (`GET /api/v2/subscriptions`, `/api/v2/transactions`), 100 a page, paged with `offset` /
//! `next_offset`, from `--since` (`created_at[after]`, `date[after]`). HTTP Basic with the
//! API key as user, as Chargebee's API wants.
//!
//! Each object becomes the webhook event that reports it, normalised by the webhook's own
//! code ([`saguaro_providers::chargebee::normalise`]):
//!
//! | list | envelope | event id | `occurred_at` |
//! |---|---|---|---|
//! | subscriptions (with their customer) | `subscription_created` | `import:chargebee:subscription:{id}` | `created_at` |
//! | transactions `type=payment`, `status=success` | `payment_succeeded` | `import:chargebee:transaction:{id}` | `date` |
//! | transactions `type=refund`, `status=success` | `payment_refunded` | `import:chargebee:transaction:{id}` | `date` |
//!
//! A transaction's event carries the subscription it names (`subscription_id`) as the
//! import read it, so that `plans` filters match; the webhook carries it as it was at the
//! time. Credit notes are not read: a refund reaches the points through its refund
//! transaction (what `payment_refunded` reports), and a credit note that refunds nothing
//! does not reverse points on the webhook either.
//!
//! Counting once with the webhooks: a payment is keyed by its transaction id on both sides,
//! so it earns once. Chargebee reports each refund on its own, not as a running total, so a
//! refund imported and also received by webhook would be reversed twice, as would a
//! subscription start: import up to the moment the webhooks were switched on.

use std::collections::BTreeMap;
use std::io::Write;

use jiff::Timestamp;
use saguaro_providers::chargebee::{Normalised, normalise};
use serde_json::{Value, json};

use super::fetch::{Auth, Fetcher};
use super::{ImportError, ImportReport, write_event};

/// Objects per page (Chargebee's maximum).
pub const PAGE: u32 = 100;

/// A Chargebee client for the import: `base_url` is `CHARGEBEE_API_BASE_URL`, else
/// `https://{site}.chargebee.com`.
pub fn fetcher(base_url: &str, key: &str) -> Result<Fetcher, ImportError> {
    Ok(Fetcher::new(
        base_url,
        Auth::BasicUser(key.to_owned()),
        Vec::new(),
    )?)
}

/// Every entry of `path` matching `filter`, page by page.
async fn list(
    api: &mut Fetcher,
    path: &str,
    filter: &[(&str, String)],
    mut each: impl FnMut(&[Value]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut offset: Option<String> = None;
    loop {
        let mut query: Vec<(String, String)> = vec![("limit".into(), PAGE.to_string())];
        query.extend(filter.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        if let Some(o) = &offset {
            query.push(("offset".into(), o.clone()));
        }
        let page = api.get(path, &query).await?;
        let entries = page["list"].as_array().cloned().unwrap_or_default();
        each(&entries)?;
        match page["next_offset"].as_str() {
            Some(next) if !next.is_empty() => offset = Some(next.to_owned()),
            _ => return Ok(()),
        }
    }
}

/// The webhook event that would report an object.
struct Envelope<'a> {
    id: String,
    event_type: &'a str,
    occurred_at: i64,
    content: Value,
}

fn emit(
    envelope: Envelope<'_>,
    kind: &'static str,
    referral_key: Option<&str>,
    out: &mut dyn Write,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let body = json!({
        "id": envelope.id,
        "occurred_at": envelope.occurred_at,
        "object": "event",
        "event_type": envelope.event_type,
        "content": envelope.content,
    });
    match normalise(body.to_string().as_bytes(), referral_key) {
        Ok(Normalised::Event(event)) => {
            write_event(out, &event)?;
            report.wrote(kind);
        }
        Ok(Normalised::SubscriptionChanged(_)) => report.skip(&format!("{kind}: a change")),
        Ok(Normalised::Ignored { reason, .. }) => report.skip(&format!("{kind}: {reason}")),
        Err(e) => report.skip(&format!("{kind}: {e}")),
    }
    Ok(())
}

/// Imports everything since `since`, writing one event a line to `out`.
pub async fn import(
    api: &mut Fetcher,
    since: Timestamp,
    referral_key: Option<&str>,
    out: &mut dyn Write,
    progress: &indicatif::ProgressBar,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let after = since.as_second().saturating_sub(1).to_string();
    let mut subscriptions: BTreeMap<String, Value> = BTreeMap::new();
    progress.set_message("subscriptions");
    list(
        api,
        "/api/v2/subscriptions",
        &[("created_at[after]", after.clone())],
        |page| {
            progress.inc(page.len() as u64);
            for entry in page {
                let sub = &entry["subscription"];
                let id = sub["id"].as_str().unwrap_or_default().to_owned();
                let created = sub["created_at"]
                    .as_i64()
                    .or(sub["started_at"].as_i64())
                    .unwrap_or(0);
                let content = json!({ "subscription": sub, "customer": entry["customer"] });
                emit(
                    Envelope {
                        id: format!("import:chargebee:subscription:{id}"),
                        event_type: "subscription_created",
                        occurred_at: created,
                        content,
                    },
                    "subscriptions",
                    referral_key,
                    out,
                    &mut report,
                )?;
                subscriptions.insert(id, sub.clone());
            }
            Ok(())
        },
    )
    .await?;
    for (txn_type, event_type, kind) in [
        ("payment", "payment_succeeded", "payments"),
        ("refund", "payment_refunded", "refunds"),
    ] {
        progress.set_message(kind);
        let filter = [
            ("date[after]", after.clone()),
            ("type[is]", txn_type.to_owned()),
            ("status[is]", "success".to_owned()),
        ];
        list(api, "/api/v2/transactions", &filter, |page| {
            progress.inc(page.len() as u64);
            for entry in page {
                let txn = &entry["transaction"];
                let id = txn["id"].as_str().unwrap_or_default();
                let mut content = json!({ "transaction": txn });
                if let Some(sub) = txn["subscription_id"]
                    .as_str()
                    .and_then(|s| subscriptions.get(s))
                {
                    content["subscription"] = sub.clone();
                }
                emit(
                    Envelope {
                        id: format!("import:chargebee:transaction:{id}"),
                        event_type,
                        occurred_at: txn["date"].as_i64().unwrap_or(0),
                        content,
                    },
                    kind,
                    referral_key,
                    out,
                    &mut report,
                )?;
            }
            Ok(())
        })
        .await?;
    }
    report.requests = api.requests;
    report.rate_limited = api.rate_limited;
    Ok(report)
}
