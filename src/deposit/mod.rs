//! Settlement deposits (结算保证金): what each merchant must keep with the house,
//! how money gets in and out, and what happens when it falls short.
//!
//! **Required amount** = max(the tier's minimum, the tier's coverage ratio × the
//! merchant's outstanding points liability), the liability being the debit
//! balance of `program:P:issuance` valued at P's settlement value; both products
//! round up to the fen (`requirement`). Coverage is balance ÷ required.
//!
//! **Money moves only through ledger entries** (see LEDGER.md, "Deposit"), each
//! with an idempotency key, so a retry or a second click books nothing twice:
//! - top-up: the merchant files a notice (amount, bank reference); a finance
//!   operator confirms the receipt → `house:bank → merchant:m:deposit`, kind
//!   `deposit`, key `deposit:topup:{notice id}` — or rejects it with a reason
//!   (`topup`);
//! - deduction for an unpaid obligation: maker-checker (`deposit.deduct`, two
//!   approvers from the configured amount) → `merchant:m:deposit →
//!   merchant:m:settlement`, kind `deposit_deduction`, refused if it would
//!   overdraw (`deduction`);
//!   Capped at what the merchant owes (its settlement account's posted debit
//!   balance): more would land in its settlement account as money the house
//!   owes it, and be paid back out at the next settlement. A larger request is
//!   refused, not trimmed, so the checker approves exactly what the maker asked;
//! - refund on exit, once the exit is complete and the deposit covers nothing
//!   (no outstanding points, no pending debits, nothing owed):
//!   `merchant:m:deposit → house:bank`, kind `deposit_refund` (`refund`).
//!
//! **Watching** (`watch`, after every movement and periodically from
//! `jobs`): below the required amount a `deposit.shortfall` risk alert is raised
//! (one unresolved per merchant) and the merchant's contact is emailed once per
//! alert (`notify`); restored coverage resolves the alert.
//!
//! **Issuing is blocked** below the hard minimum (`HARD_MINIMUM_SHARE` of the
//! required amount) and for suspended, exiting or exited merchants. Every path that issues
//! a merchant's points — earning from the partner API or the POS, manual issues,
//! campaigns — must call [`ensure_issuing_allowed`] first, in the transaction
//! that issues, and refuse with [`IssuingBlocked::message`]. Retiring points is
//! never blocked: members of a suspended merchant must still be able to
//! exchange out of its program and redeem.

mod deduction;
mod notify;
mod position;
mod refund;
mod requirement;
mod topup;
mod watch;

use diesel::PgConnection;

pub use deduction::{DEDUCTION_KIND, deduct, request_deduction};
pub use notify::periodic_check;
pub use position::{Position, history, outstanding_points, position, recent_lines};
pub use refund::{Covered, covered, refund};
pub use requirement::{Cover, Coverage, HARD_MINIMUM_SHARE, Requirement};
pub use topup::{
    Confirmed, NewTopup, Topup, TopupStatus, confirm_topup, count_open_topups, list_topups,
    open_topups, reject_topup, submit_topup,
};
pub use watch::{SHORTFALL_KIND, Watched, check_coverage};

