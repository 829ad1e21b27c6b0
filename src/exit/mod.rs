//! A merchant leaving the alliance, so that it leaves its members whole
//! (LEDGER.md, "Exit"). This module owns the exit's record (`merchant_exits`)
//! and its three stages:
//!
//! 1. **Notice** ([`start`]): an operator starts the exit with a reason and a
//!    notice period (30 days unless they choose otherwise, 1 to 365). The
//!    merchant becomes `exiting`: it issues nothing and its programme takes no
//!    exchanges in (both refused by `deposit::ensure_issuing_allowed`), while
//!    members may still exchange out and pay with its points wherever other
//!    programmes' points are taken. Members holding its points are told by
//!    email and on their points page (`notice`).
//! 2. **Conversion** (`conversion`, a periodic job under a lease): once the
//!    notice has ended, every member's available points are converted into the
//!    hub programme ALP at the programme's settlement value, funded from the
//!    deposit through the ledger. Held points (a redemption awaiting its
//!    voucher) are left to resolve: a posted hold spends them, a voided one
//!    gives them back and the next pass converts them; voucher timeouts bound
//!    the wait.
//! 3. **Exited**: when no point of the programme is left in members' hands,
//!    held or not, the merchant is `exited` and its deposit, which no longer
//!    covers any points, may be refunded once its settlement account has no
//!    pending debits and owes nothing (`deposit::refund`).
//!
//! A deposit too small to fund the conversion converts what it can and keeps
//! the rest as the programme's points (never ALP the house has no money for);
//! a critical `deposit.exit_shortfall` risk alert tells finance how much is missing, and
//! the merchant, still `exiting`, can top its deposit up for the next pass.

pub mod conversion;
pub mod notice;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    clock,
    db::schema::merchant_exits,
    deposit::DepositError,
    domain::{actor::Actor, id::MerchantId, money::Money},
    earn::lot::LotError,
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{EntryError, LedgerError},
    program,
    risk::RiskError,
};

use crate::merchant::standing::{self, StandingError};

/// The notice a merchant gets unless the operator chooses another.
pub const DEFAULT_NOTICE_DAYS: i64 = 30;
/// The longest notice an operator may give.
pub const MAX_NOTICE_DAYS: i64 = 365;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchant_exits, check_for_backend(diesel::pg::Pg))]
pub struct Exit {
    pub merchant_id: MerchantId,
    /// The programme converted; None for a merchant without one.
    pub program_code: Option<String>,
    pub reason: String,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub notice_ends_at: DateTime<Utc>,
    pub points_converted: i64,
    pub alp_issued: i64,
    /// What the conversions took from the deposit into `house:alp`.
    pub funded_fen: i64,
    /// Conversion entries booked.
    pub conversions: i32,
    /// What the last pass could not convert for want of deposit.
    pub unfunded_points: i64,
    pub unfunded_fen: i64,
    pub converted_at: Option<DateTime<Utc>>,
}

/// Where an exit stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Notice,
    Converting,
    Converted,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Converting => "converting",
            Self::Converted => "converted",
        }
    }
}

impl Exit {
    pub fn stage(&self, at: DateTime<Utc>) -> Stage {
        if self.converted_at.is_some() {
            Stage::Converted
        } else if at < self.notice_ends_at {
            Stage::Notice
        } else {
            Stage::Converting
        }
    }

    pub fn funded(&self) -> Money {
        Money::from_fen(self.funded_fen)
    }

    pub fn unfunded(&self) -> Money {
        Money::from_fen(self.unfunded_fen)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExitError {
    #[error("merchant not found")]
    NotFound,
    #[error("a reason is required (at most 500 characters)")]
    InvalidReason,
    #[error("the notice must be 1 to {MAX_NOTICE_DAYS} days")]
    InvalidNotice,
    #[error("only an active or suspended merchant can start leaving")]
    WrongStatus,
    #[error("a figure of the conversion is out of range")]
    Valuation,
    #[error("the ledger refused a conversion: {0}")]
    Refused(#[from] EntryError),
    #[error("the ledger is unavailable")]
    Ledger(#[from] LedgerError),
    #[error("the deposit could not be read")]
    Deposit(#[from] DepositError),
    #[error("the lots disagree with a wallet")]
    Lots(#[from] LotError),
    #[error("the risk alert could not be updated")]
    Risk(#[from] RiskError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<StandingError> for ExitError {
    fn from(e: StandingError) -> Self {
        match e {
            StandingError::NotFound => Self::NotFound,
            StandingError::InvalidReason => Self::InvalidReason,
            StandingError::WrongStatus | StandingError::SameTier => Self::WrongStatus,
            StandingError::Database(e) => Self::Database(e),
        }
    }
}

impl Classify for ExitError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "exit.error.not_found"),
            Self::InvalidReason => (Unprocessable, "merchants.error.reason"),
            Self::InvalidNotice => (Unprocessable, "exit.error.notice"),
            Self::WrongStatus => (Conflict, "merchants.error.status"),
            Self::Valuation
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Deposit(_)
            | Self::Lots(_)
            | Self::Risk(_)
            | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "exit_refused", Message::new(key)))
    }
}

/// Starts the merchant's exit: `exiting` from now, converted after
/// `notice_days`. Audited twice in its transaction: the change of status
/// (`merchant.exit`) and the notice with its end (`merchant.exit_notice`).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn start(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    reason: &str,
    notice_days: i64,
) -> Result<Exit, ExitError> {
    if !(1..=MAX_NOTICE_DAYS).contains(&notice_days) {
        return Err(ExitError::InvalidNotice);
    }
    conn.transaction(|conn| {
        let standing = standing::begin_exit(conn, actor, merchant_id, reason)?;
        let program = program::of_merchant(conn, merchant_id)?;
        let started_at = clock::now();
        let exit = diesel::insert_into(merchant_exits::table)
            .values((
                merchant_exits::merchant_id.eq(merchant_id),
                merchant_exits::program_code.eq(program.map(|p| p.code)),
                merchant_exits::reason.eq(standing.status_reason.unwrap_or_default()),
                merchant_exits::started_by.eq(&actor.label),
                merchant_exits::started_at.eq(started_at),
                merchant_exits::notice_ends_at.eq(started_at + Duration::days(notice_days)),
            ))
            .returning(Exit::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("merchant.exit_notice", "merchant", merchant_id).after(&exit),
        )?;
        Ok(exit)
    })
}

/// The merchant's exit, if it has started one.
pub fn of(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Option<Exit>> {
    merchant_exits::table
        .find(merchant_id)
        .select(Exit::as_select())
        .first(conn)
        .optional()
}
