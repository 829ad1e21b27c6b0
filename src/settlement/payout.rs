//! Payouts on their way to merchants' banks. A settlement in a merchant's favour
//! books the money out of `merchant:m:settlement` at once (into `house:payouts`,
//! the money in flight) and leaves one `pending` payout per recipient. Finance
//! then gathers the pending payouts into a bank batch (CSV and pain.001 files),
//! marks it sent, and records what the bank says of each payout:
//! - confirmed → `house:payouts → house:bank` (kind `payout`): the money left;
//! - failed → `house:payouts → merchant:m:settlement` (kind `payout_return`): the
//!   amount returns to the merchant's position, and the next statement shows it
//!   as a correction and repays it to the same recipient as a payout of its own
//!   (`repays_payout_id`), outside the split: the money was that recipient's
//!   already, so no platform share is taken twice and no other rule touches it.
//!
//! Each step is a status change under the payout's row lock plus, where money
//! moves, one ledger entry keyed by the payout (`payout:{id}:confirm` or
//! `payout:{id}:return`), so a repeated click or a retry books nothing twice.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::{
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    crypto::{self, Keys},
    db::schema::{payout_batches, payouts},
    domain::{
        actor::Actor,
        id::{MerchantId, StatementId},
        money::Money,
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    webhook,
};

use super::{
    payout_file::{Instruction, Party, PayoutFile},
    recipients::{self, RecipientError},
};

/// Kind of the entry that records the bank paid a payout.
pub const CONFIRM_KIND: &str = "payout";
/// Kind of the entry that returns a failed payout to the merchant's position.
pub const RETURN_KIND: &str = "payout_return";
/// The webhook sent when a payout leaves for the bank.
pub const SENT_EVENT: &str = "payout.sent";
/// Keeps a bank file to a size banks accept in one upload.
const MAX_BATCH: i64 = 5_000;

text_enum! {
    pub enum PayoutStatus {
        Pending => "pending",
        Batched => "batched",
        Sent => "sent",
        Confirmed => "confirmed",
        Failed => "failed",
    }
}

text_enum! {
    pub enum BatchStatus {
        Created => "created",
        Sent => "sent",
        /// Every payout confirmed or failed.
        Closed => "closed",
    }
}

/// Payouts owed to merchants that the bank has not yet confirmed or failed:
/// pending, batched or sent. Their money sits in `house:payouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub count: i64,
    pub amount: Money,
}

pub fn in_flight(conn: &mut PgConnection) -> QueryResult<InFlight> {
    let (count, fen): (i64, Option<i64>) = payouts::table
        .filter(payouts::status.eq_any([
            PayoutStatus::Pending,
            PayoutStatus::Batched,
            PayoutStatus::Sent,
        ]))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(
                "sum(amount_fen)::int8",
            ),
        ))
        .first(conn)?;
    Ok(InFlight {
        count,
        amount: Money::from_fen(fen.unwrap_or(0)),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = payouts, check_for_backend(diesel::pg::Pg))]
