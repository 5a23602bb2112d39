//! The simulation report (`--report FILE`): one self-contained HTML page, nothing fetched
//! (no script, no web font, no stylesheet link), charts drawn as inline SVG by [`chart`],
//! the tables below them. With `--compare`, both programs side by side and a table of the
//! differences.

pub mod chart;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::summary::{Comparison, Summary};
use super::text::{kind, money, thousands};
use chart::Series;

const EARNED: &str = "#2f855a";
const GRANTED: &str = "#68d391";
const REDEEMED: &str = "#3182ce";
const REVERSED: &str = "#dd6b20";
const EXPIRED: &str = "#a0aec0";
const BASE_LINE: &str = "#2b6cb0";
const COMPARE_LINE: &str = "#c05621";
/// Tier colours, lowest tier first (repeated past the sixth).
const TIERS: [&str; 6] = [
    "#cbd5e0", "#90cdf4", "#d69e2e", "#805ad5", "#e53e3e", "#38a169",
];

const CSS: &str = r#"
:root { --ink: #1a202c; --muted: #5a6474; --line: #e2e8f0; --panel: #ffffff; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: linear-gradient(120deg, #1f4e79, #2f855a); color: #fff; padding: 28px 40px 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
header p { margin: 0; opacity: 0.9; }
main { padding: 24px 40px 48px; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 19px; margin: 32px 0 12px; font-weight: 650; }
h3 { font-size: 16px; margin: 20px 0 8px; color: var(--muted); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; }
.card .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 20px; }
figure.chart { margin: 12px 0; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 12px 4px; }
figure.chart figcaption { font-weight: 600; margin: 0 0 4px 6px; }
figure.chart svg { width: 100%; height: auto; display: block; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
svg .legend text { fill: var(--ink); font-size: 13px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .zero { stroke: #718096; stroke-width: 1.2; }
svg .axis-title { font-size: 12px; }
svg rect.bar:hover, svg circle.point:hover { opacity: 0.8; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: #edf2f7; font-weight: 600; font-size: 13px; color: #2d3748; }
th:first-child, td:first-child { text-align: left; }
tr:last-child td { border-bottom: none; }
tr.total td { font-weight: 650; background: #f7fafc; }
td.pos { color: #276749; } td.neg { color: #c53030; }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
footer { color: var(--muted); font-size: 12px; padding: 0 40px 32px; max-width: 1400px; margin: 0 auto; }
"#;

fn months(s: &Summary) -> Vec<String> {
    s.months.iter().map(|m| m.month.clone()).collect()
}

fn series(
    s: &Summary,
    name: &str,
    colour: &'static str,
    f: impl Fn(&super::summary::Month) -> i64,
) -> Series {
    Series {
        name: name.to_owned(),
        colour,
        values: s.months.iter().map(f).collect(),
    }
}

fn tier_colour(i: usize) -> &'static str {
    TIERS[i % TIERS.len()]
}

/// The points chart: earned and granted up, redeemed, reversed and expired down.
fn points_chart(s: &Summary, id: &str, w: f64) -> Markup {
    let up = [
        series(s, "earned", EARNED, |m| m.points.earned),
        series(s, "granted", GRANTED, |m| m.points.granted),
    ];
    let down = [
        series(s, "redeemed", REDEEMED, |m| m.points.redeemed),
        series(s, "reversed", REVERSED, |m| m.points.reversed),
        series(s, "expired", EXPIRED, |m| m.points.expired),
    ];
    chart::stacked(
        w,
        id,
        &format!("Points per month: {}", s.program.name),
        "points",
        &months(s),
        &up,
        &down,
    )
}

fn tiers_chart(s: &Summary, id: &str, w: f64) -> Markup {
    let up: Vec<Series> = s
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            series(s, t, tier_colour(i), |m| {
                m.tiers
                    .get(t)
                    .map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX))
            })
        })
        .collect();
    chart::stacked(
        w,
        id,
        &format!("Customers per tier at each month's end: {}", s.program.name),
        "customers",
        &months(s),
        &up,
        &[],
    )
}

fn cell(v: i64) -> Markup {
    html! { td { (thousands(v)) } }
}

/// A signed difference, coloured.
fn diff_cell(v: i64) -> Markup {
    let class = match v.signum() {
        1 => "pos",
        -1 => "neg",
        _ => "",
    };
    let text = if v > 0 {
        format!("+{}", thousands(v))
    } else {
        thousands(v)
    };
    html! { td class=(class) { (text) } }
}

fn money_list(values: &std::collections::BTreeMap<String, i64>) -> String {
    if values.is_empty() {
        return "—".to_owned();
    }
    values
        .iter()
        .map(|(c, v)| money(*v, c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cards(s: &Summary) -> Markup {
    let t = &s.totals;
    let issued: u64 = s.rewards.iter().map(|r| r.issued).sum();
    html! {
        div class="cards" {
            div class="card" { div class="label" { "Earned" } div class="value" { (thousands(t.earned.saturating_add(t.granted))) } }
            div class="card" { div class="label" { "Redeemed" } div class="value" { (thousands(t.redeemed)) } }
            div class="card" { div class="label" { "Reversed" } div class="value" { (thousands(t.reversed)) } }
            div class="card" { div class="label" { "Expired" } div class="value" { (thousands(t.expired)) } }
            div class="card" { div class="label" { "Outstanding" } div class="value" { (thousands(t.outstanding)) } }
            div class="card" { div class="label" { "Rewards issued" } div class="value" { (thousands(i64::try_from(issued).unwrap_or(i64::MAX))) } }
            div class="card" { div class="label" { "Reward cost" } div class="value" { (money_list(&s.reward_value())) } }
            div class="card" { div class="label" { "Liability" } div class="value" { (money_list(&s.liability.value)) } }
        }
    }
}

fn month_table(s: &Summary) -> Markup {
    html! {
        table class="months" {
            thead { tr {
                th { "Month" } th { "Earned" } th { "Granted" } th { "Redeemed" } th { "Reversed" }
                th { "Expired" } th { "Adjusted" } th { "Outstanding" } th { "Customers" }
                @for (i, t) in s.tiers.iter().enumerate() { th { span class="swatch" style=(format!("background:{}", tier_colour(i))) {} (t) } }
                th { "Rewards" }
            } }
            tbody {
                @for m in &s.months {
                    tr {
                        td { (m.month) }
                        (cell(m.points.earned)) (cell(m.points.granted)) (cell(m.points.redeemed))
                        (cell(m.points.reversed)) (cell(m.points.expired)) (cell(m.points.adjusted))
                        (cell(m.points.outstanding)) (cell(i64::try_from(m.customers).unwrap_or(i64::MAX)))
                        @for t in &s.tiers { (cell(m.tiers.get(t).map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX)))) }
                        (cell(i64::try_from(m.rewards).unwrap_or(i64::MAX)))
                    }
                }
                tr class="total" {
                    td { "Total" }
                    (cell(s.totals.earned)) (cell(s.totals.granted)) (cell(s.totals.redeemed))
                    (cell(s.totals.reversed)) (cell(s.totals.expired)) (cell(s.totals.adjusted))
                    (cell(s.totals.outstanding)) td {} @for _ in &s.tiers { td {} } td {}
                }
            }
        }
    }
}

fn tables(s: &Summary) -> Markup {
    let e = &s.events;
    html! {
        h3 { "Events" }
        table { tbody {
            tr { td { "Read" } (cell(e.read as i64)) }
            tr { td { "Applied" } (cell(e.applied as i64)) }
            tr { td { "Made by the daily job (anniversaries, expiry, grants)" } (cell(e.scheduled as i64)) }
            tr { td { "Duplicates (same id, same event)" } (cell(e.duplicates as i64)) }
            tr { td { "Refused" } (cell(e.rejected as i64)) }
            tr { td { "After the last simulated day" } (cell(e.after_until as i64)) }
        } }
        h3 { "Rewards" }
        table {
            thead { tr { th { "Reward" } th { "Kind" } th { "Issued" } th { "Points" } th { "Cost" } } }
            tbody {
                @for r in &s.rewards {
                    tr { td { (r.id) } td { (kind(r.kind)) } (cell(i64::try_from(r.issued).unwrap_or(i64::MAX))) (cell(r.points)) td { (money_list(&r.value)) } }
                }
            }
        }
        h3 { "Outstanding liability" }
        table { tbody {
            tr { td { "Value" } td { (money_list(&s.liability.value)) } }
            tr { td { "Points valued" } (cell(s.liability.points_valued)) }
            tr { td { "Points without a rate" } (cell(s.liability.points_without_rate)) }
        } }
        p class="note" { "Rule: " (s.liability.rule) "." }
        h3 { "Top earners" }
        table {
            thead { tr { th { "Customer" } th { "Earned" } th { "Balance" } th { "Tier" } } }
            tbody {
                @for t in &s.top_earners {
                    tr { td { (t.customer.to_string()) } (cell(t.earned)) (cell(t.balance)) td { (t.tier.as_deref().unwrap_or("—")) } }
                }
            }
        }
        @if !s.rejected.is_empty() {
            h3 { "Refused events (" (s.events.rejected) ")" }
            table {
                thead { tr { th { "Line" } th { "Event" } th { "Reason" } } }
                tbody {
                    @for r in s.rejected.iter().take(100) {
                        tr { td { (r.line) } td style="text-align:left" { (r.event_id) } td style="text-align:left;white-space:normal" { (r.reason) } }
                    }
                }
            }
        }
    }
}

fn page(title: &str, subtitle: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header { h1 { (title) } p { (subtitle) } }
                main { (body) }
                footer { "Made by saguaro simulate with the production engine on the in-memory store. Same history and programs, same page." }
            }
        }
    }
    .into_string()
}

