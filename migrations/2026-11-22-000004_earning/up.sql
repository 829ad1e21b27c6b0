-- Earning: member tiers, the earn rules' inputs, orders and refunds, point lots
-- and their expiry, campaigns, the partner API's replay and idempotency records,
-- and manual point adjustments.

-- One alliance-wide ladder: a member's tier follows their trailing 12-month
-- spend at every partner. Reaching `upgrade_spend_fen` lifts a member into the
-- tier; at the nightly review a member whose spend fell below their tier's
-- `keep_spend_fen` drops to the highest tier that spend keeps.
CREATE TABLE member_tiers (
    code                     text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    rank                     smallint NOT NULL UNIQUE CHECK (rank >= 0),
    name_zh                  text NOT NULL CHECK (name_zh <> ''),
    name_en                  text NOT NULL CHECK (name_en <> ''),
    upgrade_spend_fen        bigint NOT NULL CHECK (upgrade_spend_fen >= 0),
    keep_spend_fen           bigint NOT NULL CHECK (keep_spend_fen >= 0),
    -- Basis points on top of the base points: silver +10% is 1000.
    earn_bonus_bp            integer NOT NULL CHECK (earn_bonus_bp BETWEEN 0 AND 10000),
    -- Basis points off the exchange fee.
    exchange_fee_discount_bp integer NOT NULL CHECK (exchange_fee_discount_bp BETWEEN 0 AND 10000),
    CHECK (keep_spend_fen <= upgrade_spend_fen)
);
INSERT INTO member_tiers VALUES
    ('basic',    0, '普通', 'Basic',    0,       0,       0,    0),
    ('silver',   1, '银卡', 'Silver',   500000,  300000,  1000, 1000),
    ('gold',     2, '金卡', 'Gold',     2000000, 1500000, 2500, 2500),
    ('platinum', 3, '白金', 'Platinum', 5000000, 4000000, 5000, 5000);

ALTER TABLE members
    ADD CONSTRAINT members_tier_fkey FOREIGN KEY (tier) REFERENCES member_tiers (code),
    ADD COLUMN tier_since timestamptz NOT NULL DEFAULT now();

-- Every tier change, automatic or by hand, with the spend that drove it.
CREATE TABLE member_tier_changes (
    id          bigserial PRIMARY KEY,
    member_id   bigint NOT NULL REFERENCES members (id),
    from_tier   text NOT NULL REFERENCES member_tiers (code),
    to_tier     text NOT NULL REFERENCES member_tiers (code),
    reason      text NOT NULL CHECK (reason IN ('upgrade', 'downgrade', 'manual')),
    spend_fen   bigint NOT NULL,
    changed_by  text NOT NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (from_tier <> to_tier)
);
CREATE INDEX member_tier_changes_member ON member_tier_changes (member_id, created_at DESC);

