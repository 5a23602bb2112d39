//! The webhook routes end to end, through a real `saguaro serve` HTTP server: signed Stripe
//! and authenticated Chargebee deliveries change balances exactly as
//! `infra/program.example.toml` says, and a forged one changes nothing.
//!
//! Bodies are the providers crate's test data and the public fixtures (`tests/fixtures`);
//! where a story needs the events of one customer to agree (Chargebee's public samples are
//! of different customers and currencies), a copy is adjusted at test time and the
//! adjustment is stated.
//!
//! Basil+ (2025-03-31 and later) Stripe events are built here in that shape: an
//! `invoice.paid` that names no PaymentIntent and a `charge.refunded` that names no invoice,
//! linked by the runner's Stripe API lookup, answered by a local stand-in for Stripe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use saguaro::{Runner, WebhookSecrets};
use saguaro_app::config::load_program;
use saguaro_providers::chargebee::{BasicAuth, Password};
use saguaro_providers::stripe::{Verifier, WebhookSecret, sign_header};
use saguaro_stripe_api::{ApiKey, STRIPE_VERSION, StripeApi};
use saguaro_testkit::{fixture, provider_data};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const STRIPE_SECRET: &str = "whsec_e2e";

struct Server {
    base: String,
}

async fn start(secrets: WebhookSecrets) -> Server {
    start_with_stripe_api(secrets, None).await
}

async fn start_with_stripe_api(secrets: WebhookSecrets, stripe_api: Option<StripeApi>) -> Server {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/program.example.toml");
    let program = load_program(&path).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Runner::with_webhooks_and_stripe_api(program, secrets, stripe_api).serve(listener),
    );
    Server {
        base: format!("http://{addr}"),
    }
}

async fn configured() -> Server {
    start(WebhookSecrets {
        stripe: Some(Verifier::new([WebhookSecret::new(STRIPE_SECRET)])),
        chargebee: Some(BasicAuth::new("saguaro", &Password::new("pa55word"))),
    })
    .await
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

impl Server {
    async fn post(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = saguaro_delivery::http::builder()
            .unwrap()
            .build()
            .unwrap()
            .post(format!("{}{path}", self.base))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn stripe(&self, body: Vec<u8>, secret: &str) -> (StatusCode, Value) {
        let now = jiff::Timestamp::now().as_second();
        let signature = sign_header(&WebhookSecret::new(secret), now, &body);
        self.post(
            "/webhooks/stripe",
            &[
                ("content-type", "application/json; charset=utf-8".to_owned()),
                ("stripe-signature", signature),
            ],
            body,
        )
        .await
    }

    async fn chargebee(&self, body: Vec<u8>, credentials: &str) -> (StatusCode, Value) {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        self.post(
            "/webhooks/chargebee",
            &[
                ("content-type", "application/json".to_owned()),
                ("authorization", auth),
            ],
            body,
        )
        .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = saguaro_delivery::http::builder()
            .unwrap()
            .build()
            .unwrap()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn balance(&self, customer: &str) -> Option<i64> {
        match self.get(&format!("/customers/{customer}")).await {
            (StatusCode::OK, body) => body["balance"].as_i64(),
            (StatusCode::NOT_FOUND, _) => None,
            other => panic!("GET /customers/{customer}: {other:?}"),
        }
    }
}

fn received() -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "received": true }))
}

