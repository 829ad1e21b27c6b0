//! Exchange flows: for each pair of programs, how many exchanges ran from one
//! into the other in the period, the points given and received, the value that
//! left the first program and the house's fee — the exchange service's own flow
//! matrix, narrowed to a program or a merchant's program on either side.

use diesel::PgConnection;

use crate::{domain::money::Money, exchange::flows, i18n::Locale, program};

use super::{Cell, Filters, ReportError, Table, tick};

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let merchant_program = match filters.merchant_id {
        Some(id) => Some(program::of_merchant(conn, id)?.map(|p| p.code)),
        None => None,
    };
    let touches = |code: &Option<String>, cell: &flows::FlowCell| {
        code.as_deref()
            .is_none_or(|c| cell.from_program == c || cell.to_program == c)
    };
    let cells: Vec<flows::FlowCell> = flows::matrix(conn, filters.starts_at(), filters.ends_at())?
        .into_iter()
        .filter(|cell| touches(&filters.program, cell))
        // A merchant without a program takes part in no exchange.
        .filter(|cell| {
            merchant_program
                .as_ref()
                .is_none_or(|code| code.is_some() && touches(code, cell))
        })
        .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.from_program", false),
            ("reports.col.to_program", false),
            ("reports.col.exchanges", true),
            ("reports.col.points_out", false),
            ("reports.col.points_in", false),
            ("reports.col.value_out_cny", true),
            ("reports.col.house_fee_cny", true),
        ],
    );
    for (done, cell) in cells.iter().enumerate() {
        table.rows.push(vec![
            Cell::Text(cell.from_program.clone()),
            Cell::Text(cell.to_program.clone()),
            Cell::Count(cell.count),
            Cell::Points(cell.from_points),
            Cell::Points(cell.to_points),
            Cell::Money(Money::from_fen(cell.value_out_fen)),
            Cell::Money(Money::from_fen(cell.house_fen)),
        ]);
        tick(progress, done + 1, cells.len());
    }
    table.add_totals(t("reports.total"));
    Ok(table)
}
