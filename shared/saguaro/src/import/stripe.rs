//! `saguaro import stripe`: subscriptions, paid invoices and refunds from Stripe's list APIs
//! (`GET /v1/subscriptions`, `/v1/invoices?status=paid`, `/v1/refunds`), 100 a page, paged
//! with `starting_after`, from `created[gte]` = `--since`. `Stripe-Version` is pinned to the
//! version the rest of Saguaro's Stripe calls use, so the layouts are "basil" and later.
//!
//! Each object becomes the webhook event that reports it, normalised by the webhook's own
//! code ([`saguaro_providers::stripe::normalise`]):
//!
//! | list | envelope | event id | `occurred_at` |
//! |---|---|---|---|
//! | subscriptions (`status=all`, customer expanded for its metadata) | `customer.subscription.created` | `import:stripe:subscription:{id}` | `created` |
//! | invoices (`status=paid`, `payments` expanded) | `invoice.paid` | `import:stripe:invoice:{id}` | `status_transitions.paid_at` |
//! | refunds (`charge` expanded), succeeded | `charge.refunded` with the charge's `amount_refunded` set to the sum of its refunds up to this one (oldest first) | `import:stripe:refund:{id}` | `created` |
//!
//! **Payment keys.** An imported invoice is keyed by the invoice id with its PaymentIntent
//! (from the expanded `payments`) as the alias. A basil+ webhook `invoice.paid` without
//! `payments` is keyed by the invoice id, an older one by the PaymentIntent with the invoice
//! as alias; the engine finds a payment under either id, so in every order and version the
//! invoice earns once. A refund is keyed by its charge's PaymentIntent; the import adds the
//! invoice that PaymentIntent paid as its alias (known from the invoices read), which a
//! basil+ charge no longer names.
//!
//! A subscription created `incomplete` and never paid, and a guest charge's refund (no
//! customer), make no event, as on the webhook.

use std::io::Write;

use jiff::Timestamp;
use saguaro_providers::stripe::{Normalised, normalise};
use serde_json::{Value, json};

use super::fetch::{Auth, Fetcher};
use super::{ImportError, ImportReport, write_event};

/// The Stripe API base URL unless `STRIPE_API_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// Objects per page (Stripe's maximum).
pub const PAGE: u32 = 100;

/// A Stripe client for the import.
pub fn fetcher(base_url: &str, key: &str) -> Result<Fetcher, ImportError> {
    Ok(Fetcher::new(
        base_url,
        Auth::Bearer(key.to_owned()),
        vec![(
            "Stripe-Version",
            saguaro_stripe_api::STRIPE_VERSION.to_owned(),
        )],
    )?)
}

/// Every object of `path` created at or after `since`, page by page; `each` sees each page's
/// objects.
async fn list(
    api: &mut Fetcher,
    path: &str,
    since: Timestamp,
    extra: &[(&str, &str)],
    mut each: impl FnMut(&[Value]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut after: Option<String> = None;
    loop {
        let mut query: Vec<(String, String)> = vec![
            ("limit".into(), PAGE.to_string()),
            ("created[gte]".into(), since.as_second().to_string()),
        ];
        query.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        if let Some(a) = &after {
            query.push(("starting_after".into(), a.clone()));
        }
        let page = api.get(path, &query).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        each(&data)?;
        let more = page["has_more"].as_bool().unwrap_or(false);
        match data.last().and_then(|o| o["id"].as_str()) {
            Some(last) if more => after = Some(last.to_owned()),
            _ => return Ok(()),
        }
    }
}

/// The webhook event that would report `object`, as bytes for the normaliser.
fn envelope(id: String, kind: &str, created: i64, object: &Value) -> Vec<u8> {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "created": created,
        "data": { "object": object },
    })
    .to_string()
    .into_bytes()
}