#[tokio::test]
async fn when_stripe_events_are_delivered_then_balances_follow_the_program() {
    let s = configured().await;

    // customer.subscription.created (2020-03-02 layout), metadata.referred_by = cus_Referrer1:
    // "welcome" earns 100.
    let created = provider_data("stripe/2020-03-02_customer.subscription.created.json");
    assert_eq!(s.stripe(created.clone(), STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(100));

    // invoice.paid, 39.98 usd on 2020-06-01 (no promotion then; tier Member × 1):
    // "spend" earns floor(3998 / 100) = 39. It is the first paid invoice of a referred
    // customer, so the referral converts: "referral-friend" earns the customer 200 and
    // "referral-referrer" earns cus_Referrer1 1000.
    // Balance: 100 + 39 + 200 = 339.
    let paid = provider_data("stripe/2020-03-02_invoice.paid.json");
    assert_eq!(s.stripe(paid, STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(339));
    assert_eq!(s.balance("stripe/cus_Referrer1").await, Some(1000));

    // charge.refunded, amount_refunded 10.00 of 39.98: the 39 "spend" points are reversed
    // proportionally, floor(39 × 1000 / 3998) = floor(9.75) = 9; the referral stands.
    // Balance: 339 − 9 = 330.
    let refunded = provider_data("stripe/2020-03-02_charge.refunded.json");
    assert_eq!(s.stripe(refunded.clone(), STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(330));

    // Stripe redelivers: nothing changes.
    assert_eq!(s.stripe(created, STRIPE_SECRET).await, received());
    assert_eq!(s.stripe(refunded, STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(330));

    let (status, ledger) = s.get("/customers/stripe/cus_H2020/ledger").await;
    assert_eq!(status, StatusCode::OK);
    let points: Vec<i64> = ledger["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["points"].as_i64().unwrap())
        .collect();
    // newest first: the reversal, the referral, the spend, the welcome
    assert_eq!(points, [-9, 200, 39, 100]);
}

#[tokio::test]
async fn when_chargebee_events_are_delivered_then_balances_follow_the_program() {
    let s = configured().await;
    // A real PC 1.0 `subscription_created` (Chargebee's docs): customer 16CHTnSAxXWqMAg8,
    // subscription AzqgumSAxXl3xAxW, plan 9,600.00 usd a year (800.00 a month).
    let created = json_of(&fixture("chargebee/pc1/subscription_created.json"));
    let customer = created["content"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscription = created["content"]["subscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("chargebee/{customer}");

    // subscription_created: "welcome" earns 100.
    assert_eq!(
        s.chargebee(serde_json::to_vec(&created).unwrap(), "saguaro:pa55word")
            .await,
        received()
    );
    assert_eq!(s.balance(&path).await, Some(100));

    // payment_succeeded: the PC 2.0 sample, adjusted to this customer, subscription and usd
    // (the sample is in inr, which the example program does not earn on): 116.67 usd on
    // 2023-12-15 (double-december is 2026 only; tier Member × 1): "spend" earns
    // floor(11667 / 100) = 116. Balance: 100 + 116 = 216.
    let mut paid = json_of(&provider_data("chargebee/pc2_payment_succeeded.json"));
    paid["content"]["customer"]["id"] = json!(customer);
    paid["content"]["subscription"]["id"] = json!(subscription);
    paid["content"]["subscription"]["customer_id"] = json!(customer);
    paid["content"]["subscription"]["currency_code"] = json!("USD");
    paid["content"]["transaction"]["customer_id"] = json!(customer);
    paid["content"]["transaction"]["currency_code"] = json!("USD");
    paid["content"]["subscription"]["resource_version"] = json!(1_600_447_774_293_i64);
    assert_eq!(
        s.chargebee(serde_json::to_vec(&paid).unwrap(), "saguaro:pa55word")
            .await,
        received()
    );
    assert_eq!(s.balance(&path).await, Some(216));

    // subscription_changed: the same subscription moved to quantity 2 (19,200.00 usd a year,
    // 1,600.00 a month, more than the stored 800.00), later resource_version: an upgrade,
    // "upgrade" earns 250. Balance: 216 + 250 = 466.
    let mut changed = created.clone();
    changed["id"] = json!("ev_e2e_changed_upgrade");
    changed["event_type"] = json!("subscription_changed");
    changed["occurred_at"] = json!(1_702_700_000_i64);
    let sub = &mut changed["content"]["subscription"];
    sub["plan_quantity"] = json!(2);
    sub["plan_amount"] = json!(1_920_000);
    sub["resource_version"] = json!(1_702_700_000_000_i64);
    assert_eq!(
        s.chargebee(serde_json::to_vec(&changed).unwrap(), "saguaro:pa55word")
            .await,
        received()
    );
    assert_eq!(s.balance(&path).await, Some(466));

    // redelivering the change earns nothing more
    assert_eq!(
        s.chargebee(serde_json::to_vec(&changed).unwrap(), "saguaro:pa55word")
            .await,
        received()
    );
    assert_eq!(s.balance(&path).await, Some(466));
}

#[tokio::test]
async fn when_signature_or_credentials_are_bad_then_nothing_changes() {
    let s = configured().await;
    let paid = provider_data("stripe/2020-03-02_invoice.paid.json");
    assert_eq!(
        s.stripe(paid.clone(), "whsec_forged").await,
        (StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
    );
    let created = fixture("chargebee/pc1/subscription_created.json");
    assert_eq!(
        s.chargebee(created, "saguaro:guess").await,
        (StatusCode::UNAUTHORIZED, json!({ "error": "unauthorized" }))
    );
    assert_eq!(s.balance("stripe/cus_H2020").await, None);
    assert_eq!(s.balance("chargebee/16CHTnSAxXWqMAg8").await, None);

    // a good delivery afterwards is applied once
    assert_eq!(s.stripe(paid, STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(39));
}

#[tokio::test]
async fn when_secrets_are_not_configured_then_routes_answer_not_configured() {
    let s = start(WebhookSecrets::default()).await;
    let paid = provider_data("stripe/2020-03-02_invoice.paid.json");
    let not_configured = (
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "not_configured" }),
    );
    assert_eq!(s.stripe(paid.clone(), STRIPE_SECRET).await, not_configured);
    assert_eq!(s.chargebee(paid, "saguaro:pa55word").await, not_configured);
    let (status, _) = s.get("/webhooks/stripe").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

const STRIPE_API_KEY: &str = "sk_test_e2e_lookup";

fn stripe_secrets() -> WebhookSecrets {
    WebhookSecrets {
        stripe: Some(Verifier::new([WebhookSecret::new(STRIPE_SECRET)])),
        chargebee: None,
    }
}

/// A basil `invoice.paid` of 50.00 usd on 2025-06-02: the subscription under
/// `parent.subscription_details`, the price under `pricing.price_details`, and neither
/// `payment_intent` nor `payments` (includable, not included).
fn basil_invoice_paid() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_1QBasilInvoicePaid",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": 1_748_872_800,
        "type": "invoice.paid",
        "data": { "object": {
            "id": "in_1QBasil",
            "object": "invoice",
            "customer": "cus_Basil",
            "amount_due": 5000,
            "amount_paid": 5000,
            "currency": "usd",
            "billing_reason": "subscription_cycle",
            "status": "paid",
            "parent": {
                "type": "subscription_details",
                "subscription_details": { "subscription": "sub_1QBasil", "metadata": {} }
            },
            "lines": { "object": "list", "data": [{
                "id": "il_1QBasil",
                "object": "line_item",
                "amount": 5000,
                "currency": "usd",
                "quantity": 1,
                "pricing": {
                    "type": "price_details",
                    "price_details": { "price": "price_1QMonthly", "product": "prod_1QBasil" }
                }
            }]}
        }}
    }))
    .unwrap()
}

/// A basil `charge.refunded`: 12.50 of the 50.00 refunded; the charge names its
/// PaymentIntent and no invoice.
fn basil_charge_refunded() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_1QBasilChargeRefunded",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": 1_749_000_000,
        "type": "charge.refunded",
        "data": { "object": {
            "id": "ch_3QBasil",
            "object": "charge",
            "customer": "cus_Basil",
            "amount": 5000,
            "amount_refunded": 1250,
            "currency": "usd",
            "payment_intent": "pi_3QBasil",
            "refunded": false
        }}
    }))
    .unwrap()
}

