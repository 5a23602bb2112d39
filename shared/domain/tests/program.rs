//! The program file: every key of docs/design.md §4 is read; bad input names the key and the line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // in tests a failed unwrap is a failed test

use saguaro_domain::Program;
use saguaro_domain::program::{Beneficiary, CapPeriod, RewardKind, RewardTrigger, TierWindow};

/// A program with every optional key of docs/design.md §4 set, plus the base tier it requires.
const FULL: &str = r#"[program]
name = "Acme Rewards"
timezone = "America/New_York"
tier_window = "rolling-12-months"
referral_key = "referred_by"

[[earn]]
id = "spend"
on = "payment.succeeded"
points = 0
per_amount = { usd = 100, jpy = 100 }
plans = ["price_gold"]
cap = { points = 20000, per = "month" }
beneficiary = "customer"

[[earn]]
id = "referral"
on = "referral.converted"
points = 500
beneficiary = "referrer"

[[tiers]]
name = "Member"
min_points = 0

[[tiers]]
name = "Gold"
min_points = 10000
multiplier = "1.25"
grants = ["priority-support"]

[[promotions]]
id = "double-december"
starts = 2026-12-01T00:00:00-05:00
ends = 2027-01-01T00:00:00-05:00
multiplier = "2"
bonus = 100
applies_to = ["payment.succeeded"]
plans = ["price_gold"]
grant = 250

[[rewards]]
id = "credit-10"
kind = "billing_credit"
cost = 1000
value = { usd = 1000, eur = 900 }

[[rewards]]
id = "loyal-coupon"
kind = "coupon"
cost = 500
coupon = "LOYAL20"

[[rewards]]
id = "beta"
kind = "access"
grant = "beta-access"
on_tier = "Gold"

[[rewards]]
id = "perk"
kind = "perk"
cost = 2000
url = "https://perks.example.com/hooks"

[expiry]
after_days = 365
"#;

#[test]
fn when_every_key_is_set_then_every_value_is_read() {
    let p = Program::parse(FULL).unwrap();
    assert_eq!(p.name, "Acme Rewards");
    assert_eq!(p.tier_window, TierWindow::Rolling12Months);
    assert_eq!(p.referral_key.as_deref(), Some("referred_by"));
    let spend = &p.earn[0];
    assert_eq!(spend.per_amount.get(&"jpy".parse().unwrap()), Some(&100));
    assert_eq!(spend.plans.as_deref(), Some(&["price_gold".to_owned()][..]));
    assert_eq!(
        spend.cap.map(|c| (c.points, c.per)),
        Some((20000, CapPeriod::Month))
    );
    assert_eq!(p.earn[1].beneficiary, Beneficiary::Referrer);
    assert_eq!(p.tiers[1].multiplier.to_string(), "1.25");
    let promo = &p.promotions[0];
    assert_eq!(promo.starts.to_string(), "2026-12-01T05:00:00Z");
    assert_eq!((promo.bonus, promo.grant), (100, Some(250)));
    assert_eq!(p.rewards[0].trigger, RewardTrigger::Cost(1000));
    assert_eq!(p.rewards[2].trigger, RewardTrigger::OnTier("Gold".into()));
    assert_eq!(p.rewards[3].kind, RewardKind::Perk);
    assert_eq!(p.expiry.map(|e| e.after_days), Some(365));
    assert_eq!(p.version.0.len(), 16);
}

#[test]
fn when_file_changes_then_version_changes() {
    let a = Program::parse(FULL).unwrap();
    let b = Program::parse(&FULL.replace("after_days = 365", "after_days = 366")).unwrap();
    assert_ne!(a.version, b.version);
    assert_eq!(a.version, Program::parse(FULL).unwrap().version);
}

/// (what to change, the key the error must name, the line it must name)
#[test]
fn when_program_is_invalid_then_error_names_key_and_line() {
    let cases: &[(&str, &str, &str, usize)] = &[
        (
            "tier_window = \"rolling-12-months\"",
            "tier_window = \"forever\"",
            "program.tier_window",
            4,
        ),
        (
            "referral_key = \"referred_by\"",
            "referral_key = \"referred_by\"\ncolour = \"red\"",
            "colour",
            6,
        ),
        (
            "timezone = \"America/New_York\"",
            "timezone = \"Mars/Olympus\"",
            "program.timezone",
            3,
        ),
        (
            "on = \"payment.succeeded\"",
            "on = \"invoice.paid\"",
            "earn.on",
            9,
        ),
        ("id = \"spend\"", "id = \"Spend!\"", "earn.id", 8),
        ("id = \"referral\"", "id = \"spend\"", "earn.id", 17),
        (
            "cap = { points = 20000, per = \"month\" }",
            "cap = { points = 20000, per = \"week\" }",
            "earn.cap.per",
            13,
        ),
        (
            "per_amount = { usd = 100, jpy = 100 }",
            "per_amount = { usd = 0 }",
            "earn.per_amount.usd",
            11,
        ),
        (
            "per_amount = { usd = 100, jpy = 100 }",
            "per_amount = { dollars = 100 }",
            "earn.per_amount",
            11,
        ),
        (
            "multiplier = \"1.25\"",
            "multiplier = 1.25",
            "multiplier",
            29,
        ),
        (
            "multiplier = \"1.25\"",
            "multiplier = \"one\"",
            "tiers.multiplier",
            29,
        ),
        (
            "min_points = 0\n",
            "min_points = 5\n",
            "tiers.min_points",
            24,
        ),
        (
            "ends = 2027-01-01T00:00:00-05:00",
            "ends = 2026-11-01T00:00:00-05:00",
            "promotions.ends",
            35,
        ),
        (
            "applies_to = [\"payment.succeeded\"]",
            "applies_to = [\"points.expired\"]",
            "promotions.applies_to",
            38,
        ),
        (
            "kind = \"billing_credit\"",
            "kind = \"cash\"",
            "rewards.kind",
            44,
        ),
        (
            "on_tier = \"Gold\"",
            "on_tier = \"Platinum\"",
            "rewards.on_tier",
            58,
        ),
        (
            "url = \"https://perks.example.com/hooks\"",
            "url = \"ftp://x\"",
            "rewards.url",
            64,
        ),
        (
            "after_days = 365",
            "after_days = 0",
            "expiry.after_days",
            67,
        ),
        (
            "beneficiary = \"customer\"",
            "beneficiary = \"referrer\"",
            "earn.beneficiary",
            14,
        ),
        ("cost = 1000\n", "", "rewards.cost", 43),
    ];
    for (from, to, key, line) in cases {
        assert!(FULL.contains(from), "test setup: {from}");
        let source = FULL.replacen(from, to, 1);
        let err = Program::parse(&source).expect_err(to);
        assert_eq!((err.key.as_str(), err.line), (*key, *line), "{to}: {err}");
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("line {line}")) && shown.contains(key),
            "{shown}"
        );
    }
}

