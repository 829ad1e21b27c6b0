//! What a merchant's deposit must be, and how well it is covered: arithmetic
//! only, no I/O.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    domain::{
        money::{Money, MoneyError, Rounding},
        rate::{Rate, RateError},
    },
    merchant::tier::TierPolicy,
};

/// Issuing stops below this share (0.5) of the required deposit. Not the whole
/// requirement: liability grows with every earn between two checks, and a
/// deduction can land before the top-up, so a deposit dips below 100% in the
/// ordinary course — the shortfall alert and email handle that without stopping
/// a merchant's tills. Below half, the house would carry more unsecured
/// liability than it accepts, so no new points are issued until it is restored.
pub const HARD_MINIMUM_SHARE: Decimal = Decimal::from_parts(5, 0, 0, false, 1);

/// The points outstanding valued in CNY at the program's settlement value,
/// rounded up to the fen: the house would rather ask a fen too much than secure
/// a fen too little.
pub fn liability(outstanding_points: i64, settlement_value: Rate) -> Result<Money, RateError> {
    settlement_value.value_of(outstanding_points, Rounding::Up)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The tier's floor.
    pub minimum: Money,
    /// The tier's coverage ratio × the liability, rounded up to the fen.
    pub exposure: Money,
    /// The larger of the two: what the deposit must hold.
    pub required: Money,
    /// `HARD_MINIMUM_SHARE` of the required amount, rounded up: below it,
    /// issuing is blocked.
    pub hard_minimum: Money,
}

impl Requirement {
    pub fn new(policy: &TierPolicy, liability: Money) -> Result<Self, MoneyError> {
        let exposure = liability.mul_decimal(policy.coverage_ratio, Rounding::Up)?;
        let required = policy.minimum_deposit.max(exposure);
        Ok(Self {
            minimum: policy.minimum_deposit,
            exposure,
            required,
            hard_minimum: required.mul_decimal(HARD_MINIMUM_SHARE, Rounding::Up)?,
        })
    }
}

/// Where a deposit stands against its requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cover {
    /// At or above the required amount.
    Covered,
    /// Below the required amount: an alert and an email, issuing goes on.
    Short,
    /// Below the hard minimum: issuing is blocked.
    Blocked,
}

impl Cover {
    pub fn of(balance: Money, requirement: &Requirement) -> Self {
        if balance < requirement.hard_minimum {
            Self::Blocked
        } else if balance < requirement.required {
            Self::Short
        } else {
            Self::Covered
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Covered => "covered",
            Self::Short => "short",
            Self::Blocked => "blocked",
        }
    }
}

/// Balance ÷ required, in tenths of a percent, rounded down so a deposit that is
/// short never reads 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Coverage {
    permille: i64,
}

impl Coverage {
    /// A required amount of zero or less is fully covered by anything.
    pub fn of(balance: Money, required: Money) -> Self {
        if !required.is_positive() {
            return Self { permille: 1000 };
        }
        let permille = i128::from(balance.fen()) * 1000 / i128::from(required.fen());
        Self {
            permille: i64::try_from(permille).unwrap_or(i64::MAX),
        }
    }

    /// For a progress bar: 0 to 100.
    pub fn percent_capped(self) -> i64 {
        (self.permille / 10).clamp(0, 100)
    }
}

/// `77.7%`.
impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", Decimal::new(self.permille, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant::tier::Tier;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn the_tier_minimum_holds_until_the_liability_outgrows_it() {
        let standard = Tier::Standard.policy();
        let small = Requirement::new(&standard, money("1000.00")).unwrap();
        assert_eq!(small.exposure, money("300.00"));
        assert_eq!(small.required, money("50000.00"));
        assert_eq!(small.hard_minimum, money("25000.00"));

        let large = Requirement::new(&standard, money("200000.00")).unwrap();
        assert_eq!(large.required, money("60000.00"));
        assert_eq!(large.hard_minimum, money("30000.00"));
    }

    #[test]
    fn liability_and_exposure_round_up_to_the_fen() {
        // 3 points at ¥0.333333 are ¥0.999999: a fen more, never less.
        let value = Rate::parse("0.333333").unwrap();
        assert_eq!(liability(3, value).unwrap(), money("1.00"));
        // 30% of ¥166,666.77 is ¥50,000.031: the exposure rounds up to ¥50,000.04.
        let requirement = Requirement::new(&Tier::Standard.policy(), money("166666.77")).unwrap();
        assert_eq!(requirement.exposure, money("50000.04"));
        assert_eq!(requirement.required, money("50000.04"));
        assert_eq!(requirement.hard_minimum, money("25000.02"));
    }

    #[test]
    fn cover_and_coverage_say_how_far_a_deposit_reaches() {
        let requirement = Requirement::new(&Tier::Standard.policy(), Money::ZERO).unwrap();
        assert_eq!(Cover::of(money("50000.00"), &requirement), Cover::Covered);
        assert_eq!(Cover::of(money("49999.99"), &requirement), Cover::Short);
        assert_eq!(Cover::of(money("25000.00"), &requirement), Cover::Short);
        assert_eq!(Cover::of(money("24999.99"), &requirement), Cover::Blocked);

        let required = requirement.required;
        assert_eq!(
            Coverage::of(money("49999.99"), required).to_string(),
            "99.9%"
        );
        assert_eq!(
            Coverage::of(money("38850.00"), required).to_string(),
            "77.7%"
        );
        assert_eq!(
            Coverage::of(money("150000.00"), required).to_string(),
            "300.0%"
        );
        assert_eq!(Coverage::of(Money::ZERO, required).to_string(), "0.0%");
        assert_eq!(
            Coverage::of(money("150000.00"), required).percent_capped(),
            100
        );
    }
}
