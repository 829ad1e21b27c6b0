-- A merchant leaving the alliance first serves a notice period ('exiting'):
-- it issues nothing, its programme takes no exchanges in, its members are told
-- and may still exchange out. After the notice its outstanding points are
-- converted into ALP, funded from its deposit; then it has 'exited'.
ALTER TABLE merchants DROP CONSTRAINT merchants_status_check;
ALTER TABLE merchants ADD CONSTRAINT merchants_status_check
    CHECK (status IN ('active', 'suspended', 'exiting', 'exited'));

-- One exit per merchant (leaving is final). The totals are kept by the
-- conversion passes, in the transaction of each member's conversion entry, so
-- they always agree with the ledger.
CREATE TABLE merchant_exits (
    merchant_id         bigint PRIMARY KEY REFERENCES merchants (id),
    -- The programme whose points are converted; NULL for a merchant without one.
    program_code        text REFERENCES assets (code),
    reason              text NOT NULL CHECK (reason <> ''),
    started_by          text NOT NULL,
    started_at          timestamptz NOT NULL,
    notice_ends_at      timestamptz NOT NULL CHECK (notice_ends_at > started_at),
    points_converted    bigint NOT NULL DEFAULT 0 CHECK (points_converted >= 0),
    alp_issued          bigint NOT NULL DEFAULT 0 CHECK (alp_issued >= 0),
    funded_fen          bigint NOT NULL DEFAULT 0 CHECK (funded_fen >= 0),
    -- Conversion entries booked (a member whose hold is voided later converts twice).
    conversions         integer NOT NULL DEFAULT 0 CHECK (conversions >= 0),
    -- What the last pass could not convert for want of deposit (0 when funded).
    unfunded_points     bigint NOT NULL DEFAULT 0 CHECK (unfunded_points >= 0),
    unfunded_fen        bigint NOT NULL DEFAULT 0 CHECK (unfunded_fen >= 0),
    -- Set when no points of the programme are left in members' hands or held.
    converted_at        timestamptz,
    CHECK (converted_at IS NULL OR converted_at >= notice_ends_at)
);
CREATE INDEX merchant_exits_open ON merchant_exits (notice_ends_at) WHERE converted_at IS NULL;

-- The members told of an exit (by email where they gave one): recorded before
-- sending, so a member is told at most once, at worst missed once.
CREATE TABLE merchant_exit_notices (
    merchant_id bigint NOT NULL REFERENCES merchant_exits (merchant_id),
    member_id   bigint NOT NULL REFERENCES members (id),
    points      bigint NOT NULL CHECK (points > 0),
    notified_at timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, member_id)
);
