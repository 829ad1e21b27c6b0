//! Deductions from a deposit for an obligation the merchant has not paid. A
//! finance operator files the request; it runs only once approved by finance or
//! admin operators other than the maker (two of them from the configured amount,
//! `approval::Policy`). The approved action books `merchant:m:deposit →
//! merchant:m:settlement` under the key `deposit:deduct:{approval id}`. It
//! refuses to overdraw the deposit, and to take more than the merchant owes
//! (the posted debit balance of its settlement account): the excess would sit
//! in that account as the house owing the merchant and go back out at the next
//! settlement. Both are checked when filed and again when run, since the
//! balances may have moved in between (a settlement paid, another deduction).

use diesel::{PgConnection, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{
    approval::{self, ActionFailed, Approval, NewApproval, Policy, Registry, Scope},
    audit::{self, Change},
    chart::{self, CNY},
    db::schema::merchants,
    domain::{actor::Actor, id::MerchantId, money::Money},
    i18n::Locale,
    ledger::{self, EntryError, EntryRequest, TransferRequest},
    merchant,
};

use super::{DepositError, book, position::balance_of, reason_text, watch};

/// The approval kind, registered with the action `deduct` at start-up.
pub const DEDUCTION_KIND: &str = "deposit.deduct";
const APPROVER_ROLES: &[&str] = &["finance", "admin"];

/// Everything the action needs, kept with the approval request.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    merchant_id: MerchantId,
    amount_fen: i64,
    reason: String,
}

/// Files a deduction for approval; nothing moves yet.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn request_deduction(
    conn: &mut PgConnection,
    maker: &Actor,
    merchant_id: MerchantId,
    amount: Money,
    reason: &str,
    policy: Policy,
    registry: &Registry,
) -> Result<Approval, DepositError> {
    if !amount.is_positive() {
        return Err(DepositError::InvalidAmount);
    }
    let reason = reason_text(reason)?;
    let merchant = merchant::find(conn, merchant_id)?.ok_or(DepositError::MerchantNotFound)?;
    ensure_owed(conn, merchant_id, amount)?;
    let balance =
        Money::from_fen(balance_of(conn, &chart::merchant_deposit(merchant_id))?.posted());
    if balance < amount {
        return Err(DepositError::WouldOverdraw { balance });
    }
    let payload = Payload {
        merchant_id,
        amount_fen: amount.fen(),
        reason: reason.to_owned(),
    };
    let request = NewApproval {
        kind: DEDUCTION_KIND,
        scope: Scope::Platform,
        payload: serde_json::to_value(&payload).expect("the payload serializes"),
        summary: format!("{} · {reason}", merchant.code),
        amount: Some(amount),
        approver_roles: APPROVER_ROLES,
    };
    Ok(approval::request(conn, maker, &request, policy, registry)?)
}

/// The approval action `deposit.deduct`, run as the checker who completed the
/// approval. Its outcome is stored with the approval, in the default language.
#[tracing::instrument(skip_all)]
pub fn deduct(
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let locale = Locale::default();
    let payload: Payload = serde_json::from_value(approval.payload.clone())
        .map_err(|_| ActionFailed(locale.t("deposit.outcome.failed").into_owned()))?;
    let amount = Money::from_fen(payload.amount_fen);
    match book_deduction(conn, checker, approval.id, &payload) {
        Ok(()) => Ok(locale.t_with(
            "deposit.outcome.deducted",
            &[("amount", &amount.to_string())],
        )),
        Err(DepositError::WouldOverdraw { balance }) => Err(ActionFailed(locale.t_with(
            "deposit.outcome.overdraw",
            &[
                ("balance", &balance.to_string()),
                ("amount", &amount.to_string()),
            ],
        ))),
        Err(DepositError::AboveOwed { owed }) => Err(ActionFailed(locale.t_with(
            "deposit.outcome.above_owed",
            &[("owed", &owed.to_string()), ("amount", &amount.to_string())],
        ))),
        Err(e) => {
            let failed = locale.t("deposit.outcome.failed").into_owned();
            Err(ActionFailed::of(&e, locale, failed))
        }
    }
}

fn book_deduction(
    conn: &mut PgConnection,
    checker: &Actor,
    approval_id: i64,
    payload: &Payload,
) -> Result<(), DepositError> {
    let merchant_id = payload.merchant_id;
    // Two approved deductions run one after the other on the merchant's row, so
    // the second sees what the first paid off and the cap holds for both.
    merchants::table
        .find(merchant_id)
        .select(merchants::id)
        .for_update()
        .first::<MerchantId>(conn)
        .optional()?
        .ok_or(DepositError::MerchantNotFound)?;
    chart::ensure_currency_assets(conn)?;
    let deposit = chart::open(conn, &chart::merchant_deposit(merchant_id))?;
    let settlement = chart::open(conn, &chart::merchant_settlement(merchant_id))?;
    ensure_owed(conn, merchant_id, Money::from_fen(payload.amount_fen))?;
    let balance = Money::from_fen(ledger::balance(conn, deposit)?.available());
    if balance.fen() < payload.amount_fen {
        return Err(DepositError::WouldOverdraw { balance });
    }
    let entry = EntryRequest::new(format!("deposit:deduct:{approval_id}"), "deposit_deduction")
        .metadata(serde_json::json!({
            "merchant_id": merchant_id,
            "approval_id": approval_id,
            "reason": payload.reason,
        }))
        .transfer(TransferRequest::move_(
            deposit,
            settlement,
            CNY,
            payload.amount_fen,
        ));
    // The database has the last word on overdrafts, should the balance move
    // between the check above and the entry.
    let entry_id = match book(conn, &entry) {
        Err(DepositError::Refused(EntryError::Overdraft { .. })) => {
            return Err(DepositError::WouldOverdraw { balance });
        }
        other => other?,
    };
    audit::record(
        conn,
        checker,
        Change::new("deposit.deduct", "merchant", merchant_id).after(serde_json::json!({
            "approval_id": approval_id,
            "amount": Money::from_fen(payload.amount_fen),
            "reason": payload.reason,
            "journal_entry_id": entry_id,
        })),
    )?;
    watch::check_coverage(conn, checker, merchant_id)?;
    Ok(())
}

/// Refuses a deduction of more than the merchant owes now.
fn ensure_owed(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    amount: Money,
) -> Result<(), DepositError> {
    let posted = balance_of(conn, &chart::merchant_settlement(merchant_id))?.posted();
    let owed = Money::from_fen((-posted).max(0));
    if amount > owed {
        return Err(DepositError::AboveOwed { owed });
    }
    Ok(())
}
