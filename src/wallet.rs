//! A member's wallet: every program they hold points in, straight from the
//! ledger, with what is held by open redemptions, the value in CNY at the
//! program's settlement value, and the combined total. The member's home page
//! and the partner API both show it, so both read it here.

use std::collections::HashMap;

use diesel::PgConnection;

use crate::{
    domain::{
        money::{Money, MoneyError, Rounding},
        rate::{Rate, RateError},
    },
    ledger, program,
};

/// One program's points in a member's wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramBalance {
    /// The program (asset) code, such as `COFFEE` or `ALP`.
    pub code: String,
    /// The asset's name as the ledger registered it.
    pub name: String,
    /// Posted points less those held: what the member may spend now.
    pub available: i64,
    /// Points held by open redemptions.
    pub held: i64,
    /// What the available points are worth; None where no settlement value is
    /// agreed (the hub points).
    pub value: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// In account-code order, so the listing is stable.
    pub balances: Vec<ProgramBalance>,
    /// The sum of the valued balances.
    pub total_value: Money,
}

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a balance cannot be valued: {0}")]
    Value(#[from] RateError),
    #[error("the wallet's total overflows: {0}")]
    Total(#[from] MoneyError),
}

/// The member's wallet as the ledger has it now.
pub fn of_member(conn: &mut PgConnection, member_id: i64) -> Result<Wallet, WalletError> {
    let accounts = ledger::accounts_of(conn, "member", member_id)?;
    let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
    let balances = ledger::balances(conn, &ids)?;
    let names = ledger::asset_names(conn)?;
    let values: HashMap<String, Rate> = program::all(conn)?
        .into_iter()
        .filter_map(|p| Some((p.code, Rate::new(p.settlement_value).ok()?)))
        .collect();
    let mut total = Money::ZERO;
    let mut rows = Vec::with_capacity(accounts.len());
    for account in accounts {
        let balance = balances.get(&account.id).copied().unwrap_or_default();
        // Rounded down: a member is never shown more than the points are worth.
        let value = values
            .get(&account.asset)
            .map(|rate| rate.value_of(balance.available(), Rounding::Down))
            .transpose()?;
        if let Some(value) = value {
            total = total.checked_add(value)?;
        }
        rows.push(ProgramBalance {
            name: names
                .get(&account.asset)
                .cloned()
                .unwrap_or_else(|| account.asset.clone()),
            code: account.asset,
            available: balance.available(),
            held: balance.debits_pending,
            value,
        });
    }
    Ok(Wallet {
        balances: rows,
        total_value: total,
    })
}
