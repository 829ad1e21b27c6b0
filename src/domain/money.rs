//! `Money`: an amount of CNY in whole fen, with checked arithmetic, exact
//! parsing, and the `Rounding` modes used when a fee or share is taken of it.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("amount must be a plain number such as 12 or 12.50")]
    Malformed,
    #[error("amount has more than 2 decimal places")]
    TooManyDecimals,
    #[error("amount is out of range")]
    OutOfRange,
    #[error("amount calculation overflowed")]
    Overflow,
    #[error("factor has too many digits to multiply exactly")]
    FactorTooPrecise,
}

/// How a result that falls between two fen is brought onto one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero.
    Down,
    /// To the nearest fen, ties to the even one (banker's rounding).
    HalfEven,
    /// Away from zero.
    Up,
}

impl From<Rounding> for RoundingStrategy {
    fn from(rounding: Rounding) -> Self {
        match rounding {
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// An amount of CNY, held as fen (1 yuan = 100 fen) so it is always exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    fen: i64,
}

impl Money {
    pub const ZERO: Money = Money { fen: 0 };

    pub const fn from_fen(fen: i64) -> Money {
        Money { fen }
    }

    pub const fn fen(self) -> i64 {
        self.fen
    }

    /// Parses "12", "12.5", "12.50" or "-3.00". Anything else is refused
    /// rather than guessed at, and a third decimal is an error, never rounded.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) if is_digits(fraction) => (whole, fraction),
            Some(_) => return Err(MoneyError::Malformed),
            None => (unsigned, ""),
        };
        if !is_digits(whole) {
            return Err(MoneyError::Malformed);
        }
        if fraction.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        // "12.5" is 1250 fen: the whole part followed by the fraction padded to two digits.
        // Only digits are left, so the parse can fail only by overflowing.
        let magnitude: u64 = format!("{whole}{fraction:0<2}")
            .parse()
            .map_err(|_| MoneyError::OutOfRange)?;
        // Negating through u64 lets "-92233720368547758.08" (i64::MIN fen) parse.
        let fen = if negative {
            0_i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        fen.map(Money::from_fen).ok_or(MoneyError::OutOfRange)
    }

    /// Converts a decimal of CNY. Trailing zeros are fine ("1.500"); a
    /// non-zero third decimal is an error, never rounded away.
    pub fn from_decimal(amount: Decimal) -> Result<Money, MoneyError> {
        // Multiplying by 100 only shifts the scale, so it never rounds.
        let fen = amount
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or(MoneyError::OutOfRange)?;
        if !fen.fract().is_zero() {
            return Err(MoneyError::TooManyDecimals);
        }
        fen.to_i64()
            .map(Money::from_fen)
            .ok_or(MoneyError::OutOfRange)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.fen, 2)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.fen
            .checked_add(other.fen)
            .map(Money::from_fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.fen
            .checked_sub(other.fen)
            .map(Money::from_fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.fen
            .checked_neg()
            .map(Money::from_fen)
            .ok_or(MoneyError::Overflow)
    }

    pub const fn is_positive(self) -> bool {
        self.fen > 0
    }

    pub const fn is_negative(self) -> bool {
        self.fen < 0
    }

    /// `self × factor`, rounded once to whole fen: for fees, spreads and shares.
    pub fn mul_decimal(self, factor: Decimal, rounding: Rounding) -> Result<Money, MoneyError> {
        // Trailing zeros in the factor would only make the exactness check below fail needlessly.
        let factor = factor.normalize();
        let product = self
            .to_decimal()
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        // rust_decimal rounds a product that needs more than 28 digits, visible as a
        // smaller scale; rounding that again to fen would round twice, and could hand
        // out a fen, so refuse instead.
        if !product.is_zero() && product.scale() != 2 + factor.scale() {
            return Err(MoneyError::FactorTooPrecise);
        }
        // Once rounded to 2 places, out of range is the only way from_decimal can fail.
        Money::from_decimal(product.round_dp_with_strategy(2, rounding.into()))
            .map_err(|_| MoneyError::Overflow)
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// "1234.50", "-3.00": always two decimals.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.is_negative() { "-" } else { "" };
        // unsigned_abs, because i64::MIN has no positive i64 counterpart.
        let magnitude = self.fen.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

/// Amounts travel as strings so no JSON client turns them into floats.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn plain_amounts_parse_to_fen() {
        assert_eq!(Money::parse("12"), Ok(Money::from_fen(1200)));
        assert_eq!(Money::parse("12.5"), Ok(Money::from_fen(1250)));
        assert_eq!(Money::parse("12.50"), Ok(Money::from_fen(1250)));
        assert_eq!(Money::parse("-3.00"), Ok(Money::from_fen(-300)));
        assert_eq!(Money::parse("0.07"), Ok(Money::from_fen(7)));
        assert_eq!(Money::parse("-0"), Ok(Money::ZERO));
        assert_eq!(
            Money::parse("000000000000000000000012.5"),
            Ok(Money::from_fen(1250))
        );
    }

    #[test]
    fn a_third_decimal_is_an_error_not_rounded() {
        assert_eq!(Money::parse("1.005"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("1.000"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn anything_but_a_plain_number_is_malformed() {
        for text in [
            "", "-", "+1", "1.", ".5", "1e3", " 1", "1 ", "1,000", "1.2.3", "--1", "1-", "１２",
            "NaN",
        ] {
            assert_eq!(Money::parse(text), Err(MoneyError::Malformed), "{text:?}");
        }
    }

    #[test]
    fn the_i64_limits_parse_and_one_fen_beyond_does_not() {
        assert_eq!(
            Money::parse("92233720368547758.07"),
            Ok(Money::from_fen(i64::MAX))
        );
        assert_eq!(
            Money::parse("-92233720368547758.08"),
            Ok(Money::from_fen(i64::MIN))
        );
        assert_eq!(
            Money::parse("92233720368547758.08"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse("-92233720368547758.09"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse("99999999999999999999999"),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn display_always_shows_two_decimals() {
        assert_eq!(Money::from_fen(123_450).to_string(), "1234.50");
        assert_eq!(Money::from_fen(-300).to_string(), "-3.00");
        assert_eq!(Money::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(
            Money::from_fen(i64::MIN).to_string(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn json_carries_money_as_a_string() {
        let money = Money::from_fen(123_450);
        assert_eq!(serde_json::to_string(&money).unwrap(), r#""1234.50""#);
        assert_eq!(
            serde_json::from_str::<Money>(r#""12.5""#).unwrap(),
            Money::from_fen(1250)
        );
        assert!(serde_json::from_str::<Money>("12.5").is_err());
        assert!(serde_json::from_str::<Money>(r#""1.005""#).is_err());
    }

    #[test]
    fn decimals_convert_only_when_exact_in_fen() {
        assert_eq!(Money::from_decimal(dec("1.5")), Ok(Money::from_fen(150)));
        assert_eq!(Money::from_decimal(dec("1.500")), Ok(Money::from_fen(150)));
        assert_eq!(Money::from_decimal(dec("-0.01")), Ok(Money::from_fen(-1)));
        assert_eq!(
            Money::from_decimal(dec("1.005")),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(
            Money::from_decimal(dec("92233720368547758.08")),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::from_decimal(Decimal::MAX),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(Money::from_fen(-1234).to_decimal(), dec("-12.34"));
    }

    #[test]
    fn arithmetic_overflow_is_an_error() {
        let max = Money::from_fen(i64::MAX);
        assert_eq!(
            max.checked_add(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MIN).checked_neg(),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(5).checked_sub(Money::from_fen(7)),
            Ok(Money::from_fen(-2))
        );
        assert_eq!(Money::from_fen(5).checked_neg(), Ok(Money::from_fen(-5)));
    }

    #[test]
    fn sign_checks_and_order_follow_the_fen() {
        assert!(Money::from_fen(1).is_positive());
        assert!(!Money::ZERO.is_positive() && !Money::ZERO.is_negative());
        assert!(Money::from_fen(-1).is_negative());
        assert!(Money::from_fen(-1) < Money::ZERO && Money::ZERO < Money::from_fen(1));
    }

    #[test]
    fn each_rounding_mode_rounds_a_fee_its_own_way() {
        // 10.05 × 0.5 = 5.025: exactly half a fen.
        let amount = Money::from_fen(1005);
        let half = dec("0.5");
        assert_eq!(
            amount.mul_decimal(half, Rounding::Down),
            Ok(Money::from_fen(502))
        );
        assert_eq!(
            amount.mul_decimal(half, Rounding::HalfEven),
            Ok(Money::from_fen(502))
        );
        assert_eq!(
            amount.mul_decimal(half, Rounding::Up),
            Ok(Money::from_fen(503))
        );
        // Negative amounts round symmetrically: Down is toward zero, Up away from it.
        let refund = Money::from_fen(-1005);
        assert_eq!(
            refund.mul_decimal(half, Rounding::Down),
            Ok(Money::from_fen(-502))
        );
        assert_eq!(
            refund.mul_decimal(half, Rounding::Up),
            Ok(Money::from_fen(-503))
        );
        // 10.15 × 0.5 = 5.075: the even neighbour is now above.
        let amount = Money::from_fen(1015);
        assert_eq!(
            amount.mul_decimal(half, Rounding::HalfEven),
            Ok(Money::from_fen(508))
        );
    }

    #[test]
    fn multiplying_past_the_range_is_an_error() {
        let max = Money::from_fen(i64::MAX);
        assert_eq!(
            max.mul_decimal(dec("2"), Rounding::Down),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            max.mul_decimal(Decimal::MAX, Rounding::Down),
            Err(MoneyError::Overflow)
        );
        assert_eq!(max.mul_decimal(dec("1.000000"), Rounding::Down), Ok(max));
    }

    #[test]
    fn a_factor_too_precise_for_an_exact_product_is_refused() {
        // 1/3 to 28 places: the product needs more digits than Decimal holds.
        let third = Decimal::ONE / Decimal::from(3);
        assert_eq!(
            Money::from_fen(1_000_000).mul_decimal(third, Rounding::Down),
            Err(MoneyError::FactorTooPrecise)
        );
        assert_eq!(
            Money::ZERO.mul_decimal(third, Rounding::Down),
            Ok(Money::ZERO)
        );
    }

    /// Mostly everyday amounts, so properties are tested away from the i64 edges too.
    fn fens() -> impl Strategy<Value = i64> {
        prop_oneof![
            1 => any::<i64>(),
            3 => -1_000_000_000_000_i64..=1_000_000_000_000,
        ]
    }

    proptest! {
        #[test]
        fn parsing_the_display_gives_back_the_same_money(fen in any::<i64>()) {
            let money = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
            prop_assert_eq!(Money::from_decimal(money.to_decimal()), Ok(money));
        }

        #[test]
        fn checked_add_is_commutative_and_exact(a in fens(), b in fens()) {
            let (a, b) = (Money::from_fen(a), Money::from_fen(b));
            let sum = a.checked_add(b);
            prop_assert_eq!(sum, b.checked_add(a));
            let exact = i128::from(a.fen()) + i128::from(b.fen());
            let expected = i64::try_from(exact)
                .map(Money::from_fen)
                .map_err(|_| MoneyError::Overflow);
            prop_assert_eq!(sum, expected);
        }

        #[test]
        fn checked_sub_undoes_checked_add(a in fens(), b in fens()) {
            let (a, b) = (Money::from_fen(a), Money::from_fen(b));
            if let Ok(sum) = a.checked_add(b) {
                prop_assert_eq!(sum.checked_sub(b), Ok(a));
            }
        }

        #[test]
        fn rounding_modes_agree_with_rust_decimal(
            fen in fens(),
            factor_mantissa in any::<i32>(),
            factor_scale in 0_u32..=10,
            rounding in prop_oneof![Just(Rounding::Down), Just(Rounding::HalfEven), Just(Rounding::Up)],
        ) {
            // Small enough factors that rust_decimal's own product is exact.
            let factor = Decimal::new(i64::from(factor_mantissa), factor_scale);
            let money = Money::from_fen(fen);
            let expected = (money.to_decimal() * factor)
                .round_dp_with_strategy(2, rounding.into())
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|fen| fen.to_i64())
                .map(Money::from_fen)
                .ok_or(MoneyError::Overflow);
            prop_assert_eq!(money.mul_decimal(factor, rounding), expected);
        }

        #[test]
        fn a_third_nonzero_decimal_never_parses(fen in any::<i64>(), digit in 1_u8..=9) {
            let text = format!("{}{digit}", Money::from_fen(fen));
            prop_assert_eq!(Money::parse(&text), Err(MoneyError::TooManyDecimals));
        }
    }
}
