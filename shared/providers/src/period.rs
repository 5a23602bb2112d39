//! Exact annualisation of recurring prices. A price is "amount per `count` `unit`s"; to compare
//! a monthly plan with a yearly one, and to report a per-month amount, we convert it to a value
//! per year as an exact fraction (no floats: 52 weeks and 365 days do not divide evenly).

use std::cmp::Ordering;

/// How many billing periods of `count` × `unit` fit in a year, as numerator / denominator.
/// `None` for an unknown unit or a non-positive count.
pub(crate) fn periods_per_year(unit: &str, count: i64) -> Option<(i128, i128)> {
    if count <= 0 {
        return None;
    }
    let per_year: i128 = match unit {
        "day" => 365,
        "week" => 52,
        "month" => 12,
        "year" => 1,
        _ => return None,
    };
    Some((per_year, i128::from(count)))
}

/// A sum of amounts per year, in minor units, kept as an exact fraction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Annual {
    num: i128,
    den: i128,
}

impl Annual {
    pub(crate) const ZERO: Self = Self { num: 0, den: 1 };

    /// `amount` charged every `count` `unit`s.
    pub(crate) fn of(amount: i64, unit: &str, count: i64) -> Option<Self> {
        let (per, den) = periods_per_year(unit, count)?;
        Some(Self {
            num: i128::from(amount).checked_mul(per)?,
            den,
        })
    }

    pub(crate) fn checked_add(self, other: Self) -> Option<Self> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        let den = self.den.checked_mul(other.den)?;
        // Keep denominators small so long item lists cannot overflow.
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1);
        let g = i128::try_from(g).ok()?;
        Some(Self {
            num: num / g,
            den: den / g,
        })
    }

    /// The amount per month, rounded down to a whole minor unit.
    pub(crate) fn monthly_floor(self) -> Option<i64> {
        i64::try_from(self.num.div_euclid(self.den.checked_mul(12)?)).ok()
    }
}

impl PartialEq for Annual {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Annual {}

impl PartialOrd for Annual {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Annual {
    fn cmp(&self, other: &Self) -> Ordering {
        // Denominators are always positive, so cross-multiplying keeps the order.
        (self.num.saturating_mul(other.den)).cmp(&other.num.saturating_mul(self.den))
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn when_monthly_and_yearly_prices_are_annualised_then_equal_yearly_totals_compare_equal() {
        // given 10.00 a month and 120.00 a year
        let monthly = Annual::of(1000, "month", 1).unwrap();
        let yearly = Annual::of(12000, "year", 1).unwrap();
        // then
        assert_eq!(monthly, yearly);
        assert_eq!(yearly.monthly_floor(), Some(1000));
    }

    #[test]
    fn when_weekly_price_is_annualised_then_monthly_amount_is_floored() {
        // given 1.00 a week: 52.00 a year, 4.333... a month
        let weekly = Annual::of(100, "week", 1).unwrap();
        assert_eq!(weekly.monthly_floor(), Some(433));
        // and every 3 months at 30.00 is 10.00 a month
        let quarterly = Annual::of(3000, "month", 3).unwrap();
        assert_eq!(quarterly.monthly_floor(), Some(1000));
        let sum = weekly.checked_add(quarterly).unwrap();
        assert_eq!(sum.monthly_floor(), Some(1433));
    }

    #[test]
    fn when_unit_is_unknown_or_count_is_zero_then_no_value() {
        assert!(Annual::of(100, "fortnight", 1).is_none());
        assert!(Annual::of(100, "month", 0).is_none());
    }
}
