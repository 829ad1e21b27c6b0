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
    approval_decisions (approval_id, checker_kind, checker_id) {
        approval_id -> Int8,
        checker_kind -> Text,
        checker_id -> Int8,
        checker_label -> Text,
        approve -> Bool,
        reason -> Nullable<Text>,
        decided_at -> Timestamptz,
    }
}

diesel::table! {
    approvals (id) {
        id -> Int8,
        kind -> Text,
        scope -> Text,
        payload -> Jsonb,
        summary -> Text,
        amount_fen -> Nullable<Int8>,
        approver_roles -> Array<Nullable<Text>>,
        required_approvals -> Int2,
        maker_kind -> Text,
        maker_id -> Int8,
        maker_label -> Text,
        status -> Text,
        outcome -> Nullable<Text>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
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
    audit_events (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Int8>,
        actor_label -> Text,
        actor_role -> Text,
        merchant_id -> Nullable<Int8>,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        ip -> Nullable<Text>,
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
    members (id) {
        id -> Int8,
        phone_ciphertext -> Bytea,
        phone_index -> Bytea,
        email -> Nullable<Text>,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        real_name_ciphertext -> Nullable<Bytea>,
        id_number_ciphertext -> Nullable<Bytea>,
        tier -> Text,
        locale -> Text,
        created_at -> Timestamptz,
        last_sign_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    merchant_users (id) {
        id -> Int8,
        merchant_id -> Int8,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        locale -> Text,
        created_at -> Timestamptz,
        last_sign_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    merchants (id) {
        id -> Int8,
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        category -> Text,
        tier -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    operators (id) {
        id -> Int8,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        locale -> Text,
        created_at -> Timestamptz,
        last_sign_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Bytea,
        portal -> Text,
        principal_id -> Int8,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    privacy_consents (id) {
        id -> Int8,
        member_id -> Int8,
        version -> Text,
        granted -> Bool,
        ip -> Nullable<Text>,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> Int8,
        portal -> Text,
        account_key -> Text,
        ip -> Text,
        succeeded -> Bool,
        at -> Timestamptz,
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

diesel::table! {
    web_sessions (key_hash) {
        key_hash -> Bytea,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> assets (asset));
diesel::joinable!(approval_decisions -> approvals (approval_id));
diesel::joinable!(audit_events -> merchants (merchant_id));
diesel::joinable!(merchant_users -> merchants (merchant_id));
diesel::joinable!(privacy_consents -> members (member_id));
diesel::joinable!(transfers -> journal_entries (journal_entry_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_balances,
    accounts,
    approval_decisions,
    approvals,
    assets,
    audit_events,
    journal_entries,
    ledger_verifications,
    members,
    merchant_users,
    merchants,
    operators,
    password_resets,
    privacy_consents,
    sign_in_attempts,
    transfers,
    web_sessions,
);
