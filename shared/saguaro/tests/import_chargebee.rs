//! `saguaro import chargebee` through the binary, against a wiremock server serving
//! Chargebee list answers built from the public webhook samples of
//! `tests/fixtures/chargebee/pc1` (see tests/fixtures/README.md): a list entry is the
//! sample's `content.subscription` with its `content.customer`, or its
//! `content.transaction` (the objects Chargebee's list APIs return, under the same keys).
//! Subscriptions come in two pages (`next_offset`), the second first answered 429 with
//! `Retry-After: 1`. Every request must match exactly, or wiremock answers 404 and the
//! import fails. Then the imported payment and the sample webhook for the same transaction
//! are applied to one store: it earns once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Instant;

use saguaro_app::Earner;
use saguaro_domain::ports::{HistoryStore, PageRequest};
use saguaro_domain::{CustomerId, Program, Provider};
use saguaro_embedded::EmbeddedStore;
use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "test_cb_key";

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/chargebee/pc1/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn page(list: Vec<Value>, next: Option<&str>) -> ResponseTemplate {
    let mut body = json!({ "list": list });
    if let Some(n) = next {
        body["next_offset"] = json!(n);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(p))
        .and(basic_auth(KEY, ""))
        .and(query_param("limit", "100"))
}

async fn chargebee() -> MockServer {
    let server = MockServer::start().await;
    let created = sample("subscription_created");
    let paid = sample("payment_succeeded");
    let refunded = sample("payment_refunded");
    // --since 2012-01-01: `created_at[after]` is the second before it.
    let subs = || get("/api/v2/subscriptions").and(query_param("created_at[after]", "1325375999"));
    subs()
        .and(query_param_is_missing("offset"))
        .respond_with(page(
            vec![json!({"subscription": created["content"]["subscription"], "customer": created["content"]["customer"]})],
            Some("[\"1600447774000\",\"230000001\"]"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    subs()
        .and(query_param("offset", "[\"1600447774000\",\"230000001\"]"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    subs()
        .and(query_param("offset", "[\"1600447774000\",\"230000001\"]"))
        .respond_with(page(
            vec![json!({"subscription": paid["content"]["subscription"], "customer": paid["content"]["customer"]})],
            None,
        ))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let txns = |kind: &str| {
        get("/api/v2/transactions")
            .and(query_param("date[after]", "1325375999"))
            .and(query_param("type[is]", kind))
            .and(query_param("status[is]", "success"))
    };
    txns("payment")
        .respond_with(page(
            vec![json!({"transaction": paid["content"]["transaction"]})],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    txns("refund")
        .respond_with(page(
            vec![json!({"transaction": refunded["content"]["transaction"]})],
            None,
        ))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn import(uri: &str) -> (Vec<Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saguaro"))
        .args(["import", "chargebee", "--since", "2012-01-01"])
        .env("CHARGEBEE_API_KEY", KEY)
        .env("CHARGEBEE_API_BASE_URL", uri)
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

#[tokio::test(flavor = "multi_thread")]
async fn when_chargebee_is_imported_then_offsets_and_a_429_are_followed_and_payments_earn_once() {
    let server = chargebee().await;
    let uri = server.uri();
    let started = Instant::now();
    let (lines, stderr) = tokio::task::spawn_blocking(move || import(&uri))
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
            "import:chargebee:subscription:AzqgumSAxXl3xAxW",
            "import:chargebee:subscription:tax customer test",
            "import:chargebee:transaction:txn_AzqYRySIstMLf6N",
            "import:chargebee:transaction:txn_3Nl7oGgQqGG07E3V",
        ]
    );
    // 3 subscription requests (page 1, the 429, page 2), 1 payments page, 1 refunds page.
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    assert!(stderr.contains("5 requests (1 rate-limited)"), "{stderr}");
    server.verify().await;

    // The payment, imported and from its webhook: same payment key (the transaction id),
    // customer, amount and plan; it earns once whichever comes first.
    let imported = saguaro_app::incoming::parse_event(lines[2].to_string().as_bytes()).unwrap();
    let webhook = match saguaro_providers::chargebee::normalise(
        &serde_json::to_vec(&sample("payment_succeeded")).unwrap(),
        None,
    )
    .unwrap()
    {
        saguaro_providers::chargebee::Normalised::Event(e) => *e,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        imported.refs.payment.as_deref(),
        Some("txn_AzqYRySIstMLf6N")
    );
    assert_eq!(webhook.refs.payment, imported.refs.payment);
    assert_eq!(webhook.customer, imported.customer);
    assert_eq!(webhook.amount, imported.amount);
    assert_eq!(webhook.plan(), imported.plan());
    let refund = &lines[3];
    assert_eq!(refund["payment"], "txn_3Nl7oGgQqGFs2lf");
    assert_eq!(refund["amount"], json!({"minor": 2, "currency": "usd"}));
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
    let customer = CustomerId::new(Provider::Chargebee, "16BjsrSIh4AdLqkD");
    for order in [[&imported, &webhook], [&webhook, &imported]] {
        let earner = Earner::new(EmbeddedStore::new(), program.clone());
        for e in order {
            earner.apply(e).await.unwrap();
        }
        let ledger = earner
            .store()
            .ledger(
                &customer,
                PageRequest {
                    limit: 10,
                    before: None,
                },
            )
            .await
            .unwrap();
        let earned: Vec<i64> = ledger
            .lines
            .iter()
            .filter(|l| l.rule == "spend")
            .map(|l| l.points)
            .collect();
        // 4,500.00 usd at a point per dollar, under the 20,000 monthly cap: 4,500, once.
        assert_eq!(earned, [4500], "{} first", order[0].id);
    }
}
