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
    api_idempotency (merchant_id, idempotency_key) {
        merchant_id -> Int8,
        idempotency_key -> Text,
        request_hash -> Bytea,
        status -> Nullable<Int2>,
        body -> Nullable<Text>,
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
    api_nonces (key_id, nonce) {
        key_id -> Text,
        nonce -> Text,
        seen_at -> Timestamptz,
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
    campaign_awards (id) {
        id -> Int8,
        campaign_id -> Int8,
        earn_order_id -> Int8,
        bonus_points -> Int8,
        cost_fen -> Int8,
        house_fen -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    campaign_merchants (campaign_id, merchant_id) {
        campaign_id -> Int8,
        merchant_id -> Int8,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Int8,
        name_zh -> Text,
        name_en -> Text,
        multiplier -> Numeric,
        spend_steps -> Jsonb,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        budget_fen -> Int8,
        spent_fen -> Int8,
        house_share_bp -> Int4,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
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
    earn_orders (id) {
        id -> Int8,
        merchant_id -> Int8,
        order_id -> Text,
        member_id -> Int8,
        program_code -> Text,
        store_id -> Nullable<Int8>,
        amount_fen -> Int8,
        points -> Int8,
        breakdown -> Jsonb,
        source -> Text,
        created_by -> Text,
        device_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        occurred_at -> Timestamptz,
        journal_entry_id -> Nullable<Int8>,
        refunded_fen -> Int8,
        points_reversed -> Int8,
        points_unrecovered -> Int8,
        created_at -> Timestamptz,
        points_claimed -> Int8,
    }
}

diesel::table! {
    earn_refunds (id) {
        id -> Int8,
        earn_order_id -> Int8,
        sequence -> Int4,
        amount_fen -> Int8,
        points_reversed -> Int8,
        points_unrecovered -> Int8,
        journal_entry_id -> Nullable<Int8>,
        created_by -> Text,
        created_at -> Timestamptz,
        points_claimed -> Int8,
    }
}

diesel::table! {
    exchange_policy (singleton) {
        singleton -> Bool,
        band_bp -> Int4,
        flow_sensitivity_bp -> Int4,
        value_margin_bp -> Int4,
        flow_window_hours -> Int4,
        flow_floor_fen -> Int8,
        quote_ttl_seconds -> Int4,
        override_review_bp -> Int4,
        real_name_threshold_fen -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    exchange_quotes (id) {
        id -> Text,
        member_id -> Int8,
        from_program -> Text,
        to_program -> Text,
        from_points -> Int8,
        to_points -> Int8,
        sell_value -> Numeric,
        buy_value -> Numeric,
        value_out_fen -> Int8,
        fee_fen -> Int8,
        credit_fen -> Int8,
        terms -> Jsonb,
        merchant_id -> Nullable<Int8>,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    exchanges (id) {
        id -> Int8,
        quote_id -> Text,
        member_id -> Int8,
        from_program -> Text,
        to_program -> Text,
        from_points -> Int8,
        to_points -> Int8,
        value_out_fen -> Int8,
        credit_fen -> Int8,
        house_fen -> Int8,
        journal_entry_id -> Int8,
        executed_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    expiry_reminders (id) {
        id -> Int8,
        member_id -> Int8,
        program_code -> Text,
        points -> Int8,
        expires_at -> Timestamptz,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    hub_program (singleton) {
        singleton -> Bool,
        issue_price -> Numeric,
        expiry_months -> Int2,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamptz,
        acquired_at -> Timestamptz,
    }
}

diesel::table! {
    imports (id) {
        id -> Int8,
        merchant_id -> Int8,
        kind -> Text,
        file_name -> Text,
        file_sha256 -> Bytea,
        award -> Bool,
        skip_invalid -> Bool,
        rows_total -> Int4,
        rows_rejected -> Int4,
        units_total -> Int4,
        units_done -> Int4,
        rows_booked -> Int4,
        effective_floor -> Timestamptz,
        status -> Text,
        started_by -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        failure -> Nullable<Text>,
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
        effective_at -> Timestamptz,
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
    lot_reservations (hold_id, lot_id) {
        hold_id -> Int8,
        lot_id -> Int8,
        points -> Int8,
    }
}

diesel::table! {
    mail_sends (id) {
        id -> Int8,
        recipient_index -> Bytea,
        ip -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    member_tier_changes (id) {
        id -> Int8,
        member_id -> Int8,
        from_tier -> Text,
        to_tier -> Text,
        reason -> Text,
        spend_fen -> Int8,
        changed_by -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    member_tiers (code) {
        code -> Text,
        rank -> Int2,
        name_zh -> Text,
        name_en -> Text,
        upgrade_spend_fen -> Int8,
        keep_spend_fen -> Int8,
        earn_bonus_bp -> Int4,
        exchange_fee_discount_bp -> Int4,
    }
}

diesel::table! {
    member_verifications (id) {
        id -> Int8,
        member_id -> Int8,
        real_name_ciphertext -> Bytea,
        id_number_ciphertext -> Bytea,
        id_number_hint -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
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
        tier_since -> Timestamptz,
        phone_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    merchant_applications (id) {
        id -> Int8,
        status_token_hash -> Bytea,
        company_name -> Text,
        credit_code -> Text,
        contact_name -> Text,
        contact_phone -> Nullable<Text>,
        contact_email -> Nullable<Text>,
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
        contact_phone_ciphertext -> Nullable<Bytea>,
        contact_email_ciphertext -> Nullable<Bytea>,
    }
}

diesel::table! {
    merchant_exit_notices (merchant_id, member_id) {
        merchant_id -> Int8,
        member_id -> Int8,
        points -> Int8,
        notified_at -> Timestamptz,
    }
}

diesel::table! {
    merchant_exits (merchant_id) {
        merchant_id -> Int8,
        program_code -> Nullable<Text>,
        reason -> Text,
        started_by -> Text,
        started_at -> Timestamptz,
        notice_ends_at -> Timestamptz,
        points_converted -> Int8,
        alp_issued -> Int8,
        funded_fen -> Int8,
        conversions -> Int4,
        unfunded_points -> Int8,
        unfunded_fen -> Int8,
        converted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    merchant_members (merchant_id, member_id) {
        merchant_id -> Int8,
        member_id -> Int8,
        since -> Timestamptz,
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
        webhook_secret_ciphertext -> Nullable<Bytea>,
        contact_phone_ciphertext -> Nullable<Bytea>,
    }
}

diesel::table! {
    operator_recovery_codes (code_hash) {
        code_hash -> Bytea,
        operator_id -> Int8,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    operator_second_factors (operator_id) {
        operator_id -> Int8,
        secret_ciphertext -> Bytea,
        confirmed_at -> Nullable<Timestamptz>,
        last_step -> Nullable<Int8>,
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
    payout_batches (id) {
        id -> Int8,
        reference -> Text,
        execution_date -> Date,
        payouts -> Int4,
        total_fen -> Int8,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
        sent_by -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payout_recipients (id) {
        id -> Int8,
        merchant_id -> Int8,
        kind -> Text,
        name -> Text,
        bank_name -> Text,
        bank_code -> Nullable<Text>,
        account_ciphertext -> Bytea,
        account_last4 -> Text,
        share_kind -> Text,
        share_bp -> Nullable<Int4>,
        share_fen -> Nullable<Int8>,
        position -> Int2,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payouts (id) {
        id -> Int8,
        statement_id -> Int8,
        merchant_id -> Int8,
        recipient_id -> Int8,
        amount_fen -> Int8,
        reference -> Text,
        status -> Text,
        batch_id -> Nullable<Int8>,
        resolved_entry_id -> Nullable<Int8>,
        failure_reason -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        repays_payout_id -> Nullable<Int8>,
    }
}

diesel::table! {
    phone_codes (id) {
        id -> Int8,
        phone_index -> Bytea,
        purpose -> Text,
        code_mac -> Bytea,
        ip -> Text,
        attempts -> Int4,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    point_adjustments (id) {
        id -> Int8,
        merchant_id -> Int8,
        member_id -> Int8,
        points -> Int8,
        reason -> Text,
        status -> Text,
        approval_id -> Nullable<Int8>,
        journal_entry_id -> Nullable<Int8>,
        requested_by -> Text,
        request_token -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    point_lots (id) {
        id -> Int8,
        member_id -> Int8,
        program_code -> Text,
        points -> Int8,
        remaining -> Int8,
        expires_at -> Nullable<Timestamptz>,
        journal_entry_id -> Int8,
        created_at -> Timestamptz,
        reserved -> Int8,
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
    program_rates (program_code, publication_id) {
        publication_id -> Int8,
        program_code -> Text,
        settlement_value -> Numeric,
        inflow_fen -> Int8,
        outflow_fen -> Int8,
        shift_bp -> Int4,
        mid_value -> Numeric,
        sell_value -> Numeric,
        buy_value -> Numeric,
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
        member_daily_earn_limit -> Int8,
        member_daily_exchange_limit -> Int8,
    }
}

diesel::table! {
    rate_overrides (id) {
        id -> Int8,
        program_code -> Text,
        sell_value -> Numeric,
        buy_value -> Numeric,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        reason -> Text,
        model_sell -> Numeric,
        model_buy -> Numeric,
        distance_bp -> Int4,
        status -> Text,
        approval_id -> Nullable<Int8>,
        requested_by -> Text,
        cancelled_by -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rate_publications (id) {
        id -> Int8,
        trigger -> Text,
        published_by -> Text,
        policy -> Jsonb,
        window_start -> Timestamptz,
        published_at -> Timestamptz,
    }
}

diesel::table! {
    redemptions (id) {
        id -> Int8,
        reward_id -> Int8,
        member_id -> Int8,
        merchant_id -> Int8,
        request_key -> Text,
        voucher_code -> Text,
        value_fen -> Int8,
        cash_fen -> Int8,
        payment -> Jsonb,
        status -> Text,
        hold_entry_id -> Int8,
        resolve_entry_id -> Nullable<Int8>,
        expires_at -> Timestamptz,
        store_id -> Nullable<Int8>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refund_claims (id) {
        id -> Int8,
        earn_refund_id -> Int8,
        hold_id -> Int8,
        points -> Int8,
        outcome -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    report_exports (id) {
        id -> Int8,
        requester_kind -> Text,
        requester_id -> Int8,
        merchant_id -> Nullable<Int8>,
        kind -> Text,
        title -> Text,
        filename -> Text,
        content_type -> Text,
        params -> Jsonb,
        status -> Text,
        rows_done -> Int8,
        rows_total -> Nullable<Int8>,
        error -> Nullable<Text>,
        bytes -> Nullable<Bytea>,
        runner -> Text,
        heartbeat_at -> Timestamptz,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reward_caps (reward_id) {
        reward_id -> Int8,
        daily_total -> Nullable<Int4>,
        monthly_total -> Nullable<Int4>,
        daily_per_member -> Nullable<Int4>,
        monthly_per_member -> Nullable<Int4>,
        updated_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reward_stores (reward_id, store_id) {
        reward_id -> Int8,
        store_id -> Int8,
    }
}

diesel::table! {
    rewards (id) {
        id -> Int8,
        merchant_id -> Int8,
        title_zh -> Text,
        title_en -> Text,
        description_zh -> Text,
        description_en -> Text,
        category -> Text,
        image_path -> Nullable<Text>,
        value_fen -> Int8,
        points_price -> Nullable<Int8>,
        other_points -> Bool,
        cash_topup -> Bool,
        stock -> Int8,
        valid_from -> Timestamptz,
        valid_until -> Timestamptz,
        status -> Text,
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
    settlement_claims (transfer_id) {
        transfer_id -> Int8,
        statement_id -> Int8,
    }
}

diesel::table! {
    settlement_collections (id) {
        id -> Int8,
        statement_id -> Int8,
        merchant_id -> Int8,
        amount_fen -> Int8,
        collected_fen -> Int8,
        due_on -> Date,
        status -> Text,
        created_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    settlement_lines (statement_id, kind, direction) {
        statement_id -> Int8,
        kind -> Text,
        direction -> Text,
        correction -> Bool,
        transfers -> Int4,
        amount_fen -> Int8,
    }
}

diesel::table! {
    settlement_runs (id) {
        id -> Int8,
        trigger -> Text,
        started_by -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        settled -> Int4,
        payout_fen -> Int8,
        owed_fen -> Int8,
        exceptions -> Jsonb,
        interrupted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    settlement_statements (id) {
        id -> Int8,
        merchant_id -> Int8,
        run_id -> Nullable<Int8>,
        cycle -> Text,
        period_start -> Timestamptz,
        period_end -> Timestamptz,
        opening_fen -> Int8,
        activity_fen -> Int8,
        closing_fen -> Int8,
        outcome -> Text,
        platform_fee_fen -> Int8,
        carried_fen -> Int8,
        scan_from_id -> Int8,
        journal_entry_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        notified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    settlement_terms (merchant_id) {
        merchant_id -> Int8,
        cycle -> Text,
        weekday -> Nullable<Int2>,
        month_day -> Nullable<Int2>,
        platform_fee_bp -> Int4,
        collection_days -> Int2,
        deduct_from_deposit -> Bool,
        finance_email -> Nullable<Text>,
        updated_by -> Text,
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

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        merchant_id -> Int8,
        event -> Text,
        subject -> Text,
        payload -> Jsonb,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> assets (asset));
diesel::joinable!(api_idempotency -> merchants (merchant_id));
diesel::joinable!(api_keys -> merchants (merchant_id));
diesel::joinable!(application_messages -> merchant_applications (application_id));
diesel::joinable!(approval_decisions -> approvals (approval_id));
diesel::joinable!(audit_events -> merchants (merchant_id));
diesel::joinable!(campaign_awards -> campaigns (campaign_id));
diesel::joinable!(campaign_awards -> earn_orders (earn_order_id));
diesel::joinable!(campaign_merchants -> campaigns (campaign_id));
diesel::joinable!(campaign_merchants -> merchants (merchant_id));
diesel::joinable!(deposit_topups -> journal_entries (journal_entry_id));
diesel::joinable!(deposit_topups -> merchants (merchant_id));
diesel::joinable!(earn_orders -> assets (program_code));
diesel::joinable!(earn_orders -> journal_entries (journal_entry_id));
diesel::joinable!(earn_orders -> members (member_id));
diesel::joinable!(earn_orders -> merchants (merchant_id));
diesel::joinable!(earn_orders -> stores (store_id));
diesel::joinable!(earn_refunds -> earn_orders (earn_order_id));
diesel::joinable!(earn_refunds -> journal_entries (journal_entry_id));
diesel::joinable!(exchange_quotes -> members (member_id));
diesel::joinable!(exchange_quotes -> merchants (merchant_id));
diesel::joinable!(exchanges -> exchange_quotes (quote_id));
diesel::joinable!(exchanges -> journal_entries (journal_entry_id));
diesel::joinable!(exchanges -> members (member_id));
diesel::joinable!(expiry_reminders -> assets (program_code));
diesel::joinable!(expiry_reminders -> members (member_id));
diesel::joinable!(imports -> merchants (merchant_id));
diesel::joinable!(lot_reservations -> point_lots (lot_id));
diesel::joinable!(lot_reservations -> transfers (hold_id));
diesel::joinable!(member_tier_changes -> members (member_id));
diesel::joinable!(member_verifications -> members (member_id));
diesel::joinable!(members -> member_tiers (tier));
diesel::joinable!(merchant_applications -> merchants (merchant_id));
diesel::joinable!(merchant_exit_notices -> members (member_id));
diesel::joinable!(merchant_exit_notices -> merchant_exits (merchant_id));
diesel::joinable!(merchant_exits -> assets (program_code));
diesel::joinable!(merchant_exits -> merchants (merchant_id));
diesel::joinable!(merchant_members -> members (member_id));
diesel::joinable!(merchant_members -> merchants (merchant_id));
diesel::joinable!(merchant_users -> merchants (merchant_id));
diesel::joinable!(operator_recovery_codes -> operators (operator_id));
diesel::joinable!(operator_second_factors -> operators (operator_id));
diesel::joinable!(payout_recipients -> merchants (merchant_id));
diesel::joinable!(payouts -> journal_entries (resolved_entry_id));
diesel::joinable!(payouts -> merchants (merchant_id));
diesel::joinable!(payouts -> payout_batches (batch_id));
diesel::joinable!(payouts -> payout_recipients (recipient_id));
diesel::joinable!(payouts -> settlement_statements (statement_id));
diesel::joinable!(point_adjustments -> approvals (approval_id));
diesel::joinable!(point_adjustments -> journal_entries (journal_entry_id));
diesel::joinable!(point_adjustments -> members (member_id));
diesel::joinable!(point_adjustments -> merchants (merchant_id));
diesel::joinable!(point_lots -> assets (program_code));
diesel::joinable!(point_lots -> journal_entries (journal_entry_id));
diesel::joinable!(point_lots -> members (member_id));
diesel::joinable!(privacy_consents -> members (member_id));
diesel::joinable!(program_rates -> rate_publications (publication_id));
diesel::joinable!(programs -> assets (code));
diesel::joinable!(programs -> merchants (merchant_id));
diesel::joinable!(rate_overrides -> approvals (approval_id));
diesel::joinable!(redemptions -> members (member_id));
diesel::joinable!(redemptions -> merchants (merchant_id));
diesel::joinable!(redemptions -> rewards (reward_id));
diesel::joinable!(redemptions -> stores (store_id));
diesel::joinable!(refund_claims -> earn_refunds (earn_refund_id));
diesel::joinable!(refund_claims -> transfers (hold_id));
diesel::joinable!(report_exports -> merchants (merchant_id));
diesel::joinable!(reward_caps -> rewards (reward_id));
diesel::joinable!(reward_stores -> rewards (reward_id));
diesel::joinable!(reward_stores -> stores (store_id));
diesel::joinable!(rewards -> merchants (merchant_id));
diesel::joinable!(risk_alerts -> members (member_id));
diesel::joinable!(risk_alerts -> merchants (merchant_id));
diesel::joinable!(settlement_claims -> settlement_statements (statement_id));
diesel::joinable!(settlement_claims -> transfers (transfer_id));
diesel::joinable!(settlement_collections -> merchants (merchant_id));
diesel::joinable!(settlement_collections -> settlement_statements (statement_id));
diesel::joinable!(settlement_lines -> settlement_statements (statement_id));
diesel::joinable!(settlement_statements -> journal_entries (journal_entry_id));
diesel::joinable!(settlement_statements -> merchants (merchant_id));
diesel::joinable!(settlement_statements -> settlement_runs (run_id));
diesel::joinable!(settlement_terms -> merchants (merchant_id));
diesel::joinable!(stores -> merchants (merchant_id));
diesel::joinable!(tier_requests -> merchants (merchant_id));
diesel::joinable!(transfers -> journal_entries (journal_entry_id));
diesel::joinable!(webhook_deliveries -> merchants (merchant_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_balances,
    accounts,
    api_idempotency,
    api_keys,
    api_nonces,
    application_messages,
    approval_decisions,
    approvals,
    assets,
    audit_events,
    campaign_awards,
    campaign_merchants,
    campaigns,
    deposit_topups,
    earn_orders,
    earn_refunds,
    exchange_policy,
    exchange_quotes,
    exchanges,
    expiry_reminders,
    hub_program,
    imports,
    job_leases,
    journal_entries,
    ledger_verifications,
    lot_reservations,
    mail_sends,
    member_tier_changes,
    member_tiers,
    member_verifications,
    members,
    merchant_applications,
    merchant_exit_notices,
    merchant_exits,
    merchant_members,
    merchant_users,
    merchants,
    operator_recovery_codes,
    operator_second_factors,
    operators,
    password_resets,
    payout_batches,
    payout_recipients,
    payouts,
    phone_codes,
    point_adjustments,
    point_lots,
    privacy_consents,
    program_rates,
    programs,
    rate_overrides,
    rate_publications,
    redemptions,
    refund_claims,
    report_exports,
    reward_caps,
    reward_stores,
    rewards,
    risk_alerts,
    settlement_claims,
    settlement_collections,
    settlement_lines,
    settlement_runs,
    settlement_statements,
    settlement_terms,
    sign_in_attempts,
    stores,
    tier_requests,
    transfers,
    web_sessions,
    webhook_deliveries,
);
