//! Pricing one exchange A → B, as a pure function (LEDGER.md, "Exchange"):
//!
//! ```text
//! value out = a × sell(A)                         rounded down to the fen
//! fee rate  = partner spread × (1 − member tier discount)
//! fee       = value out × fee rate                rounded up to the fen
//! b         = floor((value out − fee) / buy(B))
//! credit    = b × buy(B)                          rounded down to the fen
//! house     = value out − credit                  (the fee and the rounding left over)
//! ```
//!
//! The partner spread is the mean of the two programs' merchants' tier spreads
//! (`TierPolicy::fee_spread_bps`): each side of the trade is one partner.
//!
//! Since `value out ≤ a × sell(A)`, `b × buy(B) ≤ value out − fee` and every
//! value in force obeys `sell ≤ settlement value ≤ buy` (see `model`), one
//! exchange never gives the member more settlement value than it takes:
//! `b × s(B) ≤ a × s(A)`, so no sequence of exchanges, at whatever rates,
//! ends with more value than it started with.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        money::{Money, Rounding},
        rate::Rate,
    },
    merchant::tier::Tier,
};

use super::model::BP;

/// Everything the price of one exchange depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceInputs {
    pub from_points: i64,
    pub sell: Rate,
    pub buy: Rate,
    /// Mean of the two partners' tier spreads.
    pub spread_bp: i32,
    /// The member's tier discount off the fee.
    pub discount_bp: i32,
}

/// The priced exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub value_out: Money,
    /// The fee before the member's discount.
    pub fee_before_discount: Money,
    pub fee: Money,
    pub to_points: i64,
    /// What B's merchant is paid for the points it issues.
    pub credit: Money,
    /// The fee plus the rounding the house keeps.
    pub house: Money,
}

impl Price {
    /// B points per A point, as the member sees it (6 decimals, rounded down).
    pub fn rate(&self, from_points: i64) -> Decimal {
        (Decimal::from(self.to_points) / Decimal::from(from_points))
            .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::ToZero)
    }
}

/// The spread of a trade between two partners: the mean of their tiers'
/// spreads, each side of the trade being one partner.
pub fn partner_spread_bp(a: Tier, b: Tier) -> i32 {
    let spread = u32::midpoint(a.policy().fee_spread_bps, b.policy().fee_spread_bps);
    i32::try_from(spread).expect("spreads are basis points")
}

/// Fee, as a rate of the value out, after the member's discount.
pub fn fee_rate(spread_bp: i32, discount_bp: i32) -> Decimal {
    Decimal::from(spread_bp) * Decimal::from(i64::from(10_000 - discount_bp))
        / Decimal::from(BP * BP)
}

/// What giving up points of a program is worth, and the fee on it: the first
/// half of an exchange, and all of a redemption paid with another program's
/// points (the net goes to the reward's merchant instead of buying points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub value_out: Money,
    pub fee_before_discount: Money,
    pub fee: Money,
}

impl Charge {
    /// The value out less the fee (the fee never exceeds it).
    pub fn net(&self) -> Money {
        Money::from_fen(self.value_out.fen() - self.fee.fen())
    }
}

/// Values `points` at `sell` (rounded down) and takes the fee (rounded up,
/// never more than the value); None when the amounts overflow.
pub fn charge(points: i64, sell: Rate, spread_bp: i32, discount_bp: i32) -> Option<Charge> {
    let value_out = sell.value_of(points, Rounding::Down).ok()?;
    let fee_of = |discount_bp: i32| {
        value_out
            .mul_decimal(fee_rate(spread_bp, discount_bp), Rounding::Up)
            .ok()
    };
    Some(Charge {
        value_out,
        fee_before_discount: fee_of(0)?,
        fee: fee_of(discount_bp)?.min(value_out),
    })
}

