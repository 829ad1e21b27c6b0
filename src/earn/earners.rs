//! How many members earned a program's points in a period, for the merchant's
//! home ("members who earned", this month against the last). Counted from the
//! ledger — the `earn` entries' transfers out of the program's issuance account
//! into member wallets, by when they happened (effective time) — so every channel that
//! issues points (till, partner API, demo, import) counts alike.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    chart,
    db::schema::accounts,
    domain::points::ProgramCode,
    ledger::{self, views::ledger_movements as moved},
};

/// Distinct members credited `program` points by an earn effective in
/// [`from`, `until`).
pub fn count(
    conn: &mut PgConnection,
    program: &ProgramCode,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<i64> {
    let Some(issuance) = ledger::find_account(conn, &chart::program_issuance(program).code)? else {
        return Ok(0);
    };
    moved::table
        .inner_join(accounts::table.on(accounts::id.eq(moved::credit_account_id)))
        .filter(moved::debit_account_id.eq(issuance.id))
        .filter(moved::effective_at.ge(from))
        .filter(moved::effective_at.lt(until))
        .filter(moved::kind.eq("earn"))
        .filter(accounts::owner_kind.eq("member"))
        .select(diesel::dsl::count(accounts::owner_id).aggregate_distinct())
        .get_result(conn)
}
