//! A member's wallet: every program they hold points in, straight from the
//! ledger, with what is held by open redemptions, the value in CNY at the
//! program's settlement value, and the combined total. The member's home page
//! and the partner API both show it, so both read it here; the home page also
//! reads the latest movements across the wallets here.

use std::{cmp::Reverse, collections::HashMap};

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};

use crate::{
    domain::{
        id::MemberId,
        money::{Money, MoneyError, Rounding},
        rate::{Rate, RateError},
    },
    error::{Class, Classify},
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

/// The ledger's owner kind of member wallets.
const MEMBER: &str = "member";

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a balance cannot be valued: {0}")]
    Value(#[from] RateError),
    #[error("the wallet's total overflows: {0}")]
    Total(#[from] MoneyError),
}

/// A wallet is only read: nothing in it refuses anyone.
impl Classify for WalletError {
    fn class(&self) -> Class {
        match self {
            Self::Database(_) | Self::Value(_) | Self::Total(_) => Class::System,
        }
    }
}

/// Every program's settlement value: what a number of its points is worth.
#[derive(Debug, Clone)]
pub struct Values(HashMap<String, Rate>);

impl Values {
    pub fn load(conn: &mut PgConnection) -> QueryResult<Self> {
        Ok(Self(
            program::all(conn)?
                .into_iter()
                .filter_map(|p| Some((p.code, Rate::new(p.settlement_value).ok()?)))
                .collect(),
        ))
    }

    /// What `points` of program `code` are worth, rounded down so a member is
    /// never shown more than the points are worth; None where no settlement
    /// value is agreed (the hub points).
    pub fn of(&self, code: &str, points: i64) -> Result<Option<Money>, RateError> {
        self.0
            .get(code)
            .map(|rate| rate.value_of(points, Rounding::Down))
            .transpose()
    }
}

/// The member's wallet as the ledger has it now.
pub fn of_member(conn: &mut PgConnection, member_id: MemberId) -> Result<Wallet, WalletError> {
    let accounts = ledger::accounts_of(conn, MEMBER, member_id.0)?;
    let ids: Vec<_> = accounts.iter().map(|a| a.id).collect();
    let balances = ledger::balances(conn, &ids)?;
    let names = ledger::asset_names(conn)?;
    let values = Values::load(conn)?;
    let mut total = Money::ZERO;
    let mut rows = Vec::with_capacity(accounts.len());
    for account in accounts {
        let balance = balances.get(&account.id).copied().unwrap_or_default();
        let value = values.of(&account.asset, balance.available())?;
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

/// One posted movement of a member's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The program (asset) code.
    pub code: String,
    /// The journal entry's kind: `earn`, `redeem`, `exchange`, `expire`, ...
    pub kind: String,
    pub at: DateTime<Utc>,
    /// Points in positive, points out negative.
    pub points: i64,
}

/// The member's latest `limit` posted movements across all their wallets,
/// newest first. Each wallet's statement gives at most `limit` lines, so the
/// merge is exact; a member has a handful of wallets, not hundreds. Holds
/// (points of an open redemption) are not movements until they post.
pub fn recent_movements(
    conn: &mut PgConnection,
    member_id: MemberId,
    limit: u16,
) -> QueryResult<Vec<Movement>> {
    let mut lines = Vec::new();
    for account in ledger::accounts_of(conn, MEMBER, member_id.0)? {
        let statement = ledger::statement(conn, account.id, None, limit)?;
        lines.extend(statement.lines.into_iter().map(|line| {
            (
                line.transfer_id,
                Movement {
                    code: account.asset.clone(),
                    kind: line.kind,
                    at: line.at,
                    points: line.amount,
                },
            )
        }));
    }
    lines.sort_by_key(|(transfer, _)| Reverse(*transfer));
    Ok(lines
        .into_iter()
        .take(usize::from(limit))
        .map(|(_, movement)| movement)
        .collect())
}
