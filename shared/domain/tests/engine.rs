//! The arithmetic and rules of docs/design.md §4, with worked numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use jiff::Timestamp;
use saguaro_domain::ledger::{LedgerLine, LineKind, RewardOutbox};
use saguaro_domain::{CustomerId, CustomerState, Event, Money, Program, Provider, Trigger, apply};

const HEADER: &str = r#"
[program]
name = "Test"
timezone = "America/New_York"
"#;

fn program(body: &str) -> Program {
    Program::parse(&format!("{HEADER}{body}")).unwrap_or_else(|e| panic!("{e}"))
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn alice() -> CustomerId {
    CustomerId::new(Provider::Custom, "alice")
}

fn money(minor: i64, currency: &str) -> Money {
    Money::new(minor, currency.parse().unwrap())
}

fn pay(id: &str, at: &str, minor: i64, currency: &str) -> Event {
    let mut e = Event::new(id, alice(), Trigger::PaymentSucceeded, t(at));
    e.amount = Some(money(minor, currency));
    e.refs.payment = Some(format!("pay-{id}"));
    e
}

fn refund(id: &str, at: &str, payment_event: &str, minor: i64) -> Event {
    let mut e = Event::new(id, alice(), Trigger::PaymentRefunded, t(at));
    e.amount = Some(money(minor, "usd"));
    e.refs.payment = Some(format!("pay-{payment_event}"));
    e
}

/// Applies events in order to one customer; returns the final state, all lines and rewards.
struct Run {
    state: CustomerState,
    lines: Vec<LedgerLine>,
    rewards: Vec<RewardOutbox>,
}

fn run(p: &Program, events: &[Event]) -> Run {
    let mut r = Run {
        state: CustomerState::new(alice()),
        lines: vec![],
        rewards: vec![],
    };
    for e in events {
        let o = apply(p, &r.state, e).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        r.state = o.state;
        r.lines.extend(o.lines);
        r.rewards.extend(o.rewards);
    }
    assert_eq!(
        r.state.balance,
        r.lines.iter().map(|l| l.points).sum::<i64>(),
        "balance = sum of ledger"
    );
    r
}

fn earned(r: &Run) -> Vec<i64> {
    r.lines
        .iter()
        .filter(|l| l.kind == LineKind::Earn)
        .map(|l| l.points)
        .collect()
}

#[test]
fn when_gold_customer_pays_1999_usd_in_double_points_then_49_points() {
    // Given Gold (1.25) and a x2 promotion, 1 point per 100 cents
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Gold"
min_points = 100
multiplier = "1.25"
[[promotions]]
id = "double"
starts = 2026-12-01T00:00:00-05:00
ends = 2027-01-01T00:00:00-05:00
multiplier = "2"
"#,
    );
    // When a first payment lifts her to Gold, then she pays 19.99 in December
    let r = run(
        &p,
        &[
            pay("e1", "2026-11-20T12:00:00Z", 10_000, "usd"),
            pay("e2", "2026-12-05T15:00:00Z", 1_999, "usd"),
        ],
    );
    // Then 19.99 × 1.25 × 2 = 49.975 → 49 (the first payment was at Member, no promotion)
    assert_eq!(earned(&r), vec![100, 49]);
    assert_eq!(r.state.tier.as_deref(), Some("Gold"));
}

#[test]
fn when_currency_has_no_decimals_or_three_then_minor_units_are_used_as_they_are() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { jpy = 100, kwd = 1000 }
[[tiers]]
name = "Base"
min_points = 0
multiplier = "1.25"
"#,
    );
    // ¥1999 at 1 point per ¥100: floor(19.99 × 1.25) = 24
    let r = run(&p, &[pay("jpy", "2026-05-01T12:00:00Z", 1_999, "jpy")]);
    assert_eq!(earned(&r), vec![24]);
    // 12.345 KD at 1 point per 1 KD (1000 fils): floor(12.345 × 1.25) = floor(15.43125) = 15
    let r = run(&p, &[pay("kwd", "2026-05-01T12:00:00Z", 12_345, "kwd")]);
    assert_eq!(earned(&r), vec![15]);
    // A currency the rule does not list earns nothing from per_amount
    let r = run(&p, &[pay("usd", "2026-05-01T12:00:00Z", 12_345, "usd")]);
    assert_eq!(earned(&r), Vec::<i64>::new());
}

