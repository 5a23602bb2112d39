//! `saguaro import stripe` through the binary, against a wiremock server serving Stripe list
//! answers built from Stripe's own objects (`tests/fixtures/stripe/openapi_fixtures3`, the
//! objects stripe-mock serves; see tests/fixtures/README.md). The test changes copies of
//! them at run time, and says how: ids, customer, amounts, `status: paid`, `paid_at`, the
//! subscription on the invoice, the expanded `payments` and `charge`.
//!
//! The server answers the invoices in two pages (`has_more`, `starting_after`) and the
//! second page first with a 429 and `Retry-After: 1`; every request must match exactly
//! (path, query, key, `Stripe-Version`), or wiremock answers 404 and the import fails.
//! Then the imported invoice and the webhook's `invoice.paid` for the same invoice are
//! applied to one store, in both orders: the invoice earns once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Instant;

use saguaro_app::Earner;
use saguaro_domain::ports::HistoryStore;
use saguaro_domain::{CustomerId, Event, Program, Provider};
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk_test_import";
/// 2024-07-01T00:00:00Z, the `--since` day.
const SINCE: i64 = 1_719_792_000;

/// A fixture object (read by path: the test kit would pull the AWS SDK into this crate's
/// builds).
fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/stripe/openapi_fixtures3/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Stripe's invoice fixture, changed into a paid invoice of `sub_imp` by `cus_imp`.
fn invoice(id: &str, pi: &str, amount: i64, paid_at: i64) -> Value {
    let mut v = fixture("invoice");
    v["id"] = json!(id);
    v["customer"] = json!("cus_imp");
    v["status"] = json!("paid");
    v["amount_paid"] = json!(amount);
    v["created"] = json!(paid_at - 60);
    v["status_transitions"]["paid_at"] = json!(paid_at);
    v["parent"]["subscription_details"]["subscription"] = json!("sub_imp");
    v["payments"] = json!({"object": "list", "data": [
        {"object": "invoice_payment", "status": "paid", "payment": {"type": "payment_intent", "payment_intent": pi}}
    ], "has_more": false});
    v
}

fn page(data: Vec<Value>, more: bool) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"object": "list", "data": data, "has_more": more, "url": "/v1/x"}))
}

fn list(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("stripe-version", saguaro_stripe_api::STRIPE_VERSION))
        .and(query_param("limit", "100"))
        .and(query_param("created[gte]", SINCE.to_string().as_str()))
}

async fn stripe() -> MockServer {
    let server = MockServer::start().await;
    let mut sub = fixture("subscription");
    sub["id"] = json!("sub_imp");
    sub["customer"] = json!({"id": "cus_imp", "object": "customer", "metadata": {}});
    sub["created"] = json!(SINCE + 3600);
    list("/v1/subscriptions")
        .and(query_param("status", "all"))
        .and(query_param("expand[]", "data.customer"))
        .respond_with(page(vec![sub], false))
        .expect(1)
        .mount(&server)
        .await;
    let invoices = |p: &str| {
        list(p)
            .and(query_param("status", "paid"))
            .and(query_param("expand[]", "data.payments"))
    };
    // Newest first, as Stripe lists them.
    invoices("/v1/invoices")
        .and(query_param_is_missing("starting_after"))
        .respond_with(page(
            vec![
                invoice("in_3", "pi_3", 2999, SINCE + 3 * 86_400),
                invoice("in_2", "pi_2", 2999, SINCE + 2 * 86_400),
            ],
            true,
        ))
        .expect(1)
        .mount(&server)
        .await;
    // The second page: first rate-limited, then served.
    invoices("/v1/invoices")
        .and(query_param("starting_after", "in_2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    invoices("/v1/invoices")
        .and(query_param("starting_after", "in_2"))
        .respond_with(page(
            vec![invoice("in_1", "pi_1", 2999, SINCE + 86_400)],
            false,
        ))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let mut charge = fixture("charge");
    charge["id"] = json!("ch_1");
    charge["customer"] = json!("cus_imp");
    charge["payment_intent"] = json!("pi_1");
    charge["amount"] = json!(2999);
    let mut refund = fixture("refund");
    refund["id"] = json!("re_1");
    refund["amount"] = json!(1000);
    refund["created"] = json!(SINCE + 5 * 86_400);
    refund["charge"] = charge;
    list("/v1/refunds")
        .and(query_param("expand[]", "data.charge"))
        .respond_with(page(vec![refund], false))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn when_stripe_is_imported_then_pages_and_a_429_are_followed_and_every_object_is_one_event() {
    let server = stripe().await;
    let started = Instant::now();
    let uri = server.uri();
    let (lines, stderr) = tokio::task::spawn_blocking(move || import_uri(&uri))
        .await
        .unwrap();
    assert!(
        started.elapsed().as_secs_f64() >= 1.0,
        "the 429's Retry-After was not waited"
    );
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "import:stripe:subscription:sub_imp",
            "import:stripe:invoice:in_3",
            "import:stripe:invoice:in_2",
            "import:stripe:invoice:in_1",
            "import:stripe:refund:re_1",
        ]
    );
    let in1 = &lines[3];
    assert_eq!(in1["type"], "payment.succeeded");
    assert_eq!(
        in1["customer"],
        json!({"provider": "stripe", "id": "cus_imp"})
    );
    assert_eq!(in1["amount"], json!({"minor": 2999, "currency": "usd"}));
    assert_eq!(in1["occurred_at"], "2024-07-02T00:00:00Z");
    assert_eq!(in1["payment"], "in_1");
    assert_eq!(in1["payment_alias"], "pi_1");
    assert_eq!(in1["subscription"]["id"], "sub_imp");
    let refund = &lines[4];
    assert_eq!(refund["type"], "payment.refunded");
    assert_eq!(refund["amount"]["minor"], 1000);
    assert_eq!(refund["refunded_total"]["minor"], 1000);
    assert_eq!(refund["payment"], "pi_1");
    assert_eq!(refund["payment_alias"], "in_1");
    // 1 subscriptions page, 3 invoice requests (page 1, the 429, page 2), 1 refunds page.
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    assert!(stderr.contains("5 requests (1 rate-limited)"), "{stderr}");
    assert!(stderr.contains("wrote 5 events"), "{stderr}");
    server.verify().await;
}

/// Runs `saguaro import stripe --since 2024-07-01` against `uri`: the lines (each checked
/// to be an acceptable `POST /events` body) and stderr.
fn import_uri(uri: &str) -> (Vec<Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saguaro"))
        .args(["import", "stripe", "--since", "2024-07-01"])
        .env("STRIPE_API_KEY", KEY)
        .env("STRIPE_API_BASE_URL", uri)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            saguaro_app::incoming::parse_event(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}"));
            serde_json::from_str(l).unwrap()
        })
        .collect();
    (lines, stderr)
}

