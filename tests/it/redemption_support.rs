//! A reward to redeem and an order for it, shared by the redemption tests and
//! the figures that count redemptions.

use alliance::{
    db::schema::rewards,
    domain::{
        id::{MemberId, MerchantId, RewardId},
        money::Money,
        points::{PointCount, ProgramCode},
    },
    redemption::RedeemRequest,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;

/// A published CINEMA reward worth ¥30.00, or 1,500 CINEMA points, payable
/// with other programs and cash, `stock` in stock.
pub fn movie_ticket(conn: &mut PgConnection, cinema: MerchantId, stock: i64) -> RewardId {
    diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(cinema),
            rewards::title_zh.eq("双人电影票"),
            rewards::title_en.eq("Movie tickets for two"),
            rewards::category.eq("entertainment"),
            rewards::value_fen.eq(3_000),
            rewards::points_price.eq(Some(1_500_i64)),
            rewards::other_points.eq(true),
            rewards::cash_topup.eq(true),
            rewards::stock.eq(stock),
            rewards::valid_from.eq(Utc::now() - Duration::days(1)),
            rewards::valid_until.eq(Utc::now() + Duration::days(30)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap()
}

/// One leg of a request's payment.
pub fn leg(program: &str, points: i64) -> (ProgramCode, PointCount) {
    (
        ProgramCode::parse(program).expect("a program code"),
        PointCount::new(points).expect("a positive count of points"),
    )
}

pub fn order(
    member_id: MemberId,
    reward_id: RewardId,
    pay: &[(&str, i64)],
    cash_fen: i64,
    key: &str,
) -> RedeemRequest {
    RedeemRequest {
        member_id,
        reward_id,
        pay: pay.iter().map(|(p, n)| leg(p, *n)).collect(),
        cash: Money::from_fen(cash_fen),
        request_key: key.to_owned(),
    }
}