#[test]
fn when_rule_has_fixed_points_and_per_amount_then_both_are_multiplied_and_floored_once() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
points = 3
per_amount = { usd = 300 }
[[tiers]]
name = "Base"
min_points = 0
multiplier = "1.5"
"#,
    );
    // (3 + 1000/300) × 1.5 = (3 + 3.333…) × 1.5 = 9.5 → 9. Flooring 3.333 first would give 9 too,
    // so also check 1100: (3 + 3.666…) × 1.5 = 10.0 exactly → 10 (floor-first would give 9).
    let r = run(
        &p,
        &[
            pay("a", "2026-05-01T12:00:00Z", 1_000, "usd"),
            pay("b", "2026-05-02T12:00:00Z", 1_100, "usd"),
        ],
    );
    assert_eq!(earned(&r), vec![9, 10]);
    // A zero-amount invoice earns the fixed points only
    let r = run(&p, &[pay("z", "2026-05-01T12:00:00Z", 0, "usd")]);
    assert_eq!(earned(&r), vec![4]);
}

#[test]
fn when_rule_filters_plans_then_only_listed_plans_earn() {
    let p = program(
        r#"
[[earn]]
id = "gold-bonus"
on = "subscription.created"
points = 500
plans = ["price_gold"]
"#,
    );
    let mut gold = Event::new(
        "g",
        alice(),
        Trigger::SubscriptionCreated,
        t("2026-05-01T00:00:00Z"),
    );
    gold.subscription = Some(saguaro_domain::SubscriptionInfo {
        id: "sub_1".into(),
        plan: Some("price_gold".into()),
        status: Some("active".into()),
        started_at: None,
        monthly_amount: None,
        resource_version: None,
    });
    let mut basic = gold.clone();
    basic.id = saguaro_domain::EventId::new("b");
    if let Some(s) = basic.subscription.as_mut() {
        s.plan = Some("price_basic".into());
    }
    assert_eq!(earned(&run(&p, &[gold])), vec![500]);
    assert_eq!(earned(&run(&p, &[basic])), Vec::<i64>::new());
}

#[test]
fn when_promotion_starts_and_ends_at_local_midnight_across_dst_then_boundaries_follow_local_time() {
    // New York: DST starts 2026-03-08 (EST -05:00 → EDT -04:00), ends 2026-11-01 (back to EST).
    // Local datetimes in the program are read in the program's timezone.
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[promotions]]
id = "summer"
starts = 2026-03-08T00:00:00
ends = 2026-11-02T00:00:00
bonus = 7
"#,
    );
    let cases = [
        // one second before local midnight (EST) on March 8: not yet
        ("2026-03-08T04:59:59Z", 1),
        // local midnight, March 8, still EST (the switch is at 02:00): inclusive start
        ("2026-03-08T05:00:00Z", 8),
        // Nov 1, 23:59:59 local is EST again after the switch back: 04:59:59Z on Nov 2
        ("2026-11-02T04:59:59Z", 8),
        // a summer-offset reading of the end (04:00Z) would end it an hour early
        ("2026-11-02T04:30:00Z", 8),
        // local midnight Nov 2 (EST): exclusive end
        ("2026-11-02T05:00:00Z", 1),
    ];
    for (at, points) in cases {
        let r = run(&p, &[pay("e", at, 100, "usd")]);
        assert_eq!(earned(&r), vec![points], "at {at}");
    }
}

