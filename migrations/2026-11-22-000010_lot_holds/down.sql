DROP TABLE refund_claims;
ALTER TABLE earn_refunds DROP COLUMN points_claimed;
ALTER TABLE earn_orders
    DROP CONSTRAINT earn_orders_claimed_within_points,
    DROP COLUMN points_claimed;
DROP TABLE lot_reservations;
ALTER TABLE point_lots
    DROP CONSTRAINT point_lots_reserved_within_remaining,
    DROP COLUMN reserved;
