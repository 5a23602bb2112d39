//! When a rolling-12-month tier is due for review without an event of the customer's
//! (`CustomerState::tier_review_on`, docs/design.md §4.5): the last day before the oldest month
//! with qualifying points leaves the window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use jiff::Timestamp;
use jiff::civil::date;
use saguaro_domain::schedule::ScheduleIndex;
use saguaro_domain::{CustomerId, CustomerState, Event, Money, Program, Provider, Trigger, apply};

fn program(window: &str) -> Program {
    Program::parse(&format!(
        r#"
[program]
name = "Review"
timezone = "America/New_York"
tier_window = "{window}"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = {{ usd = 100 }}

[expiry]
after_days = 730

[[tiers]]
name = "Member"
min_points = 0
multiplier = "1"

[[tiers]]
name = "Silver"
min_points = 1000
multiplier = "1"
"#
    ))
    .unwrap()
}

fn alice() -> CustomerId {
    CustomerId::new(Provider::Custom, "alice")
}

fn pay(id: &str, at: &str, dollars: i64) -> Event {
    let mut e = Event::new(id, alice(), Trigger::PaymentSucceeded, at.parse().unwrap());
    e.amount = Some(Money::new(dollars * 100, "usd".parse().unwrap()));
    e.refs.payment = Some(format!("pay-{id}"));
    e
}

fn expiry_run(at: &str) -> Event {
    let at: Timestamp = at.parse().unwrap();
    Event::new(format!("expire-{at}"), alice(), Trigger::PointsExpired, at)
}

fn after(p: &Program, events: &[Event]) -> CustomerState {
    events.iter().fold(CustomerState::new(alice()), |s, e| {
        apply(p, &s, e)
            .unwrap_or_else(|err| panic!("{}: {err}", e.id))
            .state
    })
}

#[test]
fn when_a_rolling_tier_rests_on_one_month_then_its_review_is_the_last_day_before_it_leaves() {
    let p = program("rolling-12-months");
    // 31 January 2026, 20:00 in New York (1 February in UTC): a January point.
    let s = after(&p, &[pay("a", "2026-02-01T01:00:00Z", 1200)]);
    assert_eq!(s.tier.as_deref(), Some("Silver"));
    assert_eq!(s.tier_review_on, Some(date(2026, 12, 31)));
    // Lots expire after 730 days, so the review comes first in the index.
    assert_eq!(ScheduleIndex::of(&s).expires, Some(date(2026, 12, 31)));
}

#[test]
fn when_later_months_still_hold_the_tier_then_the_review_moves_to_the_next_month_leaving() {
    let p = program("rolling-12-months");
    let s = after(
        &p,
        &[
            pay("jan", "2026-01-10T15:00:00Z", 600),
            pay("mar", "2026-03-10T15:00:00Z", 1100),
            // The daily job's visit on 1 January 2027: January 2026 left, March holds Silver.
            expiry_run("2027-01-01T05:00:00Z"),
        ],
    );
    assert_eq!(s.tier.as_deref(), Some("Silver"));
    assert_eq!(s.tier_review_on, Some(date(2027, 2, 28)));
    // The job's visit on 1 March 2027: March 2026 has left too.
    let s = after(
        &p,
        &[
            pay("jan", "2026-01-10T15:00:00Z", 600),
            pay("mar", "2026-03-10T15:00:00Z", 1100),
            expiry_run("2027-03-01T05:00:00Z"),
        ],
    );
    assert_eq!(s.tier.as_deref(), Some("Member"));
    assert_eq!(s.tier_review_on, None);
}

#[test]
fn when_tiers_count_lifetime_points_or_the_customer_is_in_the_lowest_tier_then_no_review() {
    let lifetime = after(
        &program("lifetime"),
        &[pay("a", "2026-01-10T15:00:00Z", 1200)],
    );
    assert_eq!(lifetime.tier.as_deref(), Some("Silver"));
    assert_eq!(lifetime.tier_review_on, None);
    let member = after(
        &program("rolling-12-months"),
        &[pay("a", "2026-01-10T15:00:00Z", 10)],
    );
    assert_eq!(member.tier.as_deref(), Some("Member"));
    assert_eq!(member.tier_review_on, None);
}