#[test]
fn when_cap_is_reached_then_it_resets_at_the_local_month_boundary() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
cap = { points = 100, per = "month" }
[[promotions]]
id = "bonus"
starts = 2026-01-01T00:00:00Z
ends = 2027-01-01T00:00:00Z
bonus = 5
"#,
    );
    let r = run(
        &p,
        &[
            // January (local): 80 + 5 bonus = 85
            pay("a", "2026-01-20T12:00:00Z", 8_000, "usd"),
            // 2026-02-01T04:30Z is still Jan 31, 23:30 in New York: only 15 left in January
            pay("b", "2026-02-01T04:30:00Z", 8_000, "usd"),
            // 00:30 local Feb 1: a new month, the cap applies afresh (bonus included)
            pay("c", "2026-02-01T05:30:00Z", 8_000, "usd"),
            pay("d", "2026-02-02T12:00:00Z", 8_000, "usd"),
        ],
    );
    assert_eq!(earned(&r), vec![85, 15, 85, 15]);
}

#[test]
fn when_payment_is_refunded_twice_after_a_redemption_then_reversals_are_proportional_and_cumulative()
 {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[tiers]]
name = "Base"
min_points = 0
multiplier = "1.25"
[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 100
value = { usd = 500 }
"#,
    );
    let r = run(
        &p,
        &[
            // 200.00 × 1.25 = 250 points; two credits of 100 are redeemed (one row, quantity 2)
            // → balance 50
            pay("p1", "2026-05-01T12:00:00Z", 20_000, "usd"),
            // refund 80.00 of 200.00: floor(250 × 80/200) = 100 → balance -50
            refund("r1", "2026-05-02T12:00:00Z", "p1", 8_000),
            // refund 30.00 more (110.00 in all): floor(250 × 110/200) = 137, minus 100 → 37
            refund("r2", "2026-05-03T12:00:00Z", "p1", 3_000),
        ],
    );
    let earn_line = r.lines.iter().find(|l| l.kind == LineKind::Earn).unwrap();
    assert_eq!(earn_line.points, 250);
    let reversals: Vec<(i64, Option<u64>)> = r
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Reversal)
        .map(|l| (l.points, l.refers_to))
        .collect();
    assert_eq!(
        reversals,
        vec![(-100, Some(earn_line.seq)), (-37, Some(earn_line.seq))]
    );
    assert_eq!(r.rewards.len(), 1);
    assert_eq!((r.rewards[0].quantity, r.rewards[0].points), (2, 200));
    assert_eq!(r.rewards[0].value, Some(money(1_000, "usd")));
    assert_eq!(r.state.balance, 250 - 200 - 137);
    assert_eq!(r.state.balance, -87);
    assert_eq!(r.state.deficit, 87);
    assert!(r.state.lots.is_empty());
    // no reward while the balance is negative; the next earnings repay the deficit first
    let mut events = vec![
        pay("p1", "2026-05-01T12:00:00Z", 20_000, "usd"),
        refund("r1", "2026-05-02T12:00:00Z", "p1", 8_000),
        refund("r2", "2026-05-03T12:00:00Z", "p1", 3_000),
    ];
    events.push(pay("p2", "2026-05-04T12:00:00Z", 8_000, "usd"));
    let r = run(&p, &events);
    // 80.00 × 1.25 = 100 points: 87 repay the deficit, a lot of 13 remains, no credit (13 < 100)
    assert_eq!(r.state.balance, 13);
    assert_eq!(r.state.deficit, 0);
    assert_eq!(r.state.lots.iter().map(|l| l.remaining).sum::<i64>(), 13);
    assert_eq!(r.rewards.len(), 1);
}

