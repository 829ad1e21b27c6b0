//! Point lots: which of a member's points expire when, and which of them a
//! pending hold has set aside.
//!
//! Every credit to a member's wallet opens a lot with the expiry its program's
//! policy gives. A lot's `remaining` counts its unspent points, held or not, so
//! the lots of a wallet sum to its posted balance. A hold on the wallet (a
//! redemption awaiting the merchant) *reserves* points of specific lots, oldest
//! expiry first (`reserve`, one `lot_reservations` row per hold and lot), so the
//! reserved points of a wallet sum to its pending debits and `remaining -
//! reserved` of its lots to what it has available. When the hold is posted its
//! reserved points are spent (`spend_reserved`); when it is voided they are
//! free again (`release`). Any other debit consumes unreserved points only,
//! oldest expiry first (FIFO), in the transaction that books the debit; expiry
//! takes only unreserved points of lapsed lots. The points themselves live in
//! the ledger; lots only say *when* they lapse and *which* a hold took.
//!
//! **Lock order** — one order for every path that moves a member's points
//! (earn, refund, redeem, fulfil, cancel, voucher expiry, hold timeout, lot
//! expiry, exchange, adjustment), so no two transactions can wait on each
//! other:
//! 1. the member's row (`people::member::lock`; several members in id order,
//!    as the hold timeout does);
//! 2. rows only that member's transactions lock — the earn order being
//!    refunded, the redemption being resolved, the quote being executed, the
//!    orders whose refund claims a void takes, the member's lots (`lock`).
//!    The member's lock serialises these, so their order among themselves
//!    cannot close a cycle; by convention the member's own rows come first and
//!    the lots last, just before the ledger;
//! 3. rows members share: the reward's row (its stock), campaign rows (their
//!    budgets) — before the member's lots;
//! 4. balance rows: all of one transaction's entries go to the ledger in ONE
//!    `ledger::submit` batch, which locks every row it touches in one sorted
//!    statement. A second batch in the same transaction could wait on a row
//!    while holding others, so paths that book several entries (a void with
//!    the claims it takes and the lapsed points it expires, an expiry pass)
//!    build them all first and submit them together;
//! 5. then only inserts, and updates of rows already locked above.
//!
//! The expiry pass alone skips step 1: it takes lapsed lots `SKIP LOCKED` and
//! then balance rows. That cannot close a cycle either, because every path
//! takes the member's lots before any balance row, so nothing holding a
//! balance row ever waits for a lot.

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    db::schema::{lot_reservations, point_lots},
    domain::{
        id::{AccountId, JournalEntryId, MemberId, TransferId},
        points::ProgramCode,
    },
    ledger::{self, views::ledger_movements as moved},
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = point_lots, check_for_backend(diesel::pg::Pg))]
pub struct Lot {
    pub id: i64,
    pub member_id: MemberId,
    pub program_code: ProgramCode,
    pub points: i64,
    pub remaining: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub journal_entry_id: i64,
    pub created_at: DateTime<Utc>,
    /// Points of `remaining` pending holds have set aside.
    pub reserved: i64,
}

impl Lot {
    /// Points no hold has set aside: what may be spent or expire now.
    pub fn unreserved(&self) -> i64 {
        self.remaining - self.reserved
    }
}

/// The lots disagree with the wallet: a debit was booked without its lots, a
/// bug to fix rather than a state to live with.
#[derive(Debug, thiserror::Error)]
pub enum LotError {
    #[error("member {member_id} has {missing} {program} points fewer in lots than being spent")]
    Short {
        member_id: MemberId,
        program: String,
        missing: i64,
    },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// When points earned at `earned_at` expire under a policy of `months` (0: never).
pub fn expiry(earned_at: DateTime<Utc>, months: i16) -> Option<DateTime<Utc>> {
    let months = u32::try_from(months).ok().filter(|m| *m > 0)?;
    earned_at.checked_add_months(Months::new(months))
}

/// Records `points` credited to the member's wallet by `entry`.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn open(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    points: i64,
    expires_at: Option<DateTime<Utc>>,
    entry: JournalEntryId,
) -> QueryResult<Lot> {
    diesel::insert_into(point_lots::table)
        .values((
            point_lots::member_id.eq(member_id),
            point_lots::program_code.eq(program),
            point_lots::points.eq(points),
            point_lots::remaining.eq(points),
            point_lots::expires_at.eq(expires_at),
            point_lots::journal_entry_id.eq(entry.0),
            point_lots::created_at.eq(crate::clock::now()),
        ))
        .returning(Lot::as_returning())
        .get_result(conn)
}