#[tokio::test]
async fn when_basil_refund_names_only_its_payment_intent_then_the_lookup_links_it_and_points_are_reversed()
 {
    // given a Stripe stand-in that knows pi_3QBasil paid in_1QBasil
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/invoice_payments"))
        .and(query_param("payment[type]", "payment_intent"))
        .and(query_param("payment[payment_intent]", "pi_3QBasil"))
        .and(query_param("limit", "1"))
        .and(header(
            "authorization",
            format!("Bearer {STRIPE_API_KEY}").as_str(),
        ))
        .and(header("stripe-version", STRIPE_VERSION))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "has_more": false,
            "url": "/v1/invoice_payments",
            "data": [{
                "id": "inpay_1QBasil",
                "object": "invoice_payment",
                "invoice": "in_1QBasil",
                "amount_paid": 5000,
                "currency": "usd",
                "is_default": true,
                "payment": { "type": "payment_intent", "payment_intent": "pi_3QBasil" },
                "status": "paid"
            }]
        })))
        // the refund and its redelivery; the payment needs no lookup
        .expect(2)
        .mount(&stripe)
        .await;
    let api = StripeApi::with_base_url(
        &ApiKey::new(STRIPE_API_KEY),
        &stripe.uri(),
        Duration::from_secs(5),
    )
    .unwrap();
    let s = start_with_stripe_api(stripe_secrets(), Some(api)).await;

    // invoice.paid, 50.00 usd (tier Member × 1, no promotion): "spend" earns
    // floor(5000 / 100) = 50, recorded under the invoice id (no PaymentIntent named).
    assert_eq!(
        s.stripe(basil_invoice_paid(), STRIPE_SECRET).await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(50));

    // charge.refunded, 12.50 of 50.00, known as pi_3QBasil, linked to in_1QBasil by the
    // lookup: floor(50 × 1250 / 5000) = floor(12.5) = 12 reversed. Balance: 50 − 12 = 38.
    let refunded = basil_charge_refunded();
    assert_eq!(s.stripe(refunded.clone(), STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(38));

    // Stripe redelivers the refund: nothing changes.
    assert_eq!(s.stripe(refunded, STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(38));

    let (status, ledger) = s.get("/customers/stripe/cus_Basil/ledger").await;
    assert_eq!(status, StatusCode::OK);
    let points: Vec<i64> = ledger["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["points"].as_i64().unwrap())
        .collect();
    assert_eq!(points, [-12, 50]);
}

#[tokio::test]
async fn when_stripe_lookup_fails_then_the_refund_is_refused_until_stripe_redelivers() {
    // given a Stripe stand-in that fails once, then answers
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "error": { "type": "api_error", "message": "temporarily unavailable" }
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/invoice_payments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{ "id": "inpay_1QBasil", "invoice": { "id": "in_1QBasil", "object": "invoice" } }]
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let api = StripeApi::with_base_url(
        &ApiKey::new(STRIPE_API_KEY),
        &stripe.uri(),
        Duration::from_secs(5),
    )
    .unwrap();
    let s = start_with_stripe_api(stripe_secrets(), Some(api)).await;
    assert_eq!(
        s.stripe(basil_invoice_paid(), STRIPE_SECRET).await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(50));

    // when the lookup fails: 503, nothing applied
    assert_eq!(
        s.stripe(basil_charge_refunded(), STRIPE_SECRET).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "error": "unavailable" })
        )
    );
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(50));

    // then Stripe's retry is linked (expanded invoice this time) and reverses 12
    assert_eq!(
        s.stripe(basil_charge_refunded(), STRIPE_SECRET).await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(38));
}