#[test]
fn when_refund_exceeds_payment_or_arrives_first_then_reversal_is_bounded_and_applied_later() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#,
    );
    // The refund is delivered before its payment: it is remembered, then applied.
    let r = run(
        &p,
        &[
            refund("r1", "2026-05-02T12:00:00Z", "p1", 5_000),
            pay("p1", "2026-05-01T12:00:00Z", 10_000, "usd"),
        ],
    );
    assert_eq!(r.state.balance, 50);
    // Refunding more than was paid reverses no more than was earned.
    let r = run(
        &p,
        &[
            pay("p1", "2026-05-01T12:00:00Z", 10_000, "usd"),
            refund("r1", "2026-05-02T12:00:00Z", "p1", 50_000),
        ],
    );
    assert_eq!(r.state.balance, 0);
}

#[test]
fn when_a_partly_spent_lot_expires_then_only_its_remainder_expires_at_local_end_of_day() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[expiry]
after_days = 30
"#,
    );
    let mut spend = Event::new(
        "adj",
        alice(),
        Trigger::PointsAdjusted,
        t("2026-05-10T12:00:00Z"),
    );
    spend.points = Some(-130);
    let expire = |id: &str, at: &str| Event::new(id, alice(), Trigger::PointsExpired, t(at));
    let r = run(
        &p,
        &[
            // lot A: 100 points earned 2026-05-01 (local), expires at the end of 2026-05-31
            pay("a", "2026-05-01T12:00:00Z", 10_000, "usd"),
            // lot B: 50 points earned 2026-05-05, expires at the end of 2026-06-04
            pay("b", "2026-05-05T12:00:00Z", 5_000, "usd"),
            // 130 spent: lot A (soonest expiring) fully, then 30 of lot B
            spend,
            // 23:59 on June 4 in New York: B still valid
            expire("x1", "2026-06-05T03:59:00Z"),
            // 00:00 on June 5 in New York: B's remainder (20) expires
            expire("x2", "2026-06-05T04:00:00Z"),
        ],
    );
    let expiries: Vec<(i64, &str)> = r
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Expiry)
        .map(|l| (l.points, l.event_id.as_str()))
        .collect();
    assert_eq!(expiries, vec![(-20, "x2")]);
    let lot_b_line = r
        .lines
        .iter()
        .find(|l| l.event_id.as_str() == "b")
        .unwrap()
        .seq;
    assert_eq!(r.lines.last().unwrap().refers_to, Some(lot_b_line));
    assert_eq!(r.state.balance, 0);
    assert!(r.state.lots.is_empty());
}

#[test]
fn when_one_event_earns_twice_the_cost_then_one_credit_of_quantity_two_and_a_coupon_once() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100, eur = 100 }
[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 100
value = { usd = 500 }
[[rewards]]
id = "coupon"
kind = "coupon"
cost = 40
coupon = "LOYAL20"
"#,
    );
    let r = run(&p, &[pay("p", "2026-05-01T12:00:00Z", 25_000, "usd")]);
    // 250 points: the credit twice in one row (file order first), then the coupon once; 10 left
    let redeemed: Vec<(&str, u64, i64)> = r
        .rewards
        .iter()
        .map(|x| (x.reward.as_str(), x.quantity, x.points))
        .collect();
    assert_eq!(redeemed, vec![("credit", 2, 200), ("coupon", 1, 40)]);
    assert_eq!(r.rewards[0].value, Some(money(1_000, "usd")));
    assert_ne!(r.rewards[0].id, r.rewards[1].id);
    let redemptions: Vec<i64> = r
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Redemption)
        .map(|l| l.points)
        .collect();
    assert_eq!(redemptions, vec![-200, -40], "one line per redemption row");
    assert_eq!(r.state.balance, 10);
    // A customer paying in EUR gets no usd-only credit; a coupon at most once per event
    let r = run(&p, &[pay("p", "2026-05-01T12:00:00Z", 25_000, "eur")]);
    let redeemed: Vec<(&str, u64)> = r
        .rewards
        .iter()
        .map(|x| (x.reward.as_str(), x.quantity))
        .collect();
    assert_eq!(redeemed, vec![("coupon", 1)]);
    assert_eq!(r.state.balance, 210);
}