use crate::{
    approval::ApprovalError,
    domain::{
        id::{JournalEntryId, MerchantId},
        money::Money,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{self, EntryError, EntryRequest, LedgerError},
    merchant::{self, standing},
    risk::RiskError,
    settlement,
};

#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    #[error("merchant not found")]
    MerchantNotFound,
    #[error("top-up notice not found")]
    TopupNotFound,
    #[error("the amount must be greater than zero")]
    InvalidAmount,
    #[error("the bank reference must be 1 to 64 characters")]
    InvalidReference,
    #[error("this bank reference has already been used")]
    DuplicateReference,
    #[error("a reason is required (at most 500 characters)")]
    InvalidReason,
    #[error("this notice has already been decided")]
    AlreadyDecided,
    #[error("the merchant has left the alliance")]
    MerchantExited,
    #[error("the deposit holds {balance}, less than the deduction")]
    WouldOverdraw { balance: Money },
    #[error("only an exiting merchant's deposit is refunded")]
    NotExiting,
    #[error(
        "the deposit of {} still covers points worth {}, pending debits of {} and {} owed",
        .0.deposit, .0.liability, .0.pending, .0.owed
    )]
    StillCovers(Covered),
    #[error("the members' points are not converted yet")]
    ConversionPending,
    #[error("the merchant owes {owed}, less than the deduction")]
    AboveOwed { owed: Money },
    #[error("the merchant still owes {owed}")]
    SettlementOwed { owed: Money },
    #[error("the deposit holds nothing to refund")]
    NothingToRefund,
    #[error("the ledger refused the entry: {0}")]
    Refused(#[from] EntryError),
    #[error("the ledger is unavailable")]
    Ledger(#[from] LedgerError),
    #[error("the approval could not be filed")]
    Approval(#[from] ApprovalError),
    #[error("the risk alert could not be updated")]
    Risk(#[from] RiskError),
    #[error("a deposit figure is out of range")]
    Valuation,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for DepositError {
    /// The figures, where a refusal has some, so the person can act on them.
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::MerchantNotFound => (NotFound, "deposit.error.merchant_not_found"),
            Self::TopupNotFound => (NotFound, "deposit.error.topup_not_found"),
            Self::InvalidAmount => (Unprocessable, "deposit.error.amount"),
            Self::InvalidReference => (Unprocessable, "deposit.error.reference"),
            Self::DuplicateReference => (Conflict, "deposit.error.duplicate_reference"),
            Self::InvalidReason => (Unprocessable, "deposit.error.reason"),
            Self::AlreadyDecided => (Conflict, "deposit.error.already_decided"),
            Self::MerchantExited => (Conflict, "deposit.error.exited"),
            Self::WouldOverdraw { .. } => (Conflict, "deposit.error.overdraw"),
            Self::NotExiting => (Conflict, "deposit.error.not_exiting"),
            Self::StillCovers(_) => (Conflict, "deposit.error.still_covers_figures"),
            Self::ConversionPending => (Conflict, "deposit.error.conversion_pending"),
            Self::AboveOwed { .. } => (Unprocessable, "deposit.error.above_owed_figures"),
            Self::SettlementOwed { .. } => (Conflict, "deposit.error.owed"),
            Self::NothingToRefund => (Conflict, "deposit.error.nothing_to_refund"),
            Self::Refused(_)
            | Self::Ledger(_)
            | Self::Approval(_)
            | Self::Risk(_)
            | Self::Valuation
            | Self::Database(_) => return Class::System,
        };
        let message = Message::new(key);
        let message = match self {
            Self::StillCovers(covered) => message
                .arg("deposit", covered.deposit)
                .arg("points", covered.outstanding_points)
                .arg("liability", covered.liability)
                .arg("pending", covered.pending)
                .arg("owed", covered.owed)
                .arg("refundable", covered.refundable()),
            Self::AboveOwed { owed } => message.arg("owed", owed),
            Self::MerchantNotFound
            | Self::TopupNotFound
            | Self::InvalidAmount
            | Self::InvalidReference
            | Self::DuplicateReference
            | Self::InvalidReason
            | Self::AlreadyDecided
            | Self::MerchantExited
            | Self::WouldOverdraw { .. }
            | Self::NotExiting
            | Self::ConversionPending
            | Self::SettlementOwed { .. }
            | Self::NothingToRefund
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Approval(_)
            | Self::Risk(_)
            | Self::Valuation
            | Self::Database(_) => message,
        };
        Class::Refusal(Refusal::new(kind, "deposit_refused", message))
    }
}

/// Why a merchant may not issue points now.
#[derive(Debug, thiserror::Error)]
pub enum IssuingBlocked {
    #[error("merchant not found")]
    UnknownMerchant,
    #[error("the merchant is suspended")]
    Suspended,
    #[error("the merchant is leaving the alliance")]
    Exiting,
    #[error("the merchant has left the alliance")]
    Exited,
    #[error("the deposit holds {balance}, below the {hard_minimum} issuing needs")]
    DepositBelowMinimum { balance: Money, hard_minimum: Money },
    #[error("a settlement collection is overdue")]
    SettlementOverdue,
    /// Issuing fails closed: a deposit that cannot be checked blocks it too.
    #[error("the deposit could not be checked")]
    Unavailable(#[source] DepositError),
}

impl From<diesel::result::Error> for IssuingBlocked {
    fn from(e: diesel::result::Error) -> Self {
        Self::Unavailable(e.into())
    }
}

impl IssuingBlocked {
    /// What to tell the person who tried to issue.
    pub fn why(&self) -> Message {
        match self {
            Self::UnknownMerchant => Message::new("deposit.blocked.unknown"),
            Self::Suspended => Message::new("deposit.blocked.suspended"),
            Self::Exiting => Message::new("deposit.blocked.exiting"),
            Self::Exited => Message::new("deposit.blocked.exited"),
            Self::SettlementOverdue => Message::new("deposit.blocked.settlement_overdue"),
            Self::DepositBelowMinimum {
                balance,
                hard_minimum,
            } => Message::new("deposit.blocked.deposit")
                .arg("balance", balance)
                .arg("minimum", hard_minimum),
            Self::Unavailable(_) => Message::new("deposit.blocked.unavailable"),
        }
    }
}

/// Issuing fails closed: even a deposit that could not be checked is a refusal
/// the person reads.
impl Classify for IssuingBlocked {
    fn class(&self) -> Class {
        Class::Refusal(Refusal::new(Kind::Conflict, "issuing_blocked", self.why()))
    }
}

/// Refuses issuing for a merchant that is suspended, is leaving or has left, owes an overdue
/// settlement, or whose deposit is below the hard minimum. Call it on every path that issues points (see the
/// module documentation).
pub fn ensure_issuing_allowed(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<(), IssuingBlocked> {
    let merchant = merchant::find(conn, merchant_id)?.ok_or(IssuingBlocked::UnknownMerchant)?;
    match merchant.status {
        standing::Status::Active => {}
        standing::Status::Suspended => return Err(IssuingBlocked::Suspended),
        standing::Status::Exiting => return Err(IssuingBlocked::Exiting),
        standing::Status::Exited => return Err(IssuingBlocked::Exited),
    }
    if settlement::collection::has_overdue(conn, merchant_id)? {
        return Err(IssuingBlocked::SettlementOverdue);
    }
    let position = position(conn, &merchant).map_err(IssuingBlocked::Unavailable)?;
    if position.cover() == Cover::Blocked {
        return Err(IssuingBlocked::DepositBelowMinimum {
            balance: position.balance,
            hard_minimum: position.requirement.hard_minimum,
        });
    }
    Ok(())
}

/// Submits one entry and returns its id, whether booked now or earlier under the
/// same key.
fn book(conn: &mut PgConnection, entry: &EntryRequest) -> Result<JournalEntryId, DepositError> {
    let result = ledger::submit_one(conn, entry)?;
    Ok(result?.entry_id)
}

/// A reason an operator gives, trimmed; refused when empty or too long.
fn reason_text(reason: &str) -> Result<&str, DepositError> {
    standing::reason(reason).ok_or(DepositError::InvalidReason)
}
