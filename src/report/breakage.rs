//! Breakage by program: the points that expired in the period (entries of kind
//! `expire`, member wallet → `program:P:breakage`), what they were worth, and
//! the breakage rate — expired ÷ (expired + redeemed), redeemed being the
//! points retired by served redemptions (kind `redeem`) in the same period.

use diesel::{
    prelude::*,
    sql_types::{BigInt, Text},
};

use crate::i18n::Locale;

use super::{Cell, Filters, ReportError, Table, figures_by_program, programs_in_scope, tick};

#[derive(Debug, QueryableByName)]
struct Figures {
    #[diesel(sql_type = Text)]
    program: String,
    #[diesel(sql_type = BigInt)]
    expired: i64,
    #[diesel(sql_type = BigInt)]
    redeemed: i64,
}

const FIGURES: &str = "\
    SELECT m.asset AS program, \
      coalesce(sum(m.amount) FILTER (WHERE m.kind = 'expire' AND c.purpose = 'breakage'), 0)::int8 \
        AS expired, \
      coalesce(sum(m.amount) FILTER (WHERE m.kind = 'redeem' AND c.purpose = 'issuance'), 0)::int8 \
        AS redeemed \
    FROM ledger_movements m \
    JOIN accounts c ON c.id = m.credit_account_id \
    WHERE c.owner_kind = 'program' \
      AND m.kind IN ('expire', 'redeem') \
      AND m.created_at >= $1 AND m.created_at < $2 \
    GROUP BY m.asset";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let scope = programs_in_scope(conn, filters, locale)?;
    let figures = figures_by_program(conn, FIGURES, filters, |f: &Figures| f.program.clone())?;
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::translated(
        locale,
        &[
            ("reports.col.program", false),
            ("reports.col.program_name", false),
            ("reports.col.owner", false),
            ("reports.col.expired_points", false),
            ("reports.col.redeemed_points", false),
            ("reports.col.breakage_cny", true),
            ("reports.col.breakage_rate", false),
        ],
    );
    for (done, program) in scope.iter().enumerate() {
        let (expired, redeemed) = figures
            .get(&program.code)
            .map_or((0, 0), |f| (f.expired, f.redeemed));
        let value = program.value_of(expired)?;
        let mut row = Vec::from(program.leading_cells());
        row.extend([
            Cell::Points(expired),
            Cell::Points(redeemed),
            Cell::Money(value),
            Cell::percent(expired, expired + redeemed),
        ]);
        table.rows.push(row);
        tick(progress, done + 1, scope.len());
    }
    table.add_totals(t("reports.total"));
    table.note = Some(t("reports.kind.breakage.note"));
    Ok(table)
}
