//! The end of a hold on a member's wallet, for whoever ends it: a redemption
//! served or called off (`redemption`), or the ledger's timeout
//! (`ledger::void_expired_holds`).
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

use diesel::prelude::*;

use crate::{
    db::schema::lot_reservations,
    domain::id::TransferId,
    ledger::{self, EntryError, EntryRequest, LedgerError},
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
pub fn posted(conn: &mut PgConnection, holds: &[TransferId]) -> Result<(), HeldError> {
    lot::release(conn, holds, lot::Release::Spend)?;
    claim::spend(conn, holds)?;
    Ok(())
}

/// The holds are being voided: frees their lots, takes the points refunds
/// claimed of them and expires freed points of lapsed lots. Returns the
/// entries to submit after the voids, in the same batch.
pub fn voiding(
    conn: &mut PgConnection,
    member_id: i64,
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
