//! Breakage by program: the points that expired in the period (entries of kind
//! `expire`, member wallet → `program:P:breakage`), what they were worth, and
//! the breakage rate — expired ÷ (expired + redeemed), redeemed being the
//! points retired by served redemptions (kind `redeem`) in the same period.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_types::{BigInt, Text, Timestamptz},
};

use crate::{domain::money::Rounding, i18n::Locale};

use super::{Cell, Filters, ReportError, Table, programs_in_scope, tick};

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
    SELECT t.asset AS program, \
      coalesce(sum(t.amount) FILTER (WHERE j.kind = 'expire' AND c.purpose = 'breakage'), 0)::int8 \
        AS expired, \
      coalesce(sum(t.amount) FILTER (WHERE j.kind = 'redeem' AND c.purpose = 'issuance'), 0)::int8 \
        AS redeemed \
    FROM transfers t \
    JOIN journal_entries j ON j.id = t.journal_entry_id \
    JOIN accounts c ON c.id = t.credit_account_id \
    WHERE t.phase IN ('posted', 'post_pending') AND c.owner_kind = 'program' \
      AND j.kind IN ('expire', 'redeem') \
      AND t.created_at >= $1 AND t.created_at < $2 \
    GROUP BY t.asset";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let scope = programs_in_scope(conn, filters, locale)?;
    let figures: HashMap<String, Figures> = diesel::sql_query(FIGURES)
        .bind::<Timestamptz, _>(filters.starts_at())
        .bind::<Timestamptz, _>(filters.ends_at())
        .load::<Figures>(conn)?
        .into_iter()
        .map(|f| (f.program.clone(), f))
        .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let mut table = Table::new([
        (t("reports.col.program"), false),
        (t("reports.col.program_name"), false),
        (t("reports.col.owner"), false),
        (t("reports.col.expired_points"), false),
        (t("reports.col.redeemed_points"), false),
        (t("reports.col.breakage_cny"), true),
        (t("reports.col.breakage_rate"), false),
    ]);
    for (done, program) in scope.iter().enumerate() {
        let (expired, redeemed) = figures
            .get(&program.code)
            .map_or((0, 0), |f| (f.expired, f.redeemed));
        let value = program
            .value
            .value_of(expired, Rounding::Down)
            .map_err(|_| ReportError::Valuation(program.code.clone()))?;
        table.rows.push(vec![
            Cell::Text(program.code.clone()),
            Cell::Text(program.name.clone()),
            Cell::Text(program.owner.clone()),
            Cell::Points(expired),
            Cell::Points(redeemed),
            Cell::Money(value),
            Cell::percent(expired, expired + redeemed),
        ]);
        tick(progress, done + 1, scope.len());
    }
    table.add_totals(t("reports.total"));
    table.note = Some(t("reports.kind.breakage.note"));
    Ok(table)
}
