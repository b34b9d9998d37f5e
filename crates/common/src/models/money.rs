//! Money: a non-negative amount with exactly two decimal places, as `NUMERIC(10,2)` stores it
//! and as docs/api.md writes it (`"19.99"`). Never a float.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const CURRENCY: &str = "USD";

/// The OpenAPI pattern of a price a client sends, as [`Money::parse_price`] checks it:
/// 0.01 to 99999999.99, at most two decimal places, no sign, spaces or leading zeros.
pub const PRICE_PATTERN: &str = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$";

/// The largest amount `NUMERIC(10,2)` holds.
const MAX_PRICE: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// A unit price from a client: a decimal string with at most two decimal places, > 0 and
    /// at most 99999999.99 (`NUMERIC(10,2)`), written without a sign, spaces or leading zeros:
    /// exactly [`PRICE_PATTERN`].
    pub fn parse_price(raw: &str) -> Result<Self, &'static str> {
        const SHAPE: &str = "must be a decimal string such as \"19.99\"";
        let (int, frac) = match raw.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (raw, None),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || (int.len() > 1 && int.starts_with('0')) {
            return Err(SHAPE);
        }
        if let Some(frac) = frac {
            if frac.is_empty() || !digits(frac) {
                return Err(SHAPE);
            }
            if frac.len() > 2 {
                return Err("must have at most two decimal places");
            }
        }
        if int.len() > 8 {
            return Err("must be at most 99999999.99");
        }
        let value: Decimal = raw.parse().map_err(|_| SHAPE)?;
        if value <= Decimal::ZERO {
            return Err("must be > 0");
        }
        if value > MAX_PRICE {
            return Err("must be at most 99999999.99");
        }
        Ok(Self::from_decimal(value))
    }

    /// An amount read from the database (already valid there).
    pub fn from_decimal(value: Decimal) -> Self {
        let mut v = value.round_dp(2);
        v.rescale(2);
        Self(v)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn times(self, quantity: u32) -> Self {
        Self::from_decimal(self.0 * Decimal::from(quantity))
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Self) -> Money {
        Money::from_decimal(self.0 + rhs.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse::<Decimal>()
            .map(Money::from_decimal)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_positive_two_place_decimal_strings() {
        for ok in ["19.99", "1", "0.01", "0.10", "0.5", "99999999.99", "5.5"] {
            assert!(Money::parse_price(ok).is_ok(), "{ok} should parse");
        }
        for bad in [
            "0",
            "0.00",
            "-1",
            "1.999",
            "abc",
            "",
            "1e3",
            "100000000.00",
            " ",
            "NaN",
            " 1.00",
            "+1",
            "01.00",
            "1.",
            ".5",
            "0.0",
        ] {
            assert!(
                Money::parse_price(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn money_always_prints_two_places() {
        assert_eq!(Money::parse_price("5.5").unwrap().to_string(), "5.50");
        assert_eq!(Money::parse_price("7").unwrap().to_string(), "7.00");
        assert_eq!(
            Money::parse_price("2.25").unwrap().times(3).to_string(),
            "6.75"
        );
        assert_eq!(
            serde_json::to_string(&Money::parse_price("19.9").unwrap()).unwrap(),
            "\"19.90\""
        );
    }
}
