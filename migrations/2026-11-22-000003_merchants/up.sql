-- A merchant's life in the alliance: application and review, its points
-- program, stores, API keys, settlement deposit, tier changes, and the risk
-- alerts raised about it.

ALTER TABLE merchants
    ADD COLUMN credit_code             text UNIQUE,
    ADD COLUMN contact_name            text,
    ADD COLUMN contact_phone           text,
    ADD COLUMN contact_email           text CHECK (contact_email = lower(contact_email)),
    ADD COLUMN bank_account_name       text,
    ADD COLUMN bank_name               text,
    -- Encrypted like members' personal data (AES-256-GCM, aad merchant.bank_account).
    ADD COLUMN bank_account_ciphertext bytea,
    ADD COLUMN webhook_url             text CHECK (webhook_url ~ '^https?://'),
    ADD COLUMN status_reason           text,
    ADD COLUMN status_changed_at       timestamptz;

CREATE TABLE merchant_applications (
    id                      bigserial PRIMARY KEY,
    -- The applicant's status link carries the token; only its hash is kept.
    status_token_hash       bytea NOT NULL UNIQUE CHECK (length(status_token_hash) = 32),
    company_name            text NOT NULL CHECK (company_name <> ''),
    credit_code             text NOT NULL CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    contact_name            text NOT NULL CHECK (contact_name <> ''),
    contact_phone           text NOT NULL,
    contact_email           text NOT NULL CHECK (contact_email = lower(contact_email)),
    category                text NOT NULL,
    requested_tier          text NOT NULL CHECK (requested_tier IN ('strategic', 'standard')),
    bank_account_name       text NOT NULL,
    bank_name               text NOT NULL,
    bank_account_ciphertext bytea NOT NULL,
    -- [{name, address, latitude, longitude}], checked by the application code.
    stores                  jsonb NOT NULL DEFAULT '[]'::jsonb,
    status                  text NOT NULL DEFAULT 'submitted'
                            CHECK (status IN ('submitted', 'under_review', 'more_info', 'approved', 'rejected')),
    decision_reason         text,
    merchant_id             bigint REFERENCES merchants (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'approved') = (merchant_id IS NOT NULL)),
    CHECK (status <> 'rejected' OR decision_reason IS NOT NULL)
);
CREATE INDEX merchant_applications_queue ON merchant_applications (status, created_at);

-- The review thread: questions from operators, answers from the applicant.
CREATE TABLE application_messages (
    id             bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES merchant_applications (id),
    author_kind    text NOT NULL CHECK (author_kind IN ('operator', 'applicant')),
    author_label   text NOT NULL,
    body           text NOT NULL CHECK (body <> ''),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_messages_thread ON application_messages (application_id, id);

-- One points program per merchant; its code is its ledger asset.
CREATE TABLE programs (
    id                  bigserial PRIMARY KEY,
    merchant_id         bigint NOT NULL UNIQUE REFERENCES merchants (id),
    code                text NOT NULL UNIQUE REFERENCES assets (code),
    name_zh             text NOT NULL CHECK (name_zh <> ''),
    name_en             text NOT NULL CHECK (name_en <> ''),
    logo_path           text,
    -- CNY per point agreed with the merchant.
    settlement_value    numeric(12, 6) NOT NULL CHECK (settlement_value > 0),
    earn_points_per_cny numeric(10, 4) NOT NULL CHECK (earn_points_per_cny >= 0),
    -- 0: points never expire.
    expiry_months       smallint NOT NULL CHECK (expiry_months BETWEEN 0 AND 120),
    exchange_in         boolean NOT NULL DEFAULT true,
    exchange_out        boolean NOT NULL DEFAULT true,
    min_exchange_points bigint NOT NULL CHECK (min_exchange_points > 0),
    max_exchange_points bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (max_exchange_points >= min_exchange_points)
);

CREATE TABLE stores (
    id          bigserial PRIMARY KEY,
    merchant_id bigint NOT NULL REFERENCES merchants (id),
    name        text NOT NULL CHECK (name <> ''),
    address     text NOT NULL CHECK (address <> ''),
    latitude    numeric(9, 6) NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   numeric(9, 6) NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stores_merchant ON stores (merchant_id);

-- Partner API keys. The secret signs requests, so the server must be able to
-- read it: it is encrypted, not hashed.
CREATE TABLE api_keys (
    id                bigserial PRIMARY KEY,
    merchant_id       bigint NOT NULL REFERENCES merchants (id),
    key_id            text NOT NULL UNIQUE CHECK (key_id ~ '^ak_[A-Za-z0-9]{16,}$'),
    secret_ciphertext bytea NOT NULL,
    label             text NOT NULL,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_used_at      timestamptz,
    revoked_at        timestamptz
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

-- A merchant's notice that it paid into its deposit; a finance operator
-- confirms the bank receipt, which books the ledger entry.
CREATE TABLE deposit_topups (
    id               bigserial PRIMARY KEY,
    merchant_id      bigint NOT NULL REFERENCES merchants (id),
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    bank_reference   text NOT NULL CHECK (bank_reference <> ''),
    submitted_by     text NOT NULL,
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'confirmed', 'rejected')),
    decided_by       text,
    decided_at       timestamptz,
    reason           text,
    journal_entry_id bigint REFERENCES journal_entries (id),
    UNIQUE (merchant_id, bank_reference),
    CHECK ((status = 'confirmed') = (journal_entry_id IS NOT NULL))
);
CREATE INDEX deposit_topups_open ON deposit_topups (submitted_at) WHERE status = 'submitted';

CREATE TABLE tier_requests (
    id             bigserial PRIMARY KEY,
    merchant_id    bigint NOT NULL REFERENCES merchants (id),
    requested_tier text NOT NULL CHECK (requested_tier IN ('strategic', 'standard')),
    reason         text NOT NULL CHECK (reason <> ''),
    requested_by   text NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by     text,
    decided_at     timestamptz,
    decision_note  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- At most one open request per merchant.
CREATE UNIQUE INDEX tier_requests_one_open ON tier_requests (merchant_id) WHERE status = 'pending';

-- Things operators should look at: deposit shortfalls now, abnormal earning and
-- redemption later.
CREATE TABLE risk_alerts (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    merchant_id bigint REFERENCES merchants (id),
    member_id   bigint REFERENCES members (id),
    summary     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    handled_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_alerts_open ON risk_alerts (status, created_at);
-- One open alert of a kind per merchant: a shortfall is not raised again on
-- every check while it lasts.
CREATE UNIQUE INDEX risk_alerts_one_open ON risk_alerts (kind, merchant_id) WHERE status <> 'resolved' AND member_id IS NULL;
