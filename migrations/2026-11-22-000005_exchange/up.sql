-- Exchange between programs (积分通兑): the rate model's policy, every rate set
-- it published with its inputs, operators' overrides, quotes, executed
-- exchanges, and members' real-name verification.

-- The platform's knobs of the rate model and of exchange as a whole; one row.
CREATE TABLE exchange_policy (
    singleton               boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- Values stay within settlement value × (1 ± band).
    band_bp                 integer NOT NULL CHECK (band_bp BETWEEN 0 AND 5000),
    -- How far the mid value moves at a one-sided flow, as a share of the band.
    flow_sensitivity_bp     integer NOT NULL CHECK (flow_sensitivity_bp BETWEEN 0 AND 10000),
    -- Buy − sell as a share of the mid value.
    value_margin_bp         integer NOT NULL CHECK (value_margin_bp BETWEEN 0 AND 2000),
    -- The trailing window the net flow is measured over.
    flow_window_hours       integer NOT NULL CHECK (flow_window_hours BETWEEN 1 AND 2160),
    -- Below this gross volume a one-sided flow moves the value proportionally less.
    flow_floor_fen          bigint NOT NULL CHECK (flow_floor_fen > 0),
    quote_ttl_seconds       integer NOT NULL CHECK (quote_ttl_seconds BETWEEN 10 AND 600),
    -- An override further than this from the model needs a second operator.
    override_review_bp      integer NOT NULL CHECK (override_review_bp BETWEEN 0 AND 5000),
    -- Exchanges worth this much or more need a real-name verified member.
    real_name_threshold_fen bigint NOT NULL CHECK (real_name_threshold_fen > 0),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO exchange_policy (band_bp, flow_sensitivity_bp, value_margin_bp, flow_window_hours,
                             flow_floor_fen, quote_ttl_seconds, override_review_bp,
                             real_name_threshold_fen)
VALUES (1000, 5000, 200, 168, 1000000, 60, 300, 500000);

-- Per program: the most points one member may exchange out of it in a day
-- (Asia/Shanghai).
ALTER TABLE programs
    ADD COLUMN member_daily_exchange_limit bigint NOT NULL DEFAULT 200000
        CHECK (member_daily_exchange_limit > 0);

-- One run of the rate model: when, why, and the policy it ran under.
CREATE TABLE rate_publications (
    id           bigserial PRIMARY KEY,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'on_demand')),
    published_by text NOT NULL,
    policy       jsonb NOT NULL,
    window_start timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- The model's values for one program in one publication, with its inputs.
CREATE TABLE program_rates (
    publication_id   bigint NOT NULL REFERENCES rate_publications (id),
    program_code     text NOT NULL REFERENCES programs (code),
    settlement_value numeric(12, 6) NOT NULL CHECK (settlement_value > 0),
    -- CNY into the program (exchanges in) and out of it over the window.
    inflow_fen       bigint NOT NULL CHECK (inflow_fen >= 0),
    outflow_fen      bigint NOT NULL CHECK (outflow_fen >= 0),
    -- The mid value's move from the settlement value, in basis points.
    shift_bp         integer NOT NULL,
    mid_value        numeric(12, 6) NOT NULL CHECK (mid_value > 0),
    sell_value       numeric(12, 6) NOT NULL CHECK (sell_value > 0),
    buy_value        numeric(12, 6) NOT NULL CHECK (buy_value > 0),
    PRIMARY KEY (program_code, publication_id),
    CHECK (buy_value >= sell_value)
);

