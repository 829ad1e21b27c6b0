//! The data set's rewards: each merchant's catalog filled to its size through
//! the catalog service, and published. Reward `n` of a merchant is always the
//! same reward, so a later run creates only the numbers missing.

use anyhow::Context as _;
use chrono::Days;
use diesel::PgConnection;

use crate::{
    catalog::{self, RewardDetails, RewardInput, RewardStatus},
    domain::{actor::Actor, shanghai},
};

use super::merchants::{Built, trade};

/// Creates and publishes the rewards each merchant lacks; returns how many.
pub(super) fn ensure(
    conn: &mut PgConnection,
    actor: &Actor,
    merchants: &[Built],
    per_merchant: usize,
) -> anyhow::Result<usize> {
    let now = crate::clock::now();
    let today = now.with_timezone(&shanghai::offset()).date_naive();
    let first_day = today.to_string();
    let last_day = (today + Days::new(365)).to_string();
    let mut created = 0;
    for merchant in merchants {
        let trade = trade(merchant.index);
        let have = catalog::of_merchant(conn, merchant.id)?.len();
        for number in have + 1..=per_merchant {
            // Values from ¥10 to ¥199, priced in points at the settlement
            // value (one fen a point); every third is cash and other points only.
            let value_fen = 1_000 + (number * 7_919 % 190) * 100;
            let points_price = if number % 3 == 0 {
                String::new()
            } else {
                value_fen.to_string()
            };
            let title_en = format!("{} reward #{number}", trade.en);
            let details = RewardDetails::parse(&RewardInput {
                title_zh: &format!("{}礼品 {number}号", trade.zh),
                title_en: &title_en,
                description_zh: "",
                description_en: "",
                category: trade.reward_category,
                value: &format!("{}.00", value_fen / 100),
                points_price: &points_price,
                other_points: true,
                cash_topup: number % 2 == 0,
                stock: "100",
                first_day: &first_day,
                last_day: &last_day,
            })
            .map_err(|invalid| anyhow::anyhow!("reward {title_en}: {invalid}"))?;
            let reward = catalog::create(conn, actor, merchant.id, &details, &[])
                .with_context(|| format!("reward {title_en} of {}", merchant.code))?;
            catalog::set_status(
                conn,
                actor,
                merchant.id,
                reward.id,
                RewardStatus::Published,
                now,
            )
            .with_context(|| format!("publishing reward {title_en} of {}", merchant.code))?;
            created += 1;
        }
    }
    Ok(created)
}