-- The hub program ALP belongs to the house: the price a merchant pays per ALP
-- it issues, and how long ALP lasts.
CREATE TABLE hub_program (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    issue_price   numeric(12, 6) NOT NULL CHECK (issue_price > 0),
    expiry_months smallint NOT NULL CHECK (expiry_months BETWEEN 0 AND 120),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO hub_program (issue_price, expiry_months) VALUES (0.010000, 24);

-- Earning risk limits per program: a member may earn at most this many points
-- in a day (Asia/Shanghai) at the program.
ALTER TABLE programs
    ADD COLUMN member_daily_earn_limit bigint NOT NULL DEFAULT 100000 CHECK (member_daily_earn_limit > 0);

-- A purchase that earned points, by the merchant's order id.
CREATE TABLE earn_orders (
    id                 bigserial PRIMARY KEY,
    merchant_id        bigint NOT NULL REFERENCES merchants (id),
    order_id           text NOT NULL CHECK (order_id ~ '^[\x21-\x7e]{1,64}$'),
    member_id          bigint NOT NULL REFERENCES members (id),
    -- The merchant's own program, or ALP.
    program_code       text NOT NULL REFERENCES assets (code),
    store_id           bigint REFERENCES stores (id),
    amount_fen         bigint NOT NULL CHECK (amount_fen > 0),
    points             bigint NOT NULL CHECK (points >= 0),
    -- How `points` came about: base, tier bonus, campaigns.
    breakdown          jsonb NOT NULL,
    source             text NOT NULL CHECK (source IN ('api', 'portal')),
    created_by         text NOT NULL,
    device_id          text,
    ip                 text,
    occurred_at        timestamptz NOT NULL,
    -- Null when the purchase earned no points.
    journal_entry_id   bigint REFERENCES journal_entries (id),
    refunded_fen       bigint NOT NULL DEFAULT 0,
    points_reversed    bigint NOT NULL DEFAULT 0,
    -- Points a refund should have taken back that the member had already spent.
    points_unrecovered bigint NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, order_id),
    CHECK (refunded_fen BETWEEN 0 AND amount_fen),
    CHECK (points_reversed >= 0 AND points_unrecovered >= 0),
    CHECK (points_reversed + points_unrecovered <= points),
    CHECK ((points = 0) = (journal_entry_id IS NULL))
);
CREATE INDEX earn_orders_member ON earn_orders (member_id, occurred_at DESC);
CREATE INDEX earn_orders_device ON earn_orders (device_id, created_at) WHERE device_id IS NOT NULL;
CREATE INDEX earn_orders_ip ON earn_orders (ip, created_at) WHERE ip IS NOT NULL;

CREATE TABLE earn_refunds (
    id                 bigserial PRIMARY KEY,
    earn_order_id      bigint NOT NULL REFERENCES earn_orders (id),
    -- 1, 2, ... per order: part of the ledger idempotency key.
    sequence           integer NOT NULL CHECK (sequence > 0),
    amount_fen         bigint NOT NULL CHECK (amount_fen > 0),
    points_reversed    bigint NOT NULL CHECK (points_reversed >= 0),
    points_unrecovered bigint NOT NULL CHECK (points_unrecovered >= 0),
    journal_entry_id   bigint REFERENCES journal_entries (id),
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (earn_order_id, sequence),
    CHECK ((points_reversed = 0) = (journal_entry_id IS NULL))
);

