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
    api_keys (id) {
        id -> Int8,
        merchant_id -> Int8,
        key_id -> Text,
        secret_ciphertext -> Bytea,
        label -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    application_messages (id) {
        id -> Int8,
        application_id -> Int8,
        author_kind -> Text,
        author_label -> Text,
        body -> Text,
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
    deposit_topups (id) {
        id -> Int8,
        merchant_id -> Int8,
        amount_fen -> Int8,
        bank_reference -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamptz,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        reason -> Nullable<Text>,
        journal_entry_id -> Nullable<Int8>,
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
    merchant_applications (id) {
        id -> Int8,
        status_token_hash -> Bytea,
        company_name -> Text,
        credit_code -> Text,
        contact_name -> Text,
        contact_phone -> Text,
        contact_email -> Text,
        category -> Text,
        requested_tier -> Text,
        bank_account_name -> Text,
        bank_name -> Text,
        bank_account_ciphertext -> Bytea,
        stores -> Jsonb,
        status -> Text,
        decision_reason -> Nullable<Text>,
        merchant_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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
        credit_code -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        bank_account_name -> Nullable<Text>,
        bank_name -> Nullable<Text>,
        bank_account_ciphertext -> Nullable<Bytea>,
        webhook_url -> Nullable<Text>,
        status_reason -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamptz>,
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
    programs (id) {
        id -> Int8,
        merchant_id -> Int8,
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        logo_path -> Nullable<Text>,
        settlement_value -> Numeric,
        earn_points_per_cny -> Numeric,
        expiry_months -> Int2,
        exchange_in -> Bool,
        exchange_out -> Bool,
        min_exchange_points -> Int8,
        max_exchange_points -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    risk_alerts (id) {
        id -> Int8,
        kind -> Text,
        severity -> Text,
        merchant_id -> Nullable<Int8>,
        member_id -> Nullable<Int8>,
        summary -> Text,
        details -> Jsonb,
        status -> Text,
        handled_by -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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
    stores (id) {
        id -> Int8,
        merchant_id -> Int8,
        name -> Text,
        address -> Text,
        latitude -> Numeric,
        longitude -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tier_requests (id) {
        id -> Int8,
        merchant_id -> Int8,
        requested_tier -> Text,
        reason -> Text,
        requested_by -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        decision_note -> Nullable<Text>,
        created_at -> Timestamptz,
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
diesel::joinable!(api_keys -> merchants (merchant_id));
diesel::joinable!(application_messages -> merchant_applications (application_id));
diesel::joinable!(approval_decisions -> approvals (approval_id));
diesel::joinable!(audit_events -> merchants (merchant_id));
diesel::joinable!(deposit_topups -> journal_entries (journal_entry_id));
diesel::joinable!(deposit_topups -> merchants (merchant_id));
diesel::joinable!(merchant_applications -> merchants (merchant_id));
diesel::joinable!(merchant_users -> merchants (merchant_id));
diesel::joinable!(privacy_consents -> members (member_id));
diesel::joinable!(programs -> assets (code));
diesel::joinable!(programs -> merchants (merchant_id));
diesel::joinable!(risk_alerts -> members (member_id));
diesel::joinable!(risk_alerts -> merchants (merchant_id));
diesel::joinable!(stores -> merchants (merchant_id));
diesel::joinable!(tier_requests -> merchants (merchant_id));
diesel::joinable!(transfers -> journal_entries (journal_entry_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_balances,
    accounts,
    api_keys,
    application_messages,
    approval_decisions,
    approvals,
    assets,
    audit_events,
    deposit_topups,
    journal_entries,
    ledger_verifications,
    members,
    merchant_applications,
    merchant_users,
    merchants,
    operators,
    password_resets,
    privacy_consents,
    programs,
    risk_alerts,
    sign_in_attempts,
    stores,
    tier_requests,
    transfers,
    web_sessions,
);
