-- Imports of a merchant's existing programme (issue #19): members, opening
-- balances as lots, and order history, from CSV.

-- Each run of `alliance import` (or the platform's import page): what it read,
-- how far it got, and the time its opening balances take effect. A run killed
-- half-way is resumed by the next run of the same file (same merchant, kind,
-- options and SHA-256): `units_done` says how many of its units — members,
-- member-programme groups of lots, orders — committed, in the same transaction
-- as their rows.
CREATE TABLE imports (
    id             bigserial PRIMARY KEY,
    merchant_id    bigint NOT NULL REFERENCES merchants (id),
    kind           text NOT NULL CHECK (kind IN ('members', 'lots', 'orders')),
    file_name      text NOT NULL,
    file_sha256    bytea NOT NULL CHECK (octet_length(file_sha256) = 32),
    -- Orders only: whether they earn points.
    award          boolean NOT NULL DEFAULT false,
    -- Whether invalid rows were skipped (and written to a rejects file).
    skip_invalid   boolean NOT NULL DEFAULT false,
    rows_total     integer NOT NULL CHECK (rows_total >= 0),
    rows_rejected  integer NOT NULL CHECK (rows_rejected >= 0),
    units_total    integer NOT NULL CHECK (units_total >= 0),
    units_done     integer NOT NULL DEFAULT 0,
    -- What the run booked (rows it added; a re-run adds none).
    rows_booked    integer NOT NULL DEFAULT 0,
    -- The earliest effective time of anything it books: the merchant's join
    -- time, or the end of its last settled period if later. Fixed at the
    -- first run so that a resumed run sends the ledger the same entries.
    effective_floor timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    started_by     text NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    failure        text,
    CHECK (units_done BETWEEN 0 AND units_total)
);
CREATE INDEX imports_merchant ON imports (merchant_id, started_at DESC);
CREATE INDEX imports_file ON imports (merchant_id, kind, file_sha256);

-- Imported history is an order source of its own.
ALTER TABLE earn_orders DROP CONSTRAINT earn_orders_source_check;
ALTER TABLE earn_orders ADD CONSTRAINT earn_orders_source_check
    CHECK (source IN ('api', 'portal', 'import'));

-- A tier a merchant's import brings for a member is a change of its own.
ALTER TABLE member_tier_changes DROP CONSTRAINT member_tier_changes_reason_check;
ALTER TABLE member_tier_changes ADD CONSTRAINT member_tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade', 'manual', 'import'));
