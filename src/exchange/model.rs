//! The dynamic rate model (动态汇率模型), as a pure function of its inputs, and
//! the rule every value in force obeys.
//!
//! For a program with settlement value `s`, over the trailing window:
//!
//! ```text
//! inflow  = CNY credited to the program by exchanges into it
//! outflow = CNY debited from the program by exchanges out of it
//! shift   = band × sensitivity × (inflow − outflow) / max(inflow + outflow, floor)
//! mid     = s × (1 + shift)
//! sell    = clamp(mid × (1 − margin / 2), s × (1 − band), s)      rounded down
//! buy     = clamp(mid × (1 + margin / 2), s, s × (1 + band))      rounded up
//! ```
//!
//! Demand for a program (members exchanging into it) raises its buy value above
//! `s` and lifts its sell value towards `s`; members leaving it lower its sell
//! value below `s` and bring its buy value down towards `s`. The floor keeps a
//! thin market from swinging the value: one small exchange moves it in
//! proportion to its size against the floor, not to the full band.
//!
//! # The rule: sell ≤ settlement value ≤ buy, always
//!
//! Demand widens one side of the spread or the other but never carries a value
//! across the settlement value. The model obeys it by construction (the clamps
//! above), and [`bracket`] takes every value in force through it — the latest
//! publication's, even one stored before the rule, and an override's (which is
//! refused outright when it asks for values across `s`).
//!
//! **Why it is enough.** Value a member's points at settlement values. One
//! exchange of `a` A-points for `b` B-points (see `pricing`) gives
//!
//! ```text
//! value out = floor_fen(a × sell(A))          ≤ a × sell(A) ≤ a × s(A)
//! b         = floor((value out − fee) / buy(B))
//! b × s(B)  ≤ b × buy(B) ≤ value out − fee    ≤ a × s(A)
//! ```
//!
//! so no single exchange, whatever the fee (even zero), the rounding, or the
//! rates in force when it was quoted, hands the member more settlement value
//! than it takes. Settlement values do not move with flows, so the inequality
//! adds up along any sequence — across publications, overrides, members and
//! programs: a group ends with at most the settlement value it started with.
//! Flows can move rates only inside `[s(1 − band), s]` for selling and
//! `[s, s(1 + band)]` for buying; a patient group pushing a rate across the
//! whole band and unwinding at the other end gains nothing either.
//!
//! **The worst case, worked out.** The best a trader can hope for is to sell
//! A at its highest possible sell value and buy B at its lowest possible buy
//! value, both exactly at settlement value, with no fee. HOTEL at s = ¥0.01,
//! MILES at s = ¥0.018, 100,000 HOTEL points (¥1,000.00):
//!
//! ```text
//! HOTEL → MILES: value out = 100,000 × 0.01  = ¥1,000.00
//!                b = floor(1,000.00 / 0.018) = 55,555 MILES  (worth ¥999.99)
//! MILES → HOTEL: value out = 55,555 × 0.018  = ¥999.99
//!                b = floor(999.99 / 0.01)    = 99,999 HOTEL  (worth ¥999.99)
//! ```
//!
//! The round trip returns 99,999 points, one fewer than it began with: the
//! rule leaves the trader the rounding to lose and nothing to win.
//!
//! Before the rule, the reproduction of issue #16 (ten members, both partners
//! strategic, 1.5 % spread halved by the members' gold tier) took 100,000
//! HOTEL to 54,046 MILES each; the publication after it shifted HOTEL by
//! −495 bp and MILES by +491 bp, so MILES sold at ¥0.018695 (above its ¥0.018)
//! and HOTEL bought at ¥0.009601 (below its ¥0.01), and two halves came back
//! as 104,446 HOTEL (104,294 on the demo data). Under the rule MILES sells at
//! ¥0.018 at most and HOTEL buys at ¥0.01 at least: the same trades return
//! 96,552 HOTEL (`tests/it/api_exchange.rs`).

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

