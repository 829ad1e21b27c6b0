//! The demo's rewards catalog and today's redemptions: two believable rewards
//! per demo merchant, created and published through the catalog service when
//! the alliance opens, and today a few members redeeming through the
//! redemption service (the proposed mix) — some served at the counter, some
//! still waiting — and a few sharing the first member's choice, for the
//! recommendations. Merchants that already have rewards are left alone, and
//! today's orders have fixed request keys that the service replays, so a
//! second run changes nothing.

use anyhow::Context;
use chrono::NaiveDate;
use diesel::PgConnection;

use crate::{
    catalog::{self, Reward, RewardDetails, RewardInput, RewardStatus},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
    },
    redemption::{self, RedeemRequest, Redemption, pay::Leg},
};

/// A reward a demo merchant offers: (title zh, title en, category, value CNY,
/// points price or "", cash top-up allowed, stock).
type DemoReward = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static str,
);

/// By merchant, in the demo's merchant order (BREW, MART, CINEMA, BOOKS, FUEL,
/// HOTEL, MILES, BANKCARD).
const CATALOG: [[DemoReward; 2]; 8] = [
    [
        (
            "大杯拿铁一杯",
            "A large latte",
            "drinks",
            "32.00",
            "640",
            true,
            "500",
        ),
        (
            "手冲咖啡豆 250 克",
            "Pour-over beans, 250 g",
            "drinks",
            "98.00",
            "",
            true,
            "120",
        ),
    ],
    [
        (
            "20 元购物抵用券",
            "¥20 shopping voucher",
            "groceries",
            "20.00",
            "2000",
            false,
            "1000",
        ),
        (
            "有机蔬菜礼盒",
            "Organic vegetable box",
            "groceries",
            "88.00",
            "",
            true,
            "80",
        ),
    ],
    [
        (
            "2D 电影票一张",
            "One 2D movie ticket",
            "entertainment",
            "45.00",
            "900",
            true,
            "300",
        ),
        (
            "爆米花可乐套餐",
            "Popcorn and cola combo",
            "entertainment",
            "28.00",
            "560",
            true,
            "400",
        ),
    ],
    [
        (
            "50 元图书券",
            "¥50 book voucher",
            "books",
            "50.00",
            "1000",
            true,
            "200",
        ),
        (
            "精装笔记本",
            "Hardcover notebook",
            "books",
            "39.00",
            "",
            true,
            "150",
        ),
    ],
    [
        (
            "洗车一次",
            "One car wash",
            "fuel",
            "40.00",
            "800",
            true,
            "300",
        ),
        (
            "30 元加油抵用券",
            "¥30 fuel voucher",
            "fuel",
            "30.00",
            "3000",
            false,
            "500",
        ),
    ],
    [
        (
            "双人自助早餐",
            "Breakfast buffet for two",
            "dining",
            "196.00",
            "3920",
            true,
            "60",
        ),
        (
            "行政酒廊下午茶",
            "Executive lounge afternoon tea",
            "dining",
            "128.00",
            "",
            true,
            "40",
        ),
    ],
    [
        (
            "机场贵宾厅单次",
            "One airport lounge visit",
            "travel",
            "150.00",
            "15000",
            true,
            "100",
        ),
        (
            "行李额升级 10 公斤",
            "Extra 10 kg baggage",
            "travel",
            "120.00",
            "",
            true,
            "100",
        ),
    ],
    [
        (
            "视频会员月卡",
            "One-month video membership",
            "entertainment",
            "25.00",
            "2500",
            true,
            "1000",
        ),
        (
            "定制保温杯",
            "Branded insulated cup",
            "services",
            "68.00",
            "",
            true,
            "200",
        ),
    ],
];

/// How many members redeem in the demo.
const REDEEMERS: usize = 8;
/// How many of them also redeem what the first member did (`redeem_alike`).
const ALIKE: usize = 3;