#[test]
fn when_required_key_is_missing_or_syntax_is_broken_then_error_names_it() {
    let err = Program::parse("[program]\nname = \"x\"\n").unwrap_err();
    assert_eq!(err.key, "timezone");
    let err = Program::parse("[program\nname = \"x\"\n").unwrap_err();
    assert_eq!(err.line, 1);
    let err = Program::parse("").unwrap_err();
    assert_eq!(err.key, "program");
}

#[test]
fn when_promotion_dates_have_no_offset_then_they_are_read_in_the_program_timezone() {
    let source = FULL
        .replace("starts = 2026-12-01T00:00:00-05:00", "starts = 2026-07-01")
        .replace(
            "ends = 2027-01-01T00:00:00-05:00",
            "ends = 2026-07-02T12:00:00",
        );
    let p = Program::parse(&source).unwrap();
    assert_eq!(p.promotions[0].starts.to_string(), "2026-07-01T04:00:00Z");
    assert_eq!(p.promotions[0].ends.to_string(), "2026-07-02T16:00:00Z");
}

#[test]
fn when_the_example_program_is_checked_then_it_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/program.example.toml"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let p = Program::parse(&source).unwrap();
    assert_eq!(p.name, "Acme Rewards");
}

#[test]
fn when_refund_window_is_set_then_it_is_read_and_bounded_and_defaults_to_400_days() {
    assert_eq!(Program::parse(FULL).unwrap().refund_window_days, 400);
    let with = |days: &str| {
        FULL.replacen(
            "referral_key = \"referred_by\"",
            &format!("referral_key = \"referred_by\"\nrefund_window_days = {days}"),
            1,
        )
    };
    assert_eq!(Program::parse(&with("30")).unwrap().refund_window_days, 30);
    for bad in ["0", "-1", "3661"] {
        let err = Program::parse(&with(bad)).expect_err(bad);
        assert_eq!(
            (err.key.as_str(), err.line),
            ("program.refund_window_days", 6),
            "{bad}: {err}"
        );
    }
}

#[test]
fn when_a_trigger_has_more_than_16_rules_or_the_program_more_than_16_rewards_then_it_is_refused() {
    let header = "[program]\nname = \"Big\"\ntimezone = \"UTC\"\n";
    let rules = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[earn]]\nid = \"r{i}\"\non = \"payment.succeeded\"\npoints = 1\n"))
            .collect()
    };
    let rewards = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[rewards]]\nid = \"w{i}\"\nkind = \"coupon\"\ncost = 10\ncoupon = \"C{i}\"\n"
                )
            })
            .collect()
    };
    assert!(Program::parse(&format!("{header}{}{}", rules(16), rewards(16))).is_ok());
    let err = Program::parse(&format!("{header}{}", rules(17))).unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.line),
        ("earn.on", 4 + 16 * 4 + 2),
        "{err}"
    );
    let err = Program::parse(&format!("{header}{}", rewards(17))).unwrap_err();
    assert_eq!(err.key, "rewards", "{err}");
    // Rules on different triggers count apart.
    let other: String = (0..16)
        .map(|i| format!("[[earn]]\nid = \"c{i}\"\non = \"custom.visit\"\npoints = 1\n"))
        .collect();
    assert!(Program::parse(&format!("{header}{}{other}", rules(16))).is_ok());
}

#[test]
fn when_a_perk_names_its_secret_then_it_is_kept_and_a_bad_name_is_refused() {
    let perk = |extra: &str, kind: &str| {
        format!(
            "[program]\nname = \"p\"\ntimezone = \"UTC\"\n\n[[rewards]]\nid = \"acme\"\n\
             kind = \"{kind}\"\ncost = 10\nurl = \"https://perks.example.com/hooks\"\n\
             grant = \"g\"\ncoupon = \"C\"\nvalue = {{ usd = 1 }}\n{extra}\n"
        )
    };
    let program = Program::parse(&perk("secret = \"PERK_ACME\"", "perk")).unwrap();
    assert_eq!(program.rewards[0].secret.as_deref(), Some("PERK_ACME"));
    for (extra, kind) in [
        (
            "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
            "perk",
        ),
        ("secret = \"\"", "perk"),
        ("secret = \"PERK_ACME\"", "coupon"),
    ] {
        let err = Program::parse(&perk(extra, kind)).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.line),
            ("rewards.secret", 13),
            "{extra}: {err}"
        );
    }
}
