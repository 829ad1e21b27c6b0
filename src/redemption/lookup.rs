//! The merchant's side of redemptions: its partner API and its cashiers reach a
//! redemption only through the merchant it belongs to, so another merchant's
//! reward or voucher is as absent as one that never was. Its home counts the
//! members it served and what each of its stores served.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::count,
    prelude::*,
    sql_types::{BigInt, Nullable, Text, Timestamptz},
};

use crate::{
    db::schema::{redemptions, rewards},
    domain::{
        actor::Actor,
        id::{MerchantId, RewardId, StoreId},
    },
    i18n::Locale,
};

use super::{RedeemError, Redemption, RedemptionStatus, cancel, fulfil};

/// A redemption with the title of its reward, as the counter shows it.
#[derive(Debug, Clone)]
pub struct Voucher {
    pub redemption: Redemption,
    pub title_zh: String,
    pub title_en: String,
}

impl Voucher {
    pub fn title(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.title_zh,
            Locale::En => &self.title_en,
        }
    }
}

/// The merchant whose reward it is; none for no such reward.
pub fn reward_merchant(
    conn: &mut PgConnection,
    reward_id: RewardId,
) -> QueryResult<Option<MerchantId>> {
    rewards::table
        .find(reward_id)
        .select(rewards::merchant_id)
        .first(conn)
        .optional()
}

/// One of the merchant's redemptions.
pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: i64,
) -> QueryResult<Option<Redemption>> {
    redemptions::table
        .find(id)
        .filter(redemptions::merchant_id.eq(merchant_id))
        .select(Redemption::as_select())
        .first(conn)
        .optional()
}

/// The merchant's voucher with this code (surrounding blanks ignored), whatever
/// its status.
pub fn voucher(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    code: &str,
) -> QueryResult<Option<Voucher>> {
    redemptions::table
        .inner_join(rewards::table)
        .filter(redemptions::merchant_id.eq(merchant_id))
        .filter(redemptions::voucher_code.eq(code.trim()))
        .select((
            Redemption::as_select(),
            rewards::title_zh,
            rewards::title_en,
        ))
        .first::<(Redemption, String, String)>(conn)
        .optional()
        .map(|found| found.map(voucher_of))
}

/// The merchant's vouchers served since `since`, latest first.
pub fn served_since(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Voucher>> {
    redemptions::table
        .inner_join(rewards::table)
        .filter(redemptions::merchant_id.eq(merchant_id))
        .filter(redemptions::status.eq(RedemptionStatus::Fulfilled))
        .filter(redemptions::resolved_at.ge(since))
        .order((redemptions::resolved_at.desc(), redemptions::id.desc()))
        .limit(limit)
        .select((
            Redemption::as_select(),
            rewards::title_zh,
            rewards::title_en,
        ))
        .load::<(Redemption, String, String)>(conn)
        .map(|rows| rows.into_iter().map(voucher_of).collect())
}

/// Distinct members whose vouchers of the merchant were served in
/// [`from`, `until`).
pub fn redeemers(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<i64> {
    redemptions::table
        .filter(redemptions::merchant_id.eq(merchant_id))
        .filter(redemptions::status.eq(RedemptionStatus::Fulfilled))
        .filter(redemptions::resolved_at.ge(from))
        .filter(redemptions::resolved_at.lt(until))
        .select(count(redemptions::member_id).aggregate_distinct())
        .get_result(conn)
}

/// What one of the merchant's stores served in a period; `store_id` None for
/// vouchers served without naming a store.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct StoreTally {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub store_id: Option<StoreId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub store_name: Option<String>,
    /// Vouchers served.
    #[diesel(sql_type = BigInt)]
    pub served: i64,
    /// The rewards' value, fen.
    #[diesel(sql_type = BigInt)]
    pub value_fen: i64,
}

/// Vouchers served in [`from`, `until`) by store: every active store (a quiet
/// one with zeros), a closed one only if it served any, and the vouchers served
/// with no store last when there are some; the busiest stores first.
pub fn served_by_store(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<StoreTally>> {
    diesel::sql_query(
        "SELECT * FROM (
         SELECT s.id AS store_id, s.name AS store_name, count(r.id) AS served,
                coalesce(sum(r.value_fen), 0)::int8 AS value_fen
           FROM stores s
           LEFT JOIN redemptions r
             ON r.store_id = s.id AND r.merchant_id = $1 AND r.status = 'fulfilled'
            AND r.resolved_at >= $2 AND r.resolved_at < $3
          WHERE s.merchant_id = $1
          GROUP BY s.id
         HAVING s.active OR count(r.id) > 0
         UNION ALL
         SELECT NULL, NULL, count(*), coalesce(sum(value_fen), 0)::int8
           FROM redemptions
          WHERE merchant_id = $1 AND store_id IS NULL AND status = 'fulfilled'
            AND resolved_at >= $2 AND resolved_at < $3
         HAVING count(*) > 0
         ) tally
          ORDER BY store_id IS NULL, value_fen DESC, served DESC, store_name",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)
}

fn voucher_of((redemption, title_zh, title_en): (Redemption, String, String)) -> Voucher {
    Voucher {
        redemption,
        title_zh,
        title_en,
    }
}

/// Serves the merchant's redemption `id` (核销), as `fulfil` does its voucher.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id, store_id = ?store_id))]
pub fn fulfil_by_id(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: i64,
    store_id: Option<StoreId>,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    let found = of_merchant(conn, merchant_id, id)?.ok_or(RedeemError::UnknownVoucher)?;
    fulfil(conn, merchant_id, &found.voucher_code, store_id, actor)
}

/// The merchant calls off its redemption `id` for the member: holds voided,
/// stock returned, as the member's own `cancel`.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id))]
pub fn cancel_by_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: i64,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    let found = of_merchant(conn, merchant_id, id)?.ok_or(RedeemError::UnknownVoucher)?;
    cancel(conn, found.member_id, id, actor)
}
