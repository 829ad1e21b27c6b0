//! Settling one (merchant, period): the statement, and what it decides — a
//! payout, a collection, or nothing — in one database transaction, so that a
//! crash at any point leaves either all of it or none of it.
//!
//! **What a statement covers.** Every posted transfer of `merchant:m:settlement`
//! is *claimed* by exactly one statement (`settlement_claims`, keyed by transfer).
//! A statement claims the unclaimed transfers created before its period's end,
//! so a transfer that commits just after a cut-off with a time stamp just before
//! it is not lost: the next statement claims it. The statement also claims the
//! transfers of its own payout booking. Hence, for every merchant:
//!
//! > balance of `merchant:m:settlement` = last statement's carried position
//! > + the unclaimed transfers,
//!
//! and each statement reconciles exactly: `closing = opening + Σ lines`, the
//! lines being its claimed activity grouped by entry kind and direction.
//!
//! **Outcome.** Money a failed payout returned to the position (`payout_return`
//! lines) is first repaid, fen for fen, to the recipient it failed for, as a
//! payout of its own that names the failed one (`repays_payout_id`): it was
//! already split once, so it takes no second platform share and no other
//! recipient's rule applies. The rest of the closing position, when in the
//! merchant's favour, is paid out by the merchant's split rules (`split`):
//! `merchant:m:settlement → house:fees` (the platform's share) and
//! `→ house:payouts` per recipient, in one booking with the repayments; the
//! payouts wait for a bank batch. What is left against the merchant (the
//! carried position, `closing − payouts − platform share`) becomes a collection
//! due `collection_days` after the period; an open collection from an earlier
//! statement is superseded (the new one includes that debt) and its earlier due
//! date is kept, so rolling a debt forward never postpones it. A statement with
//! a booking has the outcome `payout` even when it also carries a debt.
//!
//! **Ended periods only.** A period is settled once it has ended: its end (a
//! Shanghai midnight) is not after today's Shanghai date by `clock::now()`. A
//! statement of days that have not happened would leave their activity to the
//! next one and tell the merchant a period was closed that was not.
//!
//! **Once.** The merchant's row is locked for the transaction, the statement is
//! unique per (merchant, period start), the booking's idempotency key is
//! `settle:m{merchant}:{period start}`: a retry, a second process or a re-run
//! after a crash finds the statement and returns it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Text, Timestamptz},
};
use serde::Serialize;
use serde_json::json;

use crate::{
    chart::{self, CNY, HouseAccount},
    crypto::Keys,
    db::schema::{
        merchants, payouts, settlement_claims, settlement_collections, settlement_lines,
        settlement_statements,
    },
    domain::{
        id::{AccountId, MerchantId, StatementId},
        money::Money,
        shanghai,
    },
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    webhook,
};

use super::{
    collection::{self, CollectionStatus},
    cycle::Period,
    payout::PayoutStatus,
    recipients::{self, RecipientError},
    split::SplitError,
    terms,
};

/// The journal entry kind of a payout booking.
pub const SETTLE_KIND: &str = "settle";
/// The webhook sent when a statement is ready.
pub const READY_EVENT: &str = "settlement.ready";
/// Entry kinds that undo earlier activity; their lines are marked as corrections
/// to earlier periods (a paid statement is never rewritten).
const CORRECTION_KINDS: [&str; 2] = ["reverse", super::payout::RETURN_KIND];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Payout,
    Collection,
    Nil,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payout => "payout",
            Self::Collection => "collection",
            Self::Nil => "nil",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "payout" => Self::Payout,
            "collection" => Self::Collection,
            _ => Self::Nil,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Credits: the house owes the merchant more.
    In,
    /// Debits: the merchant owes the house more.
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub id: StatementId,
    pub merchant_id: MerchantId,
    pub run_id: Option<i64>,
    pub cycle: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub opening: Money,
    pub activity: Money,
    pub closing: Money,
    pub outcome: Outcome,
    pub platform_fee: Money,
    pub carried: Money,
    /// Where the next statement starts looking for unclaimed transfers.
    #[serde(skip)]
    scan_from_id: i64,
    pub journal_entry_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
}

