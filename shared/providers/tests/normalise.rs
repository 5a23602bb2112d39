//! Normalisation behaviour on the crate's own hand-built data (tests/data, see its README):
//! pre-2025 Stripe layouts, Chargebee Product Catalog 2.0, upgrade/downgrade/renewal,
//! annualisation, cumulative refunds, referrals, malformed bodies and unknown types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use saguaro_domain::{Currency, CustomerId, Event, Money, Provider, Trigger};
use saguaro_providers::chargebee;
use saguaro_providers::stripe;

use common::data;

fn money(minor: i64, currency: &str) -> Money {
    Money::new(minor, currency.parse::<Currency>().unwrap())
}

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap()
}

fn stripe_event(file: &str) -> Event {
    match stripe::normalise(&data(&format!("stripe/{file}")), Some("referred_by")).unwrap() {
        stripe::Normalised::Event(e) => *e,
        other => panic!("{file}: expected an event, got {other:?}"),
    }
}

fn chargebee_event(file: &str) -> Event {
    match chargebee::normalise(&data(&format!("chargebee/{file}")), Some("referred_by")).unwrap() {
        chargebee::Normalised::Event(e) => *e,
        other => panic!("{file}: expected an event, got {other:?}"),
    }
}

#[test]
fn when_2020_subscription_is_created_then_snapshot_and_referrer_are_read() {
    // given a 2020-03-02 event with the referral key in the subscription metadata
    let e = stripe_event("2020-03-02_customer.subscription.created.json");
    // then
    assert_eq!(e.id.as_str(), "evt_1GqCreated2020");
    assert_eq!(e.trigger, Trigger::SubscriptionCreated);
    assert_eq!(e.customer, CustomerId::new(Provider::Stripe, "cus_H2020"));
    assert_eq!(e.occurred_at, at(1_591_000_000));
    assert_eq!(
        e.refs.referrer,
        Some(CustomerId::new(Provider::Stripe, "cus_Referrer1"))
    );
    let sub = e.subscription.unwrap();
    assert_eq!(sub.id, "sub_H2020created");
    assert_eq!(sub.plan.as_deref(), Some("price_gold_monthly"));
    assert_eq!(sub.status.as_deref(), Some("active"));
    assert_eq!(sub.started_at, Some(at(1_590_999_990)));
    assert_eq!(sub.monthly_amount, Some(money(3998, "usd")));
}

#[test]
fn when_2020_invoice_is_paid_and_its_charge_refunded_then_both_share_the_payment_key() {
    // given the payment and a partial refund of it, in the 2020-03-02 layout
    let paid = stripe_event("2020-03-02_invoice.paid.json");
    let refunded = stripe_event("2020-03-02_charge.refunded.json");
    // then the payment
    assert_eq!(paid.trigger, Trigger::PaymentSucceeded);
    assert_eq!(paid.amount, Some(money(3998, "usd")));
    assert_eq!(paid.refs.invoice.as_deref(), Some("in_H2020"));
    assert_eq!(paid.refs.payment.as_deref(), Some("pi_H2020"));
    let sub = paid.subscription.unwrap();
    assert_eq!(sub.id, "sub_H2020created");
    assert_eq!(sub.plan.as_deref(), Some("price_gold_monthly"));
    // and the refund points at the same payment, with the cumulative total
    assert_eq!(refunded.trigger, Trigger::PaymentRefunded);
    assert_eq!(refunded.refs.payment, paid.refs.payment);
    assert_eq!(refunded.refs.invoice.as_deref(), Some("in_H2020"));
    assert_eq!(refunded.refunded_total, Some(money(1000, "usd")));
    assert_eq!(refunded.amount, Some(money(1000, "usd")));
}

#[test]
fn when_a_second_refund_arrives_then_refunded_total_is_the_cumulative_amount() {
    // given the same charge after a second refund of 500 (amount_refunded is cumulative)
    let mut body: serde_json::Value =
        serde_json::from_slice(&data("stripe/2020-03-02_charge.refunded.json")).unwrap();
    body["id"] = "evt_second_refund".into();
    body["data"]["object"]["amount_refunded"] = 1500.into();
    // when
    let stripe::Normalised::Event(e) =
        stripe::normalise(&serde_json::to_vec(&body).unwrap(), None).unwrap()
    else {
        panic!("expected an event");
    };
    // then the total, not the increment
    assert_eq!(e.refunded_total, Some(money(1500, "usd")));
    assert_eq!(e.refs.payment.as_deref(), Some("pi_H2020"));
}

