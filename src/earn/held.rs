//! The end of a hold on a member's wallet, for whoever ends it: a redemption
//! served or called off (`redemption`), or the hold's timeout
//! (`void_expired_holds`).
//!
//! - **Posted** (`posted`): the points the hold reserved are spent from their
//!   lots, and refund claims on it become unrecovered (`claim::spend`).
//! - **Voided** (`voiding`): its lots are freed; refund claims on it take their
//!   points back (`claim::take`); and what is now unreserved of a lapsed lot it
//!   freed expires (`expiry::lapse`) — the expiry pass skipped those points
//!   while they were held. `voiding` returns the entries this books; the
//!   caller submits them in one ledger batch after its voids (`submit_all`),
//!   so the void, the claims and the expiry commit together or not at all.
//!
//! Both run in the transaction that posts or voids the hold, with the member
//! locked (see the lock order in `lot`); `voiding` locks the member's lots.
//!
//! **The timeout.** A hold on a member's wallet is more than a ledger row, so
//! its void runs under the member's lock, in one transaction with what
//! `voiding` books — one ledger batch, so its balance rows are locked in the
//! ledger's one order. Other holds are voided by the ledger alone, each on its
//! own. Safe to run from several processes at once: each void carries the key
//! `hold-timeout:<id>` (`ledger::timeout_void`), and a member's holds are
//! looked at again once the member is locked, so a hold is voided once
//! whoever gets there first.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::{
    db::schema::lot_reservations,
    domain::id::{MemberId, TransferId},
    ledger::{self, EntryError, EntryRequest, LedgerError},
    people::member,
};

use super::{claim, expiry, lot};

#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("the ledger refused {entry}: {error}")]
    Refused { entry: String, error: EntryError },
    #[error(transparent)]
    Expiry(#[from] expiry::ExpiryError),
    #[error(transparent)]
    Lots(#[from] lot::LotError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The holds were posted: their reserved points are spent and the refund
/// claims on them become unrecovered. Call after the post is booked.
#[tracing::instrument(skip_all)]
pub fn posted(conn: &mut PgConnection, holds: &[TransferId]) -> Result<(), HeldError> {
    lot::release(conn, holds, lot::Release::Spend)?;
    claim::spend(conn, holds)?;
    Ok(())
}

/// The holds are being voided: frees their lots, takes the points refunds
/// claimed of them and expires freed points of lapsed lots. Returns the
/// entries to submit after the voids, in the same batch.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn voiding(
    conn: &mut PgConnection,
    member_id: MemberId,
    holds: &[TransferId],
) -> Result<Vec<EntryRequest>, HeldError> {
    for program in programs_reserved(conn, holds)? {
        lot::lock(conn, member_id, &program)?;
    }
    let freed = lot::release(conn, holds, lot::Release::Free)?;
    let mut entries = claim::take(conn, holds)?;
    let now = crate::clock::now();
    for freed in freed {
        if freed.expires_at.is_none_or(|at| at > now) {
            continue;
        }
        // As the claims left it.
        let lot = lot::find(conn, freed.id)?;
        if lot.unreserved() > 0 {
            entries.push(expiry::lapse(conn, &lot)?);
        }
    }
    Ok(entries)
}

/// Submits a batch that must commit whole: the first refused entry fails it
/// (and with it the caller's transaction).
#[tracing::instrument(skip_all)]
pub fn submit_all(conn: &mut PgConnection, batch: &[EntryRequest]) -> Result<(), HeldError> {
    for (entry, result) in batch.iter().zip(ledger::submit(conn, batch)?) {
        if let Err(error) = result {
            return Err(HeldError::Refused {
                entry: entry.idempotency_key.clone(),
                error,
            });
        }
    }
    Ok(())
}

/// Voids up to `limit` expired holds; returns how many were voided by this call.
#[tracing::instrument(skip(conn))]
pub fn void_expired_holds(conn: &mut PgConnection, limit: i64) -> Result<usize, HeldError> {
    let mut of_member: BTreeMap<MemberId, Vec<TransferId>> = BTreeMap::new();
    let mut others = Vec::new();
    for hold in ledger::expired_holds(conn, limit)? {
        match hold.owner_id {
            Some(member) if hold.owner_kind == "member" && hold.purpose == "wallet" => {
                of_member.entry(MemberId(member)).or_default().push(hold.id);
            }
            _ => others.push(hold.id),
        }
    }
    let mut voided = ledger::void_timed_out(conn, &others)?;
    for (member_id, holds) in of_member {
        voided += conn.transaction(|conn| void_members_holds(conn, member_id, &holds))?;
    }
    Ok(voided)
}

/// Voids what is still open of `holds` on the member's wallets, with what the
/// void of a member's hold entails (`voiding`).
#[tracing::instrument(skip(conn, holds), fields(holds = holds.len()))]
fn void_members_holds(
    conn: &mut PgConnection,
    member_id: MemberId,
    holds: &[TransferId],
) -> Result<usize, HeldError> {
    member::lock(conn, member_id)?;
    let still_open = ledger::still_open(conn, holds)?;
    if still_open.is_empty() {
        return Ok(0);
    }
    let mut batch: Vec<EntryRequest> = still_open
        .iter()
        .map(|hold| ledger::timeout_void(*hold))
        .collect();
    batch.extend(voiding(conn, member_id, &still_open)?);
    submit_all(conn, &batch)?;
    Ok(still_open.len())
}

fn programs_reserved(conn: &mut PgConnection, holds: &[TransferId]) -> QueryResult<Vec<String>> {
    let ids: Vec<i64> = holds.iter().map(|h| h.0).collect();
    lot_reservations::table
        .inner_join(crate::db::schema::point_lots::table)
        .filter(lot_reservations::hold_id.eq_any(ids))
        .select(crate::db::schema::point_lots::program_code)
        .distinct()
        .order(crate::db::schema::point_lots::program_code)
        .load(conn)
}
