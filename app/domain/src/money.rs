//! Money in integer minor units (cents). Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in minor units (cents) of the shop's single currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// `price × quantity`, `None` on overflow.
    pub fn times(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).map(Money)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Whole-percent discount of `self` against a higher `original` price (e.g. 25 for 25 % off).
    pub fn percent_off(self, original: Money) -> Option<u8> {
        if original.0 <= 0 || self.0 >= original.0 || self.0 < 0 {
            return None;
        }
        let pct = (original.0 - self.0) * 100 / original.0;
        u8::try_from(pct).ok().filter(|p| *p > 0)
    }
}

/// Formats as `$1,234.50`; negative amounts as `-$3.00`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (units, cents) = (abs / 100, abs % 100);
        let digits = units.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}${grouped}.{cents:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_grouping_and_cents() {
        assert_eq!(Money::from_minor(0).to_string(), "$0.00");
        assert_eq!(Money::from_minor(5).to_string(), "$0.05");
        assert_eq!(Money::from_minor(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(Money::from_minor(100_000).to_string(), "$1,000.00");
        assert_eq!(Money::from_minor(-300).to_string(), "-$3.00");
    }

    #[test]
    fn multiplies_without_overflow_surprises() {
        assert_eq!(Money::from_minor(250).times(3), Some(Money::from_minor(750)));
        assert_eq!(Money::from_minor(i64::MAX).times(2), None);
    }

    #[test]
    fn percent_off_only_for_real_discounts() {
        assert_eq!(Money::from_minor(750).percent_off(Money::from_minor(1000)), Some(25));
        assert_eq!(Money::from_minor(1000).percent_off(Money::from_minor(1000)), None);
        assert_eq!(Money::from_minor(1200).percent_off(Money::from_minor(1000)), None);
    }
}
