//! The report's charts, drawn as inline SVG by the program (no script, no font, no network):
//! stacked bars for points per month (earnings up, what leaves the balances down) and for
//! tier membership, lines for the outstanding points. Every mark carries its data
//! (`data-series`, `data-month`, `data-value`) and a `<title>` tooltip, so the page can be
//! read by a person, a screen reader and the browser test alike.

use maud::{Markup, html};

use crate::simulate::text::thousands;

/// The width of a chart across the page, and of one in a two-column row (the text keeps
/// its size on screen when the chart is drawn narrower).
pub const WIDE: f64 = 960.0;
pub const HALF: f64 = 600.0;
const H: f64 = 340.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 40.0;

/// One series of a chart: a name, a colour and a value per month.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<i64>,
}

/// A "nice" step (1, 2 or 5 × 10^k) giving about `ticks` intervals over `span`.
fn nice_step(span: f64, ticks: f64) -> f64 {
    if span <= 0.0 {
        return 1.0;
    }
    let raw = span / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    (step * mag).max(1.0)
}

/// The y range, rounded out to whole steps, and the step.
fn y_range(min: i64, max: i64) -> (f64, f64, f64) {
    let (min, max) = (min.min(0) as f64, max.max(0) as f64);
    let step = nice_step(max - min, 6.0);
    let lo = (min / step).floor() * step;
    let mut hi = (max / step).ceil() * step;
    if hi <= lo {
        hi = lo + step;
    }
    (lo, hi, step)
}

struct Frame {
    w: f64,
    lo: f64,
    hi: f64,
    step: f64,
    months: usize,
}

impl Frame {
    fn y(&self, v: f64) -> f64 {
        TOP + (self.hi - v) / (self.hi - self.lo) * (H - TOP - BOTTOM)
    }

    fn slot(&self) -> f64 {
        (self.w - LEFT - RIGHT) / self.months.max(1) as f64
    }

    fn x_center(&self, i: usize) -> f64 {
        LEFT + self.slot() * (i as f64 + 0.5)
    }