#[tokio::test]
async fn when_no_stripe_api_key_then_basil_refund_cannot_find_its_payment() {
    // the gap the lookup and the kept links close: with neither (no API key, no
    // invoice_payment.paid) the refund is accepted but matches nothing, and is counted
    let s = start(stripe_secrets()).await;
    assert_eq!(
        s.stripe(basil_invoice_paid(), STRIPE_SECRET).await,
        received()
    );
    assert_eq!(
        s.stripe(basil_charge_refunded(), STRIPE_SECRET).await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_Basil").await, Some(50));
}

/// Basil's `invoice_payment.paid` for `basil_invoice_paid`: pi_3QBasil paid in_1QBasil. The
/// object has the shape of `invoice_payment` in Stripe's OpenAPI fixtures
/// (tests/fixtures/stripe/openapi_fixtures3/invoice_payment.json), with this test's ids.
fn basil_invoice_payment_paid() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "evt_1QBasilInvoicePaymentPaid",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": 1_748_872_801,
        "type": "invoice_payment.paid",
        "data": { "object": {
            "id": "inpay_1QBasil",
            "object": "invoice_payment",
            "amount_paid": 5000,
            "amount_requested": 5000,
            "currency": "usd",
            "invoice": "in_1QBasil",
            "is_default": true,
            "livemode": false,
            "payment": { "type": "payment_intent", "payment_intent": "pi_3QBasil" },
            "status": "paid",
            "status_transitions": { "canceled_at": null, "paid_at": 1_748_872_801 }
        }}
    }))
    .unwrap()
}

