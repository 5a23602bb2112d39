//! The engine's limits (issue 13): no silent overflow, the tier before the event for every
//! rule of it, and state that stays bounded however long the customer's history.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use jiff::{Span, Timestamp};
use saguaro_domain::ids::PaymentKey;
use saguaro_domain::ledger::LineKind;
use saguaro_domain::{
    CustomerId, CustomerState, EngineError, Event, Money, Notice, Outcome, Program, Provider,
    Trigger, apply,
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

fn refund(id: &str, at: &str, payment_event: &str, minor: i64) -> Event {
    let mut e = Event::new(id, alice(), Trigger::PaymentRefunded, t(at));
    e.amount = Some(Money::new(minor, "usd".parse().unwrap()));
    e.refs.payment = Some(format!("pay-{payment_event}"));
    e
}

/// Applies the events in order from a fresh state; returns the final state and every outcome.
fn run(p: &Program, events: &[Event]) -> (CustomerState, Vec<Outcome>) {
    let mut state = CustomerState::new(alice());
    let mut outcomes = Vec::new();
    for e in events {
        let o = apply(p, &state, e).unwrap_or_else(|err| panic!("{}: {err}", e.id));
        state = o.state.clone();
        outcomes.push(o);
    }
    (state, outcomes)
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

#[test]
fn when_a_customer_earns_many_times_a_day_then_there_is_one_lot_per_expiry_day() {
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
    // Ten payments on 1 May (New York), five on 2 May; 23:30 on 1 May local is 03:30Z on 2 May.
    let mut events: Vec<Event> = (0..9)
        .map(|n| pay(&format!("a{n}"), &format!("2026-05-01T1{n}:00:00Z"), 100))
        .collect();
    events.push(pay("a9", "2026-05-02T03:30:00Z", 100));
    events.extend((0..5).map(|n| pay(&format!("b{n}"), &format!("2026-05-02T1{n}:00:00Z"), 200)));
    let (state, outcomes) = run(&p, &events);
    let lots: Vec<(String, i64, u64)> = state
        .lots
        .iter()
        .map(|l| (l.expires_on.unwrap().to_string(), l.remaining, l.line))
        .collect();
    // Each lot is identified by the first line that added to it.
    assert_eq!(
        lots,
        vec![("2026-05-31".into(), 10, 1), ("2026-06-01".into(), 10, 11)]
    );
    // Expiring the first day is one line for the whole day, referring to its first line.
    let expire = Event::new(
        "x",
        alice(),
        Trigger::PointsExpired,
        t("2026-06-01T12:00:00Z"),
    );
    let o = apply(&p, &state, &expire).unwrap();
    let expiries: Vec<(i64, Option<u64>)> = o
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Expiry)
        .map(|l| (l.points, l.refers_to))
        .collect();
    assert_eq!(expiries, vec![(-10, Some(1))]);
    // A job that missed a day expires both days in one line, referring to the soonest lot.
    let late = Event::new(
        "y",
        alice(),
        Trigger::PointsExpired,
        t("2026-06-03T12:00:00Z"),
    );
    let o = apply(&p, &state, &late).unwrap();
    let expiries: Vec<(i64, Option<u64>)> =
        o.lines.iter().map(|l| (l.points, l.refers_to)).collect();
    assert_eq!(expiries, vec![(-20, Some(1))]);
    assert!(o.state.lots.is_empty());
    assert_eq!(outcomes.len(), 15);

    // Points that never expire form one lot, whatever the days.
    let forever = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#,
    );
    let events: Vec<Event> = (1..=28)
        .map(|d| pay(&format!("d{d}"), &format!("2026-02-{d:02}T12:00:00Z"), 100))
        .collect();
    let (state, _) = run(&forever, &events);
    assert_eq!(state.lots.len(), 1);
    assert_eq!(
        (state.lots[0].remaining, state.lots[0].expires_on),
        (28, None)
    );
}