    /// Gridlines with their labels, the zero line, and the month labels (at most 12, 8 on a
    /// narrow chart).
    fn axes(&self, labels: &[String], y_title: &str) -> Markup {
        let mut ticks = Vec::new();
        let mut v = self.lo;
        while v <= self.hi + self.step / 2.0 {
            ticks.push(v);
            v += self.step;
        }
        let most = if self.w < WIDE { 8 } else { 12 };
        let every = labels.len().div_ceil(most).max(1);
        html! {
            g class="axis" {
                @for t in &ticks {
                    line x1=(LEFT) x2=(self.w - RIGHT) y1=(fmt(self.y(*t))) y2=(fmt(self.y(*t)))
                        class=(if *t == 0.0 { "zero" } else { "grid" }) {}
                    text x=(LEFT - 8.0) y=(fmt(self.y(*t) + 4.0)) text-anchor="end" { (thousands(*t as i64)) }
                }
                @for (i, l) in labels.iter().enumerate() {
                    @if i % every == 0 {
                        text x=(fmt(self.x_center(i))) y=(H - BOTTOM + 18.0) text-anchor="middle" { (short_month(l)) }
                    }
                }
                text class="axis-title" x="14" y=(fmt((TOP + H - BOTTOM) / 2.0)) text-anchor="middle"
                    transform=(format!("rotate(-90 14 {})", fmt((TOP + H - BOTTOM) / 2.0))) { (y_title) }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// `2026-03` → `Mar 26`.
fn short_month(m: &str) -> String {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month) = m.split_once('-').unwrap_or((m, "01"));
    let idx = month.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1;
    format!("{} {}", NAMES[idx], year.get(2..).unwrap_or(year))
}

fn legend(series: &[(&str, &str)]) -> Markup {
    let mut x = LEFT;
    let mut items = Vec::new();
    for (name, colour) in series {
        items.push((x, *name, *colour));
        x += 28.0 + 7.5 * name.chars().count() as f64;
    }
    html! {
        g class="legend" {
            @for (x, name, colour) in items {
                rect x=(fmt(x)) y="12" width="12" height="12" rx="2" fill=(colour) {}
                text x=(fmt(x + 17.0)) y="22.5" { (name) }
            }
        }
    }
}

/// Stacked bars per month: `up` stacked above zero, `down` (given as positive numbers)
/// stacked below it. One `rect.bar` per series per month, zero-height included.
pub fn stacked(
    w: f64,
    id: &str,
    title: &str,
    y_title: &str,
    months: &[String],
    up: &[Series],
    down: &[Series],
) -> Markup {
    let sum = |set: &[Series], i: usize| -> i64 {
        set.iter()
            .map(|s| s.values.get(i).copied().unwrap_or(0).max(0))
            .fold(0i64, i64::saturating_add)
    };
    let max = (0..months.len()).map(|i| sum(up, i)).max().unwrap_or(0);
    let min = (0..months.len()).map(|i| -sum(down, i)).min().unwrap_or(0);
    let (lo, hi, step) = y_range(min, max);
    let frame = Frame {
        w,
        lo,
        hi,
        step,
        months: months.len(),
    };
    let width = (frame.slot() * 0.7).max(1.0);
    let mut bars = Vec::new();
    for (i, month) in months.iter().enumerate() {
        let x = frame.x_center(i) - width / 2.0;
        for (set, sign) in [(up, 1.0), (down, -1.0)] {
            let mut base = 0f64;
            for s in set {
                let v = s.values.get(i).copied().unwrap_or(0).max(0);
                let top = base + sign * v as f64;
                let (y0, y1) = (frame.y(base), frame.y(top));
                bars.push((x, y0.min(y1), (y0 - y1).abs(), s, month, v));
                base = top;
            }
        }
    }
    let keys: Vec<(&str, &str)> = up
        .iter()
        .chain(down)
        .map(|s| (s.name.as_str(), s.colour))
        .collect();
    html! {
        figure class="chart" {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {H}")) role="img"
                aria-label=(title) data-chart=(id) data-months=(months.len()) {
                (legend(&keys))
                (frame.axes(months, y_title))
                @for (x, y, h, s, month, v) in bars {
                    rect class="bar" x=(fmt(x)) y=(fmt(y)) width=(fmt(width)) height=(fmt(h))
                        fill=(s.colour) data-series=(s.name) data-month=(month) data-value=(v) {
                        title { (month) " · " (s.name) ": " (thousands(v)) }
                    }
                }
            }
        }
    }
}

/// A point of a line: x, y, its value and month.
type Point<'a> = (f64, f64, i64, &'a String);

/// One line per series, a point per month (`polyline` with `data-points` = months, and a
/// `circle` per point).
pub fn lines(
    w: f64,
    id: &str,
    title: &str,
    y_title: &str,
    months: &[String],
    series: &[Series],
) -> Markup {
    let all = series.iter().flat_map(|s| s.values.iter().copied());
    let (min, max) = all.fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi, step) = y_range(min, max);
    let frame = Frame {
        w,
        lo,
        hi,
        step,
        months: months.len(),
    };
    let keys: Vec<(&str, &str)> = series.iter().map(|s| (s.name.as_str(), s.colour)).collect();
    let paths: Vec<(String, Vec<Point<'_>>, &Series)> = series
        .iter()
        .map(|s| {
            let pts: Vec<Point<'_>> = months
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let v = s.values.get(i).copied().unwrap_or(0);
                    (frame.x_center(i), frame.y(v as f64), v, m)
                })
                .collect();
            let d = pts
                .iter()
                .map(|(x, y, _, _)| format!("{},{}", fmt(*x), fmt(*y)))
                .collect::<Vec<_>>()
                .join(" ");
            (d, pts, s)
        })
        .collect();
    html! {
        figure class="chart" {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {H}")) role="img"
                aria-label=(title) data-chart=(id) data-months=(months.len()) {
                (legend(&keys))
                (frame.axes(months, y_title))
                @for (d, pts, s) in &paths {
                    polyline class="line" points=(d) fill="none" stroke=(s.colour) stroke-width="2.5"
                        stroke-linejoin="round" data-series=(s.name) data-points=(pts.len()) {}
                    @for (x, y, v, m) in pts {
                        circle class="point" cx=(fmt(*x)) cy=(fmt(*y)) r="3.5" fill=(s.colour)
                            data-series=(s.name) data-month=(m) data-value=(v) {
                            title { (m) " · " (s.name) ": " (thousands(*v)) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_range_is_rounded_then_it_covers_the_data_in_nice_steps() {
        assert_eq!(y_range(0, 87), (0.0, 100.0, 20.0));
        assert_eq!(y_range(-120, 950), (-200.0, 1000.0, 200.0));
        assert_eq!(y_range(0, 0), (0.0, 1.0, 1.0));
    }

    #[test]
    fn when_a_month_is_labelled_then_it_is_short() {
        assert_eq!(short_month("2026-03"), "Mar 26");
    }
}
