//! The ledger's read interface for the rest of Alliance: views over its tables
//! (migration `2026-12-07-000010_ledger_views`), declared here for diesel's query
//! builder. Other modules read the books through these views — raw SQL names
//! `ledger_movements`, `ledger_holds` or `ledger_balance_shards` — and never the
//! tables themselves. PostgreSQL inlines a view into the query using it, so the
//! tables' indexes serve it.
//!
//! - `ledger_movements`: every transfer that moved value (posted, or a hold's
//!   post) with its entry's kind, metadata and effective time;
//! - `ledger_holds`: every hold, with the entry that ended it and whether it was
//!   `posted` or `voided` (NULL while open);
//! - `ledger_balance_shards`: every balance row with its account's code, asset,
//!   owner and purpose; an account's balance is the sum of its rows.

use crate::db::schema::accounts;

diesel::table! {
    /// Posted movements: one row per transfer that moved value.
    ledger_movements (transfer_id) {
        transfer_id -> Int8,
        entry_id -> Int8,
        kind -> Text,
        metadata -> Jsonb,
        /// When the movement happened in the world (its entry's value date).
        effective_at -> Timestamptz,
        /// When it was booked.
        created_at -> Timestamptz,
        asset -> Text,
        debit_account_id -> Int8,
        credit_account_id -> Int8,
        amount -> Int8,
    }
}

diesel::table! {
    /// Holds and how they ended.
    ledger_holds (hold_id) {
        hold_id -> Int8,
        entry_id -> Int8,
        asset -> Text,
        debit_account_id -> Int8,
        credit_account_id -> Int8,
        amount -> Int8,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        resolved_by -> Nullable<Int8>,
        outcome -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(ledger_movements, accounts);