#[test]
fn when_customer_enters_a_tier_then_on_tier_reward_is_issued_once_and_multiplier_applies_from_next_event()
 {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[earn]]
id = "debit"
on = "custom.noop"
points = 1
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Gold"
min_points = 100
multiplier = "2"
grants = ["support"]
[[rewards]]
id = "lounge"
kind = "access"
grant = "lounge"
on_tier = "Gold"
"#,
    );
    let r = run(
        &p,
        &[
            pay("a", "2026-05-01T12:00:00Z", 15_000, "usd"),
            refund("r", "2026-05-02T12:00:00Z", "a", 15_000),
            pay("b", "2026-05-03T12:00:00Z", 15_000, "usd"),
            pay("c", "2026-05-04T12:00:00Z", 1_000, "usd"),
        ],
    );
    // a: 150 at Member (tier before the event), b: 150 (back to Member after the refund), c: 10 × 2
    assert_eq!(earned(&r), vec![150, 150, 20]);
    assert_eq!(
        r.rewards.len(),
        1,
        "the tier reward is issued once, not on re-entry"
    );
    assert_eq!(r.rewards[0].grant.as_deref(), Some("lounge"));
    assert!(r.state.grants.contains("lounge"));
}

#[test]
fn when_a_refund_drops_the_customer_below_the_tier_then_its_access_grant_is_removed_until_they_return()
 {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Gold"
min_points = 100
[[tiers]]
name = "Platinum"
min_points = 1000
[[rewards]]
id = "lounge"
kind = "access"
grant = "lounge"
on_tier = "Gold"
"#,
    );
    let gold = run(&p, &[pay("a", "2026-05-01T12:00:00Z", 15_000, "usd")]);
    assert_eq!(gold.state.tier.as_deref(), Some("Gold"));
    assert!(gold.state.grants.contains("lounge"));

    // 150 qualifying points, 60 refunded: 90 < 100, back to Member: the lounge goes.
    let dropped = run(
        &p,
        &[
            pay("a", "2026-05-01T12:00:00Z", 15_000, "usd"),
            refund("r", "2026-05-02T12:00:00Z", "a", 6_000),
        ],
    );
    assert_eq!(dropped.state.tier.as_deref(), Some("Member"));
    assert!(
        !dropped.state.grants.contains("lounge"),
        "{:?}",
        dropped.state.grants
    );
    assert_eq!(
        dropped.rewards.len(),
        1,
        "the row that gave it stays, delivered or not"
    );

    // Higher tiers keep it; coming back to Gold gives it back without a second row.
    let back = run(
        &p,
        &[
            pay("a", "2026-05-01T12:00:00Z", 15_000, "usd"),
            refund("r", "2026-05-02T12:00:00Z", "a", 6_000),
            pay("b", "2026-05-03T12:00:00Z", 100_000, "usd"),
        ],
    );
    assert_eq!(back.state.tier.as_deref(), Some("Platinum"));
    assert!(back.state.grants.contains("lounge"));
    assert_eq!(back.rewards.len(), 1);
}