/// The webhook's `invoice.paid` for the same invoice, as Stripe sends it on basil+ (no
/// `payments`), normalised by the webhook's code.
fn webhook_event(invoice: &Value) -> Event {
    let mut object = invoice.clone();
    object.as_object_mut().unwrap().remove("payments");
    let body = json!({"id": "evt_1PwebhookInvoicePaid", "object": "event", "type": "invoice.paid",
        "created": invoice["status_transitions"]["paid_at"], "data": {"object": object}});
    match saguaro_providers::stripe::normalise(body.to_string().as_bytes(), None).unwrap() {
        saguaro_providers::stripe::Normalised::Event(e) => *e,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn when_an_invoice_is_imported_and_its_webhook_arrives_then_it_earns_once_in_either_order() {
    let server = stripe().await;
    let uri = server.uri();
    let (lines, _) = tokio::task::spawn_blocking(move || import_uri(&uri))
        .await
        .unwrap();
    let imported = saguaro_app::incoming::parse_event(lines[3].to_string().as_bytes()).unwrap();
    let webhook = webhook_event(&invoice("in_1", "pi_1", 2999, SINCE + 86_400));
    // The ids cannot be equal (the webhook's is Stripe's event id); the payment is the same.
    assert_eq!(webhook.id.as_str(), "evt_1PwebhookInvoicePaid");
    assert_eq!(webhook.refs.payment, imported.refs.payment);
    assert_eq!(webhook.customer, imported.customer);
    assert_eq!(webhook.amount, imported.amount);
    let program = Arc::new(
        Program::parse(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../infra/program.example.toml"
            ))
            .unwrap(),
        )
        .unwrap(),
    );
    let customer = CustomerId::new(Provider::Stripe, "cus_imp");
    for order in [[&imported, &webhook], [&webhook, &imported]] {
        let earner = Earner::new(EmbeddedStore::new(), program.clone());
        for e in order {
            earner.apply(e).await.unwrap();
        }
        let ledger = earner
            .store()
            .ledger(
                &customer,
                saguaro_domain::ports::PageRequest {
                    limit: 10,
                    before: None,
                },
            )
            .await
            .unwrap();
        // 29.99 usd at a point per dollar: 29, once.
        let points: Vec<i64> = ledger.lines.iter().map(|l| l.points).collect();
        assert_eq!(points, [29], "{:?} first", order[0].id);
    }
}

/// Serves 1,000 paid invoices, 100 a page, following `starting_after`.
struct InvoicePages;

impl wiremock::Respond for InvoicePages {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let after: Option<usize> = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "starting_after")
            .and_then(|(_, v)| v.strip_prefix("in_").and_then(|n| n.parse().ok()));
        let first = after.map_or(0, |n| n + 1);
        let last = (first + 100).min(1000);
        let data = (first..last)
            .map(|n| {
                invoice(
                    &format!("in_{n}"),
                    &format!("pi_{n}"),
                    1000,
                    SINCE + n as i64 * 60,
                )
            })
            .collect();
        page(data, last < 1000)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn when_1000_invoices_are_imported_then_it_takes_ten_invoice_requests() {
    let server = MockServer::start().await;
    for p in ["/v1/subscriptions", "/v1/refunds"] {
        list(p)
            .respond_with(page(Vec::new(), false))
            .mount(&server)
            .await;
    }
    list("/v1/invoices")
        .respond_with(InvoicePages)
        .mount(&server)
        .await;
    let uri = server.uri();
    let (lines, stderr) = tokio::task::spawn_blocking(move || import_uri(&uri))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1000);
    let requests = server.received_requests().await.unwrap();
    let invoices = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/invoices")
        .count();
    eprintln!(
        "import requests for 1,000 invoices: {invoices} (and {} in all)",
        requests.len()
    );
    assert_eq!(invoices, 10);
    assert!(stderr.contains("12 requests"), "{stderr}");
}
