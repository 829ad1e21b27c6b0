-- Members prove their mobile number with a one-time SMS code (issue #17).
--
-- When the number was last proven. NULL for every member existing today: those
-- who signed up by themselves never proved the number (anyone could type a
-- stranger's), and those a partner enrolled through the API have not claimed
-- their account yet. Unverified members must verify before spending in the
-- member app.
ALTER TABLE members ADD COLUMN phone_verified_at timestamptz;

-- One-time codes sent by SMS. The number is found through the members' blind
-- index (never stored in the clear) and the code is kept only as an HMAC under
-- the application's keys. A row is also written for messages that carry no
-- code (e.g. "you already have an account"), so every SMS counts towards the
-- sending limits; such a row's MAC matches no code.
CREATE TABLE phone_codes (
    id          bigserial PRIMARY KEY,
    phone_index bytea NOT NULL CHECK (length(phone_index) = 32),
    purpose     text NOT NULL CHECK (purpose IN ('sign_up', 'reset', 'sign_in', 'claim', 'verify')),
    code_mac    bytea NOT NULL CHECK (length(code_mac) = 32),
    ip          text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
    consumed_at timestamptz
);
CREATE INDEX phone_codes_number ON phone_codes (phone_index, purpose, created_at DESC);
CREATE INDEX phone_codes_ip ON phone_codes (ip, created_at);
