//! Executing a quote: one journal entry, kind `exchange`, key
//! `exchange:{quote id}`, at the quoted terms.
//!
//! In one transaction:
//! 1. the member's row is locked, so one member's exchanges queue: the daily
//!    limit is exact and two exchanges cannot both spend the same points;
//! 2. the quote is locked, refused if it is not the member's (or the partner's),
//!    already used, or expired;
//! 3. the eligibility checks run again against the world as it is now;
//! 4. A's lots are locked (lots before the wallet, see `earn::lot`), the entry is
//!    booked (the ledger refuses an overdraft), A's lots are consumed oldest
//!    first, and a lot of B points opens with B's expiry policy;
//! 5. the exchange row (unique per quote) and the audit record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    db::schema::exchanges,
    domain::{
        actor::Actor,
        id::{JournalEntryId, MemberId, MerchantId},
        money::Money,
        points::ProgramCode,
    },
    earn::lot,
    ledger::{self, EntryError, EntryRequest, TransferRequest},
    people::member,
};

use super::{
    ExchangeError,
    eligibility::{self, Candidate, Sides},
    policy,
    quote::{self, Quote},
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = exchanges, check_for_backend(diesel::pg::Pg))]
pub struct Exchange {
    pub id: i64,
    pub quote_id: String,
    pub member_id: MemberId,
    pub from_program: String,
    pub to_program: String,
    pub from_points: i64,
    pub to_points: i64,
    pub value_out_fen: i64,
    pub credit_fen: i64,
    pub house_fen: i64,
    pub journal_entry_id: i64,
    pub executed_by: String,
    pub created_at: DateTime<Utc>,
}

/// An executed exchange with the quote it executed.
#[derive(Debug, Clone, Serialize)]
pub struct Executed {
    pub exchange: Exchange,
    pub quote: Quote,
}

/// Who asks to execute: the member themselves, or a partner through its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Member(MemberId),
    Partner(MerchantId),
}

/// Executes the quote at its terms, once.
#[tracing::instrument(skip_all, fields(quote_id = ?quote_id))]
pub fn execute(
    conn: &mut PgConnection,
    quote_id: &str,
    executor: Executor,
    actor: &Actor,
) -> Result<Executed, ExchangeError> {
    conn.transaction(|conn| {
        let member_id = quote::find(conn, quote_id)?
            .filter(|q| belongs(q, executor))
            .ok_or(ExchangeError::UnknownQuote)?
            .member_id;
        lock_member(conn, member_id)?;
        let quote = quote::find_for_update(conn, quote_id)?.ok_or(ExchangeError::UnknownQuote)?;
        if find_by_quote(conn, &quote.id)?.is_some() {
            return Err(ExchangeError::QuoteUsed);
        }
        let now = crate::clock::now();
        if quote.is_expired(now) {
            return Err(ExchangeError::QuoteExpired);
        }
        let sides = eligibility::sides(conn, &quote.from_program, &quote.to_program)?;
        let policy = policy::current(conn)?;
        eligibility::check(
            conn,
            &Candidate {
                sides: &sides,
                member_id,
                from_points: quote.from_points,
                to_points: quote.to_points,
                value_out: Money::from_fen(quote.value_out_fen),
            },
            &policy,
            now,
        )?;
        lot::lock(conn, member_id, &quote.from_program)?;
        let entry = book(conn, &quote, &sides)?;
        lot::consume(conn, member_id, &quote.from_program, quote.from_points)?;
        lot::open(
            conn,
            member_id,
            &quote.to_program,
            quote.to_points,
            lot::expiry(now, sides.to.expiry_months),
            entry,
        )?;
        let exchange: Exchange = diesel::insert_into(exchanges::table)
            .values((
                exchanges::quote_id.eq(&quote.id),
                exchanges::member_id.eq(member_id),
                exchanges::from_program.eq(&quote.from_program),
                exchanges::to_program.eq(&quote.to_program),
                exchanges::from_points.eq(quote.from_points),
                exchanges::to_points.eq(quote.to_points),
                exchanges::value_out_fen.eq(quote.value_out_fen),
                exchanges::credit_fen.eq(quote.credit_fen),
                exchanges::house_fen.eq(quote.value_out_fen - quote.credit_fen),
                exchanges::journal_entry_id.eq(entry.0),
                exchanges::executed_by.eq(&actor.label),
                exchanges::created_at.eq(now),
            ))
            .returning(Exchange::as_returning())
            .get_result(conn)?;
        crate::earn::link_member(conn, sides.to.merchant_id, member_id)?;
        audit::record(
            conn,
            actor,
            Change::new("points.exchange", "exchange", exchange.id).after(&exchange),
        )?;
        Ok(Executed { exchange, quote })
    })
}