fn subtitle(s: &Summary) -> String {
    format!(
        "{} · version {} · {} to {} ({}) · {} events",
        s.program.file,
        s.program.version,
        s.from.as_deref().unwrap_or("—"),
        s.until.as_deref().unwrap_or("—"),
        s.program.timezone,
        thousands(i64::try_from(s.events.read).unwrap_or(i64::MAX)),
    )
}

/// The page for one program.
pub fn one(s: &Summary) -> String {
    let outstanding = [series(s, "outstanding", BASE_LINE, |m| {
        m.points.outstanding
    })];
    page(
        &format!("Simulation: {}", s.program.name),
        &subtitle(s),
        html! {
            (cards(s))
            h2 { "Per month" }
            (points_chart(s, "points", chart::WIDE))
            div class="columns" {
                (chart::lines(chart::HALF, "outstanding", "Outstanding points at each month's end", "points", &months(s), &outstanding))
                (tiers_chart(s, "tiers", chart::HALF))
            }
            h2 { "Tables" }
            (month_table(s))
            (tables(s))
        },
    )
}

/// The page for two programs on one history.
pub fn two(c: &Comparison) -> String {
    let (a, b) = (&c.base, &c.compare);
    let outstanding = [
        series(a, &a.program.name, BASE_LINE, |m| m.points.outstanding),
        series(b, &b.program.name, COMPARE_LINE, |m| m.points.outstanding),
    ];
    let d = &c.difference;
    let base_months: std::collections::BTreeMap<&str, &super::summary::Month> =
        a.months.iter().map(|m| (m.month.as_str(), m)).collect();

    page(
        &format!("Simulation: {} vs {}", a.program.name, b.program.name),
        &format!("{} — compared with {}", subtitle(a), b.program.file),
        html! {
            h2 { "Difference (" (b.program.name) " − " (a.program.name) ")" }
            table { tbody {
                tr { td { "Earned" } (diff_cell(d.totals.earned)) }
                tr { td { "Granted" } (diff_cell(d.totals.granted)) }
                tr { td { "Redeemed" } (diff_cell(d.totals.redeemed)) }
                tr { td { "Reversed" } (diff_cell(d.totals.reversed)) }
                tr { td { "Expired" } (diff_cell(d.totals.expired)) }
                tr { td { "Outstanding" } (diff_cell(d.totals.outstanding)) }
                tr { td { "Reward cost" } td { (money_list(&d.reward_value)) } }
                tr { td { "Liability" } td { (money_list(&d.liability)) } }
                tr { td { "Customers ending with another balance" } (cell(i64::try_from(d.customers_with_another_balance).unwrap_or(i64::MAX))) }
            } }
            (chart::lines(chart::WIDE, "outstanding", "Outstanding points at each month's end", "points", &months(a), &outstanding))
            div class="columns" {
                div { h2 { (a.program.name) } (cards(a)) (points_chart(a, "points-base", chart::HALF)) (tiers_chart(a, "tiers-base", chart::HALF)) }
                div { h2 { (b.program.name) } (cards(b)) (points_chart(b, "points-compare", chart::HALF)) (tiers_chart(b, "tiers-compare", chart::HALF)) }
            }
            h2 { "Per month, difference" }
            table {
                thead { tr { th { "Month" } th { "Earned" } th { "Redeemed" } th { "Reversed" } th { "Expired" } th { "Outstanding" } } }
                tbody {
                    @for m in &b.months {
                        @if let Some(o) = base_months.get(m.month.as_str()) {
                            @let x = m.points.minus(&o.points);
                            tr { td { (m.month) } (diff_cell(x.earned.saturating_add(x.granted))) (diff_cell(x.redeemed)) (diff_cell(x.reversed)) (diff_cell(x.expired)) (diff_cell(x.outstanding)) }
                        }
                    }
                }
            }
            div class="columns" {
                div { h2 { (a.program.name) } (month_table(a)) (tables(a)) }
                div { h2 { (b.program.name) } (month_table(b)) (tables(b)) }
            }
        },
    )
}
