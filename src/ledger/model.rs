//! What callers send to the ledger and what they get back.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::id::{AccountId, JournalEntryId, TransferId};

/// One journal entry: transfers that commit together or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRequest {
    /// Unique per entry; a retry with the same key and request returns the first
    /// result. Domains prefix it with their scope (e.g. `earn:m42:order-7`).
    #[serde(skip)]
    pub idempotency_key: String,
    /// What the entry is for: `earn`, `exchange`, `redeem`, `deposit`, ...
    pub kind: String,
    /// Context a reader of the books needs (order ids, rates, quotes); part of the
    /// request hash.
    pub metadata: serde_json::Value,
    /// When the entry happened in the world, if earlier than its booking: for
    /// history an import brings in. `None` is "now", the booking time. Part of
    /// the request hash only when set, so entries that never set it hash as
    /// they always did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<DateTime<Utc>>,
    pub transfers: Vec<TransferRequest>,
}

/// One leg of an entry. Amounts are minor units (fen, points) and always > 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TransferRequest {
    /// Moves `amount` from `debit` to `credit` now.
    Move {
        debit: AccountId,
        credit: AccountId,
        asset: String,
        amount: i64,
    },
    /// Holds `amount`: it counts against `debit`'s available balance until the hold
    /// is posted or voided, or voided by the timeout job after `timeout_secs`.
    Hold {
        debit: AccountId,
        credit: AccountId,
        asset: String,
        amount: i64,
        timeout_secs: i64,
    },
    /// Completes a hold; `amount` (at most the held amount) defaults to all of it,
    /// and what is not posted is released.
    Post {
        pending: TransferId,
        amount: Option<i64>,
    },
    /// Releases a hold entirely.
    Void { pending: TransferId },
}

impl EntryRequest {
    pub fn new(idempotency_key: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            idempotency_key: idempotency_key.into(),
            kind: kind.into(),
            metadata: serde_json::Value::Object(serde_json::Map::new()),
            effective_at: None,
            transfers: Vec::new(),
        }
    }

    #[must_use]
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Backdates the entry: it happened at `at`, before it is booked.
    #[must_use]
    pub fn effective_at(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(at);
        self
    }

    #[must_use]
    pub fn transfer(mut self, transfer: TransferRequest) -> Self {
        self.transfers.push(transfer);
        self
    }
}

impl TransferRequest {
    pub fn move_(debit: AccountId, credit: AccountId, asset: &str, amount: i64) -> Self {
        Self::Move {
            debit,
            credit,
            asset: asset.to_owned(),
            amount,
        }
    }

    pub fn hold(
        debit: AccountId,
        credit: AccountId,
        asset: &str,
        amount: i64,
        timeout_secs: i64,
    ) -> Self {
        Self::Hold {
            debit,
            credit,
            asset: asset.to_owned(),
            amount,
            timeout_secs,
        }
    }
}

/// A journal entry that is in the books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommittedEntry {
    pub entry_id: JournalEntryId,
    /// In the order of the request's transfers.
    pub transfer_ids: Vec<TransferId>,
    /// True when this key was committed earlier and this is the first result again.
    pub replayed: bool,
}

/// Why one entry was refused. A refused entry changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum EntryError {
    #[error("the idempotency key must be 1 to 200 characters")]
    InvalidIdempotencyKey,
    #[error("the entry kind must be lowercase letters and underscores")]
    InvalidKind,
    #[error("an entry needs at least one transfer")]
    NoTransfers,
    #[error("transfer {index}: the amount must be greater than zero")]
    NonPositiveAmount { index: usize },
    #[error("transfer {index}: debit and credit are the same account")]
    SameAccount { index: usize },
    #[error("transfer {index}: a hold needs a timeout greater than zero")]
    InvalidTimeout { index: usize },
    #[error("the same key was used for a different request (entry {entry_id})")]
    IdempotencyConflict { entry_id: JournalEntryId },
    #[error("account {account} does not exist")]
    AccountNotFound { account: AccountId },
    #[error("account {account} holds {actual}, not {expected}")]
    AssetMismatch {
        account: AccountId,
        expected: String,
        actual: String,
    },
    #[error("account {account} has too little available balance")]
    Overdraft { account: AccountId },
    #[error("hold {pending} does not exist")]
    PendingNotFound { pending: TransferId },
    #[error("hold {pending} was already posted or voided")]
    PendingAlreadyResolved { pending: TransferId },
    #[error("hold {pending} has expired")]
    PendingExpired { pending: TransferId },
    #[error("cannot post more than hold {pending} holds")]
    PostExceedsPending { pending: TransferId },
    #[error("the entry's effective time {effective_at} is later than its booking time")]
    EffectiveInFuture { effective_at: DateTime<Utc> },
    #[error("the database refused the entry: {reason}")]
    RefusedByDatabase { reason: String },
}

pub type EntryResult = Result<CommittedEntry, EntryError>;

/// What a transfer does to its accounts: moves value now, holds it, or posts or
/// voids a hold. Stored as text in `transfers.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Posted,
    Pending,
    PostPending,
    VoidPending,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Pending => "pending",
            Self::PostPending => "post_pending",
            Self::VoidPending => "void_pending",
        }
    }
}
