// @generated automatically by Diesel CLI.

diesel::table! {
    account_balances (account_id, shard) {
        account_id -> Int8,
        shard -> Int2,
        asset -> Text,
        no_overdraft -> Bool,
        debits_posted -> Int8,
        credits_posted -> Int8,
        debits_pending -> Int8,
        credits_pending -> Int8,
    }
}

diesel::table! {
    accounts (id) {
        id -> Int8,
        code -> Text,
        asset -> Text,
        owner_kind -> Text,
        owner_id -> Nullable<Int8>,
        purpose -> Text,
        no_overdraft -> Bool,
        shards -> Int2,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    assets (code) {
        code -> Text,
        scale -> Int2,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    journal_entries (id) {
        id -> Int8,
        idempotency_key -> Text,
        request_hash -> Bytea,
        kind -> Text,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_verifications (id) {
        id -> Int8,
        started_at -> Timestamptz,
        finished_at -> Timestamptz,
        clean -> Bool,
        findings -> Jsonb,
    }
}

diesel::table! {
    transfers (id) {
        id -> Int8,
        journal_entry_id -> Int8,
        asset -> Text,
        debit_account_id -> Int8,
        debit_shard -> Int2,
        credit_account_id -> Int8,
        credit_shard -> Int2,
        amount -> Int8,
        phase -> Text,
        pending_id -> Nullable<Int8>,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> assets (asset));
diesel::joinable!(transfers -> journal_entries (journal_entry_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_balances,
    accounts,
    assets,
    journal_entries,
    ledger_verifications,
    transfers,
);
