//! A merchant's deposit position, read from the ledger: what the deposit holds,
//! the points its program has outstanding and what they are worth, and the
//! requirement and coverage that follow. Reading opens no accounts: a merchant
//! without a deposit account simply holds nothing yet.

use diesel::PgConnection;
use serde::Serialize;

use crate::{
    chart,
    domain::{id::MerchantId, money::Money, points::ProgramCode, rate::Rate},
    ledger::{self, AccountSpec, Balance, StatementLine},
    merchant::Merchant,
    program,
};

use super::{
    DepositError,
    requirement::{self, Cover, Coverage, Requirement},
};

/// A page of deposit history.
const HISTORY_LINES: u16 = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Position {
    pub merchant_id: MerchantId,
    /// The deposit's posted balance (deposits carry no holds).
    pub balance: Money,
    /// Points of the merchant's program in members' hands; zero without a program.
    pub outstanding_points: i64,
    /// Those points valued at the program's settlement value.
    pub liability: Money,
    pub requirement: Requirement,
}

impl Position {
    pub fn cover(&self) -> Cover {
        Cover::of(self.balance, &self.requirement)
    }

    pub fn coverage(&self) -> Coverage {
        Coverage::of(self.balance, self.requirement.required)
    }

    /// What is missing to the required amount; zero when covered.
    pub fn shortfall(&self) -> Money {
        Money::from_fen(
            self.requirement
                .required
                .fen()
                .saturating_sub(self.balance.fen())
                .max(0),
        )
    }
}

pub fn position(conn: &mut PgConnection, merchant: &Merchant) -> Result<Position, DepositError> {
    let balance = balance_of(conn, &chart::merchant_deposit(merchant.id))?.posted();
    let (outstanding_points, liability) = match program::of_merchant(conn, merchant.id)? {
        Some(program) => {
            let code = ProgramCode::parse(&program.code).map_err(|_| DepositError::Valuation)?;
            // Issuing debits the issuance account, so its debit balance is what
            // members hold.
            let outstanding = balance_of(conn, &chart::program_issuance(&code))?
                .posted()
                .saturating_neg()
                .max(0);
            let value = Rate::new(program.settlement_value).map_err(|_| DepositError::Valuation)?;
            let liability =
                requirement::liability(outstanding, value).map_err(|_| DepositError::Valuation)?;
            (outstanding, liability)
        }
        None => (0, Money::ZERO),
    };
    let requirement = Requirement::new(&merchant.tier.policy(), liability)
        .map_err(|_| DepositError::Valuation)?;
    Ok(Position {
        merchant_id: merchant.id,
        balance: Money::from_fen(balance),
        outstanding_points,
        liability,
        requirement,
    })
}

/// The latest movements of the merchant's deposit, newest first, straight from
/// the ledger.
pub fn history(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<Vec<StatementLine>, DepositError> {
    recent_lines(conn, &chart::merchant_deposit(merchant_id), HISTORY_LINES)
}

/// The latest `lines` of an account's statement, newest first; an account not
/// yet opened has none.
pub fn recent_lines(
    conn: &mut PgConnection,
    spec: &AccountSpec,
    lines: u16,
) -> Result<Vec<StatementLine>, DepositError> {
    Ok(match ledger::find_account(conn, &spec.code)? {
        Some(account) => ledger::statement(conn, account.id, None, lines)?.lines,
        None => Vec::new(),
    })
}

/// The programme's points in members' hands, held ones included: every point
/// issued and not retired (the issuance account's debit balance) less those
/// that lapsed into breakage, which are no one's any more.
pub fn outstanding_points(
    conn: &mut PgConnection,
    program: &ProgramCode,
) -> Result<i64, DepositError> {
    let issued = -balance_of(conn, &chart::program_issuance(program))?.posted();
    let lapsed = balance_of(conn, &chart::program_breakage(program))?.posted();
    Ok((issued - lapsed).max(0))
}

/// An account's balance by its chart entry; zero when it is not yet opened.
pub(super) fn balance_of(
    conn: &mut PgConnection,
    spec: &AccountSpec,
) -> Result<Balance, DepositError> {
    Ok(match ledger::find_account(conn, &spec.code)? {
        Some(account) => ledger::balance(conn, account.id)?,
        None => Balance::default(),
    })
}