-- An operator pins a program's values for a window. Far from the model it is
-- `pending` until a second operator approves it (maker-checker).
CREATE TABLE rate_overrides (
    id            bigserial PRIMARY KEY,
    program_code  text NOT NULL REFERENCES programs (code),
    sell_value    numeric(12, 6) NOT NULL CHECK (sell_value > 0),
    buy_value     numeric(12, 6) NOT NULL CHECK (buy_value > 0),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    reason        text NOT NULL CHECK (reason <> ''),
    -- The model's values when it was requested, and how far from them it is.
    model_sell    numeric(12, 6) NOT NULL,
    model_buy     numeric(12, 6) NOT NULL,
    distance_bp   integer NOT NULL CHECK (distance_bp >= 0),
    status        text NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'cancelled')),
    approval_id   bigint REFERENCES approvals (id),
    requested_by  text NOT NULL,
    cancelled_by  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (buy_value >= sell_value),
    CHECK (ends_at > starts_at)
);
CREATE INDEX rate_overrides_program ON rate_overrides (program_code, starts_at DESC);

-- A quote: the terms an exchange will execute at, until it expires, once.
CREATE TABLE exchange_quotes (
    id               text PRIMARY KEY CHECK (id ~ '^q_[A-Za-z0-9]{20,}$'),
    member_id        bigint NOT NULL REFERENCES members (id),
    from_program     text NOT NULL REFERENCES programs (code),
    to_program       text NOT NULL REFERENCES programs (code),
    from_points      bigint NOT NULL CHECK (from_points > 0),
    to_points        bigint NOT NULL CHECK (to_points > 0),
    sell_value       numeric(12, 6) NOT NULL,
    buy_value        numeric(12, 6) NOT NULL,
    value_out_fen    bigint NOT NULL CHECK (value_out_fen > 0),
    fee_fen          bigint NOT NULL CHECK (fee_fen >= 0),
    credit_fen       bigint NOT NULL CHECK (credit_fen >= 0),
    -- The fee's parts and where each value came from, for the member and audit.
    terms            jsonb NOT NULL,
    -- The merchant whose API key asked, when a partner asked.
    merchant_id      bigint REFERENCES merchants (id),
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (from_program <> to_program),
    CHECK (credit_fen + fee_fen <= value_out_fen)
);
CREATE INDEX exchange_quotes_expiry ON exchange_quotes (expires_at);

-- An executed exchange; one per quote, which is what makes a quote single-use.
CREATE TABLE exchanges (
    id               bigserial PRIMARY KEY,
    quote_id         text NOT NULL UNIQUE REFERENCES exchange_quotes (id),
    member_id        bigint NOT NULL REFERENCES members (id),
    from_program     text NOT NULL REFERENCES programs (code),
    to_program       text NOT NULL REFERENCES programs (code),
    from_points      bigint NOT NULL CHECK (from_points > 0),
    to_points        bigint NOT NULL CHECK (to_points > 0),
    value_out_fen    bigint NOT NULL CHECK (value_out_fen > 0),
    credit_fen       bigint NOT NULL CHECK (credit_fen >= 0),
    -- What the house kept: the fee plus the rounding left over.
    house_fen        bigint NOT NULL CHECK (house_fen >= 0),
    journal_entry_id bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    executed_by      text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (credit_fen + house_fen = value_out_fen)
);
CREATE INDEX exchanges_member ON exchanges (member_id, created_at DESC);
CREATE INDEX exchanges_out_daily ON exchanges (member_id, from_program, created_at);
CREATE INDEX exchanges_time ON exchanges (created_at);

-- A member's real-name verification request (实名认证). Name and ID number are
-- encrypted; on approval they are copied onto the member.
CREATE TABLE member_verifications (
    id                   bigserial PRIMARY KEY,
    member_id            bigint NOT NULL REFERENCES members (id),
    real_name_ciphertext bytea NOT NULL,
    id_number_ciphertext bytea NOT NULL,
    -- The last four characters, so an operator can match a document.
    id_number_hint       text NOT NULL CHECK (id_number_hint ~ '^[0-9X]{4}$'),
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by           text,
    decided_at           timestamptz,
    reason               text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'rejected' OR reason IS NOT NULL)
);
-- At most one open request per member.
CREATE UNIQUE INDEX member_verifications_one_open ON member_verifications (member_id)
    WHERE status = 'pending';
CREATE INDEX member_verifications_queue ON member_verifications (created_at) WHERE status = 'pending';
