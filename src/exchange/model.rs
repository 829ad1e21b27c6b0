//! The dynamic rate model (动态汇率模型), as a pure function of its inputs.
//!
//! For a program with settlement value `s`, over the trailing window:
//!
//! ```text
//! inflow  = CNY credited to the program by exchanges into it
//! outflow = CNY debited from the program by exchanges out of it
//! shift   = band × sensitivity × (inflow − outflow) / max(inflow + outflow, floor)
//! mid     = s × (1 + shift)
//! sell    = clamp(mid × (1 − margin / 2), s × (1 − band), s × (1 + band))  rounded down
//! buy     = clamp(mid × (1 + margin / 2), s × (1 − band), s × (1 + band))  rounded up
//! ```
//!
//! Demand for a program (members exchanging into it) raises its values; members
//! leaving it lower them. The floor keeps a thin market from swinging the value:
//! one small exchange moves it in proportion to its size against the floor, not
//! to the full band. Clamping is monotonic and `sell ≤ mid ≤ buy` before it, so
//! `buy ≥ sell` always holds — which is what makes every cycle of exchanges lose
//! value (see `quote`). Both values stay inside the band.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::domain::rate::Rate;

/// Basis points in one.
pub const BP: i64 = 10_000;
/// Decimal places of a published value (as `Rate`).
const VALUE_SCALE: u32 = 6;

/// The model's knobs (the rest of `ExchangePolicy` is not the model's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPolicy {
    pub band_bp: i32,
    pub flow_sensitivity_bp: i32,
    pub value_margin_bp: i32,
    pub flow_floor_fen: i64,
}

/// CNY that moved through a program over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub inflow_fen: i64,
    pub outflow_fen: i64,
}

impl Flow {
    pub fn net_fen(self) -> i64 {
        self.inflow_fen - self.outflow_fen
    }

    pub fn gross_fen(self) -> i64 {
        self.inflow_fen + self.outflow_fen
    }
}

/// What the model publishes for one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModelValues {
    pub shift_bp: i32,
    pub mid: Rate,
    pub sell: Rate,
    pub buy: Rate,
}

/// The band around a settlement value: `[s × (1 − band), s × (1 + band)]`,
/// each end rounded inwards.
pub fn band(settlement: Rate, band_bp: i32) -> (Rate, Rate) {
    let s = settlement.as_decimal();
    let width = s * Decimal::new(i64::from(band_bp), 4);
    let low = round(s - width, RoundingStrategy::AwayFromZero);
    let high = round(s + width, RoundingStrategy::ToZero);
    (at_least_one_unit(low), at_least_one_unit(high))
}

/// The mid value's move from the settlement value, in basis points, truncated
/// toward zero. Never more than the band.
pub fn shift_bp(flow: Flow, policy: &ModelPolicy) -> i32 {
    let denominator =
        i128::from(flow.gross_fen().max(policy.flow_floor_fen).max(1)) * i128::from(BP);
    let numerator = i128::from(policy.band_bp)
        * i128::from(policy.flow_sensitivity_bp)
        * i128::from(flow.net_fen());
    // |net| ≤ gross ≤ denominator / BP and sensitivity ≤ BP, so |shift| ≤ band.
    i32::try_from(numerator / denominator).expect("the shift is within the band")
}

/// The model's values for a program with `settlement` value and `flow`.
pub fn values(settlement: Rate, flow: Flow, policy: &ModelPolicy) -> ModelValues {
    let s = settlement.as_decimal();
    let shift_bp = shift_bp(flow, policy);
    let mid = at_least_one_unit(round(
        s * (Decimal::ONE + Decimal::new(i64::from(shift_bp), 4)),
        RoundingStrategy::MidpointNearestEven,
    ));
    let half_margin = Decimal::new(i64::from(policy.value_margin_bp), 4) / Decimal::TWO;
    let (low, high) = band(settlement, policy.band_bp);
    let clamp = |value: Decimal| value.clamp(low.as_decimal(), high.as_decimal());
    let sell = at_least_one_unit(round(
        clamp(mid.as_decimal() * (Decimal::ONE - half_margin)),
        RoundingStrategy::ToZero,
    ));
    let buy = at_least_one_unit(round(
        clamp(mid.as_decimal() * (Decimal::ONE + half_margin)),
        RoundingStrategy::AwayFromZero,
    ));
    ModelValues {
        shift_bp,
        mid,
        sell,
        buy,
    }
}