/// The model's values for a program with `settlement` value and `flow`: the
/// sell value within `[low end of the band, s]`, the buy value within
/// `[s, high end of the band]`.
pub fn values(settlement: Rate, flow: Flow, policy: &ModelPolicy) -> ModelValues {
    let s = settlement.as_decimal();
    let shift_bp = shift_bp(flow, policy);
    let mid = at_least_one_unit(round(
        s * (Decimal::ONE + Decimal::new(i64::from(shift_bp), 4)),
        RoundingStrategy::MidpointNearestEven,
    ));
    let half_margin = Decimal::new(i64::from(policy.value_margin_bp), 4) / Decimal::TWO;
    let (low, high) = band(settlement, policy.band_bp);
    // The band's ends are rounded inwards, so low ≤ s ≤ high.
    let sell = at_least_one_unit(round(
        (mid.as_decimal() * (Decimal::ONE - half_margin)).clamp(low.as_decimal(), s),
        RoundingStrategy::ToZero,
    ));
    let buy = at_least_one_unit(round(
        (mid.as_decimal() * (Decimal::ONE + half_margin)).clamp(s, high.as_decimal()),
        RoundingStrategy::AwayFromZero,
    ));
    ModelValues {
        shift_bp,
        mid,
        sell,
        buy,
    }
}

/// Sell and buy values taken through the rule `sell ≤ s ≤ buy`: a sell value
/// above the settlement value is lowered to it, a buy value below it raised to
/// it. What is already within the rule is returned unchanged.
pub fn bracket(settlement: Rate, sell: Rate, buy: Rate) -> (Rate, Rate) {
    (sell.min(settlement), buy.max(settlement))
}

/// Whether a pair of values obeys the rule `sell ≤ s ≤ buy`.
pub fn brackets(settlement: Rate, sell: Rate, buy: Rate) -> bool {
    sell <= settlement && settlement <= buy
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
    fn demand_widens_one_side_and_never_crosses_the_settlement_value() {
        let into = values(
            rate("0.018"),
            Flow {
                inflow_fen: 975_130,
                outflow_fen: 0,
            },
            &POLICY,
        );
        // mid 0.018 × 1.0487 = 0.018877: buy rises to 0.019066, sell stops at s.
        assert_eq!(into.shift_bp, 487);
        assert_eq!((into.sell, into.buy), (rate("0.018"), rate("0.019066")));
        let out = values(
            rate("0.01"),
            Flow {
                inflow_fen: 0,
                outflow_fen: 990_000,
            },
            &POLICY,
        );
        // mid 0.01 × 0.9505 = 0.009505: sell falls to 0.009409, buy stops at s.
        assert_eq!(out.shift_bp, -495);
        assert_eq!((out.sell, out.buy), (rate("0.009409"), rate("0.01")));
    }

    #[test]
    fn values_published_before_the_rule_are_taken_through_it() {
        // A row the old model published: MILES selling above its settlement value.
        let (sell, buy) = bracket(rate("0.018"), rate("0.018688"), rate("0.019066"));
        assert_eq!((sell, buy), (rate("0.018"), rate("0.019066")));
        let (sell, buy) = bracket(rate("0.01"), rate("0.009409"), rate("0.009601"));
        assert_eq!((sell, buy), (rate("0.009409"), rate("0.01")));
        assert!(!brackets(rate("0.01"), rate("0.009409"), rate("0.009601")));
        assert!(brackets(rate("0.01"), rate("0.01"), rate("0.01")));
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
            prop_assert!(brackets(settlement, values.sell, values.buy));
            prop_assert_eq!(bracket(settlement, values.sell, values.buy), (values.sell, values.buy));
        }

        /// Whatever a stored row or an old override says, the values in force
        /// obey the rule, and values that already did are left as they were.
        #[test]
        fn any_values_taken_through_the_rule_obey_it(
            settlement_micro in 1i64..=100_000_000,
            sell_micro in 1i64..=100_000_000,
            buy_micro in 1i64..=100_000_000,
        ) {
            let micro = |m: i64| Rate::new(Decimal::new(m, 6)).unwrap();
            let (settlement, sell, buy) = (micro(settlement_micro), micro(sell_micro), micro(buy_micro));
            let (in_force_sell, in_force_buy) = bracket(settlement, sell, buy);
            prop_assert!(brackets(settlement, in_force_sell, in_force_buy));
            prop_assert!(in_force_sell <= sell && in_force_buy >= buy);
            if brackets(settlement, sell, buy) {
                prop_assert_eq!((in_force_sell, in_force_buy), (sell, buy));
            }
        }
    }
}