#[test]
fn when_referred_customer_first_pays_then_referrer_is_credited_once_through_a_follow_up() {
    let p = program(
        r#"
[[earn]]
id = "referrer"
on = "referral.converted"
points = 1000
beneficiary = "referrer"
[[earn]]
id = "friend"
on = "referral.converted"
points = 200
"#,
    );
    let bob = CustomerId::new(Provider::Custom, "bob");
    let mut first = pay("p1", "2026-05-01T12:00:00Z", 0, "usd");
    first.refs.referrer = Some(bob.clone());
    let second = pay("p2", "2026-05-02T12:00:00Z", 1_000, "usd");
    let third = pay("p3", "2026-05-03T12:00:00Z", 1_000, "usd");
    let mut state = CustomerState::new(alice());
    let mut follow_ups = vec![];
    for e in [first, second, third] {
        let o = apply(&p, &state, &e).unwrap();
        state = o.state;
        follow_ups.extend(o.follow_ups);
    }
    // A zero-amount invoice does not convert; the first paid one does, once.
    assert_eq!(state.balance, 200);
    assert_eq!(follow_ups.len(), 1);
    let conversion = &follow_ups[0];
    assert_eq!(conversion.id.as_str(), "referral:custom:alice");
    assert_eq!(state.pending, follow_ups, "kept in state until delivered");
    // Applied to the referrer: the referrer's rules only. Once per referred customer: the
    // referred customer converts once, and the event marker dedupes redeliveries of the
    // follow-up (`shared/app/tests/limits.rs`).
    let bob_state = CustomerState::new(bob.clone());
    let o = apply(&p, &bob_state, conversion).unwrap();
    assert_eq!(o.state.balance, 1000);
    assert_eq!(o.lines[0].rule, "referrer");
    assert_eq!(o.lines.len(), 1);
    // A stranger is not a beneficiary.
    let carol = CustomerState::new(CustomerId::new(Provider::Custom, "carol"));
    assert!(apply(&p, &carol, conversion).is_err());
}

#[test]
fn when_an_explicit_referral_converts_then_the_referrers_follow_up_has_an_id_of_its_own() {
    let p = program(
        r#"
[[earn]]
id = "referrer"
on = "referral.converted"
points = 1000
beneficiary = "referrer"
"#,
    );
    let bob = CustomerId::new(Provider::Custom, "bob");
    let mut converted = Event::new(
        "merchant-ref-1",
        alice(),
        Trigger::ReferralConverted,
        "2026-05-01T12:00:00Z".parse().unwrap(),
    );
    converted.refs.referrer = Some(bob.clone());
    let o = apply(&p, &CustomerState::new(alice()), &converted).unwrap();
    // One event id is one event: the referrer's side cannot reuse the merchant's id.
    assert_eq!(o.follow_ups.len(), 1);
    assert_eq!(o.follow_ups[0].id.as_str(), "referral:custom:alice");
    let credited = apply(&p, &CustomerState::new(bob), &o.follow_ups[0]).unwrap();
    assert_eq!(credited.state.balance, 1000);
}

#[test]
fn when_every_line_is_written_then_it_names_rule_program_version_and_event() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 10
value = { usd = 100 }
"#,
    );
    let r = run(&p, &[pay("p", "2026-05-01T12:00:00Z", 1_000, "usd")]);
    assert_eq!(r.lines.len(), 2);
    for l in &r.lines {
        assert_eq!(l.program_version, p.version);
        assert_eq!(l.event_id.as_str(), "p");
    }
    assert_eq!(
        (r.lines[0].rule.as_str(), r.lines[1].rule.as_str()),
        ("spend", "credit")
    );
    assert_eq!(r.rewards[0].line, Some(r.lines[1].seq));
}

#[test]
fn when_rolling_window_then_old_months_stop_counting_towards_the_tier() {
    let p = Program::parse(
        r#"
[program]
name = "Rolling"
timezone = "UTC"
tier_window = "rolling-12-months"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
[[tiers]]
name = "Member"
min_points = 0
[[tiers]]
name = "Gold"
min_points = 100
multiplier = "2"
"#,
    )
    .unwrap();
    let r = run(
        &p,
        &[
            pay("a", "2025-01-15T12:00:00Z", 10_000, "usd"),
            // December 2025: January 2025 is within the 12 months → Gold → × 2
            pay("b", "2025-12-15T12:00:00Z", 1_000, "usd"),
            // February 2027: nothing earned within the last 12 months → Member
            pay("c", "2027-02-15T12:00:00Z", 1_000, "usd"),
        ],
    );
    assert_eq!(earned(&r), vec![100, 20, 10]);
    assert_eq!(r.state.tier.as_deref(), Some("Member"));
}

