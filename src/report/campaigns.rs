//! Campaign results against budget: every campaign whose window overlaps the
//! period (at a merchant's, when one is given, through `campaign_merchants`),
//! with its budget, what it has spent so far, what remains and the share used,
//! and the awards it made in the period — bonus points, their cost and the
//! house's part of that cost — at the merchant's tills only when a merchant is
//! given.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Timestamptz},
};

use crate::{campaign, domain::money::Money, i18n::Locale};

use super::{Cell, Filters, ReportError, Table, tick};

#[derive(Debug, QueryableByName)]
struct AwardSums {
    #[diesel(sql_type = BigInt)]
    campaign_id: i64,
    #[diesel(sql_type = BigInt)]
    awards: i64,
    #[diesel(sql_type = BigInt)]
    bonus_points: i64,
    #[diesel(sql_type = BigInt)]
    cost_fen: i64,
    #[diesel(sql_type = BigInt)]
    house_fen: i64,
}

const AWARDS: &str = "\
    SELECT a.campaign_id, count(*) AS awards, \
      sum(a.bonus_points)::int8 AS bonus_points, \
      sum(a.cost_fen)::int8 AS cost_fen, sum(a.house_fen)::int8 AS house_fen \
    FROM campaign_awards a JOIN earn_orders o ON o.id = a.earn_order_id \
    WHERE a.created_at >= $1 AND a.created_at < $2 \
      AND ($3::int8 IS NULL OR o.merchant_id = $3) \
    GROUP BY a.campaign_id";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let (starts, ends) = (filters.starts_at(), filters.ends_at());
    let listed: Vec<campaign::Listed> = campaign::list(conn, i64::MAX)?
        .into_iter()
        .rev()
        .filter(|l| l.campaign.starts_at < ends && l.campaign.ends_at > starts)
        .filter(|l| {
            filters
                .merchant_id
                .is_none_or(|m| l.merchants.iter().any(|merchant| merchant.id == m))
        })
        .collect();
    let awards: HashMap<i64, AwardSums> = diesel::sql_query(AWARDS)
        .bind::<Timestamptz, _>(starts)
        .bind::<Timestamptz, _>(ends)
        .bind::<Nullable<BigInt>, _>(filters.merchant_id)
        .load::<AwardSums>(conn)?
        .into_iter()
        .map(|a| (a.campaign_id, a))
        .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.campaign", false),
            ("reports.col.merchants", false),
            ("reports.col.status", false),
            ("reports.col.budget_cny", true),
            ("reports.col.spent_cny", true),
            ("reports.col.remaining_cny", true),
            ("reports.col.used", false),
            ("reports.col.awards", true),
            ("reports.col.bonus_points", false),
            ("reports.col.award_cost_cny", true),
            ("reports.col.house_share_cny", true),
        ],
    );
    for (done, l) in listed.iter().enumerate() {
        let c = &l.campaign;
        let (count, points, cost, house) = awards.get(&c.id).map_or((0, 0, 0, 0), |a| {
            (a.awards, a.bonus_points, a.cost_fen, a.house_fen)
        });
        table.rows.push(vec![
            Cell::Text(c.name(locale).to_owned()),
            Cell::Text(
                l.merchants
                    .iter()
                    .map(|m| m.name(locale))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Cell::Text(t(&format!("earning_portals.campaign.status.{}", c.status))),
            Cell::Money(Money::from_fen(c.budget_fen)),
            Cell::Money(Money::from_fen(c.spent_fen)),
            Cell::Money(Money::from_fen(c.remaining_fen())),
            Cell::percent(c.spent_fen, c.budget_fen),
            Cell::Count(count),
            Cell::Points(points),
            Cell::Money(Money::from_fen(cost)),
            Cell::Money(Money::from_fen(house)),
        ]);
        tick(progress, done + 1, listed.len());
    }
    table.add_totals(t("reports.total"));
    let budget: i64 = listed.iter().map(|l| l.campaign.budget_fen).sum();
    let spent: i64 = listed.iter().map(|l| l.campaign.spent_fen).sum();
    table.set_total(6, Cell::percent(spent, budget));
    table.note = Some(t("reports.kind.campaigns.note"));
    Ok(table)
}
