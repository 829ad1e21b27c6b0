//! The double-entry ledger: assets, accounts, journal entries of transfers, holds,
//! balances and their verification. Every balance in Alliance is the sum of the
//! immutable transfers here; nothing else holds money. This module knows nothing
//! of merchants, members or HTTP.
//!
//! Modelled on TigerBeetle: transfers are `posted`, or `pending` holds that a later
//! transfer posts or voids; balance rows keep `debits/credits × posted/pending` in
//! step with the transfers inside the same database transaction; a CHECK on the
//! balance row makes PostgreSQL itself refuse an overdraft of a no-overdraft
//! account; triggers refuse any UPDATE or DELETE of entries and transfers; a
//! composite foreign key `(account_id, asset)` on both legs makes every transfer
//! balanced by construction. The write API is batch-first (`submit`).
//!
//! **Its tables are its own.** Nothing outside this module names `transfers`,
//! `journal_entries` or `account_balances`: other modules read the books
//! through the functions here and the views of [`views`].
//!
//! **Hot accounts.** Every exchange touches `house:clearing` and `house:fees`. One
//! balance row per account would put every such transaction in line behind one
//! row lock (measured on this machine: ~600 commits/s, whatever the client count).
//! House accounts have no floor, so their balance need not be read before a write:
//! they are opened with several balance rows (*shards*) and each leg picks one at
//! random; the account's balance is the sum of its shards. We chose shards over an
//! append-only rollup because holds need pending counters that a rollup would have
//! to rebuild, and because `ledger verify` can then check every row with the same
//! query. Accounts with a floor (member wallets, deposits) keep exactly one row, so
//! the CHECK sees their whole balance.

mod account;
mod hold;
mod model;
mod retry;
mod statement;
mod submit;
mod trial_balance;
mod verify;
pub mod views;

pub use account::{
    Account, AccountSpec, Balance, account, accounts_for, accounts_of, asset_names, balance,
    balances, ensure_asset, find_account, open_account, open_accounts,
};
pub use hold::{
    ExpiredHold, OpenHold, expired_holds, open_holds_of, pending_debits, still_open, timeout_void,
    void_timed_out,
};
pub use model::{CommittedEntry, EntryError, EntryRequest, EntryResult, Phase, TransferRequest};
pub use statement::{Statement, StatementLine, statement};
pub use submit::{submit, submit_one};
pub use trial_balance::{
    EntryView, TransferView, TrialRow, account_codes, asset_scale, entry_with_transfers,
    trial_balance,
};
pub use verify::{Finding, LastVerification, Report, last_verification, verify};

/// Failures of the ledger as a whole, as opposed to one refused entry.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("database error")]
    Database(#[from] diesel::result::Error),
    #[error("the ledger is too contended to commit; try again")]
    Contention,
    #[error("account code {0} is already used by a different account")]
    AccountCodeTaken(String),
}
