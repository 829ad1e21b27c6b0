//! Pending holds: which are still open, which have expired, and the timeout's
//! void that returns held value to whoever it was held from.
//!
//! The ledger does not know what else a hold stands for (a member's reserved
//! lots, refund claims): the timeout job (`earn::held::void_expired_holds`)
//! asks it for the expired holds with their accounts' owners, voids the plain
//! ones here (`void_timed_out`) and books a member's voids with what they
//! entail itself, using `timeout_void` so every void has the same key.

use diesel::prelude::*;

use crate::{
    db::schema::{accounts, transfers},
    domain::id::{AccountId, JournalEntryId, TransferId},
};

use super::{EntryRequest, LedgerError, Phase, TransferRequest, submit};

/// A pending transfer nothing has posted or voided yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct OpenHold {
    pub id: TransferId,
    pub amount: i64,
}

/// The open holds debiting `account`, oldest first.
pub fn pending_debits(conn: &mut PgConnection, account: AccountId) -> QueryResult<Vec<OpenHold>> {
    open_holds()
        .filter(transfers::debit_account_id.eq(account))
        .order(transfers::id)
        .select((transfers::id, transfers::amount))
        .load(conn)
}

/// The open holds of one journal entry, in the entry's order.
pub fn open_holds_of(conn: &mut PgConnection, entry: JournalEntryId) -> QueryResult<Vec<OpenHold>> {
    open_holds()
        .filter(transfers::journal_entry_id.eq(entry))
        .order(transfers::id)
        .select((transfers::id, transfers::amount))
        .load(conn)
}

/// Pending transfers nothing has posted or voided yet.
fn open_holds() -> transfers::BoxedQuery<'static, diesel::pg::Pg> {
    transfers::table
        .filter(transfers::phase.eq(Phase::Pending.as_str()))
        .filter(unresolved())
        .into_boxed()
}

/// No transfer resolves this one.
fn unresolved() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(
        "NOT EXISTS (SELECT 1 FROM transfers resolutions \
                      WHERE resolutions.pending_id = transfers.id)",
    )
}

/// A hold whose timeout has passed, with the owner of the account it debits, so
/// that whoever voids it knows what else the void entails.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ExpiredHold {
    pub id: TransferId,
    pub owner_kind: String,
    pub purpose: String,
    pub owner_id: Option<i64>,
}

/// Up to `limit` open holds whose timeout has passed, soonest expired first.
#[tracing::instrument(skip(conn))]
pub fn expired_holds(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<ExpiredHold>> {
    let now = crate::clock::now();
    transfers::table
        .inner_join(accounts::table.on(accounts::id.eq(transfers::debit_account_id)))
        .filter(transfers::phase.eq(Phase::Pending.as_str()))
        .filter(unresolved())
        .filter(transfers::expires_at.le(now))
        .order(transfers::expires_at)
        .limit(limit)
        .select((
            transfers::id,
            accounts::owner_kind,
            accounts::purpose,
            accounts::owner_id,
        ))
        .load(conn)
}

/// Those of `holds` nothing has posted or voided yet, by id.
pub fn still_open(conn: &mut PgConnection, holds: &[TransferId]) -> QueryResult<Vec<TransferId>> {
    open_holds()
        .filter(transfers::id.eq_any(holds))
        .order(transfers::id)
        .select(transfers::id)
        .load(conn)
}

/// The timeout's void of a hold. Its key `hold-timeout:<id>` makes the void
/// happen once, whichever process gets there first.
pub fn timeout_void(hold: TransferId) -> EntryRequest {
    EntryRequest::new(format!("hold-timeout:{hold}"), "hold_timeout")
        .transfer(TransferRequest::Void { pending: hold })
}

/// Voids expired holds that entail nothing beyond the ledger, each entry on its
/// own; returns how many this call voided (a replay was voided before).
#[tracing::instrument(skip_all, fields(holds = holds.len()))]
pub fn void_timed_out(conn: &mut PgConnection, holds: &[TransferId]) -> Result<usize, LedgerError> {
    let voids: Vec<EntryRequest> = holds.iter().map(|hold| timeout_void(*hold)).collect();
    Ok(submit(conn, &voids)?
        .iter()
        .filter(|r| matches!(r, Ok(c) if !c.replayed))
        .count())
}
