-- The people who use Alliance, how they sign in, what they did (audit) and what
-- waits for a second pair of eyes (approvals).

CREATE TABLE operators (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name    text NOT NULL CHECK (display_name <> ''),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'operator', 'finance', 'risk')),
    active          boolean NOT NULL DEFAULT true,
    locale          text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);

-- Partner merchants. Onboarding (a later migration) adds the application, the
-- program and the deposit; here only what sign-in and the home page need.
CREATE TABLE merchants (
    id         bigserial PRIMARY KEY,
    code       text NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
    name_zh    text NOT NULL CHECK (name_zh <> ''),
    name_en    text NOT NULL CHECK (name_en <> ''),
    category   text NOT NULL DEFAULT 'other',
    tier       text NOT NULL DEFAULT 'standard' CHECK (tier IN ('strategic', 'standard')),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'exited')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE merchant_users (
    id              bigserial PRIMARY KEY,
    merchant_id     bigint NOT NULL REFERENCES merchants (id),
    email           text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name    text NOT NULL CHECK (display_name <> ''),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    active          boolean NOT NULL DEFAULT true,
    locale          text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);
CREATE INDEX merchant_users_merchant ON merchant_users (merchant_id);

-- Consumers. Personal data is encrypted (AES-256-GCM); the mobile number is found
-- through a keyed blind index (HMAC-SHA256), never stored in the clear.
CREATE TABLE members (
    id                   bigserial PRIMARY KEY,
    phone_ciphertext     bytea NOT NULL,
    phone_index          bytea NOT NULL UNIQUE CHECK (length(phone_index) = 32),
    email                text UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name         text NOT NULL CHECK (display_name <> ''),
    password_hash        text,
    real_name_ciphertext bytea,
    id_number_ciphertext bytea,
    tier                 text NOT NULL DEFAULT 'basic',
    locale               text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at      timestamptz
);

-- Every consent given or withdrawn, with the version of the policy it was for.
CREATE TABLE privacy_consents (
    id          bigserial PRIMARY KEY,
    member_id   bigint NOT NULL REFERENCES members (id),
    version     text NOT NULL CHECK (version <> ''),
    granted     boolean NOT NULL,
    ip          text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privacy_consents_member ON privacy_consents (member_id, recorded_at DESC);

-- Server-side session state; the cookie carries only the key, and only its hash
-- is stored, so a database dump cannot be replayed as sessions.
CREATE TABLE web_sessions (
    key_hash   bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    state      jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Sign-in attempts, for throttling per account and per IP address.
CREATE TABLE sign_in_attempts (
    id          bigserial PRIMARY KEY,
    portal      text NOT NULL CHECK (portal IN ('platform', 'merchant', 'consumer')),
    account_key text NOT NULL,
    ip          text NOT NULL,
    succeeded   boolean NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_attempts_account ON sign_in_attempts (portal, account_key, at);
CREATE INDEX sign_in_attempts_ip ON sign_in_attempts (ip, at);

-- One-time password-reset links; only the token's hash is stored.
CREATE TABLE password_resets (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    portal       text NOT NULL CHECK (portal IN ('platform', 'merchant', 'consumer')),
    principal_id bigint NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Who changed what, append-only.
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('operator', 'merchant_user', 'member', 'system')),
    actor_id    bigint,
    actor_label text NOT NULL,
    actor_role  text NOT NULL,
    merchant_id bigint REFERENCES merchants (id),
    action      text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    target_kind text NOT NULL,
    target_id   text,
    before      jsonb,
    after       jsonb,
    ip          text
);
CREATE INDEX audit_events_at ON audit_events (at DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_kind, actor_id, at DESC);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, at DESC);
CREATE INDEX audit_events_merchant ON audit_events (merchant_id, at DESC);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Maker-checker: an action that needs approval waits here until enough people
-- other than its maker approve it, or one rejects it.
CREATE TABLE approvals (
    id                 bigserial PRIMARY KEY,
    kind               text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    -- 'platform' or 'merchant:<id>': whose users may decide.
    scope              text NOT NULL CHECK (scope ~ '^(platform|merchant:[0-9]+)$'),
    payload            jsonb NOT NULL,
    summary            text NOT NULL,
    amount_fen         bigint CHECK (amount_fen >= 0),
    approver_roles     text[] NOT NULL CHECK (cardinality(approver_roles) > 0),
    required_approvals smallint NOT NULL CHECK (required_approvals BETWEEN 1 AND 2),
    maker_kind         text NOT NULL CHECK (maker_kind IN ('operator', 'merchant_user')),
    maker_id           bigint NOT NULL,
    maker_label        text NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'approved', 'rejected', 'failed')),
    outcome            text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    decided_at         timestamptz,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX approvals_open ON approvals (scope, created_at) WHERE status = 'pending';

CREATE TABLE approval_decisions (
    approval_id   bigint NOT NULL REFERENCES approvals (id),
    checker_kind  text NOT NULL CHECK (checker_kind IN ('operator', 'merchant_user')),
    checker_id    bigint NOT NULL,
    checker_label text NOT NULL,
    approve       boolean NOT NULL,
    reason        text,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (approval_id, checker_kind, checker_id)
);