#[test]
fn when_subscription_changes_without_previous_values_then_stored_snapshot_and_resource_version_decide()
 {
    let p = program(
        r#"
[[earn]]
id = "up"
on = "subscription.upgraded"
points = 250
[[earn]]
id = "down"
on = "subscription.downgraded"
points = 1
"#,
    );
    let change = |id: &str, at: &str, monthly: i64, version: i64, trigger: Trigger| {
        let mut e = Event::new(id, alice(), trigger, t(at));
        e.subscription = Some(saguaro_domain::SubscriptionInfo {
            id: "sub_1".into(),
            plan: Some(format!("plan-{monthly}")),
            status: Some("active".into()),
            started_at: None,
            monthly_amount: Some(money(monthly, "usd")),
            resource_version: Some(version),
        });
        e
    };
    let r = run(
        &p,
        &[
            change(
                "c0",
                "2026-05-01T00:00:00Z",
                1_000,
                100,
                Trigger::SubscriptionCreated,
            ),
            // first change: 10 → 20 a month: upgrade
            change(
                "c1",
                "2026-05-02T00:00:00Z",
                2_000,
                300,
                Trigger::SubscriptionChanged,
            ),
            // a late delivery of an older change (version 200) neither earns nor undoes it
            change(
                "c2",
                "2026-05-01T12:00:00Z",
                500,
                200,
                Trigger::SubscriptionChanged,
            ),
            // same value again: nothing
            change(
                "c3",
                "2026-05-03T00:00:00Z",
                2_000,
                400,
                Trigger::SubscriptionChanged,
            ),
            // 20 → 5: downgrade
            change(
                "c4",
                "2026-05-04T00:00:00Z",
                500,
                500,
                Trigger::SubscriptionChanged,
            ),
        ],
    );
    let rules: Vec<(&str, &str)> = r
        .lines
        .iter()
        .map(|l| (l.event_id.as_str(), l.rule.as_str()))
        .collect();
    assert_eq!(rules, vec![("c1", "up"), ("c4", "down")]);
    let snapshot = &r.state.subscriptions["sub_1"];
    assert_eq!(
        (snapshot.monthly_amount, snapshot.resource_version),
        (Some(money(500, "usd")), Some(500))
    );
}

#[test]
fn when_payment_and_refund_know_each_other_by_different_ids_then_the_alias_links_them() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#,
    );
    let paid = |key: &str, alias: Option<&str>| {
        let mut e = pay("paid", "2026-05-01T12:00:00Z", 10_000, "usd");
        e.refs.payment = Some(key.into());
        e.refs.payment_alias = alias.map(Into::into);
        e
    };
    let refunded = |id: &str, key: &str, alias: Option<&str>, total: i64| {
        let mut e = refund(id, "2026-05-02T12:00:00Z", "x", total);
        e.refs.payment = Some(key.into());
        e.refs.payment_alias = alias.map(Into::into);
        e.refunded_total = Some(money(total, "usd"));
        e
    };
    // A basil invoice.paid keyed by invoice; the refund's PaymentIntent is unknown to the
    // ledger, its alias (the invoice, found by the edge) is known.
    let r = run(
        &p,
        &[
            paid("in_1", None),
            refunded("r1", "pi_1", Some("in_1"), 5_000),
        ],
    );
    assert_eq!(r.state.balance, 50);
    // Pre-basil: paid keyed by PaymentIntent (alias invoice), refund by PaymentIntent.
    let r = run(
        &p,
        &[
            paid("pi_1", Some("in_1")),
            refunded("r1", "pi_1", Some("in_1"), 2_500),
        ],
    );
    assert_eq!(r.state.balance, 75);
    // The refund arrives first: it waits under the invoice, which the payment also names.
    let r = run(
        &p,
        &[
            refunded("r1", "pi_1", Some("in_1"), 10_000),
            paid("pi_1", Some("in_1")),
        ],
    );
    assert_eq!(r.state.balance, 0);
    assert_eq!(r.state.payments.len(), 1);
}
