//! Refund claims: points a refund is owed that a pending hold has set aside.
//!
//! A refund takes back what the wallet has available. What it is still owed
//! it *claims* from the wallet's open holds, oldest first, each up to what
//! earlier claims left of it (`make`). The claim is a row, written in the
//! refund's transaction, so it outlives a crash between the refund and the
//! hold's end. When the hold is voided the claimed points come back to the
//! wallet and are taken at once, in the void's transaction (`take`, called by
//! `held::voiding`); when it is posted they were genuinely spent, and only then
//! does the order count them unrecovered (`spend`). Until then the order counts
//! them in `points_claimed`, so "unrecovered" only ever means points spent.

use diesel::prelude::*;

use crate::{
    db::schema::{earn_orders, earn_refunds, refund_claims},
    domain::id::{AccountId, TransferId},
    ledger::{self, EntryRequest},
};

use super::{EarnOrder, held::HeldError, lot, refund};

/// Points of one hold a refund claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub hold: TransferId,
    pub points: i64,
}

/// An open claim, with the order it is for.
#[derive(Debug, Clone, Queryable)]
struct Open {
    id: i64,
    points: i64,
    earn_order_id: i64,
}

/// Up to `points` of the wallet's open holds not claimed yet, oldest hold first.
pub(super) fn plan(
    conn: &mut PgConnection,
    wallet: AccountId,
    points: i64,
) -> QueryResult<Vec<Claim>> {
    let mut left = points;
    let mut claims = Vec::new();
    for hold in ledger::pending_debits(conn, wallet)? {
        if left == 0 {
            break;
        }
        let claimed: Option<rust_decimal::Decimal> = refund_claims::table
            .filter(refund_claims::hold_id.eq(hold.id.0))
            .filter(refund_claims::outcome.is_null())
            .select(diesel::dsl::sum(refund_claims::points))
            .first(conn)?;
        let claimed = claimed.and_then(|c| i64::try_from(c).ok()).unwrap_or(0);
        let points = left.min(hold.amount - claimed);
        if points > 0 {
            claims.push(Claim {
                hold: hold.id,
                points,
            });
            left -= points;
        }
    }
    Ok(claims)
}

/// Records the claims of refund `refund_id`.
pub(super) fn make(conn: &mut PgConnection, refund_id: i64, claims: &[Claim]) -> QueryResult<()> {
    let rows: Vec<_> = claims
        .iter()
        .map(|c| {
            (
                refund_claims::earn_refund_id.eq(refund_id),
                refund_claims::hold_id.eq(c.hold.0),
                refund_claims::points.eq(c.points),
            )
        })
        .collect();
    diesel::insert_into(refund_claims::table)
        .values(&rows)
        .execute(conn)
        .map(drop)
}

/// The holds were voided: each claim on them takes its points back, the
/// order's own lot first, with a reversal like the refund's own (key
/// `refund-claim:{id}`). Returns the entries to submit in the void's batch.
/// Call with the member and their lots locked, after the holds' lots are freed.
pub(super) fn take(
    conn: &mut PgConnection,
    holds: &[TransferId],
) -> Result<Vec<EntryRequest>, HeldError> {
    let mut entries = Vec::new();
    for claim in open_on(conn, holds)? {
        let order = lock_order(conn, claim.earn_order_id)?;
        let program = order.program_code.clone();
        let wallet = crate::chart::open(
            conn,
            &crate::chart::member_wallet(order.member_id, &program),
        )?;
        entries.push(refund::reversal(
            conn,
            &order,
            &program,
            wallet,
            claim.points,
            format!("refund-claim:{}", claim.id),
        )?);
        let own_lot = refund::own_lot(conn, &order)?;
        lot::consume_from(
            conn,
            order.member_id,
            program.as_str(),
            claim.points,
            own_lot,
        )?;
        diesel::update(earn_orders::table.find(order.id))
            .set((
                earn_orders::points_claimed.eq(earn_orders::points_claimed - claim.points),
                earn_orders::points_reversed.eq(earn_orders::points_reversed + claim.points),
            ))
            .execute(conn)?;
        resolve(conn, claim.id, "taken")?;
    }
    Ok(entries)
}

/// The holds were posted: the points claimed of them were spent, and the
/// orders now count them unrecovered.
pub(super) fn spend(conn: &mut PgConnection, holds: &[TransferId]) -> QueryResult<()> {
    for claim in open_on(conn, holds)? {
        lock_order(conn, claim.earn_order_id)?;
        diesel::update(earn_orders::table.find(claim.earn_order_id))
            .set((
                earn_orders::points_claimed.eq(earn_orders::points_claimed - claim.points),
                earn_orders::points_unrecovered.eq(earn_orders::points_unrecovered + claim.points),
            ))
            .execute(conn)?;
        resolve(conn, claim.id, "spent")?;
    }
    Ok(())
}

fn open_on(conn: &mut PgConnection, holds: &[TransferId]) -> QueryResult<Vec<Open>> {
    let ids: Vec<i64> = holds.iter().map(|h| h.0).collect();
    refund_claims::table
        .inner_join(earn_refunds::table)
        .filter(refund_claims::hold_id.eq_any(ids))
        .filter(refund_claims::outcome.is_null())
        .order(refund_claims::id)
        .select((
            refund_claims::id,
            refund_claims::points,
            earn_refunds::earn_order_id,
        ))
        .load(conn)
}

fn lock_order(conn: &mut PgConnection, id: i64) -> QueryResult<EarnOrder> {
    earn_orders::table
        .find(id)
        .select(EarnOrder::as_select())
        .for_update()
        .first(conn)
}

fn resolve(conn: &mut PgConnection, claim: i64, outcome: &str) -> QueryResult<()> {
    diesel::update(refund_claims::table.find(claim))
        .set((
            refund_claims::outcome.eq(outcome),
            refund_claims::resolved_at.eq(crate::clock::now()),
        ))
        .execute(conn)
        .map(drop)
}