/// How far a pair of values is from another, in basis points of the latter:
/// the larger of the two relative differences, rounded up.
pub fn distance_bp(sell: Rate, buy: Rate, from_sell: Rate, from_buy: Rate) -> i32 {
    let relative = |value: Rate, from: Rate| {
        ((value.as_decimal() - from.as_decimal()).abs() / from.as_decimal() * Decimal::from(BP))
            .ceil()
    };
    let larger = relative(sell, from_sell).max(relative(buy, from_buy));
    i32::try_from(larger.mantissa() / 10_i128.pow(larger.scale())).unwrap_or(i32::MAX)
}

fn round(value: Decimal, strategy: RoundingStrategy) -> Decimal {
    value.round_dp_with_strategy(VALUE_SCALE, strategy)
}

/// A value never rounds to nothing: the smallest is one millionth of a yuan.
fn at_least_one_unit(value: Decimal) -> Rate {
    Rate::new(value.max(Decimal::new(1, VALUE_SCALE))).expect("a positive value of 6 decimals")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const POLICY: ModelPolicy = ModelPolicy {
        band_bp: 1000,
        flow_sensitivity_bp: 5000,
        value_margin_bp: 200,
        flow_floor_fen: 1_000_000,
    };

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn no_flow_sits_the_margin_around_the_settlement_value() {
        let values = values(rate("0.01"), Flow::default(), &POLICY);
        assert_eq!(values.shift_bp, 0);
        assert_eq!(values.mid, rate("0.01"));
        assert_eq!(values.sell, rate("0.0099"));
        assert_eq!(values.buy, rate("0.0101"));
    }

    #[test]
    fn demand_raises_the_value_and_a_one_sided_flow_moves_half_the_band() {
        let into = Flow {
            inflow_fen: 5_000_000,
            outflow_fen: 0,
        };
        let values = values(rate("0.01"), into, &POLICY);
        assert_eq!(values.shift_bp, 500);
        assert_eq!(values.mid, rate("0.0105"));
        let out = super::values(
            rate("0.01"),
            Flow {
                inflow_fen: 0,
                outflow_fen: 5_000_000,
            },
            &POLICY,
        );
        assert_eq!(out.shift_bp, -500);
        assert!(out.sell < values.sell && out.buy < values.buy);
    }

    #[test]
    fn a_thin_flow_moves_the_value_in_proportion_to_the_floor() {
        let thin = Flow {
            inflow_fen: 10_000,
            outflow_fen: 0,
        };
        // ¥100 against a ¥10,000 floor: 1% of the half band.
        assert_eq!(shift_bp(thin, &POLICY), 5);
    }

    #[test]
    fn values_are_clamped_to_the_band() {
        let wide = ModelPolicy {
            flow_sensitivity_bp: 10_000,
            value_margin_bp: 2000,
            ..POLICY
        };
        let values = values(
            rate("0.05"),
            Flow {
                inflow_fen: 9_000_000,
                outflow_fen: 0,
            },
            &wide,
        );
        assert_eq!(values.buy, rate("0.055"));
        assert_eq!(band(rate("0.05"), 1000), (rate("0.045"), rate("0.055")));
    }

    #[test]
    fn distance_is_the_larger_relative_move() {
        assert_eq!(
            distance_bp(
                rate("0.0099"),
                rate("0.0104"),
                rate("0.0099"),
                rate("0.0101")
            ),
            298
        );
        assert_eq!(distance_bp(rate("1"), rate("1"), rate("1"), rate("1")), 0);
    }

    proptest! {
        #[test]
        fn buy_never_below_sell_and_both_inside_the_band(
            settlement_micro in 1i64..=100_000_000,
            inflow in 0i64..=1_000_000_000_000,
            outflow in 0i64..=1_000_000_000_000,
            band_bp in 0i32..=5000,
            sensitivity in 0i32..=10_000,
            margin in 0i32..=2000,
            floor in 1i64..=100_000_000,
        ) {
            let policy = ModelPolicy {
                band_bp,
                flow_sensitivity_bp: sensitivity,
                value_margin_bp: margin,
                flow_floor_fen: floor,
            };
            let settlement = Rate::new(Decimal::new(settlement_micro, 6)).unwrap();
            let values = values(settlement, Flow { inflow_fen: inflow, outflow_fen: outflow }, &policy);
            let (low, high) = band(settlement, band_bp);
            prop_assert!(values.buy >= values.sell);
            prop_assert!(values.sell >= low && values.buy <= high);
            prop_assert!(values.shift_bp.abs() <= band_bp);
        }
    }
}