#[test]
fn when_items_value_rises_then_upgraded_and_referrer_comes_from_customer_metadata() {
    // given 10.00 → 20.00 a month, customer expanded with the referral key
    let e = stripe_event("2023-10-16_customer.subscription.updated_upgrade.json");
    // then
    assert_eq!(e.trigger, Trigger::SubscriptionUpgraded);
    assert_eq!(e.customer.id, "cus_U2023");
    assert_eq!(
        e.refs.referrer,
        Some(CustomerId::new(Provider::Stripe, "cus_FromCustomerMeta"))
    );
    let sub = e.subscription.unwrap();
    assert_eq!(sub.plan.as_deref(), Some("price_gold_monthly"));
    assert_eq!(sub.monthly_amount, Some(money(2000, "usd")));
}

#[test]
fn when_monthly_moves_to_a_cheaper_yearly_then_downgraded_by_annual_value() {
    // given 20.00 a month (240.00 a year) → 200.00 a year: a higher unit amount, a lower value
    let e =
        stripe_event("2023-10-16_customer.subscription.updated_monthly_to_yearly_downgrade.json");
    // then
    assert_eq!(e.trigger, Trigger::SubscriptionDowngraded);
    assert_eq!(
        e.subscription.unwrap().monthly_amount,
        Some(money(1666, "usd"))
    );
}

#[test]
fn when_basil_renewal_repeats_the_same_items_then_ignored() {
    // given previous_attributes.items present with equal prices and quantities
    let result = stripe::normalise(
        &data("stripe/basil_customer.subscription.updated_renewal_same_items.json"),
        None,
    )
    .unwrap();
    // then
    assert_eq!(
        result,
        stripe::Normalised::Ignored {
            event_type: "customer.subscription.updated".into(),
            reason: "same annual value"
        }
    );
}

#[test]
fn when_legacy_update_reports_only_previous_quantity_then_it_is_compared() {
    // given a single-item subscription whose previous_attributes has only `quantity`
    let mut body: serde_json::Value = serde_json::from_slice(&data(
        "stripe/basil_customer.subscription.updated_renewal_same_items.json",
    ))
    .unwrap();
    body["data"]["previous_attributes"] = serde_json::json!({ "quantity": 3 });
    // when
    let stripe::Normalised::Event(e) =
        stripe::normalise(&serde_json::to_vec(&body).unwrap(), None).unwrap()
    else {
        panic!("expected an event");
    };
    // then 3 seats → 2 seats is a downgrade
    assert_eq!(e.trigger, Trigger::SubscriptionDowngraded);
    assert_eq!(
        e.subscription.unwrap().monthly_amount,
        Some(money(3000, "usd"))
    );
}

#[test]
fn when_subscription_is_deleted_then_cancelled_with_quarterly_price_per_month() {
    let e = stripe_event("2023-10-16_customer.subscription.deleted.json");
    assert_eq!(e.trigger, Trigger::SubscriptionCancelled);
    let sub = e.subscription.unwrap();
    assert_eq!(sub.status.as_deref(), Some("canceled"));
    assert_eq!(sub.plan.as_deref(), Some("price_seat_quarterly"));
    // 3 × 30.00 every 3 months = 30.00 a month
    assert_eq!(sub.monthly_amount, Some(money(3000, "eur")));
}

#[test]
fn when_body_is_not_json_then_malformed() {
    let err = stripe::normalise(b"{not json", None).unwrap_err();
    assert!(
        matches!(err, stripe::NormaliseError::MalformedJson(_)),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
    let err = chargebee::normalise(b"", None).unwrap_err();
    assert!(
        matches!(err, chargebee::NormaliseError::MalformedJson(_)),
        "{err:?}"
    );
    // JSON that is not an event
    let err = stripe::normalise(b"[1,2]", None).unwrap_err();
    assert!(
        matches!(err, stripe::NormaliseError::NotAnEvent { reason: "no id" }),
        "{err:?}"
    );
}

#[test]
fn when_relevant_event_lacks_amount_then_unprocessable() {
    let body = br#"{"id":"evt_x","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","customer":"cus_1","currency":"usd"}}}"#;
    let err = stripe::normalise(body, None).unwrap_err();
    assert!(
        matches!(
            &err,
            stripe::NormaliseError::Unprocessable { event_id, reason: "no amount", .. } if event_id == "evt_x"
        ),
        "{err:?}"
    );
}

#[test]
fn when_fields_have_unexpected_types_then_they_are_treated_as_absent() {
    // given a subscription with odd types in fields we do not need, and some we do
    let body = br#"{"id":"evt_y","type":"customer.subscription.created","created":"1700000000",
      "data":{"object":{"id":"sub_y","customer":{"id":"cus_y","metadata":7},"status":5,"metadata":[],
      "items":{"data":[{"quantity":"2","price":{"id":"price_y","unit_amount":500.0,"currency":"usd","recurring":{"interval":"month"}}}]}}},
      "unknown":{"deeply":["nested",1]}}"#;
    let stripe::Normalised::Event(e) = stripe::normalise(body, Some("referred_by")).unwrap() else {
        panic!("expected an event");
    };
    assert_eq!(e.occurred_at, at(1_700_000_000));
    assert_eq!(e.customer.id, "cus_y");
    assert_eq!(e.refs.referrer, None);
    let sub = e.subscription.unwrap();
    assert_eq!(sub.status, None);
    assert_eq!(sub.monthly_amount, Some(money(1000, "usd")));
}