/// Prices the exchange; None when the amounts overflow.
pub fn price(inputs: &PriceInputs) -> Option<Price> {
    let Charge {
        value_out,
        fee_before_discount,
        fee,
    } = charge(
        inputs.from_points,
        inputs.sell,
        inputs.spread_bp,
        inputs.discount_bp,
    )?;
    let net = value_out.checked_sub(fee).ok()?;
    let to_points = inputs.buy.points_for(net).ok()?;
    let credit = inputs.buy.value_of(to_points, Rounding::Down).ok()?;
    let house = value_out.checked_sub(credit).ok()?;
    Some(Price {
        value_out,
        fee_before_discount,
        fee,
        to_points,
        credit,
        house,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn a_thousand_coffee_points_into_cinema_points() {
        let price = price(&PriceInputs {
            from_points: 1000,
            sell: rate("0.0099"),
            buy: rate("0.0202"),
            spread_bp: 225,
            discount_bp: 2000,
        })
        .unwrap();
        // ¥9.90 out; fee 2.25% × 0.8 = 1.8% → 17.82 fen, rounded up to 18.
        assert_eq!(price.value_out, Money::from_fen(990));
        assert_eq!(price.fee_before_discount, Money::from_fen(23));
        assert_eq!(price.fee, Money::from_fen(18));
        // ¥9.72 / 0.0202 = 481.18 → 481 points, worth ¥9.7162 → 971 fen.
        assert_eq!(price.to_points, 481);
        assert_eq!(price.credit, Money::from_fen(971));
        assert_eq!(price.house, Money::from_fen(19));
        assert_eq!(price.rate(1000), Decimal::new(481, 3));
    }

    #[test]
    fn too_few_points_buy_nothing() {
        let price = price(&PriceInputs {
            from_points: 1,
            sell: rate("0.01"),
            buy: rate("0.05"),
            spread_bp: 300,
            discount_bp: 0,
        })
        .unwrap();
        assert_eq!(price.to_points, 0);
    }

    /// A program's settlement value (¥0.000001 to ¥1).
    fn settlement() -> impl Strategy<Value = Rate> {
        (1i64..=1_000_000).prop_map(|micro| Rate::new(Decimal::new(micro, 6)).unwrap())
    }

    /// Sell and buy values around `s` that obey the rule: `sell ≤ s ≤ buy`,
    /// anywhere within a ±50 % band, as any publication or override may set.
    fn values_around(s: Rate, sell_permille: i64, buy_permille: i64) -> (Rate, Rate) {
        let at = |permille: i64, strategy| {
            let value = (s.as_decimal() * Decimal::new(permille, 3))
                .round_dp_with_strategy(6, strategy)
                .max(Decimal::new(1, 6));
            Rate::new(value).unwrap()
        };
        let sell = at(1000 - sell_permille, rust_decimal::RoundingStrategy::ToZero).min(s);
        let buy = at(
            1000 + buy_permille,
            rust_decimal::RoundingStrategy::AwayFromZero,
        )
        .max(s);
        (sell, buy)
    }

    proptest! {
        /// No sequence of exchanges A → B → C → …, each at rates of its own
        /// (a new publication or override before every hop, each obeying
        /// `sell ≤ s ≤ buy`), with any spreads and discounts, ever gives the
        /// member more settlement value than the hop took: valued exactly,
        /// `b × s(B) ≤ a × s(A)` at every hop, so the whole sequence ends
        /// with at most the settlement value it started with.
        #[test]
        fn no_sequence_of_exchanges_gains_settlement_value(
            programs in proptest::collection::vec(settlement(), 2..6),
            hops in proptest::collection::vec(
                (0usize..6, 0i64..=500, 0i64..=500, 0i32..=300, 0i32..=10_000),
                1..10,
            ),
            start in 1i64..=10_000_000,
        ) {
            let mut holding = 0usize;
            let mut points = start;
            let worth = |program: usize, points: i64| {
                programs[program].as_decimal() * Decimal::from(points)
            };
            let start_value = worth(0, start);
            for (to, sell_permille, buy_permille, spread_bp, discount_bp) in hops {
                let to = to % programs.len();
                if to == holding || points == 0 {
                    continue;
                }
                let (sell, _) = values_around(programs[holding], sell_permille, buy_permille);
                let (_, buy) = values_around(programs[to], sell_permille, buy_permille);
                let price = price(&PriceInputs {
                    from_points: points,
                    sell,
                    buy,
                    spread_bp,
                    discount_bp,
                }).unwrap();
                prop_assert!(price.credit <= price.value_out);
                prop_assert_eq!(price.credit.fen() + price.house.fen(), price.value_out.fen());
                prop_assert!(
                    worth(to, price.to_points) <= worth(holding, points),
                    "{} {} → {} {}", points, programs[holding], price.to_points, programs[to]
                );
                holding = to;
                points = price.to_points;
            }
            prop_assert!(worth(holding, points) <= start_value);
        }

        /// Within one rate set a cycle that comes back to where it started
        /// returns no more points than it gave.
        #[test]
        fn no_cycle_within_one_rate_set_returns_more_points(
            programs in proptest::collection::vec((settlement(), 0i64..=500, 0i64..=500), 2..6),
            route in proptest::collection::vec(0usize..6, 1..8),
            spread_bp in 0i32..=300,
            start in 1i64..=10_000_000,
        ) {
            let rates: Vec<(Rate, Rate)> = programs
                .iter()
                .map(|&(s, sell, buy)| values_around(s, sell, buy))
                .collect();
            let (mut holding, mut points) = (0usize, start);
            for to in route.into_iter().map(|to| to % rates.len()).chain([0]) {
                if to == holding || points == 0 {
                    continue;
                }
                points = price(&PriceInputs {
                    from_points: points,
                    sell: rates[holding].0,
                    buy: rates[to].1,
                    spread_bp,
                    discount_bp: 0,
                }).unwrap().to_points;
                holding = to;
            }
            prop_assert!(points <= start);
        }
    }
}