#[tokio::test]
async fn when_basil_reports_the_invoice_payment_then_its_refund_reverses_points_with_no_api_key() {
    // given a runner without STRIPE_API_KEY, in either order of invoice.paid and
    // invoice_payment.paid (Stripe sends both, in no guaranteed order)
    for order in [
        [basil_invoice_paid(), basil_invoice_payment_paid()],
        [basil_invoice_payment_paid(), basil_invoice_paid()],
    ] {
        let s = start(stripe_secrets()).await;
        for body in order {
            assert_eq!(s.stripe(body, STRIPE_SECRET).await, received());
        }
        // "spend" earns floor(5000 / 100) = 50
        assert_eq!(s.balance("stripe/cus_Basil").await, Some(50));
        // when the refund names only pi_3QBasil: the kept link finds in_1QBasil, and
        // floor(50 × 1250 / 5000) = 12 is reversed
        let refunded = basil_charge_refunded();
        assert_eq!(s.stripe(refunded.clone(), STRIPE_SECRET).await, received());
        assert_eq!(s.balance("stripe/cus_Basil").await, Some(38));
        // and its redelivery changes nothing
        assert_eq!(s.stripe(refunded, STRIPE_SECRET).await, received());
        assert_eq!(s.balance("stripe/cus_Basil").await, Some(38));
    }
}

/// The same invoice reported as `invoice.paid` and as `invoice.payment_succeeded`: Stripe
/// sends both (two event ids) to an endpoint subscribed to both. The second is the providers
/// crate's 2020-03-02 `invoice.paid` with its type and id changed here.
fn invoice_paid_and_payment_succeeded(paid: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    let mut succeeded = json_of(&paid);
    succeeded["type"] = json!("invoice.payment_succeeded");
    succeeded["id"] = json!(format!("{}_succeeded", succeeded["id"].as_str().unwrap()));
    (paid, serde_json::to_vec(&succeeded).unwrap())
}

#[tokio::test]
async fn when_invoice_paid_and_invoice_payment_succeeded_both_arrive_then_the_invoice_earns_once_in_either_order()
 {
    // 2020-03-02 (keyed by PaymentIntent) and basil (keyed by invoice) layouts
    for (paid, customer, points) in [
        (
            provider_data("stripe/2020-03-02_invoice.paid.json"),
            "stripe/cus_H2020",
            // "spend": floor(3998 / 100) = 39
            39,
        ),
        // "spend": floor(5000 / 100) = 50
        (basil_invoice_paid(), "stripe/cus_Basil", 50),
    ] {
        let (paid, succeeded) = invoice_paid_and_payment_succeeded(paid);
        for order in [
            [paid.clone(), succeeded.clone()],
            [succeeded.clone(), paid.clone()],
        ] {
            let s = start(stripe_secrets()).await;
            for body in &order {
                assert_eq!(s.stripe(body.clone(), STRIPE_SECRET).await, received());
                assert_eq!(s.balance(customer).await, Some(points));
            }
            // and redeliveries of either change nothing
            for body in order {
                assert_eq!(s.stripe(body, STRIPE_SECRET).await, received());
            }
            assert_eq!(s.balance(customer).await, Some(points));
            let (_, ledger) = s.get(&format!("/customers/{customer}/ledger")).await;
            assert_eq!(ledger["lines"].as_array().unwrap().len(), 1);
        }
    }
}

/// The providers crate's 2020-03-02 `customer.subscription.created` (status `active`), with
/// the status, id and event id set here; and an update of it to `status`, from
/// `previous_status` (a copy with `type`, `id`, `created` and `previous_attributes` set here).
fn stripe_subscription(status: &str, sub_id: &str) -> (Vec<u8>, Value) {
    let mut created = json_of(&provider_data(
        "stripe/2020-03-02_customer.subscription.created.json",
    ));
    created["id"] = json!(format!("evt_created_{sub_id}"));
    created["data"]["object"]["id"] = json!(sub_id);
    created["data"]["object"]["status"] = json!(status);
    (serde_json::to_vec(&created).unwrap(), created)
}