/// Locks the member's open lots in `program` until the transaction ends. Call
/// before booking a debit or a hold of the wallet (see the lock order above).
pub fn lock(conn: &mut PgConnection, member_id: MemberId, program: &str) -> QueryResult<()> {
    point_lots::table
        .filter(point_lots::member_id.eq(member_id))
        .filter(point_lots::program_code.eq(program))
        .filter(point_lots::remaining.gt(0))
        .select(point_lots::id)
        .for_update()
        .load::<i64>(conn)
        .map(drop)
}

/// Consumes `points` of the unreserved points of the member's lots in
/// `program`, oldest expiry first (never-expiring lots last). Call in the
/// transaction that debits the wallet.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn consume(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    points: i64,
) -> Result<(), LotError> {
    consume_from(conn, member_id, program, points, None)
}

/// As `consume`, but from one lot first: a refund takes back the points its
/// own order earned before touching older ones.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn consume_from(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    points: i64,
    first: Option<i64>,
) -> Result<(), LotError> {
    if points <= 0 {
        return Ok(());
    }
    let mut lots = unreserved_oldest_first(conn, member_id, program)?;
    if let Some(first) = first
        && let Some(at) = lots.iter().position(|lot| lot.id == first)
    {
        let lot = lots.remove(at);
        lots.insert(0, lot);
    }
    let mut left = points;
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = left.min(lot.unreserved());
        diesel::update(point_lots::table.find(lot.id))
            .set(point_lots::remaining.eq(lot.remaining - take))
            .execute(conn)?;
        left -= take;
    }
    short(member_id, program, left)
}

fn short(member_id: MemberId, program: &str, missing: i64) -> Result<(), LotError> {
    if missing > 0 {
        return Err(LotError::Short {
            member_id,
            program: program.to_owned(),
            missing,
        });
    }
    Ok(())
}

/// The member's lots in `program` with unreserved points, oldest expiry first
/// (never-expiring last), locked.
fn unreserved_oldest_first(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
) -> QueryResult<Vec<Lot>> {
    point_lots::table
        .filter(point_lots::member_id.eq(member_id))
        .filter(point_lots::program_code.eq(program))
        .filter(point_lots::remaining.gt(point_lots::reserved))
        .order((
            point_lots::expires_at.asc().nulls_last(),
            point_lots::id.asc(),
        ))
        .select(Lot::as_select())
        .for_update()
        .load(conn)
}

/// Sets aside `points` of the member's unreserved points in `program` for the
/// pending transfer `hold`, oldest expiry first. Call in the transaction that
/// books the hold, after `lock`.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn reserve(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    hold: TransferId,
    points: i64,
) -> Result<(), LotError> {
    let mut left = points;
    for lot in unreserved_oldest_first(conn, member_id, program)? {
        if left == 0 {
            break;
        }
        let take = left.min(lot.unreserved());
        diesel::update(point_lots::table.find(lot.id))
            .set(point_lots::reserved.eq(lot.reserved + take))
            .execute(conn)?;
        diesel::insert_into(lot_reservations::table)
            .values((
                lot_reservations::hold_id.eq(hold.0),
                lot_reservations::lot_id.eq(lot.id),
                lot_reservations::points.eq(take),
            ))
            .execute(conn)?;
        left -= take;
    }
    short(member_id, program, left)
}

/// What one hold had reserved of one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Reservation {
    pub hold_id: i64,
    pub lot_id: i64,
    pub points: i64,
}

/// Ends the reservations of `holds`, their points freed (`Release::Free`, the
/// hold was voided) or spent (`Release::Spend`, it was posted). Returns the
/// lots as they are afterwards. Call in the transaction that resolves the
/// holds, after the lots are locked.
#[tracing::instrument(skip_all)]
pub fn release(
    conn: &mut PgConnection,
    holds: &[TransferId],
    how: Release,
) -> QueryResult<Vec<Lot>> {
    let ids: Vec<i64> = holds.iter().map(|h| h.0).collect();
    let ended: Vec<Reservation> =
        diesel::delete(lot_reservations::table.filter(lot_reservations::hold_id.eq_any(&ids)))
            .returning((
                lot_reservations::hold_id,
                lot_reservations::lot_id,
                lot_reservations::points,
            ))
            .get_results(conn)?;
    let mut lots = Vec::new();
    for reservation in ended {
        let spent = match how {
            Release::Free => 0,
            Release::Spend => reservation.points,
        };
        lots.push(
            diesel::update(point_lots::table.find(reservation.lot_id))
                .set((
                    point_lots::reserved.eq(point_lots::reserved - reservation.points),
                    point_lots::remaining.eq(point_lots::remaining - spent),
                ))
                .returning(Lot::as_returning())
                .get_result(conn)?,
        );
    }
    lots.sort_by_key(|lot| lot.id);
    lots.dedup_by_key(|lot| lot.id);
    Ok(lots)
}

