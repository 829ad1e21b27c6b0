//! Redemptions by merchant and store: vouchers served (核销) and called off
//! (cancelled or lapsed) in the period, by when they were resolved, with the
//! value served and the cash top-ups collected at the counter. A redemption
//! with no store — served online, or called off — has its own row; stores are
//! placed in their district (`region`).

use std::collections::BTreeMap;

use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Timestamptz},
};

use crate::{
    domain::{
        id::{MerchantId, StoreId},
        money::Money,
    },
    i18n::Locale,
};

use super::{Cell, Filters, ReportError, Table, merchants, region, tick};

#[derive(Debug, QueryableByName)]
struct Figures {
    #[diesel(sql_type = BigInt)]
    merchant_id: MerchantId,
    #[diesel(sql_type = Nullable<BigInt>)]
    store_id: Option<StoreId>,
    #[diesel(sql_type = BigInt)]
    fulfilled: i64,
    #[diesel(sql_type = BigInt)]
    called_off: i64,
    #[diesel(sql_type = BigInt)]
    value_fen: i64,
    #[diesel(sql_type = BigInt)]
    cash_fen: i64,
}

const FIGURES: &str = "\
    SELECT merchant_id, store_id, \
      count(*) FILTER (WHERE status = 'fulfilled') AS fulfilled, \
      count(*) FILTER (WHERE status IN ('cancelled', 'expired')) AS called_off, \
      coalesce(sum(value_fen) FILTER (WHERE status = 'fulfilled'), 0)::int8 AS value_fen, \
      coalesce(sum(cash_fen) FILTER (WHERE status = 'fulfilled'), 0)::int8 AS cash_fen \
    FROM redemptions \
    WHERE resolved_at >= $1 AND resolved_at < $2 \
      AND status IN ('fulfilled', 'cancelled', 'expired') \
      AND ($3::int8 IS NULL OR merchant_id = $3) \
    GROUP BY merchant_id, store_id \
    ORDER BY merchant_id, store_id NULLS LAST";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let names: BTreeMap<MerchantId, String> = merchants(conn)?
        .into_iter()
        .map(|m| (m.id, m.name(locale).to_owned()))
        .collect();
    let stores: BTreeMap<StoreId, region::LocatedStore> = region::located_stores(conn)?
        .into_iter()
        .map(|s| (s.store.id, s))
        .collect();
    let figures: Vec<Figures> = diesel::sql_query(FIGURES)
        .bind::<Timestamptz, _>(filters.starts_at())
        .bind::<Timestamptz, _>(filters.ends_at())
        .bind::<Nullable<BigInt>, _>(filters.merchant_id)
        .load(conn)?;
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.merchant", false),
            ("reports.col.store", false),
            ("reports.col.district", false),
            ("reports.col.fulfilled", true),
            ("reports.col.called_off", true),
            ("reports.col.redeemed_value_cny", true),
            ("reports.col.cash_topup_cny", true),
        ],
    );
    for (done, row) in figures.iter().enumerate() {
        tick(progress, done + 1, figures.len());
        let store = row.store_id.and_then(|id| stores.get(&id));
        if filters.store_id.is_some() && row.store_id != filters.store_id {
            continue;
        }
        let district = store.map(|s| s.district);
        if filters.district.is_some() && district != filters.district {
            continue;
        }
        table.rows.push(vec![
            Cell::Text(names.get(&row.merchant_id).cloned().unwrap_or_default()),
            Cell::Text(store.map_or_else(|| t("reports.no_store"), |s| s.store.name.clone())),
            district.map_or(Cell::Empty, |d| {
                Cell::Text(locale.t(&d.label_key()).into_owned())
            }),
            Cell::Count(row.fulfilled),
            Cell::Count(row.called_off),
            Cell::Money(Money::from_fen(row.value_fen)),
            Cell::Money(Money::from_fen(row.cash_fen)),
        ]);
    }
    table.add_totals(t("reports.total"));
    table.note = Some(t("reports.kind.redemptions.note"));
    Ok(table)
}