impl Statement {
    /// The Shanghai dates the period covers, first and last day.
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        let last = shanghai::date_of(self.period_end)
            .pred_opt()
            .expect("periods end after they start");
        (shanghai::date_of(self.period_start), last)
    }

    /// What the settlement paid to the merchant's recipients: the closing less
    /// the platform's share and what it carried forward.
    pub fn paid_out(&self) -> Money {
        Money::from_fen(self.closing.fen() - self.platform_fee.fen() - self.carried.fen())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub kind: String,
    pub direction: Direction,
    pub correction: bool,
    pub transfers: i32,
    /// Always positive; `direction` says which way.
    pub amount: Money,
}

impl Line {
    /// Credits positive, debits negative.
    pub fn signed(&self) -> Money {
        match self.direction {
            Direction::In => self.amount,
            Direction::Out => Money::from_fen(-self.amount.fen()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub statement: Statement,
    /// True when the statement existed already: nothing was done this time.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(
        "period {period_start} does not follow the last settled period, which ended {last_end}"
    )]
    OutOfOrder {
        period_start: NaiveDate,
        last_end: NaiveDate,
    },
    #[error("the period {start} – {last_day} has not ended yet; it can be settled from {end}")]
    NotEnded {
        start: NaiveDate,
        last_day: NaiveDate,
        end: NaiveDate,
    },
    #[error("cannot pay out: {0}")]
    Recipients(#[from] RecipientError),
    #[error("cannot split the payout: {0}")]
    Split(#[from] SplitError),
    #[error("the ledger refused the payout booking: {0}")]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

/// A posted transfer of the settlement account that no statement has claimed.
#[derive(QueryableByName)]
struct Movement {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    /// Credits positive.
    #[diesel(sql_type = BigInt)]
    amount: i64,
    /// For money a failed payout returned: that payout and its recipient.
    #[diesel(sql_type = Nullable<BigInt>)]
    returned_payout_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    returned_to: Option<i64>,
}

const UNCLAIMED: &str = "
    SELECT m.transfer_id AS id, m.kind,
           (CASE WHEN m.credit_account_id = $1 THEN m.amount ELSE -m.amount END)::int8 AS amount,
           p.id AS returned_payout_id, p.recipient_id AS returned_to
    FROM ledger_movements m
    LEFT JOIN payouts p ON m.kind = 'payout_return' AND p.resolved_entry_id = m.entry_id
                       AND m.credit_account_id = $1
    WHERE (m.debit_account_id = $1 OR m.credit_account_id = $1)
      AND m.transfer_id >= $2
      AND m.effective_at < $3
      AND NOT EXISTS (SELECT 1 FROM settlement_claims c WHERE c.transfer_id = m.transfer_id)
    ORDER BY m.transfer_id";

#[derive(Queryable, Selectable)]
#[diesel(table_name = settlement_statements, check_for_backend(diesel::pg::Pg))]
struct StatementRow {
    id: StatementId,
    merchant_id: MerchantId,
    run_id: Option<i64>,
    cycle: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    opening_fen: i64,
    activity_fen: i64,
    closing_fen: i64,
    outcome: String,
    platform_fee_fen: i64,
    carried_fen: i64,
    scan_from_id: i64,
    journal_entry_id: Option<i64>,
    created_at: DateTime<Utc>,
    notified_at: Option<DateTime<Utc>>,
}

impl From<StatementRow> for Statement {
    fn from(r: StatementRow) -> Self {
        Self {
            id: r.id,
            merchant_id: r.merchant_id,
            run_id: r.run_id,
            cycle: r.cycle,
            period_start: r.period_start,
            period_end: r.period_end,
            opening: Money::from_fen(r.opening_fen),
            activity: Money::from_fen(r.activity_fen),
            closing: Money::from_fen(r.closing_fen),
            outcome: Outcome::parse(&r.outcome),
            platform_fee: Money::from_fen(r.platform_fee_fen),
            carried: Money::from_fen(r.carried_fen),
            scan_from_id: r.scan_from_id,
            journal_entry_id: r.journal_entry_id,
            created_at: r.created_at,
            notified_at: r.notified_at,
        }
    }
}

pub fn find(conn: &mut PgConnection, id: StatementId) -> QueryResult<Option<Statement>> {
    settlement_statements::table
        .find(id)
        .select(StatementRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Statement::from))
}

/// The merchant's statements, newest first, ending within `[from, to)` when given.
pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    ending_from: Option<DateTime<Utc>>,
    ending_before: Option<DateTime<Utc>>,
    limit: i64,
) -> QueryResult<Vec<Statement>> {
    let mut query = settlement_statements::table
        .filter(settlement_statements::merchant_id.eq(merchant_id))
        .into_boxed();
    if let Some(from) = ending_from {
        query = query.filter(settlement_statements::period_end.gt(from));
    }
    if let Some(before) = ending_before {
        query = query.filter(settlement_statements::period_end.le(before));
    }
    Ok(query
        .order(settlement_statements::period_end.desc())
        .limit(limit)
        .select(StatementRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Statement::from)
        .collect())
}

/// The statements of a settlement run, by merchant.
pub fn of_run(conn: &mut PgConnection, run_id: i64) -> QueryResult<Vec<Statement>> {
    Ok(settlement_statements::table
        .filter(settlement_statements::run_id.eq(run_id))
        .order(settlement_statements::merchant_id)
        .select(StatementRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Statement::from)
        .collect())
}

/// Statements not yet emailed, oldest first.
pub fn unnotified(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Statement>> {
    Ok(settlement_statements::table
        .filter(settlement_statements::notified_at.is_null())
        .order(settlement_statements::id)
        .limit(limit)
        .select(StatementRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Statement::from)
        .collect())
}

/// Records that the statement was emailed (or that there was nobody to email):
/// the one change a statement allows.
#[tracing::instrument(skip_all, fields(id = %id))]
pub fn mark_notified(conn: &mut PgConnection, id: StatementId) -> QueryResult<()> {
    diesel::update(
        settlement_statements::table
            .find(id)
            .filter(settlement_statements::notified_at.is_null()),
    )
    .set(settlement_statements::notified_at.eq(crate::clock::now()))
    .execute(conn)
    .map(drop)
}

/// The merchant's most recent statement.
pub fn last(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Option<Statement>> {
    Ok(of_merchant(conn, merchant_id, None, None, 1)?.pop())
}

/// Where the merchant's first unsettled period starts: where its last statement
/// ended, or the Shanghai day it joined.
pub fn next_period_start(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> QueryResult<NaiveDate> {
    match last(conn, merchant_id)? {
        Some(last) => Ok(shanghai::date_of(last.period_end)),
        None => merchants::table
            .find(merchant_id)
            .select(merchants::created_at)
            .first(conn)
            .map(shanghai::date_of),
    }
}

pub fn lines(conn: &mut PgConnection, statement_id: StatementId) -> QueryResult<Vec<Line>> {
    let rows: Vec<(String, String, bool, i32, i64)> = settlement_lines::table
        .filter(settlement_lines::statement_id.eq(statement_id))
        .order((
            settlement_lines::correction,
            settlement_lines::direction,
            settlement_lines::kind,
        ))
        .select((
            settlement_lines::kind,
            settlement_lines::direction,
            settlement_lines::correction,
            settlement_lines::transfers,
            settlement_lines::amount_fen,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(kind, direction, correction, transfers, amount)| Line {
            kind,
            direction: if direction == "in" {
                Direction::In
            } else {
                Direction::Out
            },
            correction,
            transfers,
            amount: Money::from_fen(amount),
        })
        .collect())
}

/// Groups movements into lines by (kind, direction), in a stable order.
fn group(movements: &[Movement]) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for m in movements {
        let direction = if m.amount > 0 {
            Direction::In
        } else {
            Direction::Out
        };
        match lines
            .iter_mut()
            .find(|l| l.kind == m.kind && l.direction == direction)
        {
            Some(line) => {
                line.transfers += 1;
                line.amount = Money::from_fen(line.amount.fen() + m.amount.abs());
            }
            None => lines.push(Line {
                kind: m.kind.clone(),
                direction,
                correction: CORRECTION_KINDS.contains(&m.kind.as_str()),
                transfers: 1,
                amount: Money::from_fen(m.amount.abs()),
            }),
        }
    }
    lines.sort_by(|a, b| {
        (a.correction, a.direction.as_str(), &a.kind).cmp(&(
            b.correction,
            b.direction.as_str(),
            &b.kind,
        ))
    });
    lines
}

/// Refuses a period that has not ended by `clock::now()` (Shanghai dates).
pub fn ensure_ended(period: Period) -> Result<(), SettleError> {
    if period.end > shanghai::date_of(crate::clock::now()) {
        return Err(SettleError::NotEnded {
            start: period.start,
            last_day: period.last_day(),
            end: period.end,
        });
    }
    Ok(())
}

/// Settles the merchant's `period` (see the module documentation). The period
/// must have ended and start where the merchant's last statement ended (or be
/// its first).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, run_id = ?run_id))]
pub fn settle(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant_id: MerchantId,
    period: Period,
    run_id: Option<i64>,
) -> Result<Settled, SettleError> {
    conn.transaction(|conn| {
        recipients::lock_merchant(conn, merchant_id)?;
        if let Some(statement) = existing(conn, merchant_id, period.starts_at())? {
            return Ok(Settled {
                statement,
                replayed: true,
            });
        }
        ensure_ended(period)?;
        let previous = last(conn, merchant_id)?;
        if let Some(previous) = &previous
            && previous.period_end != period.starts_at()
        {
            return Err(SettleError::OutOfOrder {
                period_start: period.start,
                last_end: shanghai::date_of(previous.period_end),
            });
        }
        let terms = terms::of(conn, merchant_id)?;
        let account = chart::open(conn, &chart::merchant_settlement(merchant_id))?;
        let scan_from = previous.as_ref().map_or(0, |p| p.scan_from_id);
        let movements: Vec<Movement> = diesel::sql_query(UNCLAIMED)
            .bind::<BigInt, _>(account.0)
            .bind::<BigInt, _>(scan_from)
            .bind::<Timestamptz, _>(period.ends_at())
            .load(conn)?;
        let opening = previous.as_ref().map_or(0, |p| p.carried.fen());
        let activity: i64 = movements.iter().map(|m| m.amount).sum();
        let closing = opening + activity;

        let repayments = repayments(&movements);
        let to_split = closing - repayments.iter().map(|r| r.fen).sum::<i64>();
        let booking = if repayments.is_empty() && to_split <= 0 {
            None
        } else {
            Some(book_payout(
                conn,
                keys,
                Payable {
                    merchant_id,
                    settlement: account,
                    period,
                    repayments,
                    to_split: to_split.max(0),
                    platform_fee_bp: terms.platform_fee_bp,
                },
            )?)
        };
        let (platform_fee, paid) = booking
            .as_ref()
            .map_or((0, 0), |b| (b.platform_fee, b.total()));
        let carried = closing - paid;
        let outcome = match (&booking, carried.cmp(&0)) {
            (Some(_), _) => Outcome::Payout,
            (None, std::cmp::Ordering::Less) => Outcome::Collection,
            (None, _) => Outcome::Nil,
        };
        let scan_from_id = movements.first().map_or(scan_from, |m| m.id);
        let id: StatementId = diesel::insert_into(settlement_statements::table)
            .values((
                settlement_statements::merchant_id.eq(merchant_id),
                settlement_statements::run_id.eq(run_id),
                settlement_statements::cycle.eq(terms.cycle.kind()),
                settlement_statements::period_start.eq(period.starts_at()),
                settlement_statements::period_end.eq(period.ends_at()),
                settlement_statements::opening_fen.eq(opening),
                settlement_statements::activity_fen.eq(activity),
                settlement_statements::closing_fen.eq(closing),
                settlement_statements::outcome.eq(outcome.as_str()),
                settlement_statements::platform_fee_fen.eq(platform_fee),
                settlement_statements::carried_fen.eq(carried),
                settlement_statements::scan_from_id.eq(scan_from_id),
                settlement_statements::journal_entry_id.eq(booking.as_ref().map(|b| b.entry_id)),
                settlement_statements::created_at.eq(crate::clock::now()),
            ))
            .returning(settlement_statements::id)
            .get_result(conn)?;

        record_lines_and_claims(conn, id, &movements, booking.as_ref())?;
        if let Some(booking) = &booking {
            record_payouts(conn, id, merchant_id, booking)?;
        }
        resolve_collections(
            conn,
            id,
            merchant_id,
            carried,
            period,
            terms.collection_days,
        )?;

        let statement = find(conn, id)?.expect("just inserted");
        announce(conn, &statement, period)?;
        Ok(Settled {
            statement,
            replayed: false,
        })
    })
}

/// The statement's lines, and its claim on every transfer it covers: the
/// activity and its own payout booking.
fn record_lines_and_claims(
    conn: &mut PgConnection,
    statement_id: StatementId,
    movements: &[Movement],
    booking: Option<&Booking>,
) -> QueryResult<()> {
    let lines = group(movements);
    diesel::insert_into(settlement_lines::table)
        .values(
            lines
                .iter()
                .map(|l| {
                    (
                        settlement_lines::statement_id.eq(statement_id),
                        settlement_lines::kind.eq(&l.kind),
                        settlement_lines::direction.eq(l.direction.as_str()),
                        settlement_lines::correction.eq(l.correction),
                        settlement_lines::transfers.eq(l.transfers),
                        settlement_lines::amount_fen.eq(l.amount.fen()),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .execute(conn)?;
    let claimed: Vec<i64> = movements
        .iter()
        .map(|m| m.id)
        .chain(
            booking
                .into_iter()
                .flat_map(|b| b.transfer_ids.iter().copied()),
        )
        .collect();
    for chunk in claimed.chunks(10_000) {
        diesel::insert_into(settlement_claims::table)
            .values(
                chunk
                    .iter()
                    .map(|t| {
                        (
                            settlement_claims::transfer_id.eq(t),
                            settlement_claims::statement_id.eq(statement_id),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .execute(conn)?;
    }
    Ok(())
}

/// Queues the `settlement.ready` webhook with the statement's figures.
fn announce(conn: &mut PgConnection, statement: &Statement, period: Period) -> QueryResult<()> {
    webhook::enqueue(
        conn,
        statement.merchant_id,
        READY_EVENT,
        &format!("statement:{}", statement.id),
        &json!({
            "statement_id": statement.id,
            "period_start": period.start,
            "period_end": period.last_day(),
            "opening_cny": statement.opening,
            "closing_cny": statement.closing,
            "outcome": statement.outcome,
            "platform_fee_cny": statement.platform_fee,
            "payout_cny": statement.paid_out(),
        }),
    )
}

fn existing(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    period_start: DateTime<Utc>,
) -> QueryResult<Option<Statement>> {
    settlement_statements::table
        .filter(settlement_statements::merchant_id.eq(merchant_id))
        .filter(settlement_statements::period_start.eq(period_start))
        .select(StatementRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Statement::from))
}

/// One payout of a booking: to whom, how much, and — for money a failed
/// payout returned — which payout it repays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    recipient_id: i64,
    fen: i64,
    repays: Option<i64>,
}

/// The money failed payouts returned among the movements: each is owed to the
/// recipient it failed for, in the order it came back.
fn repayments(movements: &[Movement]) -> Vec<Part> {
    movements
        .iter()
        .filter(|m| m.amount > 0)
        .filter_map(|m| {
            Some(Part {
                recipient_id: m.returned_to?,
                fen: m.amount,
                repays: Some(m.returned_payout_id?),
            })
        })
        .collect()
}

/// A payout as booked in the ledger.
struct Booking {
    entry_id: i64,
    platform_fee: i64,
    /// In the booking's transfer order after the fee: repayments, then the split.
    parts: Vec<Part>,
    transfer_ids: Vec<i64>,
}

impl Booking {
    fn total(&self) -> i64 {
        self.platform_fee + self.parts.iter().map(|p| p.fen).sum::<i64>()
    }
}

/// What one statement pays out: returned money to repay as it is, and an
/// amount (possibly zero) to split by the merchant's rules.
struct Payable {
    merchant_id: MerchantId,
    settlement: AccountId,
    period: Period,
    repayments: Vec<Part>,
    to_split: i64,
    platform_fee_bp: u32,
}

fn book_payout(
    conn: &mut PgConnection,
    keys: &Keys,
    payable: Payable,
) -> Result<Booking, SettleError> {
    let Payable {
        merchant_id,
        settlement,
        period,
        mut repayments,
        to_split,
        platform_fee_bp,
    } = payable;
    let (platform_fee, split) = if to_split > 0 {
        let recipients = recipients::ensure_any(conn, keys, merchant_id)?;
        let split =
            recipients::rules(&recipients, platform_fee_bp)?.split(Money::from_fen(to_split));
        (split.platform_fee, split.payouts)
    } else {
        (Money::ZERO, Vec::new())
    };
    let mut parts = std::mem::take(&mut repayments);
    parts.extend(split.into_iter().map(|(recipient_id, amount)| Part {
        recipient_id,
        fen: amount.fen(),
        repays: None,
    }));
    let house = chart::ensure_house_accounts(conn)?;
    let mut entry = EntryRequest::new(
        format!("settle:m{merchant_id}:{}", period.start),
        SETTLE_KIND,
    )
    .metadata(json!({
        "merchant_id": merchant_id,
        "period_start": period.start,
        "period_end": period.last_day(),
    }));
    if platform_fee.is_positive() {
        entry = entry.transfer(TransferRequest::move_(
            settlement,
            house.id(HouseAccount::Fees),
            CNY,
            platform_fee.fen(),
        ));
    }
    for part in &parts {
        entry = entry.transfer(TransferRequest::move_(
            settlement,
            house.id(HouseAccount::Payouts),
            CNY,
            part.fen,
        ));
    }
    let committed = ledger::submit_one(conn, &entry)??;
    Ok(Booking {
        entry_id: committed.entry_id.0,
        platform_fee: platform_fee.fen(),
        parts,
        transfer_ids: committed.transfer_ids.iter().map(|t| t.0).collect(),
    })
}

fn record_payouts(
    conn: &mut PgConnection,
    statement_id: StatementId,
    merchant_id: MerchantId,
    booking: &Booking,
) -> QueryResult<()> {
    diesel::insert_into(payouts::table)
        .values(
            booking
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    (
                        payouts::statement_id.eq(statement_id),
                        payouts::merchant_id.eq(merchant_id),
                        payouts::recipient_id.eq(part.recipient_id),
                        payouts::amount_fen.eq(part.fen),
                        // The bank's EndToEndId: at most 35 characters, unique.
                        payouts::reference.eq(format!("ALC-S{statement_id}-{}", i + 1)),
                        payouts::status.eq(PayoutStatus::Pending),
                        payouts::created_at.eq(crate::clock::now()),
                        payouts::repays_payout_id.eq(part.repays),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .execute(conn)?;
    Ok(())
}

/// Closes the merchant's open collection — paid when the carried position no
/// longer owes, superseded by a new one when it still does — and opens the new one.
fn resolve_collections(
    conn: &mut PgConnection,
    statement_id: StatementId,
    merchant_id: MerchantId,
    carried: i64,
    period: Period,
    collection_days: u16,
) -> QueryResult<()> {
    let open: Option<(i64, NaiveDate)> = settlement_collections::table
        .filter(settlement_collections::merchant_id.eq(merchant_id))
        .filter(settlement_collections::status.eq_any(collection::UNPAID))
        .select((settlement_collections::id, settlement_collections::due_on))
        .for_update()
        .first(conn)
        .optional()?;
    if let Some((open_id, _)) = open {
        diesel::update(settlement_collections::table.find(open_id))
            .set((
                settlement_collections::status.eq(if carried < 0 {
                    CollectionStatus::Superseded
                } else {
                    CollectionStatus::Paid
                }),
                settlement_collections::closed_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
    }
    if carried < 0 {
        let due = period.end + chrono::Days::new(u64::from(collection_days));
        let due_on = open.map_or(due, |(_, earlier)| earlier.min(due));
        let today = shanghai::date_of(crate::clock::now());
        diesel::insert_into(settlement_collections::table)
            .values((
                settlement_collections::statement_id.eq(statement_id),
                settlement_collections::merchant_id.eq(merchant_id),
                settlement_collections::amount_fen.eq(-carried),
                settlement_collections::due_on.eq(due_on),
                settlement_collections::status.eq(if due_on < today {
                    CollectionStatus::Overdue
                } else {
                    CollectionStatus::Open
                }),
                settlement_collections::created_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
