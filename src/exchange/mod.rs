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
    i18n::Locale,
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

impl ExchangeError {
    /// A stable slug: the partner API's problem type, the catalog key's tail.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownMember => "unknown_member",
            Self::UnknownProgram => "unknown_program",
            Self::SameProgram => "same_program",
            Self::NotPartnerProgram => "not_partner_program",
            Self::ExchangeOutClosed(_) => "exchange_out_closed",
            Self::ExchangeInClosed(_) => "exchange_in_closed",
            Self::DestinationBlocked { .. } => "destination_blocked",
            Self::BelowMinimum { .. } => "below_minimum",
            Self::AboveMaximum { .. } => "above_maximum",
            Self::TooFewPoints => "too_few_points",
            Self::InsufficientPoints { .. } => "insufficient_points",
            Self::DailyLimit { .. } => "daily_limit",
            Self::RealNameRequired { .. } => "real_name_required",
            Self::UnknownQuote => "unknown_quote",
            Self::QuoteExpired => "quote_expired",
            Self::QuoteUsed => "quote_used",
            Self::Overflow => "amount_too_large",
            Self::Refused(_) | Self::Ledger(_) | Self::Lots(_) | Self::Database(_) => "internal",
        }
    }

    /// False for failures of the system rather than of the request.
    pub fn is_client_error(&self) -> bool {
        self.code() != "internal"
    }

    /// A quote that can no longer be executed: HTTP 409 in the partner API.
    pub fn is_quote_state(&self) -> bool {
        matches!(self, Self::QuoteExpired | Self::QuoteUsed)
    }

    /// What to tell the member or the partner, in their language.
    pub fn message(&self, locale: Locale) -> String {
        let key = format!("exchange.error.{}", self.code());
        match self {
            Self::ExchangeOutClosed(program) | Self::ExchangeInClosed(program) => {
                locale.t_with(&key, &[("program", program)])
            }
            Self::DestinationBlocked { program, blocked } => locale.t_with(
                &key,
                &[("program", program), ("why", &blocked.message(locale))],
            ),
            Self::BelowMinimum { program, min } => {
                locale.t_with(&key, &[("program", program), ("min", &min.to_string())])
            }
            Self::AboveMaximum { program, max } => {
                locale.t_with(&key, &[("program", program), ("max", &max.to_string())])
            }
            Self::InsufficientPoints { available } => {
                locale.t_with(&key, &[("available", &available.to_string())])
            }
            Self::DailyLimit {
                program,
                limit,
                used,
            } => locale.t_with(
                &key,
                &[
                    ("program", program),
                    ("limit", &limit.to_string()),
                    ("used", &used.to_string()),
                ],
            ),
            Self::RealNameRequired { threshold } => {
                locale.t_with(&key, &[("threshold", &threshold.to_string())])
            }
            _ => locale.t(&key).into_owned(),
        }
    }
}