/// What becomes of the points a hold reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The hold was voided: the points are the member's to spend again.
    Free,
    /// The hold was posted: the points are spent.
    Spend,
}

/// One lot, as it is now.
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Lot> {
    point_lots::table
        .find(id)
        .select(Lot::as_select())
        .first(conn)
}

/// The lot an entry opened (an earn opens at most one per wallet).
pub fn opened_by(
    conn: &mut PgConnection,
    entry: i64,
    member_id: MemberId,
) -> QueryResult<Option<Lot>> {
    point_lots::table
        .filter(point_lots::journal_entry_id.eq(entry))
        .filter(point_lots::member_id.eq(member_id))
        .select(Lot::as_select())
        .first(conn)
        .optional()
}

/// Points still to lapse, by date, for the member's "what expires when".
pub fn upcoming(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<Vec<Lot>> {
    point_lots::table
        .filter(point_lots::member_id.eq(member_id))
        .filter(point_lots::remaining.gt(0))
        .filter(point_lots::expires_at.is_not_null())
        .order((point_lots::expires_at.asc(), point_lots::id.asc()))
        .select(Lot::as_select())
        .load(conn)
}

/// Lots past their expiry with unreserved points left, oldest first, locked
/// and skipped by any other process expiring at the same time.
pub(super) fn due(conn: &mut PgConnection, at: DateTime<Utc>, limit: i64) -> QueryResult<Vec<Lot>> {
    point_lots::table
        .filter(point_lots::remaining.gt(0))
        .filter(point_lots::remaining.gt(point_lots::reserved))
        .filter(point_lots::expires_at.le(at))
        .order((point_lots::expires_at.asc(), point_lots::id.asc()))
        .limit(limit)
        .select(Lot::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
}

pub(super) fn set_remaining(conn: &mut PgConnection, lot: i64, remaining: i64) -> QueryResult<()> {
    diesel::update(point_lots::table.find(lot))
        .set(point_lots::remaining.eq(remaining))
        .execute(conn)
        .map(drop)
}

/// A credit to a wallet, for `rebuild`.
#[derive(Debug, Clone, Queryable)]
pub struct Credit {
    pub journal_entry_id: i64,
    pub amount: i64,
    pub metadata: serde_json::Value,
    pub booked_at: DateTime<Utc>,
}

/// Opens the lots of a wallet whose points were booked without them — history
/// loaded straight into the ledger, as the demo does. Its posted balance is
/// spread over its credits newest first, which is what oldest-first spending
/// leaves; `expires_at` says when each credit lapses. The wallet's pending holds
/// then reserve their lots, as if booked now. Does nothing when the wallet has
/// lots already, so it is safe to run again. Returns the lots opened.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn rebuild(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    wallet: AccountId,
    expires_at: impl Fn(&Credit) -> Option<DateTime<Utc>>,
) -> Result<usize, LotError> {
    let has_lots: bool = diesel::select(diesel::dsl::exists(
        point_lots::table
            .filter(point_lots::member_id.eq(member_id))
            .filter(point_lots::program_code.eq(program)),
    ))
    .get_result(conn)?;
    if has_lots {
        return Ok(0);
    }
    let mut left = ledger::balance(conn, wallet)?.posted();
    let credits: Vec<Credit> = moved::table
        .filter(moved::credit_account_id.eq(wallet.0))
        .order(moved::transfer_id.desc())
        .select((
            moved::entry_id,
            moved::amount,
            moved::metadata,
            moved::effective_at,
        ))
        .load(conn)?;
    let mut opened = 0;
    for credit in credits {
        if left <= 0 {
            break;
        }
        let remaining = credit.amount.min(left);
        diesel::insert_into(point_lots::table)
            .values((
                point_lots::member_id.eq(member_id),
                point_lots::program_code.eq(program),
                point_lots::points.eq(credit.amount),
                point_lots::remaining.eq(remaining),
                point_lots::expires_at.eq(expires_at(&credit)),
                point_lots::journal_entry_id.eq(credit.journal_entry_id),
                point_lots::created_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        left -= remaining;
        opened += 1;
    }
    for hold in ledger::pending_debits(conn, wallet)? {
        reserve(conn, member_id, program, hold.id, hold.amount)?;
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn expiry_adds_calendar_months_and_zero_means_never() {
        let earned = Utc.with_ymd_and_hms(2026, 1, 31, 8, 0, 0).unwrap();
        assert_eq!(
            expiry(earned, 1),
            Some(Utc.with_ymd_and_hms(2026, 2, 28, 8, 0, 0).unwrap())
        );
        assert_eq!(
            expiry(earned, 24),
            Some(Utc.with_ymd_and_hms(2028, 1, 31, 8, 0, 0).unwrap())
        );
        assert_eq!(expiry(earned, 0), None);
    }
}