/// Normalises `body` as the webhook would, lets `adjust` change the event, writes it.
fn emit(
    body: &[u8],
    kind: &'static str,
    referral_key: Option<&str>,
    out: &mut dyn Write,
    report: &mut ImportReport,
    adjust: impl FnOnce(&mut saguaro_domain::Event),
) -> Result<(), ImportError> {
    match normalise(body, referral_key) {
        Ok(Normalised::Event(mut event)) => {
            adjust(&mut event);
            write_event(out, &event)?;
            report.wrote(kind);
        }
        Ok(Normalised::Ignored { reason, .. }) => report.skip(&format!("{kind}: {reason}")),
        Ok(Normalised::NoCustomer { .. }) => report.skip(&format!("{kind}: no customer")),
        // An invoice payment is a link for the webhook, not an event (the import reads
        // invoices, whose refunds it links itself).
        Ok(Normalised::InvoiceLink(_)) => report.skip(&format!("{kind}: invoice payment link")),
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
    progress.set_message("subscriptions");
    list(
        api,
        "/v1/subscriptions",
        since,
        &[("status", "all"), ("expand[]", "data.customer")],
        |page| {
            progress.inc(page.len() as u64);
            for sub in page {
                let id = sub["id"].as_str().unwrap_or_default();
                let created = sub["created"]
                    .as_i64()
                    .or(sub["start_date"].as_i64())
                    .unwrap_or(0);
                let body = envelope(
                    format!("import:stripe:subscription:{id}"),
                    "customer.subscription.created",
                    created,
                    sub,
                );
                emit(
                    &body,
                    "subscriptions",
                    referral_key,
                    out,
                    &mut report,
                    |_| {},
                )?;
            }
            Ok(())
        },
    )
    .await?;
    progress.set_message("paid invoices");
    // PaymentIntent → the invoice it paid, for the refunds.
    let mut paid_by: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    list(
        api,
        "/v1/invoices",
        since,
        &[("status", "paid"), ("expand[]", "data.payments")],
        |page| {
            progress.inc(page.len() as u64);
            for invoice in page {
                let id = invoice["id"].as_str().unwrap_or_default();
                let paid = invoice["status_transitions"]["paid_at"]
                    .as_i64()
                    .or(invoice["created"].as_i64())
                    .unwrap_or(0);
                let body = envelope(
                    format!("import:stripe:invoice:{id}"),
                    "invoice.paid",
                    paid,
                    invoice,
                );
                emit(&body, "invoices", referral_key, out, &mut report, |event| {
                    // Keyed by the invoice, the PaymentIntent as the alias (module docs).
                    if let (Some(pi), Some(invoice)) =
                        (event.refs.payment.clone(), event.refs.payment_alias.clone())
                    {
                        paid_by.insert(pi.clone(), invoice.clone());
                        event.refs.payment = Some(invoice);
                        event.refs.payment_alias = Some(pi);
                    }
                })?;
            }
            Ok(())
        },
    )
    .await?;
    progress.set_message("refunds");
    let mut refunds: Vec<Value> = Vec::new();
    list(
        api,
        "/v1/refunds",
        since,
        &[("expand[]", "data.charge")],
        |page| {
            progress.inc(page.len() as u64);
            refunds.extend(page.iter().filter(|r| r["status"] == "succeeded").cloned());
            Ok(())
        },
    )
    .await?;
    // Oldest first, so that each refund carries its charge's running total.
    refunds.sort_by_key(|r| {
        (
            r["created"].as_i64().unwrap_or(0),
            r["id"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let mut totals: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for refund in &refunds {
        let id = refund["id"].as_str().unwrap_or_default();
        let Some(charge) = refund["charge"].as_object() else {
            report.skip("refunds: charge not expanded");
            continue;
        };
        let charge_id = charge
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let total = totals.entry(charge_id).or_default();
        *total = total.saturating_add(refund["amount"].as_i64().unwrap_or(0));
        let mut charge = Value::Object(charge.clone());
        charge["amount_refunded"] = json!(*total);
        let created = refund["created"].as_i64().unwrap_or(0);
        let body = envelope(
            format!("import:stripe:refund:{id}"),
            "charge.refunded",
            created,
            &charge,
        );
        let amount = refund["amount"].as_i64().unwrap_or(0);
        emit(&body, "refunds", referral_key, out, &mut report, |event| {
            // This refund's own amount; the running total travels as `refunded_total`.
            if let Some(a) = event.amount.as_mut() {
                a.minor = amount;
            }
            if event.refs.payment_alias.is_none() {
                let invoice = event.refs.payment.as_ref().and_then(|pi| paid_by.get(pi));
                event.refs.payment_alias = invoice.cloned();
            }
        })?;
    }
    report.requests = api.requests;
    report.rate_limited = api.rate_limited;
    Ok(report)
}
