//! Voids holds whose timeout has passed, so that held value returns to the
//! member. Safe to run from several processes at once: each void carries the
//! idempotency key `hold-timeout:<id>`, so a hold is voided once whoever gets there
//! first.

use diesel::prelude::*;

use crate::{db::schema::transfers, domain::id::TransferId};

use super::{EntryRequest, LedgerError, TransferRequest, submit};

/// Voids up to `limit` expired holds; returns how many were voided by this call.
pub fn void_expired_holds(conn: &mut PgConnection, limit: i64) -> Result<usize, LedgerError> {
    let resolutions = diesel::alias!(transfers as resolutions);
    let expired: Vec<TransferId> = transfers::table
        .filter(transfers::phase.eq("pending"))
        .filter(transfers::expires_at.le(crate::clock::now()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            resolutions.filter(
                resolutions
                    .field(transfers::pending_id)
                    .eq(transfers::id.nullable()),
            ),
        )))
        .order(transfers::expires_at)
        .limit(limit)
        .select(transfers::id)
        .load(conn)?;
    let voids: Vec<EntryRequest> = expired
        .iter()
        .map(|id| {
            EntryRequest::new(format!("hold-timeout:{id}"), "hold_timeout")
                .transfer(TransferRequest::Void { pending: *id })
        })
        .collect();
    let results = submit(conn, &voids)?;
    Ok(results
        .iter()
        .filter(|r| matches!(r, Ok(c) if !c.replayed))
        .count())
}
