//! The engine's limits (issue 13): no silent overflow, the tier before the event for every
//! rule of it, and state that stays bounded however long the customer's history.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use jiff::Timestamp;
use saguaro_domain::{
    CustomerId, CustomerState, EngineError, Event, Money, Program, Provider, Trigger, apply,
};

fn program(body: &str) -> Program {
    let header = "[program]\nname = \"Limits\"\ntimezone = \"America/New_York\"\n";
    Program::parse(&format!("{header}{body}")).unwrap_or_else(|e| panic!("{e}"))
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn alice() -> CustomerId {
    CustomerId::new(Provider::Custom, "alice")
}

fn pay(id: &str, at: &str, minor: i64) -> Event {
    let mut e = Event::new(id, alice(), Trigger::PaymentSucceeded, t(at));
    e.amount = Some(Money::new(minor, "usd".parse().unwrap()));
    e.refs.payment = Some(format!("pay-{id}"));
    e
}

#[test]
fn when_points_would_pass_i64_max_then_the_event_is_refused_and_nothing_changes() {
    // Given 1 point per cent and a ×1.25 tier from 1,000 points
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 1 }
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Gold"
min_points = 1000
multiplier = "1.25"
"#,
    );
    let first = apply(
        &p,
        &CustomerState::new(alice()),
        &pay("a", "2026-05-01T12:00:00Z", 5_000_000_000_000_000_000),
    )
    .unwrap();
    assert_eq!(first.state.balance, 5_000_000_000_000_000_000);
    assert_eq!(first.state.tier.as_deref(), Some("Gold"));
    // When 4·10¹⁸ more at ×1.25 would make 10¹⁹ points, past i64::MAX
    let second = apply(
        &p,
        &first.state,
        &pay("b", "2026-05-02T12:00:00Z", 4_000_000_000_000_000_000),
    );
    // Then the event is refused: no wrapped balance, no lost tier
    assert_eq!(second, Err(EngineError::Overflow));
}

#[test]
fn when_a_negative_adjustment_is_i64_min_then_it_is_refused_not_negated() {
    let p = program("");
    let mut e = Event::new(
        "adj",
        alice(),
        Trigger::PointsAdjusted,
        t("2026-05-01T12:00:00Z"),
    );
    e.points = Some(i64::MIN);
    assert_eq!(
        apply(&p, &CustomerState::new(alice()), &e),
        Err(EngineError::Overflow)
    );
}

#[test]
fn when_promotion_bonuses_sum_past_i64_then_the_event_is_refused() {
    let p = program(
        r#"
[[earn]]
id = "visit"
on = "custom.visit"
points = 1
[[promotions]]
id = "a"
starts = 2026-01-01T00:00:00Z
ends = 2027-01-01T00:00:00Z
bonus = 9223372036854775000
[[promotions]]
id = "b"
starts = 2026-01-01T00:00:00Z
ends = 2027-01-01T00:00:00Z
bonus = 9223372036854775000
"#,
    );
    let e = Event::new(
        "v",
        alice(),
        Trigger::Custom("custom.visit".into()),
        t("2026-05-01T12:00:00Z"),
    );
    assert_eq!(
        apply(&p, &CustomerState::new(alice()), &e),
        Err(EngineError::Overflow)
    );
}

#[test]
fn when_the_first_payment_lifts_a_referred_customer_into_a_tier_then_the_referral_uses_the_tier_before()
 {
    // Given Silver (×1.1) from 2,000 points and a referral-friend rule of 200
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[earn]]
id = "referral-friend"
on = "referral.converted"
points = 200
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Silver"
min_points = 2000
multiplier = "1.1"
"#,
    );
    // When a referred customer's first payment (2,500 usd → 2,500 points) lifts them to Silver
    let mut first = pay("p1", "2026-05-01T12:00:00Z", 250_000);
    first.refs.referrer = Some(CustomerId::new(Provider::Custom, "bob"));
    let o = apply(&p, &CustomerState::new(alice()), &first).unwrap();
    // Then both the payment and the referral earn at Member (×1), the tier before the event
    let points: Vec<(&str, i64)> = o
        .lines
        .iter()
        .map(|l| (l.rule.as_str(), l.points))
        .collect();
    assert_eq!(points, vec![("spend", 2500), ("referral-friend", 200)]);
    assert_eq!(o.state.tier.as_deref(), Some("Silver"));
}
