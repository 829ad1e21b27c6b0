-- A settlement run whose process died mid-way never finishes: the next run
-- marks it interrupted (see settlement::run), and the portal shows that.
ALTER TABLE settlement_runs
    ADD COLUMN interrupted_at timestamptz,
    ADD CONSTRAINT settlement_runs_ends_once
        CHECK (finished_at IS NULL OR interrupted_at IS NULL);
