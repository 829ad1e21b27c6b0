-- The rewards catalog (权益目录) and combined redemption (组合兑换): merchants'
-- rewards, where each can be collected, operators' caps on high-demand
-- rewards, and redemptions with their vouchers.

CREATE TABLE rewards (
    id                 bigserial PRIMARY KEY,
    merchant_id        bigint NOT NULL REFERENCES merchants (id),
    title_zh           text NOT NULL CHECK (title_zh <> ''),
    title_en           text NOT NULL CHECK (title_en <> ''),
    description_zh     text NOT NULL DEFAULT '',
    description_en     text NOT NULL DEFAULT '',
    category           text NOT NULL
                       CHECK (category IN ('dining', 'drinks', 'groceries', 'entertainment',
                                           'travel', 'books', 'fuel', 'services', 'other')),
    -- Under the upload directory; served through the app, never a path from the request.
    image_path         text CHECK (image_path ~ '^[a-z0-9_]+\.(png|jpg|webp)$'),
    -- What the reward is worth, CNY: the price in other programs' value and cash.
    value_fen          bigint NOT NULL CHECK (value_fen > 0),
    -- The price in the merchant's own points, when it may be paid that way.
    points_price       bigint CHECK (points_price > 0),
    -- Whether other programs' points and ALP may pay, through the cash legs.
    other_points       boolean NOT NULL DEFAULT true,
    cash_topup         boolean NOT NULL DEFAULT false,
    stock              bigint NOT NULL CHECK (stock >= 0),
    valid_from         timestamptz NOT NULL,
    valid_until        timestamptz NOT NULL,
    status             text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'unpublished')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until > valid_from),
    -- Something must be able to pay for it.
    CHECK (points_price IS NOT NULL OR other_points OR cash_topup)
);
CREATE INDEX rewards_merchant ON rewards (merchant_id);
CREATE INDEX rewards_published ON rewards (category, valid_until) WHERE status = 'published';

-- The stores where a reward can be collected (none: every store of the merchant).
CREATE TABLE reward_stores (
    reward_id bigint NOT NULL REFERENCES rewards (id),
    store_id  bigint NOT NULL REFERENCES stores (id),
    PRIMARY KEY (reward_id, store_id)
);
CREATE INDEX reward_stores_store ON reward_stores (store_id);

-- Operators' caps on a high-demand reward (高频权益管理); NULL: no cap. Days and
-- months are Asia/Shanghai.
CREATE TABLE reward_caps (
    reward_id          bigint PRIMARY KEY REFERENCES rewards (id),
    daily_total        integer CHECK (daily_total > 0),
    monthly_total      integer CHECK (monthly_total > 0),
    daily_per_member   integer CHECK (daily_per_member > 0),
    monthly_per_member integer CHECK (monthly_per_member > 0),
    updated_by         text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A member's redemption of a reward: points held at order time, posted when the
-- merchant serves it (核销), voided when cancelled or expired.
CREATE TABLE redemptions (
    id               bigserial PRIMARY KEY,
    reward_id        bigint NOT NULL REFERENCES rewards (id),
    member_id        bigint NOT NULL REFERENCES members (id),
    merchant_id      bigint NOT NULL REFERENCES merchants (id),
    -- The member's (or the partner's) key for this order: a retry finds it.
    request_key      text NOT NULL CHECK (request_key ~ '^[\x21-\x7e]{1,64}$'),
    -- Shown as text and as a QR code; unguessable, unique.
    voucher_code     text NOT NULL UNIQUE CHECK (voucher_code ~ '^[0-9]{12}$'),
    value_fen        bigint NOT NULL CHECK (value_fen > 0),
    -- Collected at the counter by the merchant; not in the ledger.
    cash_fen         bigint NOT NULL CHECK (cash_fen >= 0),
    -- [{program, points, value_fen, fee_fen}], as priced at order time.
    payment          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'held'
                     CHECK (status IN ('held', 'fulfilled', 'cancelled', 'expired')),
    hold_entry_id    bigint NOT NULL REFERENCES journal_entries (id),
    resolve_entry_id bigint REFERENCES journal_entries (id),
    expires_at       timestamptz NOT NULL,
    store_id         bigint REFERENCES stores (id),
    resolved_by      text,
    resolved_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (member_id, request_key),
    CHECK ((status = 'held') = (resolve_entry_id IS NULL))
);
-- Caps count live and served redemptions of a reward by time.
CREATE INDEX redemptions_reward ON redemptions (reward_id, created_at) WHERE status IN ('held', 'fulfilled');
CREATE INDEX redemptions_member ON redemptions (member_id, created_at DESC);
CREATE INDEX redemptions_due ON redemptions (expires_at) WHERE status = 'held';
