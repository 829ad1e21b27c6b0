-- Sign-in hardening (issue #17).

-- Throttling counts failures per account and source address together.
CREATE INDEX sign_in_attempts_account_ip ON sign_in_attempts (portal, account_key, ip, at);

-- Mail sent on behalf of anonymous visitors (password resets, applications),
-- counted per recipient and per source address so neither can flood a mailbox.
-- The recipient is kept only as a keyed blind index.
CREATE TABLE mail_sends (
    id              bigserial PRIMARY KEY,
    recipient_index bytea NOT NULL CHECK (length(recipient_index) = 32),
    ip              text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_sends_recipient ON mail_sends (recipient_index, at);
CREATE INDEX mail_sends_ip ON mail_sends (ip, at);

-- An operator's TOTP second factor (RFC 6238). The secret is encrypted at rest;
-- it counts only once confirmed with a first code. last_step is the last time
-- step accepted, so one code cannot sign in twice.
CREATE TABLE operator_second_factors (
    operator_id       bigint PRIMARY KEY REFERENCES operators (id),
    secret_ciphertext bytea NOT NULL,
    confirmed_at      timestamptz,
    last_step         bigint,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Single-use recovery codes, shown once; only their hashes are kept.
CREATE TABLE operator_recovery_codes (
    code_hash   bytea PRIMARY KEY CHECK (length(code_hash) = 32),
    operator_id bigint NOT NULL REFERENCES operators (id),
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_recovery_codes_operator ON operator_recovery_codes (operator_id);