#[test]
fn when_a_payment_is_older_than_the_refund_window_then_its_refund_reverses_nothing_and_says_so() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
"#,
    );
    // Given a payment on 10 January 2025, and one 406 days later (past the default 400)
    let (state, _) = run(
        &p,
        &[
            pay("old", "2025-01-10T17:00:00Z", 10_000),
            pay("new", "2026-02-20T17:00:00Z", 10_000),
        ],
    );
    assert_eq!(
        state.payments.keys().collect::<Vec<_>>(),
        vec![&PaymentKey::of("pay-new")],
        "the old record is pruned"
    );
    // When the old payment is refunded: nothing is reversed, and the engine says why
    let o = apply(
        &p,
        &state,
        &refund("r-old", "2026-02-21T17:00:00Z", "old", 10_000),
    )
    .unwrap();
    assert!(o.lines.is_empty());
    assert_eq!(o.state.balance, 200);
    assert_eq!(
        o.notices,
        vec![Notice::RefundOfUnknownPayment {
            payment: "pay-old".into()
        }]
    );
    // A payment within the window is still reversed
    let o = apply(
        &p,
        &o.state,
        &refund("r-new", "2026-02-22T17:00:00Z", "new", 5_000),
    )
    .unwrap();
    assert_eq!(
        o.lines.iter().map(|l| l.points).collect::<Vec<_>>(),
        vec![-50]
    );
    assert!(o.notices.is_empty());

    // With `refund_window_days = 30`, a refund on day 30 finds its payment, on day 31 not.
    let short = Program::parse(
        "[program]\nname = \"Short\"\ntimezone = \"UTC\"\nrefund_window_days = 30\n\
         [[earn]]\nid = \"spend\"\non = \"payment.succeeded\"\nper_amount = { usd = 100 }\n",
    )
    .unwrap();
    let paid = pay("p", "2026-03-01T12:00:00Z", 10_000);
    let (state, _) = run(&short, std::slice::from_ref(&paid));
    let day30 = apply(
        &short,
        &state,
        &refund("r30", "2026-03-31T12:00:00Z", "p", 10_000),
    )
    .unwrap();
    assert_eq!(day30.state.balance, 0);
    let day31 = apply(
        &short,
        &state,
        &refund("r31", "2026-04-01T12:00:00Z", "p", 10_000),
    )
    .unwrap();
    assert_eq!(day31.state.balance, 100, "day 31: nothing reversed");
    assert_eq!(day31.notices.len(), 1);
}

#[test]
fn when_an_event_is_redriven_20_days_late_then_it_still_meets_its_cap() {
    let p = program(
        r#"
[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
cap = { points = 100, per = "day" }
"#,
    );
    // 1 May uses the whole daily cap; payments go on for 20 days; then a payment of 1 May,
    // redriven from the dead-letter queue, arrives.
    let mut events = vec![pay("may1", "2026-05-01T16:00:00Z", 20_000)];
    events.extend((2..=21).map(|d| {
        pay(
            &format!("d{d}"),
            &format!("2026-05-{d:02}T16:00:00Z"),
            1_000,
        )
    }));
    events.push(pay("late", "2026-05-01T18:00:00Z", 5_000));
    let (state, outcomes) = run(&p, &events);
    assert_eq!(outcomes[0].lines[0].points, 100);
    let late = outcomes.last().unwrap();
    assert!(
        late.lines.is_empty(),
        "the 1 May cap is still known: {:?}",
        late.lines
    );
    assert_eq!(state.balance, 100 + 20 * 10);
}

#[test]
fn when_a_customer_has_five_years_of_monthly_history_then_the_state_stays_bounded() {
    let p = Program::parse(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/program.example.toml"
        ))
        .unwrap(),
    )
    .unwrap();
    let start: Timestamp = "2025-01-15T15:00:00Z".parse().unwrap();
    let month = |n: i64| {
        start
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(Span::new().months(n))
            .unwrap()
            .timestamp()
    };
    let mut state = CustomerState::new(alice());
    let mut sizes = Vec::new();
    for n in 0..60 {
        let at = month(n).to_string();
        let mut events = vec![pay(&format!("p{n}"), &at, 2_999)];
        if n % 3 == 2 {
            events.push(refund(&format!("r{n}"), &at, &format!("p{n}"), 1_000));
        }
        events.push(Event::new(
            format!("x{n}"),
            alice(),
            Trigger::PointsExpired,
            month(n),
        ));
        for e in &events {
            state = apply(&p, &state, e)
                .unwrap_or_else(|err| panic!("{}: {err}", e.id))
                .state;
        }
        sizes.push(serde_json::to_string(&state).unwrap().len());
    }
    // A year of lots (one per payment day), 400 days of payment records, two caps counters.
    assert!(state.lots.len() <= 13, "{} lots", state.lots.len());
    assert!(
        state.payments.len() <= 14,
        "{} payments",
        state.payments.len()
    );
    assert!(state.caps.len() <= 2, "{} cap counters", state.caps.len());
    // The state after five years is no bigger than after two, but for the digits of the
    // growing counters (line numbers, lifetime points).
    let (two, five) = (sizes[23], sizes[59]);
    assert!(
        five <= two + two / 50,
        "state of {two} bytes after two years, {five} after five"
    );
}
