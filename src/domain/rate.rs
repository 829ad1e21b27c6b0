//! `Rate`: CNY per point (a program's settlement, sell or buy value), and the
//! exact conversions between points and money at that rate.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use thiserror::Error;

use crate::domain::money::{Money, Rounding};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RateError {
    #[error("rate must be a plain number such as 0.05")]
    Malformed,
    #[error("rate must be greater than zero")]
    NotPositive,
    #[error("rate has more than 6 decimal places")]
    TooManyDecimals,
    #[error("rate is out of range")]
    OutOfRange,
    #[error("conversion at this rate overflowed")]
    Overflow,
}

/// CNY per point: positive, with at most 6 decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(Decimal);

impl Rate {
    const MAX_DECIMALS: u32 = 6;

    /// Trailing zeros don't count as decimals ("0.0500000" is 0.05).
    pub fn new(value: Decimal) -> Result<Rate, RateError> {
        if value <= Decimal::ZERO {
            return Err(RateError::NotPositive);
        }
        // Kept without trailing zeros so equal rates print (and serialize) the same.
        let value = value.normalize();
        if value.scale() > Self::MAX_DECIMALS {
            return Err(RateError::TooManyDecimals);
        }
        Ok(Rate(value))
    }

    /// Parses "0.05", "1", "12.345678": digits with at most 6 written decimals.
    /// No exponent, sign, spaces or separators.
    pub fn parse(text: &str) -> Result<Rate, RateError> {
        // A minus is let through here only so "-1" is told it must be positive.
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let fraction = match unsigned.split_once('.') {
            Some((whole, fraction)) if is_digits(whole) && is_digits(fraction) => fraction,
            None if is_digits(unsigned) => "",
            _ => return Err(RateError::Malformed),
        };
        if fraction.len() > Self::MAX_DECIMALS as usize {
            return Err(RateError::TooManyDecimals);
        }
        // The text is a plain number with few decimals, so only its size can make this fail.
        let value = Decimal::from_str_exact(text).map_err(|_| RateError::OutOfRange)?;
        Rate::new(value)
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// What `points` are worth at this rate, rounded once to whole fen.
    pub fn value_of(self, points: i64, rounding: Rounding) -> Result<Money, RateError> {
        // rust_decimal rounds a product only when it outgrows 96 bits; with a rate of
        // at most 6 decimals that is ~10^22 CNY, far past any i64 of fen, so such a
        // product ends in Overflow below and the rounding here is the only one.
        let value = Decimal::from(points)
            .checked_mul(self.0)
            .ok_or(RateError::Overflow)?;
        // Once rounded to 2 places, out of range is the only way from_decimal can fail.
        Money::from_decimal(value.round_dp_with_strategy(2, rounding.into()))
            .map_err(|_| RateError::Overflow)
    }

    /// How many whole points `money` buys: floor(money / rate), so never a point
    /// more than was paid for (for a negative amount, floor rounds away from zero).
    pub fn points_for(self, money: Money) -> Result<i64, RateError> {
        // In integers, because a Decimal quotient is rounded to 28 digits and flooring
        // a quotient rounded up onto a whole number would give a point away.
        // money / rate = (fen / 100) / (mantissa / 10^scale) = fen × 10^scale / (mantissa × 100),
        // and both sides fit an i128: |fen| < 2^63 times 10^6, and a mantissa < 2^96 times 100.
        let numerator = i128::from(money.fen()) * 10_i128.pow(self.0.scale());
        let denominator = self.0.mantissa() * 100;
        // The denominator is positive (a rate is), so euclidean division is floor.
        i64::try_from(numerator.div_euclid(denominator)).map_err(|_| RateError::Overflow)
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Rates travel as strings so no JSON client turns them into floats.
impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Rate::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    /// Mostly everyday rates (up to 1 CNY a point), some huge ones.
    fn rates() -> impl Strategy<Value = Rate> {
        let mantissas = prop_oneof![3 => 1_i64..=1_000_000, 1 => 1_i64..=1_000_000_000_000];
        (mantissas, 0_u32..=6)
            .prop_map(|(mantissa, scale)| Rate::new(Decimal::new(mantissa, scale)).unwrap())
    }

    /// Mostly everyday amounts, so properties are tested away from the i64 edges too.
    fn amounts() -> impl Strategy<Value = i64> {
        prop_oneof![
            1 => any::<i64>(),
            3 => -1_000_000_000_000_i64..=1_000_000_000_000,
        ]
    }

    fn roundings() -> impl Strategy<Value = Rounding> {
        prop_oneof![
            Just(Rounding::Down),
            Just(Rounding::HalfEven),
            Just(Rounding::Up)
        ]
    }

    #[test]
    fn plain_rates_parse_and_print_without_trailing_zeros() {
        assert_eq!(rate("0.05").to_string(), "0.05");
        assert_eq!(rate("1").to_string(), "1");
        assert_eq!(rate("0.500000").to_string(), "0.5");
        assert_eq!(rate("0.000001").as_decimal(), Decimal::new(1, 6));
        assert_eq!(rate("0.05"), rate("0.050"));
    }

    #[test]
    fn bad_rates_say_what_is_wrong() {
        assert_eq!(Rate::parse("0"), Err(RateError::NotPositive));
        assert_eq!(Rate::parse("0.000000"), Err(RateError::NotPositive));
        assert_eq!(Rate::parse("-1"), Err(RateError::NotPositive));
        assert_eq!(Rate::parse("0.0000001"), Err(RateError::TooManyDecimals));
        assert_eq!(Rate::parse("0.5000000"), Err(RateError::TooManyDecimals));
        assert_eq!(
            Rate::parse("99999999999999999999999999999"),
            Err(RateError::OutOfRange)
        );
        for text in [
            "", "abc", "1e-3", ".5", "5.", "+1", " 1", "1 ", "1,5", "1.2.3", "--1", "-",
        ] {
            assert_eq!(Rate::parse(text), Err(RateError::Malformed), "{text:?}");
        }
    }

    #[test]
    fn new_counts_only_significant_decimals() {
        assert_eq!(Rate::new(Decimal::new(5_000_000_000, 11)), Ok(rate("0.05")));
        assert_eq!(
            Rate::new(Decimal::new(1_234_567, 7)),
            Err(RateError::TooManyDecimals)
        );
        assert_eq!(Rate::new(Decimal::new(-5, 2)), Err(RateError::NotPositive));
        assert_eq!(Rate::new(Decimal::ZERO), Err(RateError::NotPositive));
    }

    #[test]
    fn value_of_rounds_to_fen_as_asked() {
        assert_eq!(
            rate("0.05").value_of(1200, Rounding::Down),
            Ok(Money::from_fen(6000))
        );
        // 3 × 0.005 = 0.015 CNY: half a fen.
        let half_fen = rate("0.005");
        assert_eq!(half_fen.value_of(3, Rounding::Down), Ok(Money::from_fen(1)));
        assert_eq!(
            half_fen.value_of(3, Rounding::HalfEven),
            Ok(Money::from_fen(2))
        );
        assert_eq!(half_fen.value_of(3, Rounding::Up), Ok(Money::from_fen(2)));
        assert_eq!(half_fen.value_of(1, Rounding::HalfEven), Ok(Money::ZERO));
        assert_eq!(half_fen.value_of(-3, Rounding::Up), Ok(Money::from_fen(-2)));
    }

    #[test]
    fn value_of_past_the_range_of_money_is_an_error() {
        assert_eq!(
            rate("1").value_of(i64::MAX, Rounding::Down),
            Err(RateError::Overflow)
        );
        assert_eq!(
            rate("79228162514264337593543950").value_of(i64::MAX, Rounding::Down),
            Err(RateError::Overflow)
        );
    }

    #[test]
    fn points_for_never_rounds_up() {
        assert_eq!(rate("0.03").points_for(Money::from_fen(1000)), Ok(333));
        assert_eq!(rate("0.33").points_for(Money::from_fen(99)), Ok(3));
        assert_eq!(rate("0.33").points_for(Money::from_fen(98)), Ok(2));
        assert_eq!(rate("7").points_for(Money::ZERO), Ok(0));
        assert_eq!(rate("0.03").points_for(Money::from_fen(-1)), Ok(-1));
        assert_eq!(
            rate("0.000001").points_for(Money::from_fen(i64::MAX)),
            Err(RateError::Overflow)
        );
    }

    #[test]
    fn json_carries_a_rate_as_a_string() {
        assert_eq!(serde_json::to_string(&rate("0.050")).unwrap(), r#""0.05""#);
        assert_eq!(
            serde_json::from_str::<Rate>(r#""0.05""#).unwrap(),
            rate("0.05")
        );
        assert!(serde_json::from_str::<Rate>("0.05").is_err());
        assert!(serde_json::from_str::<Rate>(r#""0""#).is_err());
    }

    proptest! {
        #[test]
        fn parsing_the_display_gives_back_the_same_rate(rate in rates()) {
            prop_assert_eq!(Rate::parse(&rate.to_string()), Ok(rate));
        }

        #[test]
        fn buying_back_what_points_are_worth_gives_no_free_points(
            points in prop_oneof![1 => 0_i64..=i64::MAX, 3 => 0_i64..=1_000_000_000_000],
            rate in rates(),
        ) {
            if let Ok(value) = rate.value_of(points, Rounding::Down) {
                prop_assert!(rate.points_for(value)? <= points);
            }
        }

        #[test]
        fn points_for_is_exactly_the_floor(fen in amounts(), rate in rates()) {
            // points × rate ≤ money < (points + 1) × rate, all in units of 10^-(scale+2) CNY.
            let mantissa = rate.as_decimal().mantissa() * 100;
            let money = i128::from(fen) * 10_i128.pow(rate.as_decimal().scale());
            match rate.points_for(Money::from_fen(fen)) {
                Ok(points) => {
                    prop_assert!(i128::from(points) * mantissa <= money);
                    prop_assert!(money < (i128::from(points) + 1) * mantissa);
                }
                Err(_) => prop_assert!((money / mantissa).abs() >= i128::from(i64::MAX)),
            }
        }

        #[test]
        fn value_of_is_within_a_fen_or_an_error(
            points in amounts(),
            rate in rates(),
            rounding in roundings(),
        ) {
            // The exact value in units of 10^-(scale+2) CNY, and one fen in those units.
            let scale = 10_i128.pow(rate.as_decimal().scale());
            let exact = i128::from(points) * rate.as_decimal().mantissa() * 100;
            match rate.value_of(points, rounding) {
                Ok(value) => prop_assert!((i128::from(value.fen()) * scale - exact).abs() < scale),
                // Only an error when the value really is at or past the edge of i64 fen.
                Err(error) => {
                    prop_assert_eq!(error, RateError::Overflow);
                    prop_assert!((exact / scale).abs() >= i128::from(i64::MAX));
                }
            }
        }
    }
}