#[test]
fn when_event_type_is_unknown_then_ignored() {
    let body = br#"{"id":"evt_z","type":"invoice.upcoming","created":1,"data":{"object":{}}}"#;
    assert_eq!(
        stripe::normalise(body, None).unwrap(),
        stripe::Normalised::Ignored {
            event_type: "invoice.upcoming".into(),
            reason: "event type not used by Saguaro"
        }
    );
    let body = br#"{"id":"ev_z","event_type":"subscription_renewed","occurred_at":1,"content":{}}"#;
    assert!(matches!(
        chargebee::normalise(body, None).unwrap(),
        chargebee::Normalised::Ignored { event_type, .. } if event_type == "subscription_renewed"
    ));
}

#[test]
fn when_referral_key_is_not_configured_then_no_referrer() {
    let body = data("stripe/2020-03-02_customer.subscription.created.json");
    let stripe::Normalised::Event(e) = stripe::normalise(&body, None).unwrap() else {
        panic!("expected an event");
    };
    assert_eq!(e.refs.referrer, None);
}

// ---- Chargebee, Product Catalog 2.0 (hand-built, see tests/data/README.md) ----

fn pc2_change() -> chargebee::SubscriptionChange {
    match chargebee::normalise(
        &data("chargebee/pc2_subscription_changed.json"),
        Some("referred_by"),
    )
    .unwrap()
    {
        chargebee::Normalised::SubscriptionChanged(c) => *c,
        other => panic!("expected a change, got {other:?}"),
    }
}

#[test]
fn when_pc2_subscription_changes_then_snapshot_sums_plan_and_addon_but_not_charges() {
    let change = pc2_change();
    assert_eq!(change.event_id, "ev_pc2_changed_1");
    assert_eq!(
        change.customer,
        CustomerId::new(Provider::Chargebee, "cust_pc2")
    );
    assert_eq!(change.occurred_at, at(1_703_000_000));
    assert_eq!(change.resource_version, Some(1_703_000_000_123));
    // the subscription's custom field wins over the customer's
    assert_eq!(
        change.referrer,
        Some(CustomerId::new(Provider::Chargebee, "cust_ref_sub"))
    );
    assert_eq!(change.subscription.plan.as_deref(), Some("pro-EUR-yearly"));
    // (240.00 + 24.00) a year = 22.00 a month; the one-time setup fee is not recurring
    assert_eq!(change.subscription.monthly_amount, Some(money(2200, "eur")));
}

#[test]
fn when_pc2_payment_succeeds_then_transaction_is_the_payment() {
    let e = chargebee_event("pc2_payment_succeeded.json");
    assert_eq!(e.trigger, Trigger::PaymentSucceeded);
    assert_eq!(e.customer.id, "cust_pc2");
    assert_eq!(e.amount, Some(money(11_667, "inr")));
    assert_eq!(e.refs.payment.as_deref(), Some("txn_pc2_paid"));
    assert_eq!(e.refs.invoice.as_deref(), Some("203"));
    assert_eq!(e.occurred_at, at(1_702_645_601));
    let sub = e.subscription.unwrap();
    assert_eq!(
        sub.plan.as_deref(),
        Some("cross-train-advanced-INR-1_MONTH")
    );
    assert_eq!(sub.monthly_amount, Some(money(11_667, "inr")));
}

#[test]
fn when_pc2_payment_is_refunded_then_refund_points_at_the_paid_transaction() {
    let e = chargebee_event("pc2_payment_refunded.json");
    assert_eq!(e.trigger, Trigger::PaymentRefunded);
    assert_eq!(e.refs.payment.as_deref(), Some("txn_pc2_paid"));
    assert_eq!(e.amount, Some(money(5000, "inr")));
    assert_eq!(e.refunded_total, None);
    // no invoice in content: taken from the transaction's linked_invoices
    assert_eq!(e.refs.invoice.as_deref(), Some("203"));
    assert_eq!(e.subscription, None);
}