struct PayoutRow {
    id: i64,
    statement_id: StatementId,
    merchant_id: MerchantId,
    recipient_id: i64,
    amount_fen: i64,
    reference: String,
    status: PayoutStatus,
    batch_id: Option<i64>,
    failure_reason: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    repays_payout_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payout {
    pub id: i64,
    pub statement_id: StatementId,
    pub merchant_id: MerchantId,
    pub recipient_id: i64,
    pub amount: Money,
    /// The bank's end-to-end reference.
    pub reference: String,
    pub status: PayoutStatus,
    pub batch_id: Option<i64>,
    pub failure_reason: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The failed payout whose returned money this one repays, outside the split.
    pub repays_payout_id: Option<i64>,
}

impl From<PayoutRow> for Payout {
    fn from(r: PayoutRow) -> Self {
        Self {
            id: r.id,
            statement_id: r.statement_id,
            merchant_id: r.merchant_id,
            recipient_id: r.recipient_id,
            amount: Money::from_fen(r.amount_fen),
            reference: r.reference,
            status: r.status,
            batch_id: r.batch_id,
            failure_reason: r.failure_reason,
            resolved_at: r.resolved_at,
            created_at: r.created_at,
            repays_payout_id: r.repays_payout_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = payout_batches, check_for_backend(diesel::pg::Pg))]
pub struct Batch {
    pub id: i64,
    pub reference: String,
    pub execution_date: NaiveDate,
    pub payouts: i32,
    pub total_fen: i64,
    pub status: BatchStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub sent_by: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Batch {
    pub fn total(&self) -> Money {
        Money::from_fen(self.total_fen)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("no such payout or batch")]
    NotFound,
    #[error("the payout is {0}, so this cannot be done")]
    WrongStatus(&'static str),
    #[error("the batch was already sent")]
    AlreadySent,
    #[error("a reason of 1 to 200 characters is needed")]
    Reason,
    #[error(transparent)]
    Recipient(#[from] RecipientError),
    #[error("the ledger refused the entry: {0}")]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("database error")]
    Database(#[from] diesel::result::Error),
}

impl Classify for PayoutError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "settlement.payout.error.not_found"),
            Self::WrongStatus(_) => (Conflict, "settlement.payout.error.wrong_status"),
            Self::AlreadySent => (Conflict, "settlement.payout.error.already_sent"),
            Self::Reason => (Unprocessable, "settlement.payout.error.reason"),
            Self::Recipient(e) => return e.class(),
            Self::Entry(_) | Self::Ledger(_) | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "payout_refused", Message::new(key)))
    }
}

pub fn of_statement(
    conn: &mut PgConnection,
    statement_id: StatementId,
) -> QueryResult<Vec<Payout>> {
    load(
        conn,
        payouts::table
            .filter(payouts::statement_id.eq(statement_id))
            .into_boxed(),
    )
}

/// The merchant's payouts, newest first.
pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    limit: i64,
) -> QueryResult<Vec<Payout>> {
    load(
        conn,
        payouts::table
            .filter(payouts::merchant_id.eq(merchant_id))
            .limit(limit)
            .into_boxed(),
    )
}

pub fn of_batch(conn: &mut PgConnection, batch_id: i64) -> QueryResult<Vec<Payout>> {
    load(
        conn,
        payouts::table
            .filter(payouts::batch_id.eq(batch_id))
            .into_boxed(),
    )
}

