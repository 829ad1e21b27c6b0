ALTER TABLE settlement_runs
    DROP CONSTRAINT settlement_runs_ends_once,
    DROP COLUMN interrupted_at;