/// Fills the catalogs of `merchant_ids` (in the demo's merchant order) with
/// rewards on offer from `first_day` to `last_day`; returns how many it created.
pub fn fill(
    conn: &mut PgConnection,
    merchant_ids: &[MerchantId],
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> anyhow::Result<usize> {
    let actor = Actor::system("seed-demo");
    let first_day = first_day.to_string();
    let last_day = last_day.to_string();
    let mut created = 0;
    for (&merchant_id, rewards) in merchant_ids.iter().zip(&CATALOG) {
        if !catalog::of_merchant(conn, merchant_id)?.is_empty() {
            continue;
        }
        for &(title_zh, title_en, category, value, points_price, cash_topup, stock) in rewards {
            let details = RewardDetails::parse(&RewardInput {
                title_zh,
                title_en,
                description_zh: "",
                description_en: "",
                category,
                value,
                points_price,
                other_points: true,
                cash_topup,
                stock,
                first_day: &first_day,
                last_day: &last_day,
            })
            .map_err(|invalid| anyhow::anyhow!("demo reward {title_en}: {invalid:?}"))?;
            let reward = catalog::create(conn, &actor, merchant_id, &details, &[])
                .with_context(|| format!("demo reward {title_en}"))?;
            catalog::set_status(
                conn,
                &actor,
                merchant_id,
                reward.id,
                RewardStatus::Published,
                crate::clock::now(),
            )
            .with_context(|| format!("publishing demo reward {title_en}"))?;
            created += 1;
        }
    }
    Ok(created)
}

/// Members redeem the first reward they can pay for, with the proposed mix;
/// every other voucher is served at once. Returns how many redeemed now.
pub fn redeem(conn: &mut PgConnection, members: &[MemberId]) -> anyhow::Result<usize> {
    let actor = Actor::system("seed-demo");
    let rewards = catalog::published(conn, crate::clock::now())?;
    let mut redeemed = 0;
    for (index, &member_id) in members.iter().take(REDEEMERS).enumerate() {
        let key = format!("demo-{member_id}");
        let mine = redemption::of_member(conn, member_id, 50)?;
        if mine.iter().any(|r| r.request_key == key) {
            continue;
        }
        for reward in rewards.iter().skip(index % rewards.len().max(1)) {
            let Some(held) = order(conn, member_id, reward, &key, &actor)? else {
                continue;
            };
            if index % 2 == 0 {
                redemption::fulfil(conn, reward.merchant_id, &held.voucher_code, None, &actor)
                    .context("serving a demo voucher")?;
            }
            redeemed += 1;
            break;
        }
    }
    Ok(redeemed)
}

/// The first member's taste shared: a few of the other redeemers also order
/// the reward the first member redeemed, so the rewards they chose besides
/// are "popular with similar members" for the first member (王芳) on the
/// "for you" page (`redemption::recommend`). Run after `redeem`; members who
/// already hold that reward are left alone. Returns how many ordered it.
pub fn redeem_alike(conn: &mut PgConnection, members: &[MemberId]) -> anyhow::Result<usize> {
    let actor = Actor::system("seed-demo");
    let Some(&first) = members.first() else {
        return Ok(0);
    };
    let Some(shared) = redemption::of_member(conn, first, 50)?
        .into_iter()
        .find(|r| r.request_key == format!("demo-{first}"))
    else {
        return Ok(0);
    };
    let Some(reward) = catalog::find(conn, shared.merchant_id, shared.reward_id)? else {
        return Ok(0);
    };
    let mut redeemed = 0;
    for &member_id in members.iter().take(REDEEMERS).skip(1).take(ALIKE) {
        let key = format!("demo-{member_id}-alike");
        let mine = redemption::of_member(conn, member_id, 50)?;
        if mine
            .iter()
            .any(|r| r.request_key == key || r.reward_id == reward.id)
        {
            continue;
        }
        if order(conn, member_id, &reward, &key, &actor)?.is_some() {
            redeemed += 1;
        }
    }
    Ok(redeemed)
}

/// Orders the reward for the member with the proposed mix, under `key`; None
/// when their points cannot pay for any of it.
fn order(
    conn: &mut PgConnection,
    member_id: MemberId,
    reward: &Reward,
    key: &str,
    actor: &Actor,
) -> anyhow::Result<Option<Redemption>> {
    let Some(proposal) = redemption::propose(conn, member_id, reward.id)? else {
        return Ok(None);
    };
    let request = RedeemRequest {
        member_id,
        reward_id: reward.id,
        pay: proposal.legs.iter().filter_map(Leg::as_pay).collect(),
        cash: proposal.cash,
        request_key: key.to_owned(),
    };
    let held = redemption::redeem(conn, &request, actor).with_context(|| {
        format!(
            "demo redemption of {} with {:?} and {}",
            reward.title_en, request.pay, request.cash
        )
    })?;
    Ok(Some(held))
}
