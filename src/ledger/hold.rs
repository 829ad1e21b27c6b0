//! Pending holds: which are still open, and the timeout that voids them so that
//! held value returns to whoever it was held from.
//!
//! A hold on a member's wallet is more than a ledger row: it reserved that
//! member's lots, and a refund may have claimed its points (`earn::held`). Its
//! void therefore runs under the member's lock, in one transaction with the
//! lots freed, the claimed points taken back and lapsed points expired — one
//! ledger batch, so its balance rows are locked in the ledger's one order (see
//! the lock order in `earn::lot`). Other holds are voided in one batch, each on
//! its own. Safe to run from several processes at once: each void carries the
//! idempotency key `hold-timeout:<id>`, and a member's holds are looked at again
//! once the member is locked, so a hold is voided once whoever gets there first.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::{
    db::schema::{accounts, transfers},
    domain::id::{AccountId, JournalEntryId, TransferId},
    earn::held::{self, HeldError},
    people::member,
};

use super::{EntryRequest, TransferRequest, submit};

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

/// The entry that posted or voided a hold, once one has.
pub fn resolved_by(
    conn: &mut PgConnection,
    hold: TransferId,
) -> QueryResult<Option<JournalEntryId>> {
    transfers::table
        .filter(transfers::pending_id.eq(hold))
        .select(transfers::journal_entry_id)
        .first(conn)
        .optional()
}

/// Pending transfers nothing has posted or voided yet.
fn open_holds() -> transfers::BoxedQuery<'static, diesel::pg::Pg> {
    transfers::table
        .filter(transfers::phase.eq("pending"))
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

/// Voids up to `limit` expired holds; returns how many were voided by this call.
pub fn void_expired_holds(conn: &mut PgConnection, limit: i64) -> Result<usize, HeldError> {
    let now = crate::clock::now();
    let expired: Vec<(TransferId, String, String, Option<i64>)> = transfers::table
        .inner_join(accounts::table.on(accounts::id.eq(transfers::debit_account_id)))
        .filter(transfers::phase.eq("pending"))
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
        .load(conn)?;
    let mut of_member: BTreeMap<i64, Vec<TransferId>> = BTreeMap::new();
    let mut others = Vec::new();
    for (hold, owner_kind, purpose, owner) in expired {
        match owner {
            Some(member) if owner_kind == "member" && purpose == "wallet" => {
                of_member.entry(member).or_default().push(hold);
            }
            _ => others.push(void(hold)),
        }
    }
    let mut voided = submit(conn, &others)?
        .iter()
        .filter(|r| matches!(r, Ok(c) if !c.replayed))
        .count();
    for (member_id, holds) in of_member {
        voided += conn.transaction(|conn| void_members_holds(conn, member_id, &holds))?;
    }
    Ok(voided)
}

/// Voids what is still open of `holds` on the member's wallets, with what the
/// void of a member's hold entails (`earn::held::voiding`).
fn void_members_holds(
    conn: &mut PgConnection,
    member_id: i64,
    holds: &[TransferId],
) -> Result<usize, HeldError> {
    member::lock(conn, member_id)?;
    let still_open: Vec<TransferId> = open_holds()
        .filter(transfers::id.eq_any(holds))
        .order(transfers::id)
        .select(transfers::id)
        .load(conn)?;
    if still_open.is_empty() {
        return Ok(0);
    }
    let mut batch: Vec<EntryRequest> = still_open.iter().map(|hold| void(*hold)).collect();
    batch.extend(held::voiding(conn, member_id, &still_open)?);
    held::submit_all(conn, &batch)?;
    Ok(still_open.len())
}

fn void(hold: TransferId) -> EntryRequest {
    EntryRequest::new(format!("hold-timeout:{hold}"), "hold_timeout")
        .transfer(TransferRequest::Void { pending: hold })
}
