//! Top-up notices: the merchant says it has paid into its deposit (amount, bank
//! reference); a finance operator checks the bank and confirms — which books the
//! ledger entry — or rejects with a reason.
//!
//! Confirming locks the notice, books `house:bank → merchant:m:deposit` under the
//! key `deposit:topup:{id}` and marks the notice confirmed with the entry's id, in
//! one transaction. A second confirmation (a double click, a retry) finds the
//! notice confirmed and books nothing; even without the lock the key would let
//! the ledger book it only once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    db::schema::deposit_topups,
    domain::{actor::Actor, id::MerchantId, money::Money, text_enum::text_enum},
    ledger::{EntryRequest, TransferRequest},
    merchant::{self, standing},
};

use super::{DepositError, book, reason_text, watch};

const MAX_REFERENCE_CHARS: usize = 64;

text_enum! {
    pub enum TopupStatus {
        Submitted => "submitted",
        Confirmed => "confirmed",
        Rejected => "rejected",
    }
}
/// The newest notices a merchant's page lists.
const MERCHANT_LIST_SIZE: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = deposit_topups, check_for_backend(diesel::pg::Pg))]
pub struct Topup {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub amount_fen: i64,
    pub bank_reference: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub status: TopupStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub journal_entry_id: Option<i64>,
}

impl Topup {
    pub fn amount(&self) -> Money {
        Money::from_fen(self.amount_fen)
    }

    pub fn is_open(&self) -> bool {
        self.status == TopupStatus::Submitted
    }
}

/// What the merchant says it paid.
#[derive(Debug, Clone)]
pub struct NewTopup {
    pub amount: Money,
    pub bank_reference: String,
}

/// The outcome of a confirmation.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub topup: Topup,
    /// True when the notice was already confirmed and nothing was booked now.
    pub already: bool,
}

/// Files a top-up notice for the merchant.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn submit_topup(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    new: &NewTopup,
) -> Result<Topup, DepositError> {
    if !new.amount.is_positive() {
        return Err(DepositError::InvalidAmount);
    }
    let reference = new.bank_reference.trim();
    if reference.is_empty()
        || reference.chars().count() > MAX_REFERENCE_CHARS
        || reference.chars().any(char::is_control)
    {
        return Err(DepositError::InvalidReference);
    }
    conn.transaction(|conn| {
        let merchant = merchant::find(conn, merchant_id)?.ok_or(DepositError::MerchantNotFound)?;
        if merchant.status == standing::Status::Exited {
            return Err(DepositError::MerchantExited);
        }
        // The only unique constraint besides the key is (merchant, reference).
        let topup: Topup = diesel::insert_into(deposit_topups::table)
            .values((
                deposit_topups::merchant_id.eq(merchant_id),
                deposit_topups::amount_fen.eq(new.amount.fen()),
                deposit_topups::bank_reference.eq(reference),
                deposit_topups::submitted_by.eq(&actor.label),
                deposit_topups::submitted_at.eq(crate::clock::now()),
            ))
            .on_conflict_do_nothing()
            .returning(Topup::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or(DepositError::DuplicateReference)?;
        audit::record(
            conn,
            actor,
            Change::new("deposit.topup_submit", "merchant", merchant_id).after(&topup),
        )?;
        Ok(topup)
    })
}

/// Confirms the bank receipt: books it and marks the notice, exactly once. The
/// coverage is checked afterwards (an open shortfall may now be resolved).
#[tracing::instrument(skip_all, fields(id = id))]
pub fn confirm_topup(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<Confirmed, DepositError> {
    let confirmed = conn.transaction(|conn| {
        let before = locked(conn, id)?;
        match before.status {
            TopupStatus::Confirmed => {
                return Ok(Confirmed {
                    topup: before,
                    already: true,
                });
            }
            TopupStatus::Rejected => return Err(DepositError::AlreadyDecided),
            TopupStatus::Submitted => {}
        }
        let bank = chart::ensure_house_accounts(conn)?.id(HouseAccount::Bank);
        let deposit = chart::open(conn, &chart::merchant_deposit(before.merchant_id))?;
        let entry = EntryRequest::new(format!("deposit:topup:{id}"), "deposit")
            .metadata(serde_json::json!({
                "merchant_id": before.merchant_id,
                "topup_id": id,
                "bank_reference": before.bank_reference,
            }))
            .transfer(TransferRequest::move_(
                bank,
                deposit,
                CNY,
                before.amount_fen,
            ));
        let entry_id = book(conn, &entry)?;
        let after: Topup = diesel::update(deposit_topups::table.find(id))
            .set((
                deposit_topups::status.eq(TopupStatus::Confirmed),
                deposit_topups::decided_by.eq(&actor.label),
                deposit_topups::decided_at.eq(crate::clock::now()),
                deposit_topups::journal_entry_id.eq(entry_id.0),
            ))
            .returning(Topup::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("deposit.topup_confirm", "merchant", after.merchant_id)
                .before(&before)
                .after(&after),
        )?;
        Ok(Confirmed {
            topup: after,
            already: false,
        })
    })?;
    if !confirmed.already {
        watch::check_coverage(conn, actor, confirmed.topup.merchant_id)?;
    }
    Ok(confirmed)
}

/// Rejects an open notice with a reason the merchant will read.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn reject_topup(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<Topup, DepositError> {
    let reason = reason_text(reason)?;
    conn.transaction(|conn| {
        let before = locked(conn, id)?;
        if !before.is_open() {
            return Err(DepositError::AlreadyDecided);
        }
        let after: Topup = diesel::update(deposit_topups::table.find(id))
            .set((
                deposit_topups::status.eq(TopupStatus::Rejected),
                deposit_topups::decided_by.eq(&actor.label),
                deposit_topups::decided_at.eq(crate::clock::now()),
                deposit_topups::reason.eq(reason),
            ))
            .returning(Topup::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("deposit.topup_reject", "merchant", after.merchant_id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// A merchant's notices, newest first.
pub fn list_topups(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<Topup>> {
    deposit_topups::table
        .filter(deposit_topups::merchant_id.eq(merchant_id))
        .order(deposit_topups::id.desc())
        .limit(MERCHANT_LIST_SIZE)
        .select(Topup::as_select())
        .load(conn)
}

/// Notices waiting for finance, oldest first (the queue); all merchants, or one.
pub fn open_topups(
    conn: &mut PgConnection,
    merchant_id: Option<MerchantId>,
    limit: i64,
) -> QueryResult<Vec<Topup>> {
    let mut query = deposit_topups::table
        .filter(deposit_topups::status.eq(TopupStatus::Submitted))
        .select(Topup::as_select())
        .into_boxed();
    if let Some(merchant_id) = merchant_id {
        query = query.filter(deposit_topups::merchant_id.eq(merchant_id));
    }
    query
        .order(deposit_topups::submitted_at)
        .limit(limit)
        .load(conn)
}

/// How many notices wait for finance.
pub fn count_open_topups(conn: &mut PgConnection) -> QueryResult<i64> {
    deposit_topups::table
        .filter(deposit_topups::status.eq(TopupStatus::Submitted))
        .count()
        .get_result(conn)
}

fn locked(conn: &mut PgConnection, id: i64) -> Result<Topup, DepositError> {
    deposit_topups::table
        .find(id)
        .select(Topup::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(DepositError::TopupNotFound)
}
