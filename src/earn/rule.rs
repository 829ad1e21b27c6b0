//! How many points a purchase earns: the arithmetic, free of the database.
//!
//! points = base + tier bonus + campaign bonuses, where
//! - base = floor(amount in CNY × the program's points per CNY); for ALP the
//!   member gets the same value in hub points: floor(the base's value at the
//!   program's settlement value, in whole fen, ÷ the ALP issue price);
//! - tier bonus = floor(base × the member tier's bonus);
//! - each running campaign adds floor(base × (multiplier − 1)) plus the bonus of
//!   the highest spend step the amount reaches, capped by what is left of its
//!   budget (see `campaign`).
//!
//! Every step rounds down, so a member never gets a point nobody paid for.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde::{Deserialize, Serialize};

use crate::{
    campaign::SpendStep,
    domain::{
        money::{Money, Rounding},
        rate::Rate,
    },
};

/// Where the points of one earn came from, as the API and the portals show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Points per CNY that produced `base_points` (for ALP, hub points per CNY).
    pub earn_rate: Decimal,
    pub base_points: i64,
    pub tier: TierBonus,
    pub campaigns: Vec<CampaignBonus>,
    pub total_points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierBonus {
    pub code: String,
    /// Basis points: 1000 is +10%.
    pub bonus_bp: i32,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignBonus {
    pub campaign_id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub multiplier: Decimal,
    /// What the campaign's rules give before its budget is considered.
    pub wanted_points: i64,
    /// What it gave: less than wanted once its budget runs out.
    pub points: i64,
    /// The value of `points`, charged to the campaign's budget.
    pub cost_fen: i64,
    /// The house's share of the cost; the merchant bears the rest.
    pub house_fen: i64,
}

impl Breakdown {
    pub fn new(earn_rate: Decimal, base_points: i64, tier: TierBonus) -> Self {
        let total_points = base_points + tier.points;
        Self {
            earn_rate,
            base_points,
            tier,
            campaigns: Vec::new(),
            total_points,
        }
    }

    pub fn add_campaign(&mut self, bonus: CampaignBonus) {
        self.total_points += bonus.points;
        self.campaigns.push(bonus);
    }

    pub fn campaign_house_fen(&self) -> i64 {
        self.campaigns.iter().map(|c| c.house_fen).sum()
    }
}

/// floor(amount × points per CNY). None when the product overflows.
pub fn base_points(amount: Money, points_per_cny: Decimal) -> Option<i64> {
    amount
        .to_decimal()
        .checked_mul(points_per_cny)?
        .floor()
        .to_i64()
}

/// The base in hub points: the program's base points valued at its settlement
/// value (whole fen, rounded down), bought at the ALP issue price (rounded
/// down). Also returns the effective hub points per CNY, for the breakdown.
pub fn hub_base_points(
    amount: Money,
    points_per_cny: Decimal,
    settlement_value: Rate,
    issue_price: Rate,
) -> Option<(i64, Decimal)> {
    let value = amount
        .to_decimal()
        .checked_mul(points_per_cny)?
        .checked_mul(settlement_value.as_decimal())?;
    let value = Money::from_decimal(value.round_dp_with_strategy(2, Rounding::Down.into())).ok()?;
    let points = issue_price.points_for(value).ok()?;
    let rate = points_per_cny
        .checked_mul(settlement_value.as_decimal())?
        .checked_div(issue_price.as_decimal())?
        .round_dp(4);
    Some((points, rate))
}

/// What a purchase keeps of `earned` once refunds bring it down to `net`: the
/// rules applied to the net amount — base at the rate it earned, the tier
/// bonus it had, each campaign's multiplier and the highest spend step the net
/// still reaches (`steps` by campaign id) — each part never more than it gave.
pub fn kept(earned: &Breakdown, steps: &BTreeMap<i64, Vec<SpendStep>>, net: Money) -> i64 {
    let base = base_points(net, earned.earn_rate)
        .unwrap_or(0)
        .min(earned.base_points);
    let tier = tier_bonus(base, earned.tier.bonus_bp).min(earned.tier.points);
    let campaigns: i64 = earned
        .campaigns
        .iter()
        .map(|c| {
            let steps = steps.get(&c.campaign_id).map_or(&[][..], Vec::as_slice);
            campaign_points(base, c.multiplier, steps, net).min(c.points)
        })
        .sum();
    base + tier + campaigns
}

/// floor(base × bonus basis points ÷ 10,000).
pub fn tier_bonus(base: i64, bonus_bp: i32) -> i64 {
    let bonus = i128::from(base) * i128::from(bonus_bp) / 10_000;
    i64::try_from(bonus).unwrap_or(i64::MAX)
}

/// What a campaign's rules give one purchase, before its budget: the extra of
/// the multiplier over the base, plus the highest spend step reached.
pub fn campaign_points(base: i64, multiplier: Decimal, steps: &[SpendStep], amount: Money) -> i64 {
    let extra = (Decimal::from(base) * (multiplier - Decimal::ONE))
        .floor()
        .to_i64()
        .unwrap_or(0)
        .max(0);
    let step = steps
        .iter()
        .filter(|s| amount.fen() >= s.min_fen)
        .map(|s| s.bonus_points)
        .max()
        .unwrap_or(0);
    extra.saturating_add(step)
}

/// How many of `wanted` points fit in `remaining_fen` of budget at
/// `value_per_point`, and what they cost (rounded up to the fen, so the budget
/// is never overspent by rounding).
pub fn fit_budget(wanted: i64, value_per_point: Rate, remaining_fen: i64) -> (i64, i64) {
    let cost = |points: i64| {
        value_per_point
            .value_of(points, Rounding::Up)
            .map_or(i64::MAX, Money::fen)
    };
    if cost(wanted) <= remaining_fen {
        return (wanted, cost(wanted));
    }
    // The largest n with cost(n) <= remaining: floor(remaining / value) is at most
    // one too many once rounding up is taken into account.
    let mut points = value_per_point
        .points_for(Money::from_fen(remaining_fen))
        .unwrap_or(0)
        .min(wanted);
    while points > 0 && cost(points) > remaining_fen {
        points -= 1;
    }
    (points, cost(points))
}

/// The house's share of a cost, rounded down.
pub fn house_share(cost_fen: i64, house_share_bp: i32) -> i64 {
    let share = i128::from(cost_fen) * i128::from(house_share_bp) / 10_000;
    i64::try_from(share).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn base_points_round_down() {
        assert_eq!(
            base_points(Money::parse("99.99").unwrap(), d("1")),
            Some(99)
        );
        assert_eq!(
            base_points(Money::parse("10.00").unwrap(), d("2.5")),
            Some(25)
        );
        assert_eq!(
            base_points(Money::parse("0.39").unwrap(), d("2.5")),
            Some(0)
        );
    }

    #[test]
    fn hub_points_carry_the_same_value_as_the_programs_points() {
        // ¥100 at 1 point/CNY worth ¥0.02 each is ¥2.00 of value: 200 ALP at ¥0.01.
        let (points, per_cny) = hub_base_points(
            Money::parse("100.00").unwrap(),
            d("1"),
            rate("0.02"),
            rate("0.01"),
        )
        .unwrap();
        assert_eq!(points, 200);
        assert_eq!(per_cny, d("2"));
    }

    #[test]
    fn silver_adds_ten_percent_rounded_down() {
        assert_eq!(tier_bonus(99, 1000), 9);
        assert_eq!(tier_bonus(100, 1000), 10);
        assert_eq!(tier_bonus(100, 0), 0);
    }

    #[test]
    fn a_10x_campaign_adds_nine_times_the_base_and_the_highest_step() {
        let steps = [
            SpendStep {
                min_fen: 10_000,
                bonus_points: 50,
            },
            SpendStep {
                min_fen: 50_000,
                bonus_points: 300,
            },
        ];
        let amount = Money::parse("520.00").unwrap();
        assert_eq!(campaign_points(520, d("10"), &steps, amount), 9 * 520 + 300);
        assert_eq!(
            campaign_points(50, d("1"), &steps, Money::parse("50.00").unwrap()),
            0
        );
    }

    #[test]
    fn the_budget_takes_what_fits_and_never_more() {
        // 0.015 CNY per point: 100 points cost ¥1.50.
        assert_eq!(fit_budget(100, rate("0.015"), 1_000), (100, 150));
        assert_eq!(fit_budget(100, rate("0.015"), 100), (66, 99));
        assert_eq!(fit_budget(100, rate("0.015"), 1), (0, 0));
    }

    #[test]
    fn a_refund_below_a_step_keeps_the_base_and_loses_the_step() {
        let mut earned = Breakdown::new(
            d("1"),
            100,
            TierBonus {
                code: "basic".to_owned(),
                bonus_bp: 0,
                points: 0,
            },
        );
        earned.add_campaign(CampaignBonus {
            campaign_id: 7,
            name_zh: "满减".to_owned(),
            name_en: "Spend more".to_owned(),
            multiplier: d("1"),
            wanted_points: 500,
            points: 500,
            cost_fen: 500,
            house_fen: 0,
        });
        let steps = BTreeMap::from([(
            7,
            vec![SpendStep {
                min_fen: 10_000,
                bonus_points: 500,
            }],
        )]);
        assert_eq!(kept(&earned, &steps, Money::from_fen(10_000)), 600);
        assert_eq!(kept(&earned, &steps, Money::from_fen(9_999)), 99);
        assert_eq!(kept(&earned, &steps, Money::ZERO), 0);
    }

    proptest! {
        #[test]
        fn fit_budget_never_exceeds_the_remaining_budget(
            wanted in 0i64..1_000_000,
            remaining in 0i64..10_000_000,
            mantissa in 1i64..1_000_000,
        ) {
            let value = Rate::new(Decimal::new(mantissa, 6)).unwrap();
            let (points, cost) = fit_budget(wanted, value, remaining);
            prop_assert!(points <= wanted);
            prop_assert!(cost <= remaining);
            prop_assert_eq!(cost, value.value_of(points, Rounding::Up).unwrap().fen());
            // And it is the most that fits.
            if points < wanted {
                prop_assert!(value.value_of(points + 1, Rounding::Up).unwrap().fen() > remaining);
            }
        }
    }
}
