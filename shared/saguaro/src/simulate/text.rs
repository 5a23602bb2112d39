//! The summary as text on stdout: the months, the totals, rewards, liability, top earners.

use std::fmt::Write as _;

use super::summary::{Comparison, Summary, Totals};

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Minor units as `12.34 usd` (two decimals; the code says which currency).
pub fn money(minor: i64, currency: &str) -> String {
    let exp = iso_exponent(currency);
    if exp == 0 {
        return format!("{} {currency}", thousands(minor));
    }
    let div = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let (whole, frac) = (abs / div.unsigned_abs(), abs % div.unsigned_abs());
    format!(
        "{sign}{}.{frac:0width$} {currency}",
        thousands(i64::try_from(whole).unwrap_or(i64::MAX)),
        width = exp as usize
    )
}

/// Decimal places of an ISO 4217 currency (2 when unknown).
fn iso_exponent(code: &str) -> u32 {
    iso_currency::Currency::from_code(&code.to_ascii_uppercase())
        .and_then(iso_currency::Currency::exponent)
        .map_or(2, u32::from)
}

fn totals_row(out: &mut String, label: &str, t: &Totals) {
    let _ = writeln!(
        out,
        "{label:<9} {:>13} {:>11} {:>12} {:>11} {:>11} {:>11} {:>14}",
        thousands(t.earned),
        thousands(t.granted),
        thousands(t.redeemed),
        thousands(t.reversed),
        thousands(t.expired),
        thousands(t.adjusted),
        thousands(t.outstanding)
    );
}

/// One program's summary.
pub fn summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (version {}): {} to {}",
        s.program.name,
        s.program.version,
        s.from.as_deref().unwrap_or("-"),
        s.until.as_deref().unwrap_or("-")
    );
    let e = &s.events;
    let _ = writeln!(
        out,
        "events: {} read, {} applied, {} duplicates, {} rejected, {} after --until, {} made by the daily job",
        e.read, e.applied, e.duplicates, e.rejected, e.after_until, e.scheduled
    );
    let _ = writeln!(
        out,
        "\n{:<9} {:>13} {:>11} {:>12} {:>11} {:>11} {:>11} {:>14}  tiers",
        "month", "earned", "granted", "redeemed", "reversed", "expired", "adjusted", "outstanding"
    );
    for m in &s.months {
        let mut line = String::new();
        totals_row(&mut line, &m.month, &m.points);
        let tiers: Vec<String> = s
            .tiers
            .iter()
            .map(|t| format!("{t} {}", m.tiers.get(t).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "{}  {}", line.trim_end(), tiers.join(", "));
    }
    totals_row(&mut out, "total", &s.totals);
    let _ = writeln!(out, "\nrewards:");
    for r in &s.rewards {
        let value: Vec<String> = r.value.iter().map(|(c, v)| money(*v, c)).collect();
        let _ = writeln!(
            out,
            "  {:<20} {:<15} {:>9} issued {:>13} points  {}",
            r.id,
            kind(r.kind),
            thousands(i64::try_from(r.issued).unwrap_or(i64::MAX)),
            thousands(r.points),
            value.join(", ")
        );
    }
    let l = &s.liability;
    let value: Vec<String> = l.value.iter().map(|(c, v)| money(*v, c)).collect();
    let _ = writeln!(
        out,
        "\nliability: {} ({} points valued; {} points without a rate)",
        if value.is_empty() {
            "none".to_owned()
        } else {
            value.join(", ")
        },
        thousands(l.points_valued),
        thousands(l.points_without_rate)
    );
    let _ = writeln!(out, "\ntop earners:");
    for t in s.top_earners.iter().take(5) {
        let _ = writeln!(
            out,
            "  {:<30} {:>13} earned {:>13} balance  {}",
            t.customer.to_string(),
            thousands(t.earned),
            thousands(t.balance),
            t.tier.as_deref().unwrap_or("-")
        );
    }
    if !s.rejected.is_empty() {
        let _ = writeln!(out, "\nrejected ({}):", s.events.rejected);
        for r in s.rejected.iter().take(10) {
            let _ = writeln!(out, "  line {}: {}: {}", r.line, r.event_id, r.reason);
        }
    }
    out
}

/// Both summaries and the differences.
pub fn comparison(c: &Comparison) -> String {
    let mut out = summary(&c.base);
    out.push_str("\n---\n\n");
    out.push_str(&summary(&c.compare));
    let d = &c.difference;
    let _ = writeln!(
        out,
        "\ndifference ({} − {}):",
        c.compare.program.name, c.base.program.name
    );
    let _ = writeln!(
        out,
        "{:<9} {:>13} {:>11} {:>12} {:>11} {:>11} {:>11} {:>14}",
        "", "earned", "granted", "redeemed", "reversed", "expired", "adjusted", "outstanding"
    );
    totals_row(&mut out, "total", &d.totals);
    let lia: Vec<String> = d.liability.iter().map(|(k, v)| money(*v, k)).collect();
    let cost: Vec<String> = d.reward_value.iter().map(|(k, v)| money(*v, k)).collect();
    let _ = writeln!(
        out,
        "liability: {}; reward cost: {}; {} customers end with another balance",
        if lia.is_empty() {
            "0".to_owned()
        } else {
            lia.join(", ")
        },
        if cost.is_empty() {
            "0".to_owned()
        } else {
            cost.join(", ")
        },
        d.customers_with_another_balance
    );
    out
}

/// What `saguaro simulate` prints.
pub fn outcome(o: &super::Outcome) -> String {
    match o {
        super::Outcome::One(s) => summary(s),
        super::Outcome::Two(c) => comparison(c),
    }
}

/// A reward kind as the program file spells it.
pub fn kind(k: saguaro_domain::program::RewardKind) -> &'static str {
    use saguaro_domain::program::RewardKind;
    match k {
        RewardKind::BillingCredit => "billing_credit",
        RewardKind::Coupon => "coupon",
        RewardKind::Access => "access",
        RewardKind::Perk => "perk",
        RewardKind::Notification => "notification",
    }
}
