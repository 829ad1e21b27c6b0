-- Holds reserve specific lots, and refunds claim points a hold has reserved.
--
-- A lot's `remaining` still counts every unspent point of it, held or not, so
-- the lots of a wallet sum to its posted balance; `reserved` is the part of it
-- pending holds have set aside (oldest lots first), so the reserved points of a
-- wallet sum to its pending debits. Expiry takes only `remaining - reserved`.
ALTER TABLE point_lots
    ADD COLUMN reserved bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT point_lots_reserved_within_remaining CHECK (reserved BETWEEN 0 AND remaining);

-- Which hold reserved what of which lot; deleted when the hold is posted or voided.
CREATE TABLE lot_reservations (
    hold_id  bigint NOT NULL REFERENCES transfers (id),
    lot_id   bigint NOT NULL REFERENCES point_lots (id),
    points   bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (hold_id, lot_id)
);
CREATE INDEX lot_reservations_lot ON lot_reservations (lot_id);

-- Points a refund could not take because a pending hold held them: taken when
-- the hold is voided, reported unrecovered only when it is posted.
ALTER TABLE earn_orders
    ADD COLUMN points_claimed bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT earn_orders_claimed_within_points
        CHECK (points_claimed >= 0 AND points_reversed + points_unrecovered + points_claimed <= points);
ALTER TABLE earn_refunds
    ADD COLUMN points_claimed bigint NOT NULL DEFAULT 0 CHECK (points_claimed >= 0);

CREATE TABLE refund_claims (
    id              bigserial PRIMARY KEY,
    earn_refund_id  bigint NOT NULL REFERENCES earn_refunds (id),
    hold_id         bigint NOT NULL REFERENCES transfers (id),
    points          bigint NOT NULL CHECK (points > 0),
    -- NULL while the hold is pending; `taken` when its void let the refund take
    -- the points back, `spent` when its post spent them.
    outcome         text CHECK (outcome IN ('taken', 'spent')),
    resolved_at     timestamptz,
    UNIQUE (earn_refund_id, hold_id),
    CHECK ((outcome IS NULL) = (resolved_at IS NULL))
);
CREATE INDEX refund_claims_open ON refund_claims (hold_id) WHERE outcome IS NULL;

-- Holds pending now reserve their wallet's lots as a hold booked from now on
-- would have: holds in the order they were booked, lots oldest expiry first.
WITH holds AS (
    SELECT t.id AS hold_id, a.owner_id AS member_id, a.asset AS program_code, t.amount,
           sum(t.amount) OVER (PARTITION BY t.debit_account_id ORDER BY t.id) - t.amount AS starts
      FROM transfers t
      JOIN accounts a ON a.id = t.debit_account_id
     WHERE t.phase = 'pending' AND a.purpose = 'wallet' AND a.owner_kind = 'member'
       AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
), lots AS (
    SELECT id AS lot_id, member_id, program_code, remaining,
           sum(remaining) OVER (PARTITION BY member_id, program_code
                                ORDER BY expires_at ASC NULLS LAST, id) - remaining AS starts
      FROM point_lots
     WHERE remaining > 0
)
INSERT INTO lot_reservations (hold_id, lot_id, points)
SELECT h.hold_id, l.lot_id,
       least(h.starts + h.amount, l.starts + l.remaining) - greatest(h.starts, l.starts)
  FROM holds h
  JOIN lots l ON l.member_id = h.member_id AND l.program_code = h.program_code
 WHERE least(h.starts + h.amount, l.starts + l.remaining) > greatest(h.starts, l.starts);

UPDATE point_lots l
   SET reserved = r.points
  FROM (SELECT lot_id, sum(points) AS points FROM lot_reservations GROUP BY lot_id) r
 WHERE r.lot_id = l.id;