fn belongs(quote: &Quote, executor: Executor) -> bool {
    match executor {
        Executor::Member(id) => quote.member_id == id,
        Executor::Partner(merchant) => quote.merchant_id == Some(merchant),
    }
}

fn lock_member(conn: &mut PgConnection, member_id: MemberId) -> Result<(), ExchangeError> {
    if member::lock(conn, member_id)? {
        Ok(())
    } else {
        Err(ExchangeError::UnknownMember)
    }
}

/// The points legs retire A's points and issue B's; the cash legs charge A's
/// merchant the value out and pay B's merchant the credit through
/// `house:clearing`, the rest to `house:fees`.
fn book(
    conn: &mut PgConnection,
    quote: &Quote,
    sides: &Sides,
) -> Result<JournalEntryId, ExchangeError> {
    let from =
        ProgramCode::parse(&quote.from_program).map_err(|_| ExchangeError::UnknownProgram)?;
    let to = ProgramCode::parse(&quote.to_program).map_err(|_| ExchangeError::UnknownProgram)?;
    let house = chart::ensure_house_accounts(conn)?;
    let clearing = house.id(HouseAccount::Clearing);
    let from_wallet = chart::open(conn, &chart::member_wallet(quote.member_id, &from))?;
    let to_wallet = chart::open(conn, &chart::member_wallet(quote.member_id, &to))?;
    let from_issuance = chart::open(conn, &chart::program_issuance(&from))?;
    let to_issuance = chart::open(conn, &chart::program_issuance(&to))?;
    let from_settlement = chart::open(conn, &chart::merchant_settlement(sides.from.merchant_id))?;
    let to_settlement = chart::open(conn, &chart::merchant_settlement(sides.to.merchant_id))?;
    let house_fen = quote.value_out_fen - quote.credit_fen;
    let mut entry = EntryRequest::new(format!("exchange:{}", quote.id), "exchange")
        .metadata(serde_json::json!({
            "quote_id": quote.id,
            "member_id": quote.member_id,
            "from_program": quote.from_program,
            "to_program": quote.to_program,
            "sell_value": quote.sell_value,
            "buy_value": quote.buy_value,
            "fee_fen": quote.fee_fen,
        }))
        .transfer(TransferRequest::move_(
            from_wallet,
            from_issuance,
            from.as_str(),
            quote.from_points,
        ))
        .transfer(TransferRequest::move_(
            to_issuance,
            to_wallet,
            to.as_str(),
            quote.to_points,
        ))
        .transfer(TransferRequest::move_(
            from_settlement,
            clearing,
            CNY,
            quote.value_out_fen,
        ));
    // A leg of nothing is not a transfer: a credit can round to 0 fen for a
    // point worth less than one, and an exchange with no fee leaves no rest.
    if quote.credit_fen > 0 {
        entry = entry.transfer(TransferRequest::move_(
            clearing,
            to_settlement,
            CNY,
            quote.credit_fen,
        ));
    }
    if house_fen > 0 {
        entry = entry.transfer(TransferRequest::move_(
            clearing,
            house.id(HouseAccount::Fees),
            CNY,
            house_fen,
        ));
    }
    let result = ledger::submit_one(conn, &entry)?;
    match result {
        Ok(committed) => Ok(committed.entry_id),
        Err(EntryError::Overdraft { .. }) => Err(ExchangeError::InsufficientPoints {
            available: quote::available(conn, quote.member_id, &quote.from_program)?,
        }),
        Err(refused) => Err(ExchangeError::Refused(refused)),
    }
}

pub fn find_by_quote(conn: &mut PgConnection, quote_id: &str) -> QueryResult<Option<Exchange>> {
    exchanges::table
        .filter(exchanges::quote_id.eq(quote_id))
        .select(Exchange::as_select())
        .first(conn)
        .optional()
}

/// The member's exchanges, newest first.
pub fn of_member(
    conn: &mut PgConnection,
    member_id: MemberId,
    limit: i64,
) -> QueryResult<Vec<Exchange>> {
    exchanges::table
        .filter(exchanges::member_id.eq(member_id))
        .order(exchanges::id.desc())
        .limit(limit)
        .select(Exchange::as_select())
        .load(conn)
}
