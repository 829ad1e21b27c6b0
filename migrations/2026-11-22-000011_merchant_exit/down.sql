DROP TABLE merchant_exit_notices;
DROP TABLE merchant_exits;
-- A merchant still serving its notice is taken as gone, the only status the
-- older schema has for it.
UPDATE merchants SET status = 'exited' WHERE status = 'exiting';
ALTER TABLE merchants DROP CONSTRAINT merchants_status_check;
ALTER TABLE merchants ADD CONSTRAINT merchants_status_check
    CHECK (status IN ('active', 'suspended', 'exited'));
