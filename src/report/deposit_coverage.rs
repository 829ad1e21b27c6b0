//! Deposit coverage: for every active merchant, what its deposit holds now
//! against what it must hold — the deposit service's own position, so this
//! report and the deposit pages read the same figures.

use diesel::PgConnection;

use crate::{deposit, i18n::Locale, merchant::standing::Status};

use super::{Cell, Filters, ReportError, Table, merchants, tick};

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let active: Vec<_> = merchants(conn)?
        .into_iter()
        .filter(|m| m.status == Status::Active)
        .filter(|m| filters.merchant_id.is_none_or(|id| id == m.id))
        .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.merchant", false),
            ("reports.col.tier", false),
            ("reports.col.deposit_cny", true),
            ("reports.col.outstanding_points", false),
            ("reports.col.liability_cny", true),
            ("reports.col.required_cny", true),
            ("reports.col.shortfall_cny", true),
            ("reports.col.coverage", false),
            ("reports.col.status", false),
        ],
    );
    for (done, merchant) in active.iter().enumerate() {
        let position = deposit::position(conn, merchant)?;
        table.rows.push(vec![
            Cell::Text(merchant.name(locale).to_owned()),
            Cell::Text(t(&format!("merchant.tier.{}", merchant.tier))),
            Cell::Money(position.balance),
            Cell::Points(position.outstanding_points),
            Cell::Money(position.liability),
            Cell::Money(position.requirement.required),
            Cell::Money(position.shortfall()),
            Cell::percent(position.balance.fen(), position.requirement.required.fen()),
            Cell::Text(t(&format!("deposit.cover.{}", position.cover().as_str()))),
        ]);
        tick(progress, done + 1, active.len());
    }
    table.add_totals(t("reports.total"));
    let sum = |i: usize| {
        table
            .rows
            .iter()
            .filter_map(|row| match row.get(i) {
                Some(Cell::Money(m)) => Some(m.fen()),
                _ => None,
            })
            .sum::<i64>()
    };
    let (balance, required) = (sum(2), sum(5));
    table.set_total(7, Cell::percent(balance, required));
    table.note = Some(t("reports.kind.deposit-coverage.note"));
    Ok(table)
}
