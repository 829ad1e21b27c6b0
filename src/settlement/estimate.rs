//! What the merchant's next settlement will say if nothing else happens: the
//! open period (from where the last statement ended, or the day it joined, to
//! its cycle's next cut-off) and the position of `merchant:m:settlement` now —
//! which is the last statement's carried position plus everything not yet
//! settled (see `statement`), so the estimate is exact for what has happened so
//! far.

use diesel::PgConnection;

use crate::{
    chart,
    domain::{id::MerchantId, money::Money},
    ledger::{self, LedgerError},
};

use super::{cycle::Period, statement, terms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub period: Period,
    /// Credits minus debits now: positive, the house owes the merchant.
    pub position: Money,
    /// The platform's share if it were paid out now (rounded down, as `split`).
    pub platform_fee: Money,
}

impl Estimate {
    /// What the recipients would be paid, or None when nothing would be.
    pub fn payout(&self) -> Option<Money> {
        self.position
            .is_positive()
            .then(|| Money::from_fen(self.position.fen() - self.platform_fee.fen()))
    }

    /// What the merchant would owe, or None.
    pub fn owed(&self) -> Option<Money> {
        (self.position.fen() < 0).then(|| Money::from_fen(-self.position.fen()))
    }
}

/// The estimate now, for the first period not yet settled.
pub fn next(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Estimate, LedgerError> {
    let terms = terms::of(conn, merchant_id)?;
    let period = terms
        .cycle
        .period_from(statement::next_period_start(conn, merchant_id)?);
    // Read, not opened: a merchant that never moved money has no account yet.
    let position = match ledger::find_account(conn, &chart::merchant_settlement(merchant_id).code)?
    {
        Some(account) => ledger::balance(conn, account.id)?.posted(),
        None => 0,
    };
    let platform_fee = if position > 0 {
        i64::try_from(i128::from(position) * i128::from(terms.platform_fee_bp) / 10_000)
            .expect("a share of an i64 fits an i64")
    } else {
        0
    };
    Ok(Estimate {
        period,
        position: Money::from_fen(position),
        platform_fee: Money::from_fen(platform_fee),
    })
}
