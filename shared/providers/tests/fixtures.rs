//! Every file in the repository's public fixtures (`tests/fixtures`) is accounted for here, in one table: normalised
//! (with its fields asserted), run through `normalise` and asserted to be ignored, or not an
//! event at all (with the reason). A new fixture that is not listed fails the first test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, Trigger};
use saguaro_providers::{chargebee, stripe};
use serde_json::{Value, json};

use common::{fixture, fixture_path, fixtures, read_json, stripe_event, stripe_event_of};

enum Use {
    /// Normalised (or deliberately ignored by `normalise`); the function asserts the result.
    Check(fn()),
    /// Not an event body; used elsewhere or not at all, for this reason.
    NotAnEvent(&'static str),
}

const CLI: &str =
    "stripe_cli_triggers are API-call recipes that `stripe trigger` runs, not event bodies";
const VECTOR: &str = "signature vector: exercised by tests/stripe_signature.rs";

fn table() -> Vec<(&'static str, Use)> {
    use Use::*;
    vec![
        // Stripe, current (basil+) shapes, wrapped in an event envelope at test time.
        (
            "stripe/openapi_fixtures3/subscription.json",
            Check(stripe_subscription_created_and_deleted),
        ),
        (
            "stripe/openapi_fixtures3/subscription_item.json",
            Check(stripe_subscription_item_upgrade),
        ),
        (
            "stripe/openapi_fixtures3/invoice.json",
            Check(stripe_invoice_paid),
        ),
        (
            "stripe/openapi_fixtures3/invoice_payment.json",
            Check(stripe_invoice_paid_with_payments),
        ),
        (
            "stripe/openapi_fixtures3/line_item.json",
            Check(stripe_invoice_line_item),
        ),
        (
            "stripe/openapi_fixtures3/charge.json",
            Check(stripe_charge_refunded),
        ),
        (
            "stripe/openapi_fixtures3/customer.json",
            Check(stripe_expanded_customer_referral),
        ),
        (
            "stripe/openapi_fixtures3/event.json",
            Check(stripe_plan_created_event_ignored),
        ),
        (
            "stripe/openapi_fixtures3/price.json",
            Check(|| stripe_ignored("price.created", "price.json")),
        ),
        (
            "stripe/openapi_fixtures3/product.json",
            Check(|| stripe_ignored("product.created", "product.json")),
        ),
        (
            "stripe/openapi_fixtures3/coupon.json",
            Check(|| stripe_ignored("coupon.created", "coupon.json")),
        ),
        (
            "stripe/openapi_fixtures3/promotion_code.json",
            Check(|| stripe_ignored("promotion_code.created", "promotion_code.json")),
        ),
        (
            "stripe/openapi_fixtures3/discount.json",
            Check(|| stripe_ignored("customer.discount.created", "discount.json")),
        ),
        (
            "stripe/openapi_fixtures3/credit_note.json",
            Check(|| stripe_ignored("credit_note.created", "credit_note.json")),
        ),
        (
            "stripe/openapi_fixtures3/credit_note_line_item.json",
            Check(|| stripe_ignored("credit_note.updated", "credit_note_line_item.json")),
        ),
        (
            "stripe/openapi_fixtures3/refund.json",
            Check(|| stripe_ignored("refund.created", "refund.json")),
        ),
        (
            "stripe/openapi_fixtures3/dispute.json",
            Check(|| stripe_ignored("charge.dispute.created", "dispute.json")),
        ),
        (
            "stripe/openapi_fixtures3/invoiceitem.json",
            Check(|| stripe_ignored("invoiceitem.created", "invoiceitem.json")),
        ),
        (
            "stripe/openapi_fixtures3/customer_balance_transaction.json",
            Check(|| {
                stripe_ignored(
                    "customer_balance_transaction.created",
                    "customer_balance_transaction.json",
                )
            }),
        ),
        (
            "stripe/openapi_fixtures3/billing.credit_grant.json",
            Check(|| stripe_ignored("billing.credit_grant.created", "billing.credit_grant.json")),
        ),
        (
            "stripe/openapi_fixtures3/billing.credit_balance_summary.json",
            Check(|| {
                stripe_ignored(
                    "billing.credit_balance_transaction.created",
                    "billing.credit_balance_summary.json",
                )
            }),
        ),
        (
            "stripe/openapi_fixtures3/entitlements.feature.json",
            Check(|| stripe_ignored("entitlements.feature.created", "entitlements.feature.json")),
        ),
        (
            "stripe/openapi_fixtures3/entitlements.active_entitlement.json",
            Check(|| {
                stripe_ignored(
                    "entitlements.active_entitlement.created",
                    "entitlements.active_entitlement.json",
                )
            }),
        ),
        (
            "stripe/openapi_fixtures3/entitlements.active_entitlement_summary.json",
            Check(|| {
                stripe_ignored(
                    "entitlements.active_entitlement_summary.updated",
                    "entitlements.active_entitlement_summary.json",
                )
            }),
        ),
        (
            "stripe/stripe_cli_triggers/customer.subscription.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/customer.subscription.updated.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/customer.subscription.deleted.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/invoice.paid.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/charge.refunded.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/charge.dispute.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/credit_note.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/coupon.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/customer.discount.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/stripe_cli_triggers/promotion_code.created.json",
            NotAnEvent(CLI),
        ),
        (
            "stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
            Check(stripe_vector_payload_ignored),
        ),
        (
            "stripe/signature_vectors/stripe_docs_header_parse_vector.json",
            NotAnEvent(VECTOR),
        ),
        // Chargebee, Product Catalog 1.0 webhook bodies.
        (
            "chargebee/pc1/subscription_created.json",
            Check(chargebee_pc1_subscription_created),
        ),
        (
            "chargebee/pc1/subscription_cancelled.json",
            Check(chargebee_pc1_subscription_cancelled),
        ),
        (
            "chargebee/pc1/subscription_changed.json",
            Check(chargebee_pc1_subscription_changed),
        ),
        (
            "chargebee/pc1/payment_succeeded.json",
            Check(chargebee_pc1_payment_succeeded),
        ),
        (
            "chargebee/pc1/payment_refunded.json",
            Check(chargebee_pc1_payment_refunded),
        ),
        (
            "chargebee/pc1/subscription_activated.json",
            Check(|| {
                chargebee_ignored(
                    "chargebee/pc1/subscription_activated.json",
                    "subscription_activated",
                )
            }),
        ),
        (
            "chargebee/pc1/invoice_generated.json",
            Check(|| {
                chargebee_ignored("chargebee/pc1/invoice_generated.json", "invoice_generated")
            }),
        ),
        (
            "chargebee/pc1/credit_note_created.json",
            Check(|| {
                chargebee_ignored(
                    "chargebee/pc1/credit_note_created.json",
                    "credit_note_created",
                )
            }),
        ),
        (
            "chargebee/pc1/promotional_credits_added.json",
            Check(|| {
                chargebee_ignored(
                    "chargebee/pc1/promotional_credits_added.json",
                    "promotional_credits_added",
                )
            }),
        ),
        // Chargebee, Product Catalog 2.0: the webhook body is the inner `event`.
        (
            "chargebee/pc2/list_events_response_subscription_created.json",
            Check(chargebee_pc2_subscription_created),
        ),
        (
            "standard-webhooks/sign_vector.json",
            NotAnEvent(
                "the Standard Webhooks signing vector, checked by shared/delivery/tests/perk.rs",
            ),
        ),
    ]
}

#[test]
fn when_fixtures_are_listed_then_every_file_is_in_the_table_exactly_once() {
    // given every JSON file under the repository's fixtures
    let mut on_disk = Vec::new();
    walk(&fixtures(), &fixtures(), &mut on_disk);
    on_disk.sort();
    // when
    let mut listed: Vec<String> = table().iter().map(|(p, _)| (*p).to_owned()).collect();
    listed.sort();
    // then
    assert_eq!(on_disk.len(), 47, "fixture count changed: {on_disk:?}");
    assert_eq!(listed, on_disk);
}

#[test]
fn when_each_fixture_is_used_then_its_check_passes() {
    for (path, use_) in table() {
        match use_ {
            Use::Check(check) => check(),
            Use::NotAnEvent(reason) => {
                assert!(!reason.is_empty(), "{path}");
                assert!(fixture_path(path).is_file(), "{path}");
            }
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

fn usd(minor: i64) -> Money {
    Money::new(minor, "usd".parse::<Currency>().unwrap())
}

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap()
}

fn stripe_ok(body: &[u8], referral_key: Option<&str>) -> Event {
    match stripe::normalise(body, referral_key).unwrap() {
        stripe::Normalised::Event(e) => *e,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn object(file: &str) -> Value {
    read_json(&fixture_path(&format!("stripe/openapi_fixtures3/{file}")))
}

fn stripe_subscription_created_and_deleted() {
    let created = stripe_ok(
        &stripe_event(
            "customer.subscription.created",
            "subscription.json",
            1_721_954_060,
        ),
        None,
    );
    assert_eq!(created.provider, Provider::Stripe);
    assert_eq!(
        created.id.as_str(),
        "evt_test_customer_subscription_created"
    );
    assert_eq!(created.trigger, Trigger::SubscriptionCreated);
    assert_eq!(
        created.customer,
        CustomerId::new(Provider::Stripe, "cus_QXg1o8vcGmoR32")
    );
    assert_eq!(created.occurred_at, at(1_721_954_060));
    let sub = created.subscription.unwrap();
    assert_eq!(sub.id, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw");
    assert_eq!(sub.plan.as_deref(), Some("price_1PgafmB7WZ01zgkW6dKueIc5"));
    assert_eq!(sub.status.as_deref(), Some("active"));
    assert_eq!(sub.started_at, Some(at(1_234_567_890)));
    // the item's price is 2000 usd a month (the legacy `plan` placeholder is not used)
    assert_eq!(sub.monthly_amount, Some(usd(2000)));
    assert_eq!(created.refs.referrer, None);

    let deleted = stripe_ok(
        &stripe_event(
            "customer.subscription.deleted",
            "subscription.json",
            1_721_954_061,
        ),
        None,
    );
    assert_eq!(deleted.trigger, Trigger::SubscriptionCancelled);
    assert_eq!(
        deleted.subscription.unwrap().id,
        "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"
    );

    // an update without previous_attributes is a change we cannot classify: ignored
    let updated = stripe::normalise(
        &stripe_event("customer.subscription.updated", "subscription.json", 1),
        None,
    )
    .unwrap();
    assert_eq!(
        updated,
        stripe::Normalised::Ignored {
            event_type: "customer.subscription.updated".into(),
            reason: "no change to the items"
        }
    );
}

fn stripe_subscription_item_upgrade() {
    // given the subscription, whose previous item was the fixture item at half the price
    let mut previous_item = object("subscription_item.json");
    previous_item["price"]["unit_amount"] = json!(1000);
    previous_item["price"]["id"] = json!("price_cheaper");
    let mut body: Value = serde_json::from_slice(&stripe_event(
        "customer.subscription.updated",
        "subscription.json",
        1_721_954_070,
    ))
    .unwrap();
    body["data"]["previous_attributes"] =
        json!({ "items": { "object": "list", "data": [previous_item.clone()] } });
    let event = stripe_ok(&serde_json::to_vec(&body).unwrap(), None);
    // then 1000 → 2000 a month is an upgrade
    assert_eq!(event.trigger, Trigger::SubscriptionUpgraded);
    assert_eq!(event.subscription.unwrap().monthly_amount, Some(usd(2000)));
    // and the same item unchanged (a basil renewal) is ignored
    body["data"]["previous_attributes"]["items"]["data"][0] = object("subscription_item.json");
    let renewal = stripe::normalise(&serde_json::to_vec(&body).unwrap(), None).unwrap();
    assert!(
        matches!(
            renewal,
            stripe::Normalised::Ignored {
                reason: "same annual value",
                ..
            }
        ),
        "{renewal:?}"
    );
}

fn stripe_invoice_paid() {
    let event = stripe_ok(
        &stripe_event("invoice.paid", "invoice.json", 1_721_954_080),
        None,
    );
    assert_eq!(event.trigger, Trigger::PaymentSucceeded);
    assert_eq!(event.customer.id, "cus_QXg1o8vcGmoR32");
    // the placeholder invoice paid 0 (a zero amount earns no per-amount points downstream)
    assert_eq!(event.amount, Some(usd(0)));
    assert_eq!(
        event.refs.invoice.as_deref(),
        Some("in_1Pgc6tB7WZ01zgkWu9fdqL6I")
    );
    // basil: no payment_intent on the invoice and no `payments`: keyed by invoice id
    assert_eq!(
        event.refs.payment.as_deref(),
        Some("in_1Pgc6tB7WZ01zgkWu9fdqL6I")
    );
    // basil: the subscription is under parent.subscription_details
    assert_eq!(event.subscription.unwrap().id, "subscription");
}

fn stripe_invoice_paid_with_payments() {
    // given a basil invoice with `payments` included, from the invoice_payment fixture
    let mut payment = object("invoice_payment.json");
    payment["status"] = json!("paid");
    payment["payment"]["payment_intent"] = json!("pi_basil_1");
    let mut invoice = object("invoice.json");
    invoice["amount_paid"] = json!(1000);
    invoice["payments"] = json!({ "object": "list", "data": [payment] });
    let event = stripe_ok(
        &stripe_event_of("invoice.paid", invoice, 1_721_954_081),
        None,
    );
    // then the PaymentIntent is the payment key, as a charge.refunded would give
    assert_eq!(event.refs.payment.as_deref(), Some("pi_basil_1"));
    assert_eq!(event.amount, Some(usd(1000)));
}

fn stripe_invoice_line_item() {
    // given a basil invoice whose line (the line_item fixture) names its price under
    // pricing.price_details
    let mut line = object("line_item.json");
    line["pricing"]["price_details"] = json!({ "price": "price_basil_gold", "product": "prod_1" });
    let mut invoice = object("invoice.json");
    invoice["lines"]["data"] = json!([line]);
    let event = stripe_ok(
        &stripe_event_of("invoice.paid", invoice, 1_721_954_082),
        None,
    );
    assert_eq!(event.plan(), Some("price_basil_gold"));
    // and the fixture line as it is has no price: no plan, still a payment
    let event = stripe_ok(&stripe_event("invoice.paid", "invoice.json", 1), None);
    assert_eq!(event.plan(), None);
}

fn stripe_charge_refunded() {
    // the placeholder charge has `customer: null`, as a guest payment (Payment Links,
    // Checkout without a customer) has: nothing to do with loyalty, acknowledged and dropped
    let guest =
        stripe::normalise(&stripe_event("charge.refunded", "charge.json", 1), None).unwrap();
    assert!(
        matches!(&guest, stripe::Normalised::NoCustomer { event_id, event_type } if event_id == "evt_test_charge_refunded" && event_type == "charge.refunded"),
        "{guest:?}"
    );
    // with a customer, a PaymentIntent and a partial refund it normalises
    let mut charge = object("charge.json");
    charge["customer"] = json!("cus_QXg1o8vcGmoR32");
    charge["payment_intent"] = json!("pi_basil_1");
    charge["amount_refunded"] = json!(40);
    let event = stripe_ok(
        &stripe_event_of("charge.refunded", charge, 1_721_954_090),
        None,
    );
    assert_eq!(event.trigger, Trigger::PaymentRefunded);
    assert_eq!(event.refs.payment.as_deref(), Some("pi_basil_1"));
    assert_eq!(event.refunded_total, Some(usd(40)));
    assert_eq!(event.amount, Some(usd(40)));
    assert_eq!(event.refs.invoice, None);
}

fn stripe_expanded_customer_referral() {
    // given a subscription whose customer is expanded and carries the referral key
    let mut customer = object("customer.json");
    customer["metadata"] = json!({ "referred_by": "cus_Referrer9" });
    let mut sub = object("subscription.json");
    sub["customer"] = customer;
    let event = stripe_ok(
        &stripe_event_of("customer.subscription.created", sub, 1),
        Some("referred_by"),
    );
    assert_eq!(event.customer.id, "cus_QXg1o8vcGmoR32");
    assert_eq!(
        event.refs.referrer,
        Some(CustomerId::new(Provider::Stripe, "cus_Referrer9"))
    );
}

fn stripe_plan_created_event_ignored() {
    let body = fixture("stripe/openapi_fixtures3/event.json");
    assert_eq!(
        stripe::normalise(&body, None).unwrap(),
        stripe::Normalised::Ignored {
            event_type: "plan.created".into(),
            reason: "event type not used by Saguaro"
        }
    );
}

fn stripe_ignored(event_type: &str, file: &str) {
    let result =
        stripe::normalise(&stripe_event(event_type, file, 1), Some("referred_by")).unwrap();
    assert_eq!(
        result,
        stripe::Normalised::Ignored {
            event_type: event_type.into(),
            reason: "event type not used by Saguaro"
        }
    );
}

fn stripe_vector_payload_ignored() {
    let vector = read_json(&fixture_path(
        "stripe/signature_vectors/async_stripe_invoiceitem_created_vector.json",
    ));
    let payload = vector["payload"].as_str().unwrap();
    assert!(matches!(
        stripe::normalise(payload.as_bytes(), None).unwrap(),
        stripe::Normalised::Ignored { event_type, .. } if event_type == "invoiceitem.created"
    ));
}

fn chargebee_ok(body: &[u8]) -> Event {
    match chargebee::normalise(body, Some("referred_by")).unwrap() {
        chargebee::Normalised::Event(e) => *e,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn chargebee_pc1_subscription_created() {
    let e = chargebee_ok(&fixture("chargebee/pc1/subscription_created.json"));
    assert_eq!(e.provider, Provider::Chargebee);
    assert_eq!(e.trigger, Trigger::SubscriptionCreated);
    assert_eq!(
        e.customer,
        CustomerId::new(Provider::Chargebee, "16CHTnSAxXWqMAg8")
    );
    assert_eq!(e.occurred_at, at(1_600_447_774));
    let sub = e.subscription.unwrap();
    assert_eq!(sub.id, "AzqgumSAxXl3xAxW");
    assert_eq!(sub.plan.as_deref(), Some("test-company-custom-pro-plan"));
    assert_eq!(sub.status.as_deref(), Some("future"));
    assert_eq!(sub.started_at, Some(at(1_601_524_800)));
    // 9600.00 a year is 800.00 a month
    assert_eq!(sub.monthly_amount, Some(usd(80_000)));
}

fn chargebee_pc1_subscription_cancelled() {
    let e = chargebee_ok(&fixture("chargebee/pc1/subscription_cancelled.json"));
    assert_eq!(e.trigger, Trigger::SubscriptionCancelled);
    assert_eq!(e.id.as_str(), "ev_16BgX7SC8QzzQ4nbm");
    assert_eq!(e.customer.id, "16CHTnSAxXWqMAg8");
    let sub = e.subscription.unwrap();
    assert_eq!(sub.status.as_deref(), Some("cancelled"));
    assert_eq!(sub.monthly_amount, Some(usd(80_000)));
}

fn chargebee_pc1_subscription_changed() {
    let body = fixture("chargebee/pc1/subscription_changed.json");
    let chargebee::Normalised::SubscriptionChanged(change) =
        chargebee::normalise(&body, None).unwrap()
    else {
        panic!("expected a change");
    };
    assert_eq!(change.event_id, "ev_AzZlwkSJGPYNWQd3");
    assert_eq!(change.customer.id, "AzZlzTSI7x16Ufzr");
    assert_eq!(change.resource_version, Some(1_608_055_631_889));
    assert_eq!(change.subscription.plan.as_deref(), Some("__TEST__plan_1"));
    // 300 × 36.00 a year = 10800.00 a year = 900.00 a month
    assert_eq!(change.subscription.monthly_amount, Some(usd(90_000)));
}

fn chargebee_pc1_payment_succeeded() {
    let e = chargebee_ok(&fixture("chargebee/pc1/payment_succeeded.json"));
    assert_eq!(e.trigger, Trigger::PaymentSucceeded);
    assert_eq!(
        e.id.as_str(),
        read_json(&fixture_path("chargebee/pc1/payment_succeeded.json"))["id"]
            .as_str()
            .unwrap()
    );
    assert_eq!(e.customer.id, "16BjsrSIh4AdLqkD");
    assert_eq!(e.amount, Some(usd(450_000)));
    assert_eq!(e.refs.payment.as_deref(), Some("txn_AzqYRySIstMLf6N"));
    assert_eq!(e.refs.invoice.as_deref(), Some("22"));
    assert_eq!(e.occurred_at, at(1_607_708_103));
    let sub = e.subscription.unwrap();
    assert_eq!(sub.id, "tax customer test");
    assert_eq!(sub.monthly_amount, Some(usd(25_000)));
}

fn chargebee_pc1_payment_refunded() {
    let e = chargebee_ok(&fixture("chargebee/pc1/payment_refunded.json"));
    assert_eq!(e.trigger, Trigger::PaymentRefunded);
    assert_eq!(e.customer.id, "3Nl7oGgQqGFprj9");
    // this refund's own amount, keyed by the refunded payment
    assert_eq!(e.amount, Some(usd(2)));
    assert_eq!(e.refunded_total, None);
    assert_eq!(e.refs.payment.as_deref(), Some("txn_3Nl7oGgQqGFs2lf"));
    assert_eq!(e.refs.invoice.as_deref(), Some("1"));
    // plan 10.00 plus the 0.95 addon, monthly
    assert_eq!(e.subscription.unwrap().monthly_amount, Some(usd(1095)));
}

fn chargebee_ignored(path: &str, event_type: &str) {
    let result = chargebee::normalise(&fixture(path), Some("referred_by")).unwrap();
    assert_eq!(
        result,
        chargebee::Normalised::Ignored {
            event_type: event_type.into(),
            reason: "event type not used by Saguaro"
        }
    );
}

fn chargebee_pc2_subscription_created() {
    let response = read_json(&fixture_path(
        "chargebee/pc2/list_events_response_subscription_created.json",
    ));
    let body = serde_json::to_vec(&response["list"][0]["event"]).unwrap();
    let e = chargebee_ok(&body);
    assert_eq!(e.id.as_str(), "ev_16BPgETyVrQbiGhA");
    assert_eq!(e.trigger, Trigger::SubscriptionCreated);
    assert_eq!(e.customer, CustomerId::new(Provider::Chargebee, "sarah"));
    assert_eq!(e.occurred_at, at(1_702_645_601));
    let sub = e.subscription.unwrap();
    assert_eq!(sub.id, "16BPgETyVrQVHGh1");
    assert_eq!(
        sub.plan.as_deref(),
        Some("cross-train-advanced-INR-1_MONTH")
    );
    assert_eq!(sub.started_at, Some(at(1_702_578_600)));
    assert_eq!(
        sub.monthly_amount,
        Some(Money::new(11_667, "inr".parse().unwrap()))
    );
}
