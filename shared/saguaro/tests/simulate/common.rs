//! The small history and the two programs of `simulate.rs`, shared with the browser test.
#![allow(dead_code)] // each test file uses part of it

/// Program A: one point per dollar capped at 50 a month, 10 on subscribing, Gold (×2) from
/// 100 qualifying points, double points on payments in March 2026, a 5.00 usd credit for 100
/// points. UTC, so that days and months are plain.
pub const BASE: &str = r#"
[program]
name = "Base"
timezone = "UTC"

[[earn]]
id = "spend"
on = "payment.succeeded"
per_amount = { usd = 100 }
cap = { points = 50, per = "month" }

[[earn]]
id = "welcome"
on = "subscription.created"
points = 10

[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 100
multiplier = "2"

[[promotions]]
id = "spring"
starts = 2026-03-01
ends = 2026-04-01
multiplier = "2"
applies_to = ["payment.succeeded"]

[[rewards]]
id = "credit"
kind = "billing_credit"
cost = 100
value = { usd = 500 }
"#;

/// Program B: the same without the cap and without the promotion.
pub fn compare_program() -> String {
    BASE.replace("name = \"Base\"", "name = \"No cap\"")
        .replace("cap = { points = 50, per = \"month\" }\n", "")
        .replace(
            "[[promotions]]\nid = \"spring\"\nstarts = 2026-03-01\nends = 2026-04-01\nmultiplier = \"2\"\napplies_to = [\"payment.succeeded\"]\n",
            "",
        )
}

pub fn pay(id: &str, customer: &str, at: &str, minor: i64, payment: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"payment.succeeded","customer":{{"provider":"custom","id":"{customer}"}},"occurred_at":"{at}","amount":{{"minor":{minor},"currency":"usd"}},"payment":"{payment}","subscription":{{"id":"sub-{customer}","plan":"basic","status":"active","started_at":"2026-01-05T09:00:00Z"}}}}"#
    )
}

pub fn refund(
    id: &str,
    customer: &str,
    at: &str,
    minor: i64,
    currency: &str,
    payment: &str,
) -> String {
    format!(
        r#"{{"id":"{id}","type":"payment.refunded","customer":{{"provider":"custom","id":"{customer}"}},"occurred_at":"{at}","amount":{{"minor":{minor},"currency":"{currency}"}},"payment":"{payment}"}}"#
    )
}

/// The history, deliberately out of order (the simulator sorts by time).
pub fn history() -> String {
    [
        pay("a5", "a", "2026-04-02T10:00:00Z", 3000, "pay-a5"),
        r#"{"id":"a0","type":"subscription.created","customer":{"provider":"custom","id":"a"},"occurred_at":"2026-01-05T09:00:00Z","subscription":{"id":"sub-a","plan":"basic","status":"active","started_at":"2026-01-05T09:00:00Z"}}"#.to_owned(),
        pay("a1", "a", "2026-01-10T10:00:00Z", 3000, "pay-a1"),
        pay("a2", "a", "2026-01-20T10:00:00Z", 4000, "pay-a2"),
        pay("a3", "a", "2026-02-10T10:00:00Z", 2500, "pay-a3"),
        String::new(),
        pay("b1", "b", "2026-02-01T10:00:00Z", 1500, "pay-b1"),
        pay("a4", "a", "2026-03-10T10:00:00Z", 2000, "pay-a4"),
        refund("a4-r", "a", "2026-03-15T10:00:00Z", 1000, "usd", "pay-a4"),
        // The same event again: a duplicate, nothing changes.
        pay("a1", "a", "2026-01-10T10:00:00Z", 3000, "pay-a1"),
        // A refund in another currency than its payment: refused, listed with its line (11).
        refund("b1-r", "b", "2026-02-03T10:00:00Z", 500, "eur", "pay-b1"),
    ]
    .join("\n")
}
