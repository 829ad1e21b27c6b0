//! Settlement status: the statements whose period ends within the report's
//! period, per merchant — the closing position, the platform's share, where
//! the payouts stand (pending or batched, sent, confirmed, failed) and what is
//! still to be collected (open, overdue). Read through the settlement
//! service's own functions.

use diesel::PgConnection;

use crate::{
    domain::money::Money,
    i18n::Locale,
    settlement::{
        collection::{self, CollectionStatus},
        payout::{self, PayoutStatus},
        statement,
    },
};

use super::{Cell, Filters, ReportError, Table, merchants, tick};

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let scope: Vec<_> = merchants(conn)?
        .into_iter()
        .filter(|m| filters.merchant_id.is_none_or(|id| id == m.id))
        .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.merchant", false),
            ("reports.col.period", false),
            ("reports.col.closing_cny", true),
            ("reports.col.platform_share_cny", true),
            ("reports.col.payout_pending_cny", true),
            ("reports.col.payout_sent_cny", true),
            ("reports.col.payout_confirmed_cny", true),
            ("reports.col.payout_failed_cny", true),
            ("reports.col.collection_open_cny", true),
            ("reports.col.collection_overdue_cny", true),
        ],
    );
    for (done, merchant) in scope.iter().enumerate() {
        let mut statements = statement::of_merchant(
            conn,
            merchant.id,
            Some(filters.starts_at()),
            Some(filters.ends_at()),
            i64::MAX,
        )?;
        statements.reverse();
        for s in statements {
            let mut payouts = [0_i64; 4];
            for p in payout::of_statement(conn, s.id)? {
                let slot = match p.status {
                    PayoutStatus::Pending | PayoutStatus::Batched => 0,
                    PayoutStatus::Sent => 1,
                    PayoutStatus::Confirmed => 2,
                    PayoutStatus::Failed => 3,
                };
                payouts[slot] += p.amount.fen();
            }
            let (open, overdue) = match collection::of_statement(conn, s.id)? {
                Some(c) if c.status == CollectionStatus::Open => (c.outstanding().fen(), 0),
                Some(c) if c.status == CollectionStatus::Overdue => (0, c.outstanding().fen()),
                _ => (0, 0),
            };
            let (first, last) = s.days();
            let mut row = vec![
                Cell::Text(merchant.name(locale).to_owned()),
                Cell::Text(format!("{first} – {last}")),
                Cell::Money(s.closing),
                Cell::Money(s.platform_fee),
            ];
            row.extend(
                payouts
                    .into_iter()
                    .chain([open, overdue])
                    .map(|fen| Cell::Money(Money::from_fen(fen))),
            );
            table.rows.push(row);
        }
        tick(progress, done + 1, scope.len());
    }
    table.add_totals(t("reports.total"));
    Ok(table)
}