/// Payouts waiting for a batch, oldest first.
pub fn pending(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Payout>> {
    let mut list = load(
        conn,
        payouts::table
            .filter(payouts::status.eq(PayoutStatus::Pending))
            .limit(limit)
            .into_boxed(),
    )?;
    list.reverse();
    Ok(list)
}

fn load(
    conn: &mut PgConnection,
    query: payouts::BoxedQuery<'_, diesel::pg::Pg>,
) -> QueryResult<Vec<Payout>> {
    Ok(query
        .order(payouts::id.desc())
        .select(PayoutRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Payout::from)
        .collect())
}

pub fn batches(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Batch>> {
    payout_batches::table
        .order(payout_batches::id.desc())
        .limit(limit)
        .select(Batch::as_select())
        .load(conn)
}

pub fn batch(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Batch>> {
    payout_batches::table
        .find(id)
        .select(Batch::as_select())
        .first(conn)
        .optional()
}

/// Gathers every pending payout (up to a bank file's size) into a new batch to
/// be paid on `execution_date`; None when nothing is pending. Two operators
/// doing this at once get disjoint batches (`SKIP LOCKED`).
#[tracing::instrument(skip_all)]
pub fn create_batch(
    conn: &mut PgConnection,
    actor: &Actor,
    execution_date: NaiveDate,
) -> Result<Option<Batch>, PayoutError> {
    conn.transaction(|conn| {
        let chosen: Vec<(i64, i64)> = payouts::table
            .filter(payouts::status.eq(PayoutStatus::Pending))
            .order(payouts::id)
            .limit(MAX_BATCH)
            .select((payouts::id, payouts::amount_fen))
            .for_update()
            .skip_locked()
            .load(conn)?;
        if chosen.is_empty() {
            return Ok(None);
        }
        let total: i64 = chosen.iter().map(|(_, fen)| fen).sum();
        // The pain.001 MsgId: unique, at most 35 characters.
        let reference = format!(
            "ALB{}{}",
            crate::clock::now().format("%Y%m%d"),
            &crypto::random_hex_id()[..12]
        );
        let batch: Batch = diesel::insert_into(payout_batches::table)
            .values((
                payout_batches::reference.eq(&reference),
                payout_batches::execution_date.eq(execution_date),
                payout_batches::payouts.eq(i32::try_from(chosen.len()).expect("at most MAX_BATCH")),
                payout_batches::total_fen.eq(total),
                payout_batches::status.eq(BatchStatus::Created),
                payout_batches::created_by.eq(&actor.label),
                payout_batches::created_at.eq(crate::clock::now()),
            ))
            .returning(Batch::as_returning())
            .get_result(conn)?;
        let ids: Vec<i64> = chosen.iter().map(|(id, _)| *id).collect();
        diesel::update(payouts::table.filter(payouts::id.eq_any(&ids)))
            .set((
                payouts::status.eq(PayoutStatus::Batched),
                payouts::batch_id.eq(batch.id),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("settlement.batch.create", "payout_batch", batch.id)
                .after(json!({ "reference": reference, "payouts": ids.len(), "total_fen": total })),
        )?;
        Ok(Some(batch))
    })
}

/// The bank file of a batch: the house's account pays each recipient.
pub fn batch_file(
    conn: &mut PgConnection,
    keys: &Keys,
    batch_id: i64,
    debtor: Party,
) -> Result<PayoutFile, PayoutError> {
    let batch = batch(conn, batch_id)?.ok_or(PayoutError::NotFound)?;
    let mut instructions = Vec::new();
    for payout in of_batch(conn, batch_id)?.into_iter().rev() {
        let recipient =
            recipients::find(conn, payout.recipient_id)?.ok_or(PayoutError::NotFound)?;
        let account = recipient.account(conn, keys)?;
        instructions.push(Instruction {
            end_to_end_id: payout.reference.clone(),
            amount: payout.amount,
            creditor: Party {
                name: recipient.name.clone(),
                account: account.digits().to_owned(),
                bank_name: recipient.bank_name.clone(),
                bank_code: recipient.bank_code.clone(),
            },
            remittance: format!(
                "Alliance settlement {} / statement {}",
                payout.reference, payout.statement_id
            ),
        });
    }
    Ok(PayoutFile {
        message_id: batch.reference.clone(),
        created_at: batch.created_at,
        execution_date: batch.execution_date,
        debtor,
        instructions,
    })
}

/// Marks a batch handed to the bank: its payouts are sent, and each merchant
/// gets a `payout.sent` webhook.
#[tracing::instrument(skip_all, fields(batch_id = batch_id))]
pub fn mark_sent(
    conn: &mut PgConnection,
    actor: &Actor,
    batch_id: i64,
) -> Result<Batch, PayoutError> {
    conn.transaction(|conn| {
        let status: BatchStatus = payout_batches::table
            .find(batch_id)
            .select(payout_batches::status)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(PayoutError::NotFound)?;
        if status != BatchStatus::Created {
            return Err(PayoutError::AlreadySent);
        }
        diesel::update(payout_batches::table.find(batch_id))
            .set((
                payout_batches::status.eq(BatchStatus::Sent),
                payout_batches::sent_by.eq(&actor.label),
                payout_batches::sent_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        diesel::update(payouts::table.filter(payouts::batch_id.eq(batch_id)))
            .set(payouts::status.eq(PayoutStatus::Sent))
            .execute(conn)?;
        for payout in of_batch(conn, batch_id)? {
            let recipient =
                recipients::find(conn, payout.recipient_id)?.ok_or(PayoutError::NotFound)?;
            webhook::enqueue(
                conn,
                payout.merchant_id,
                SENT_EVENT,
                &format!("payout:{}", payout.id),
                &json!({
                    "payout_id": payout.id,
                    "statement_id": payout.statement_id,
                    "reference": payout.reference,
                    "amount_cny": payout.amount,
                    "recipient": recipient.name,
                    "account_last4": recipient.account_last4,
                }),
            )?;
        }
        audit::record(
            conn,
            actor,
            Change::new("settlement.batch.sent", "payout_batch", batch_id),
        )?;
        Ok(batch(conn, batch_id)?.expect("locked above"))
    })
}

/// The bank paid the payout.
#[tracing::instrument(skip_all, fields(payout_id = payout_id))]
pub fn confirm(
    conn: &mut PgConnection,
    actor: &Actor,
    payout_id: i64,
) -> Result<Payout, PayoutError> {
    resolve(conn, actor, payout_id, None)
}

/// The bank could not pay the payout: its amount returns to the merchant's
/// position, to be paid with the next settlement.
#[tracing::instrument(skip_all, fields(payout_id = payout_id))]
pub fn fail(
    conn: &mut PgConnection,
    actor: &Actor,
    payout_id: i64,
    reason: &str,
) -> Result<Payout, PayoutError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(PayoutError::Reason);
    }
    resolve(conn, actor, payout_id, Some(reason))
}

fn resolve(
    conn: &mut PgConnection,
    actor: &Actor,
    payout_id: i64,
    failure: Option<&str>,
) -> Result<Payout, PayoutError> {
    conn.transaction(|conn| {
        let payout: Payout = payouts::table
            .find(payout_id)
            .select(PayoutRow::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(PayoutError::NotFound)?
            .into();
        let wanted = if failure.is_some() {
            PayoutStatus::Failed
        } else {
            PayoutStatus::Confirmed
        };
        if payout.status == wanted {
            return Ok(payout);
        }
        if payout.status != PayoutStatus::Sent {
            return Err(PayoutError::WrongStatus(payout.status.as_str()));
        }
        let house = chart::ensure_house_accounts(conn)?;
        let in_flight = house.id(HouseAccount::Payouts);
        let (key, kind, to) = match failure {
            None => (
                format!("payout:{payout_id}:confirm"),
                CONFIRM_KIND,
                house.id(HouseAccount::Bank),
            ),
            Some(_) => (
                format!("payout:{payout_id}:return"),
                RETURN_KIND,
                chart::open(conn, &chart::merchant_settlement(payout.merchant_id))?,
            ),
        };
        let entry = EntryRequest::new(key, kind)
            .metadata(json!({
                "payout_id": payout_id,
                "merchant_id": payout.merchant_id,
                "statement_id": payout.statement_id,
                "reference": payout.reference,
            }))
            .transfer(TransferRequest::move_(
                in_flight,
                to,
                CNY,
                payout.amount.fen(),
            ));
        let committed = ledger::submit_one(conn, &entry)??;
        diesel::update(payouts::table.find(payout_id))
            .set((
                payouts::status.eq(wanted),
                payouts::resolved_entry_id.eq(committed.entry_id.0),
                payouts::failure_reason.eq(failure),
                payouts::resolved_by.eq(&actor.label),
                payouts::resolved_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        if let Some(batch_id) = payout.batch_id {
            close_batch_when_done(conn, batch_id)?;
        }
        audit::record(
            conn,
            actor,
            Change::new(
                if failure.is_some() {
                    "settlement.payout.fail"
                } else {
                    "settlement.payout.confirm"
                },
                "payout",
                payout_id,
            )
            .after(json!({ "reason": failure })),
        )?;
        Ok(payouts::table
            .find(payout_id)
            .select(PayoutRow::as_select())
            .first(conn)?
            .into())
    })
}

fn close_batch_when_done(conn: &mut PgConnection, batch_id: i64) -> QueryResult<()> {
    let open: i64 = payouts::table
        .filter(payouts::batch_id.eq(batch_id))
        .filter(payouts::status.eq_any([PayoutStatus::Batched, PayoutStatus::Sent]))
        .count()
        .get_result(conn)?;
    if open == 0 {
        diesel::update(payout_batches::table.find(batch_id))
            .set(payout_batches::status.eq(BatchStatus::Closed))
            .execute(conn)?;
    }
    Ok(())
}
