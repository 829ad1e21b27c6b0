//! Exchange between programs (积分通兑): a member gives points of program A and
//! gets points of program B, at a quoted, explainable rate, and the money behind
//! it moves between A's and B's merchants through the house.
//!
//! - `model`: the dynamic rate model, a pure formula; `rates` publishes it for
//!   every program with its inputs and says which rate is in force;
//!   `overrides` lets operators pin values (maker-checker far from the model);
//!   `policy` holds the platform's knobs.
//! - `pricing`: one exchange's value out, fee, points in — pure.
//! - `quote`: terms fixed for `quote_ttl_seconds`, usable once.
//! - `execute`: one ledger entry per LEDGER.md, under the member's row lock so a
//!   member's exchanges queue (no overspend, exact daily limit):
//!   `member:c:A → program:A:issuance`, `program:B:issuance → member:c:B`,
//!   `merchant:mA:settlement → house:clearing` (value out),
//!   `house:clearing → merchant:mB:settlement` (credit),
//!   `house:clearing → house:fees` (the rest). `house:clearing` nets to zero.
//! - `flows`: the platform's reports (flow matrix, fee revenue, history).
//!
//! Exchange is between partner programs; the hub points ALP are earned and
//! redeemed, not exchanged.

mod eligibility;
pub mod execute;
pub mod flows;
pub mod model;
pub mod overrides;
pub mod policy;
pub mod pricing;
pub mod quote;
pub mod rates;

pub use execute::{Exchange, Executed, Executor, execute};
pub use quote::{Quote, QuoteRequest, quote};

use crate::{
    deposit::IssuingBlocked,
    domain::money::Money,
    earn::lot::LotError,
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{EntryError, LedgerError},
};

/// Why an exchange or a quote was refused. A refusal changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("no such member")]
    UnknownMember,
    #[error("no such program")]
    UnknownProgram,
    #[error("the two programs are the same")]
    SameProgram,
    #[error("the partner may only quote exchanges into or out of its own program")]
    NotPartnerProgram,
    #[error("{0} does not allow exchanging out")]
    ExchangeOutClosed(String),
    #[error("{0} does not allow exchanging in")]
    ExchangeInClosed(String),
    #[error("{program} cannot take points in: {blocked}")]
    DestinationBlocked {
        program: String,
        blocked: IssuingBlocked,
    },
    #[error("{program} exchanges at least {min} points at a time")]
    BelowMinimum { program: String, min: i64 },
    #[error("{program} exchanges at most {max} points at a time")]
    AboveMaximum { program: String, max: i64 },
    #[error("too few points to buy a single point of the other program")]
    TooFewPoints,
    #[error("the member has {available} points available")]
    InsufficientPoints { available: i64 },
    #[error("the member may exchange {limit} points of {program} a day and has used {used}")]
    DailyLimit {
        program: String,
        limit: i64,
        used: i64,
    },
    #[error("exchanges worth {threshold} or more need real-name verification")]
    RealNameRequired { threshold: Money },
    #[error("no such quote")]
    UnknownQuote,
    #[error("the quote expired")]
    QuoteExpired,
    #[error("the quote was already used")]
    QuoteUsed,
    #[error("the points cannot be computed for this amount")]
    Overflow,
    #[error("the ledger refused the entry: {0}")]
    Refused(EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lots(#[from] LotError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for ExchangeError {
    /// As for earning: forbidden what the partner may not touch, a conflict
    /// what the state of things refuses now (a used or expired quote, the
    /// points or the day's allowance not there, the destination unable to
    /// issue), unprocessable an exchange the rules do not allow.
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, NotFound, Unprocessable};
        let (kind, slug) = match self {
            Self::UnknownMember => (Forbidden, "unknown_member"),
            Self::UnknownProgram => (Unprocessable, "unknown_program"),
            Self::SameProgram => (Unprocessable, "same_program"),
            Self::NotPartnerProgram => (Forbidden, "not_partner_program"),
            Self::ExchangeOutClosed(_) => (Unprocessable, "exchange_out_closed"),
            Self::ExchangeInClosed(_) => (Unprocessable, "exchange_in_closed"),
            Self::DestinationBlocked { .. } => (Conflict, "destination_blocked"),
            Self::BelowMinimum { .. } => (Unprocessable, "below_minimum"),
            Self::AboveMaximum { .. } => (Unprocessable, "above_maximum"),
            Self::TooFewPoints => (Unprocessable, "too_few_points"),
            Self::InsufficientPoints { .. } => (Conflict, "insufficient_points"),
            Self::DailyLimit { .. } => (Conflict, "daily_limit"),
            Self::RealNameRequired { .. } => (Unprocessable, "real_name_required"),
            Self::UnknownQuote => (NotFound, "unknown_quote"),
            Self::QuoteExpired => (Conflict, "quote_expired"),
            Self::QuoteUsed => (Conflict, "quote_used"),
            Self::Overflow => (Unprocessable, "amount_too_large"),
            Self::Refused(_) | Self::Ledger(_) | Self::Lots(_) | Self::Database(_) => {
                return Class::System;
            }
        };
        let message = Message::new(format!("exchange.error.{slug}"));
        let message = match self {
            Self::ExchangeOutClosed(program) | Self::ExchangeInClosed(program) => {
                message.arg("program", program)
            }
            Self::DestinationBlocked { program, blocked } => {
                message.arg("program", program).nested("why", blocked.why())
            }
            Self::BelowMinimum { program, min } => message.arg("program", program).arg("min", min),
            Self::AboveMaximum { program, max } => message.arg("program", program).arg("max", max),
            Self::InsufficientPoints { available } => message.arg("available", available),
            Self::DailyLimit {
                program,
                limit,
                used,
            } => message
                .arg("program", program)
                .arg("limit", limit)
                .arg("used", used),
            Self::RealNameRequired { threshold } => message.arg("threshold", threshold),
            Self::UnknownMember
            | Self::UnknownProgram
            | Self::SameProgram
            | Self::NotPartnerProgram
            | Self::TooFewPoints
            | Self::UnknownQuote
            | Self::QuoteExpired
            | Self::QuoteUsed
            | Self::Overflow
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Database(_) => message,
        };
        Class::Refusal(Refusal::new(kind, slug, message))
    }
}
