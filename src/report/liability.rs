//! Liability by program: the points outstanding at the end of the period (minus
//! the posted balance of `program:P:issuance` as of that instant, from the
//! ledger's posted movements), the points issued and retired within the period, and
//! what the outstanding points are worth in CNY — at the program's settlement
//! value, or for ALP at its issue price (`overview::point_values`), rounded
//! down as the platform's home values the liability.

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
    outstanding: i64,
    #[diesel(sql_type = BigInt)]
    issued: i64,
    #[diesel(sql_type = BigInt)]
    retired: i64,
}

impl ProgramFigures for Figures {
    fn program(&self) -> &str {
        &self.program
    }
}

/// Per program, from the posted movements touching its issuance account.
/// Issuing debits the account, retiring credits it.
const FIGURES: &str = "\
    SELECT a.asset AS program, \
      coalesce(sum(CASE WHEN m.debit_account_id = a.id THEN m.amount ELSE -m.amount END) \
               FILTER (WHERE m.effective_at < $2), 0)::int8 AS outstanding, \
      coalesce(sum(m.amount) FILTER (WHERE m.debit_account_id = a.id \
               AND m.effective_at >= $1 AND m.effective_at < $2), 0)::int8 AS issued, \
      coalesce(sum(m.amount) FILTER (WHERE m.credit_account_id = a.id \
               AND m.effective_at >= $1 AND m.effective_at < $2), 0)::int8 AS retired \
    FROM accounts a \
    JOIN ledger_movements m ON m.debit_account_id = a.id OR m.credit_account_id = a.id \
    WHERE a.owner_kind = 'program' AND a.purpose = 'issuance' \
    GROUP BY a.asset";

pub(super) fn build(
    conn: &mut PgConnection,
    filters: &Filters,
    locale: Locale,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Table, ReportError> {
    let report = PerProgram {
        sql: FIGURES,
        columns: &[
            ("reports.col.outstanding_points", false),
            ("reports.col.issued_points", false),
            ("reports.col.retired_points", false),
            ("reports.col.liability_cny", true),
            ("reports.col.basis", false),
        ],
        note: "reports.kind.liability.note",
    };
    report.build(
        conn,
        filters,
        locale,
        progress,
        |program, f: Option<&Figures>| {
            let (outstanding, issued, retired) =
                f.map_or((0, 0, 0), |f| (f.outstanding, f.issued, f.retired));
            Ok(vec![
                Cell::Points(outstanding),
                Cell::Points(issued),
                Cell::Points(retired),
                Cell::Money(program.value_of(outstanding)?),
                Cell::Text(format!(
                    "{} {}",
                    program.basis.label(locale),
                    program.value.as_decimal()
                )),
            ])
        },
    )
}
