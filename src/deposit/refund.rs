//! The refund of a deposit when its merchant leaves: once the merchant has
//! exited and owes nothing (its settlement account's posted balance is not
//! negative), finance pays the whole deposit back, `merchant:m:deposit →
//! house:bank`.
//!
//! A second click waits for the first on the merchant's row and then finds the
//! deposit empty. The key is `deposit:refund:{m}:{credits}`, where credits is
//! everything ever paid into the deposit: it names "the refund of what came in up
//! to now", so a later refund (of a receipt confirmed after the first) gets a key
//! of its own.

use diesel::{PgConnection, prelude::*};

use crate::{
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    db::schema::merchants,
    domain::{actor::Actor, money::Money},
    ledger::{EntryRequest, TransferRequest},
    merchant::standing::Status,
};

use super::{DepositError, book, position::balance_of};

/// Refunds the whole deposit of an exited merchant that owes nothing; returns
/// the amount.
pub fn refund(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: i64,
) -> Result<Money, DepositError> {
    conn.transaction(|conn| {
        // Concurrent refunds of one merchant wait here, and the second then finds
        // an empty deposit.
        let status: String = merchants::table
            .find(merchant_id)
            .select(merchants::status)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(DepositError::MerchantNotFound)?;
        if status != Status::Exited.as_str() {
            return Err(DepositError::NotExiting);
        }
        let position = balance_of(conn, &chart::merchant_settlement(merchant_id))?.posted();
        if position < 0 {
            return Err(DepositError::SettlementOwed {
                owed: Money::from_fen(-position),
            });
        }
        let held = balance_of(conn, &chart::merchant_deposit(merchant_id))?;
        let amount = held.available();
        if amount <= 0 {
            return Err(DepositError::NothingToRefund);
        }
        let bank = chart::ensure_house_accounts(conn)?.id(HouseAccount::Bank);
        let deposit = chart::open(conn, &chart::merchant_deposit(merchant_id))?;
        let entry = EntryRequest::new(
            format!("deposit:refund:{merchant_id}:{}", held.credits_posted),
            "deposit_refund",
        )
        .metadata(serde_json::json!({ "merchant_id": merchant_id }))
        .transfer(TransferRequest::move_(deposit, bank, CNY, amount));
        let entry_id = book(conn, &entry)?;
        let amount = Money::from_fen(amount);
        audit::record(
            conn,
            actor,
            Change::new("deposit.refund", "merchant", merchant_id).after(serde_json::json!({
                "amount": amount,
                "journal_entry_id": entry_id,
            })),
        )?;
        Ok(amount)
    })
}
