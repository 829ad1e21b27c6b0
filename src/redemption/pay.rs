//! What a member's payment mix is worth to the reward's merchant M, leg by leg
//! (LEDGER.md, "Redeem"):
//! - M's own points are retired: each is worth `value ÷ points price` of the
//!   reward (rounded down), or M's settlement value when the reward has no
//!   points price; no money moves for them.
//! - another program A's points go through the exchange's cash legs: valued at
//!   A's sell value, less the fee (`exchange::pricing::charge`); A pays the
//!   value out, M is paid the rest, the house keeps the fee.
//! - ALP is worth the hub issue price; the CNY held against it pays M.
//! - cash makes up the rest, collected at M's counter.
//!
//! A mix pays when points and cash reach the reward's value, and no more than
//! one point of any leg over it: nobody is charged for points they did not need.

use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        money::{Money, Rounding},
        points::{PointCount, ProgramCode},
        rate::Rate,
    },
    exchange::pricing,
};

/// How one program's points pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Valuation {
    /// The reward's own points: `points × value ÷ points_price`.
    OwnPriced { value_fen: i64, points_price: i64 },
    /// The reward's own points at the merchant's settlement value.
    Own { settlement: Rate },
    /// Another program's points at its sell value, less the fee.
    Other {
        sell: Rate,
        spread_bp: i32,
        discount_bp: i32,
    },
    /// ALP at the hub issue price.
    Hub { issue_price: Rate },
}

/// One leg of a payment, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub program: String,
    pub points: i64,
    pub valuation: Valuation,
    /// What the leg pays the merchant.
    pub value_fen: i64,
    /// For another program: what its merchant pays and the house's fee.
    pub value_out_fen: i64,
    pub fee_fen: i64,
}

impl Leg {
    /// The leg as a request pays it again (a proposal the member accepts); None
    /// for a leg of no points, which pays nothing.
    pub fn as_pay(&self) -> Option<(ProgramCode, PointCount)> {
        Some((
            ProgramCode::parse(&self.program).ok()?,
            PointCount::new(self.points).ok()?,
        ))
    }
}

impl Valuation {
    /// Prices `points`; None when the amounts overflow.
    pub fn leg(self, program: &str, points: i64) -> Option<Leg> {
        let (value_fen, value_out_fen, fee_fen) = match self {
            Self::OwnPriced {
                value_fen,
                points_price,
            } => {
                let value = i128::from(points) * i128::from(value_fen) / i128::from(points_price);
                (i64::try_from(value).ok()?, 0, 0)
            }
            Self::Own { settlement } => (
                settlement.value_of(points, Rounding::Down).ok()?.fen(),
                0,
                0,
            ),
            Self::Other {
                sell,
                spread_bp,
                discount_bp,
            } => {
                let charge = pricing::charge(points, sell, spread_bp, discount_bp)?;
                (charge.net().fen(), charge.value_out.fen(), charge.fee.fen())
            }
            Self::Hub { issue_price } => (
                issue_price.value_of(points, Rounding::Down).ok()?.fen(),
                0,
                0,
            ),
        };
        Some(Leg {
            program: program.to_owned(),
            points,
            valuation: self,
            value_fen,
            value_out_fen,
            fee_fen,
        })
    }
}

/// Why a mix does not pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// Points and cash fall short by this much.
    Short(Money),
    /// More than needed: a leg could give a point less, or the cash is more
    /// than the points leave to pay.
    Over,
}

/// Checks that `legs` and `cash` pay `value` exactly enough.
pub fn settles(legs: &[Leg], cash: Money, value: Money) -> Result<(), Shortfall> {
    let points: i64 = legs.iter().map(|l| l.value_fen).sum();
    let paid = points + cash.fen();
    if paid < value.fen() {
        return Err(Shortfall::Short(Money::from_fen(value.fen() - paid)));
    }
    if cash.fen() > 0 && points + cash.fen() > value.fen() {
        return Err(Shortfall::Over);
    }
    for leg in legs {
        let one_less = leg
            .valuation
            .leg(&leg.program, leg.points - 1)
            .map_or(0, |l| l.value_fen);
        if paid - leg.value_fen + one_less >= value.fen() {
            return Err(Shortfall::Over);
        }
    }
    Ok(())
}

/// The fewest points of a leg that pay `value_fen` (rounded up), for proposing
/// a mix; None when no number of points reaches it within `available`.
pub fn points_for(
    valuation: Valuation,
    program: &str,
    value_fen: i64,
    available: i64,
) -> Option<i64> {
    if value_fen <= 0 {
        return Some(0);
    }
    // Binary search: a leg's value grows with its points.
    let (mut low, mut high) = (1_i64, available);
    if valuation.leg(program, high)?.value_fen < value_fen {
        return None;
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if valuation.leg(program, mid)?.value_fen >= value_fen {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    const LATTE: Valuation = Valuation::OwnPriced {
        value_fen: 3_000,
        points_price: 600,
    };

    #[test]
    fn own_points_at_the_rewards_points_price_pay_it_alone() {
        let leg = LATTE.leg("BREW", 600).unwrap();
        assert_eq!(leg.value_fen, 3_000);
        assert_eq!(settles(&[leg], Money::ZERO, Money::from_fen(3_000)), Ok(()));
        let over = LATTE.leg("BREW", 601).unwrap();
        assert_eq!(
            settles(&[over], Money::ZERO, Money::from_fen(3_000)),
            Err(Shortfall::Over)
        );
    }

    #[test]
    fn another_programs_points_pay_their_sell_value_less_the_fee_and_cash_the_rest() {
        let other = Valuation::Other {
            sell: rate("0.0099"),
            spread_bp: 300,
            discount_bp: 0,
        };
        // 1,000 MART: ¥9.90 out, 30 fen fee, ¥9.60 to the merchant.
        let mart = other.leg("MART", 1_000).unwrap();
        assert_eq!(
            (mart.value_out_fen, mart.fee_fen, mart.value_fen),
            (990, 30, 960)
        );
        let own = LATTE.leg("BREW", 300).unwrap();
        assert_eq!(own.value_fen, 1_500);
        let value = Money::from_fen(3_000);
        assert_eq!(
            settles(&[own.clone(), mart.clone()], Money::ZERO, value),
            Err(Shortfall::Short(Money::from_fen(540)))
        );
        assert_eq!(
            settles(&[own.clone(), mart.clone()], Money::from_fen(540), value),
            Ok(())
        );
        assert_eq!(
            settles(&[own, mart], Money::from_fen(541), value),
            Err(Shortfall::Over)
        );
    }

    #[test]
    fn the_fewest_points_that_pay_a_value() {
        assert_eq!(points_for(LATTE, "BREW", 3_000, 10_000), Some(600));
        assert_eq!(points_for(LATTE, "BREW", 1, 10_000), Some(1));
        assert_eq!(points_for(LATTE, "BREW", 3_000, 599), None);
        let hub = Valuation::Hub {
            issue_price: rate("0.01"),
        };
        assert_eq!(points_for(hub, "ALP", 1_234, 1_000_000), Some(1_234));
    }
}
