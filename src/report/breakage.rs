//! Breakage by program: the points that expired in the period (entries of kind
//! `expire`, member wallet → `program:P:breakage`), what they were worth, and
//! the breakage rate — expired ÷ (expired + redeemed), redeemed being the
//! points retired by served redemptions (kind `redeem`) in the same period.

use diesel::{
    prelude::*,
    sql_types::{BigInt, Text},
};

use crate::i18n::Locale;

use super::{Cell, Filters, PerProgram, ProgramFigures, ReportError, Table};

#[derive(Debug, QueryableByName)]
struct Figures {
    #[diesel(sql_type = Text)]
    program: String,
    #[diesel(sql_type = BigInt)]
    expired: i64,
    #[diesel(sql_type = BigInt)]
    redeemed: i64,
}

impl ProgramFigures for Figures {
    fn program(&self) -> &str {
        &self.program
    }
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
      AND m.effective_at >= $1 AND m.effective_at < $2 \
    GROUP BY m.asset";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let report = PerProgram {
        sql: FIGURES,
        columns: &[
            ("reports.col.expired_points", false),
            ("reports.col.redeemed_points", false),
            ("reports.col.breakage_cny", true),
            ("reports.col.breakage_rate", false),
        ],
        note: "reports.kind.breakage.note",
    };
    report.build(
        conn,
        filters,
        locale,
        progress,
        |program, f: Option<&Figures>| {
            let (expired, redeemed) = f.map_or((0, 0), |f| (f.expired, f.redeemed));
            Ok(vec![
                Cell::Points(expired),
                Cell::Points(redeemed),
                Cell::Money(program.value_of(expired)?),
                Cell::percent(expired, expired + redeemed),
            ])
        },
    )
}