#[test]
fn when_pc2_subscription_is_cancelled_then_cancelled() {
    let e = chargebee_event("pc2_subscription_cancelled.json");
    assert_eq!(e.trigger, Trigger::SubscriptionCancelled);
    assert_eq!(e.id.as_str(), "ev_pc2_cancelled_1");
    let sub = e.subscription.unwrap();
    assert_eq!(sub.id, "sub_pc2_1");
    assert_eq!(sub.status.as_deref(), Some("cancelled"));
    assert_eq!(sub.started_at, Some(at(1_702_578_600)));
}

#[test]
fn when_chargebee_referral_is_only_on_the_customer_then_it_is_read_there() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&data("chargebee/pc2_subscription_changed.json")).unwrap();
    body["content"]["subscription"]
        .as_object_mut()
        .unwrap()
        .remove("cf_referred_by");
    let chargebee::Normalised::SubscriptionChanged(change) =
        chargebee::normalise(&serde_json::to_vec(&body).unwrap(), Some("referred_by")).unwrap()
    else {
        panic!("expected a change");
    };
    assert_eq!(
        change.referrer,
        Some(CustomerId::new(Provider::Chargebee, "cust_ref_customer"))
    );
}

#[test]
fn when_chargebee_refund_lacks_refunded_txn_id_then_unprocessable() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&data("chargebee/pc2_payment_refunded.json")).unwrap();
    body["content"]["transaction"]
        .as_object_mut()
        .unwrap()
        .remove("refunded_txn_id");
    let err = chargebee::normalise(&serde_json::to_vec(&body).unwrap(), None).unwrap_err();
    assert!(
        matches!(
            err,
            chargebee::NormaliseError::Unprocessable {
                reason: "no refunded_txn_id",
                ..
            }
        ),
        "{err:?}"
    );
}

fn invoice_payment_event(object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "evt_1QInvoicePayment",
        "object": "event",
        "api_version": "2025-08-27.basil",
        "created": 1_756_000_000,
        "type": "invoice_payment.paid",
        "data": { "object": object }
    }))
    .unwrap()
}

#[test]
fn when_basil_reports_an_invoice_payment_then_it_is_the_link_of_its_payment_intent_and_invoice() {
    // the shape of `invoice_payment` in Stripe's OpenAPI fixtures, with real-looking ids
    let body = invoice_payment_event(serde_json::json!({
        "id": "inpay_1Q", "object": "invoice_payment", "amount_paid": 2999,
        "currency": "usd", "invoice": "in_1Q", "is_default": true,
        "payment": { "type": "payment_intent", "payment_intent": "pi_3Q" },
        "status": "paid"
    }));
    match stripe::normalise(&body, None).unwrap() {
        stripe::Normalised::InvoiceLink(link) => {
            assert_eq!(
                (link.payment_intent.as_str(), link.invoice.as_str()),
                ("pi_3Q", "in_1Q")
            );
            assert_eq!(link.paid_at, at(1_756_000_000));
        }
        other => panic!("expected a link, got {other:?}"),
    }
    // an expanded invoice object is read by its id
    let body = invoice_payment_event(serde_json::json!({
        "invoice": { "id": "in_1Q", "object": "invoice" },
        "payment": { "type": "payment_intent", "payment_intent": { "id": "pi_3Q" } },
        "status": "paid"
    }));
    assert!(matches!(
        stripe::normalise(&body, None).unwrap(),
        stripe::Normalised::InvoiceLink(l) if l.invoice == "in_1Q" && l.payment_intent == "pi_3Q"
    ));
}

#[test]
fn when_an_invoice_payment_names_no_payment_intent_or_is_not_paid_then_it_is_ignored_and_no_invoice_is_unprocessable()
 {
    for (object, reason) in [
        (
            serde_json::json!({ "invoice": "in_1Q", "payment": { "type": "out_of_band_payment" }, "status": "paid" }),
            "invoice payment by no PaymentIntent",
        ),
        (
            serde_json::json!({ "invoice": "in_1Q", "payment": { "type": "payment_intent", "payment_intent": "pi_3Q" }, "status": "canceled" }),
            "invoice payment not paid",
        ),
    ] {
        assert_eq!(
            stripe::normalise(&invoice_payment_event(object), None).unwrap(),
            stripe::Normalised::Ignored {
                event_type: "invoice_payment.paid".to_owned(),
                reason
            }
        );
    }
    let no_invoice = invoice_payment_event(serde_json::json!({
        "payment": { "type": "payment_intent", "payment_intent": "pi_3Q" }, "status": "paid"
    }));
    assert!(matches!(
        stripe::normalise(&no_invoice, None),
        Err(stripe::NormaliseError::Unprocessable {
            reason: "no invoice",
            ..
        })
    ));
}