-- Which of a member's points expire when. Every credit to a member wallet opens
-- a lot; every debit consumes the oldest lots first. The lots of a wallet sum to
-- its posted balance; the ledger stays the only place money lives.
CREATE TABLE point_lots (
    id               bigserial PRIMARY KEY,
    member_id        bigint NOT NULL REFERENCES members (id),
    program_code     text NOT NULL REFERENCES assets (code),
    points           bigint NOT NULL CHECK (points > 0),
    remaining        bigint NOT NULL,
    -- Null: never expires.
    expires_at       timestamptz,
    journal_entry_id bigint NOT NULL REFERENCES journal_entries (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (remaining BETWEEN 0 AND points)
);
CREATE INDEX point_lots_open ON point_lots (member_id, program_code, expires_at, id) WHERE remaining > 0;
CREATE INDEX point_lots_expiring ON point_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- Expiry reminders sent, for the once-a-week-per-program limit.
CREATE TABLE expiry_reminders (
    id           bigserial PRIMARY KEY,
    member_id    bigint NOT NULL REFERENCES members (id),
    program_code text NOT NULL REFERENCES assets (code),
    points       bigint NOT NULL CHECK (points > 0),
    expires_at   timestamptz NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX expiry_reminders_recent ON expiry_reminders (member_id, program_code, sent_at DESC);

-- Cross-merchant campaigns. The budget is in CNY: the bonus points' value at
-- their program's settlement value. `spent_fen` only grows, by a conditional
-- update, so the CHECK makes the cap exact whatever the concurrency.
CREATE TABLE campaigns (
    id             bigserial PRIMARY KEY,
    name_zh        text NOT NULL CHECK (name_zh <> ''),
    name_en        text NOT NULL CHECK (name_en <> ''),
    -- Points on top of the base: 10x is 10.00 (nine times the base extra).
    multiplier     numeric(6, 2) NOT NULL CHECK (multiplier >= 1),
    -- [{"min_fen": 10000, "bonus_points": 50}, ...]: the highest step reached counts.
    spend_steps    jsonb NOT NULL DEFAULT '[]'::jsonb,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    budget_fen     bigint NOT NULL CHECK (budget_fen > 0),
    spent_fen      bigint NOT NULL DEFAULT 0,
    -- The house's share of the bonus cost, in basis points; merchants bear the rest.
    house_share_bp integer NOT NULL CHECK (house_share_bp BETWEEN 0 AND 10000),
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'ended')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (spent_fen BETWEEN 0 AND budget_fen)
);
CREATE INDEX campaigns_window ON campaigns (starts_at, ends_at) WHERE status = 'active';

CREATE TABLE campaign_merchants (
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    merchant_id bigint NOT NULL REFERENCES merchants (id),
    PRIMARY KEY (campaign_id, merchant_id)
);
CREATE INDEX campaign_merchants_merchant ON campaign_merchants (merchant_id);

-- What each campaign gave to each order, and who paid for it.
CREATE TABLE campaign_awards (
    id            bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES campaigns (id),
    earn_order_id bigint NOT NULL REFERENCES earn_orders (id),
    bonus_points  bigint NOT NULL CHECK (bonus_points > 0),
    cost_fen      bigint NOT NULL CHECK (cost_fen >= 0),
    house_fen     bigint NOT NULL CHECK (house_fen >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, earn_order_id),
    CHECK (house_fen <= cost_fen)
);

-- Manual point adjustments from the merchant portal; above the merchant's
-- threshold they wait for a second person (approval_id).
CREATE TABLE point_adjustments (
    id               bigserial PRIMARY KEY,
    merchant_id      bigint NOT NULL REFERENCES merchants (id),
    member_id        bigint NOT NULL REFERENCES members (id),
    -- Positive credits the member, negative takes points back.
    points           bigint NOT NULL CHECK (points <> 0),
    reason           text NOT NULL CHECK (reason <> ''),
    status           text NOT NULL CHECK (status IN ('pending', 'booked', 'rejected')),
    approval_id      bigint REFERENCES approvals (id),
    journal_entry_id bigint REFERENCES journal_entries (id),
    requested_by     text NOT NULL,
    -- The one-time token of the form that asked for it: a form submitted twice
    -- finds its first adjustment instead of filing a second.
    request_token    text NOT NULL CHECK (request_token ~ '^[A-Za-z0-9_-]{16,64}$'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, request_token),
    CHECK ((status = 'booked') = (journal_entry_id IS NOT NULL))
);
CREATE INDEX point_adjustments_merchant ON point_adjustments (merchant_id, created_at DESC);

-- Partner API: nonces seen in the last ten minutes, per key (replay protection).
CREATE TABLE api_nonces (
    key_id  text NOT NULL,
    nonce   text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX api_nonces_age ON api_nonces (seen_at);

-- Partner API: the first response to each Idempotency-Key, per merchant. The row
-- is inserted in the transaction that does the work, so a concurrent duplicate
-- waits on the key and then replays the stored response.
CREATE TABLE api_idempotency (
    merchant_id     bigint NOT NULL REFERENCES merchants (id),
    idempotency_key text NOT NULL CHECK (idempotency_key ~ '^[\x20-\x7e]{1,64}$'),
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    status          smallint,
    body            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, idempotency_key)
);
CREATE INDEX api_idempotency_age ON api_idempotency (created_at);

-- The members a merchant knows: those it enrolled or found by mobile through
-- the partner API, or who earned there. A merchant's key may read only these.
CREATE TABLE merchant_members (
    merchant_id bigint NOT NULL REFERENCES merchants (id),
    member_id   bigint NOT NULL REFERENCES members (id),
    since       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, member_id)
);
CREATE INDEX merchant_members_member ON merchant_members (member_id);

-- Member-level risk alerts: one unresolved alert of a kind per member.
CREATE UNIQUE INDEX risk_alerts_one_open_member ON risk_alerts (kind, member_id)
    WHERE status <> 'resolved' AND member_id IS NOT NULL;