fn stripe_subscription_update(created: &Value, previous: &str, status: &str) -> Vec<u8> {
    let mut updated = created.clone();
    let sub_id = created["data"]["object"]["id"].as_str().unwrap();
    updated["id"] = json!(format!("evt_updated_{sub_id}_{status}"));
    updated["type"] = json!("customer.subscription.updated");
    updated["created"] = json!(created["created"].as_i64().unwrap() + 3600);
    updated["data"]["object"]["status"] = json!(status);
    updated["data"]["previous_attributes"] = json!({ "status": previous });
    serde_json::to_vec(&updated).unwrap()
}

#[tokio::test]
async fn when_stripe_subscription_is_created_incomplete_then_welcome_waits_for_it_to_become_active()
{
    let s = start(stripe_secrets()).await;
    let customer = "stripe/cus_H2020";

    // created `incomplete` (its first payment not made yet): no welcome points
    let (created, created_json) = stripe_subscription("incomplete", "sub_incomplete_1");
    assert_eq!(s.stripe(created, STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, None);

    // it expires unpaid: still nothing, ever
    let expired = stripe_subscription_update(&created_json, "incomplete", "incomplete_expired");
    assert_eq!(s.stripe(expired, STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, None);

    // a second subscription created `incomplete`, then paid: `incomplete` → `active` is its
    // start, and "welcome" earns 100 then, once
    let (created, created_json) = stripe_subscription("incomplete", "sub_incomplete_2");
    assert_eq!(s.stripe(created, STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, None);
    let activated = stripe_subscription_update(&created_json, "incomplete", "active");
    assert_eq!(s.stripe(activated.clone(), STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, Some(100));
    assert_eq!(s.stripe(activated, STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, Some(100));

    // created `trialing` starts at once: +100
    let (created, _) = stripe_subscription("trialing", "sub_trialing_3");
    assert_eq!(s.stripe(created, STRIPE_SECRET).await, received());
    assert_eq!(s.balance(customer).await, Some(200));
}

/// A Chargebee upgrade billed at once: `subscription_changed` (quantity 1 → 2 of the public
/// PC 1.0 `subscription_created` sample, 800.00 → 1,600.00 usd a month) and
/// `payment_succeeded` (the PC 2.0 sample adjusted to this customer and usd, as in the story
/// above) whose `content.subscription` already shows the new quantity and a later
/// `resource_version`.
fn chargebee_upgrade_billed_at_once() -> (Vec<u8>, Vec<u8>, Vec<u8>, String) {
    let created = json_of(&fixture("chargebee/pc1/subscription_created.json"));
    let customer = created["content"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut changed = created.clone();
    changed["id"] = json!("ev_e2e_upgrade_changed");
    changed["event_type"] = json!("subscription_changed");
    changed["occurred_at"] = json!(1_702_700_000_i64);
    let sub = &mut changed["content"]["subscription"];
    sub["status"] = json!("active");
    sub["plan_quantity"] = json!(2);
    sub["plan_amount"] = json!(1_920_000);
    sub["resource_version"] = json!(1_702_700_000_000_i64);

    let mut paid = json_of(&provider_data("chargebee/pc2_payment_succeeded.json"));
    paid["id"] = json!("ev_e2e_upgrade_paid");
    paid["occurred_at"] = json!(1_702_700_001_i64);
    paid["content"]["customer"]["id"] = json!(customer);
    paid["content"]["transaction"]["customer_id"] = json!(customer);
    paid["content"]["transaction"]["currency_code"] = json!("USD");
    let mut billed = changed["content"]["subscription"].clone();
    billed["resource_version"] = json!(1_702_700_001_500_i64);
    paid["content"]["subscription"] = billed;
    (
        serde_json::to_vec(&created).unwrap(),
        serde_json::to_vec(&changed).unwrap(),
        serde_json::to_vec(&paid).unwrap(),
        format!("chargebee/{customer}"),
    )
}

#[tokio::test]
async fn when_chargebee_upgrade_is_billed_at_once_then_both_delivery_orders_give_the_same_ledger() {
    let (created, changed, paid, path) = chargebee_upgrade_billed_at_once();
    let mut ledgers = Vec::new();
    for order in [
        [changed.clone(), paid.clone()],
        [paid.clone(), changed.clone()],
    ] {
        let s = configured().await;
        assert_eq!(
            s.chargebee(created.clone(), "saguaro:pa55word").await,
            received()
        );
        for body in order {
            assert_eq!(s.chargebee(body, "saguaro:pa55word").await, received());
        }
        // "welcome" 100, "spend" floor(11667 / 100) = 116, "upgrade" 250
        assert_eq!(s.balance(&path).await, Some(466));
        let (_, ledger) = s.get(&format!("/customers/{path}/ledger")).await;
        let mut lines: Vec<(String, i64)> = ledger["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["rule"].as_str().unwrap().to_owned(),
                    l["points"].as_i64().unwrap(),
                )
            })
            .collect();
        lines.sort();
        ledgers.push(lines);
    }
    assert_eq!(
        ledgers[0],
        [
            ("spend".to_owned(), 116),
            ("upgrade".to_owned(), 250),
            ("welcome".to_owned(), 100)
        ]
    );
    assert_eq!(ledgers[0], ledgers[1]);
}

#[tokio::test]
async fn when_a_delivery_can_never_be_applied_then_it_is_acknowledged_and_parked_in_the_rejected_list()
 {
    let s = start(stripe_secrets()).await;
    // the providers crate's 2020-03-02 invoice.paid (39.98 usd): "spend" earns 39
    let paid = provider_data("stripe/2020-03-02_invoice.paid.json");
    assert_eq!(s.stripe(paid, STRIPE_SECRET).await, received());
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(39));
    let (status, list) = s.get("/rejected").await;
    assert_eq!((status, list), (StatusCode::OK, json!({ "rejected": [] })));

    // its refund, changed here to eur: a refund in another currency than its payment can
    // never be applied. Acknowledged (Stripe stops retrying), nothing reversed, parked.
    let mut refund = json_of(&provider_data("stripe/2020-03-02_charge.refunded.json"));
    refund["data"]["object"]["currency"] = json!("eur");
    let refund_id = refund["id"].as_str().unwrap().to_owned();
    assert_eq!(
        s.stripe(serde_json::to_vec(&refund).unwrap(), STRIPE_SECRET)
            .await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(39));

    // an invoice.paid whose `created` is past year 9999 (a copy of the same body, changed
    // here): it cannot be normalised, ever
    let mut far = json_of(&provider_data("stripe/2020-03-02_invoice.paid.json"));
    far["id"] = json!("evt_far_future");
    far["created"] = json!(999_999_999_999_i64);
    assert_eq!(
        s.stripe(serde_json::to_vec(&far).unwrap(), STRIPE_SECRET)
            .await,
        received()
    );
    assert_eq!(s.balance("stripe/cus_H2020").await, Some(39));

    // both are in the rejected list, newest first, with their reasons and what to replay
    let (status, list) = s.get("/rejected").await;
    assert_eq!(status, StatusCode::OK);
    let rejected = list["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["event_id"], "evt_far_future");
    assert_eq!(rejected[0]["event_type"], "invoice.paid");
    assert_eq!(rejected[0]["reason"], "cannot be normalised: no created");
    assert_eq!(
        json_of(rejected[0]["body"].as_str().unwrap().as_bytes()),
        far
    );
    assert_eq!(rejected[1]["event_id"], refund_id.as_str());
    assert_eq!(rejected[1]["event_type"], "payment.refunded");
    assert_eq!(rejected[1]["provider"], "stripe");
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .ends_with("refund in eur of a payment in usd"),
        "{}",
        rejected[1]["reason"]
    );
    let (status, one) = s.get("/rejected?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["rejected"].as_array().unwrap().len(), 1);
    let (status, _) = s.get("/rejected?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
