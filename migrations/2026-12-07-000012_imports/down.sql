ALTER TABLE member_tier_changes DROP CONSTRAINT member_tier_changes_reason_check;
ALTER TABLE member_tier_changes ADD CONSTRAINT member_tier_changes_reason_check
    CHECK (reason IN ('upgrade', 'downgrade', 'manual'));
ALTER TABLE earn_orders DROP CONSTRAINT earn_orders_source_check;
ALTER TABLE earn_orders ADD CONSTRAINT earn_orders_source_check
    CHECK (source IN ('api', 'portal'));
DROP TABLE imports;
