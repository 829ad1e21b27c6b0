//! The refund of a deposit when its merchant leaves (LEDGER.md, "Exit"):
//! `merchant:m:deposit → house:bank`, only once the deposit covers nothing.
//!
//! What a deposit covers ([`Covered`]): the merchant's points still in members'
//! hands, held ones included, at the programme's settlement value (rounded up);
//! the pending debits of its settlement account (holds that will post as money
//! the merchant owes, such as a redemption leg paid in its points elsewhere);
//! and what its settlement account already owes. Deposit beyond that is not
//! released early either: the conversion of the members' points at the end of
//! the notice is paid from the deposit, and its rounding costs a few fen more
//! than the liability, so the refund waits for the exit to be complete
//! (`exit`) and then pays back the whole deposit — or is refused with
//! the figures while anything is still covered.
//!
//! A second click waits for the first on the merchant's row and then finds the
//! deposit empty. The key is `deposit:refund:{m}:{credits}`, where credits is
//! everything ever paid into the deposit: it names "the refund of what came in up
//! to now", so a later refund (of a receipt confirmed after the first) gets a key
//! of its own.

use diesel::{PgConnection, prelude::*};
use serde::Serialize;

use crate::{
    audit::{self, Change},
    chart::{self, CNY, HouseAccount},
    db::schema::merchants,
    domain::{actor::Actor, id::MerchantId, money::Money, points::ProgramCode, rate::Rate},
    ledger::{EntryRequest, TransferRequest},
    merchant::standing::Status,
    program,
};

use super::{
    DepositError, book,
    position::{balance_of, outstanding_points},
    requirement,
};

/// What a merchant's deposit holds and what it must still cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Covered {
    /// The deposit's available balance.
    pub deposit: Money,
    /// The programme's points in members' hands, held ones included.
    pub outstanding_points: i64,
    /// Those points at the settlement value, rounded up to the fen.
    pub liability: Money,
    /// Pending debits of the merchant's settlement account.
    pub pending: Money,
    /// What the settlement account owes the house (its posted debit balance).
    pub owed: Money,
}

impl Covered {
    /// The deposit less everything it covers; never below zero.
    pub fn refundable(&self) -> Money {
        let covered = self.liability.fen() + self.pending.fen() + self.owed.fen();
        Money::from_fen((self.deposit.fen() - covered).max(0))
    }

    /// Nothing is left to cover: the whole deposit may go back.
    pub fn is_clear(&self) -> bool {
        self.liability == Money::ZERO && self.pending == Money::ZERO && self.owed == Money::ZERO
    }
}

/// Reads what the merchant's deposit covers, from the ledger.
pub fn covered(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Covered, DepositError> {
    let (outstanding, liability) = match program::of_merchant(conn, merchant_id)? {
        Some(program) => {
            let code = ProgramCode::parse(&program.code).map_err(|_| DepositError::Valuation)?;
            let points = outstanding_points(conn, &code)?;
            let value = Rate::new(program.settlement_value).map_err(|_| DepositError::Valuation)?;
            let liability =
                requirement::liability(points, value).map_err(|_| DepositError::Valuation)?;
            (points, liability)
        }
        None => (0, Money::ZERO),
    };
    let settlement = balance_of(conn, &chart::merchant_settlement(merchant_id))?;
    Ok(Covered {
        deposit: Money::from_fen(
            balance_of(conn, &chart::merchant_deposit(merchant_id))?.available(),
        ),
        outstanding_points: outstanding,
        liability,
        pending: Money::from_fen(settlement.debits_pending),
        owed: Money::from_fen((-settlement.posted()).max(0)),
    })
}

/// Refunds the whole deposit of a merchant whose exit is complete and whose
/// deposit covers nothing any more; returns the amount.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn refund(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
) -> Result<Money, DepositError> {
    conn.transaction(|conn| {
        // Concurrent refunds of one merchant wait here, and the second then finds
        // an empty deposit. The conversion pass takes the same lock before it
        // marks the exit complete, so the two never overlap.
        let status: Status = merchants::table
            .find(merchant_id)
            .select(merchants::status)
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(DepositError::MerchantNotFound)?;
        if !matches!(status, Status::Exiting | Status::Exited) {
            return Err(DepositError::NotExiting);
        }
        let covered = covered(conn, merchant_id)?;
        if !covered.is_clear() {
            return Err(DepositError::StillCovers(covered));
        }
        if status == Status::Exiting {
            return Err(DepositError::ConversionPending);
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
