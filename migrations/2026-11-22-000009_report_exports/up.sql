-- Exports and report builds that run in the background (`export`): who asked,
-- what for, how far the build has got, and the finished file itself, kept in
-- the database so that any server process can serve it. Results are deleted a
-- week after they finish.
CREATE TABLE report_exports (
    id             bigserial PRIMARY KEY,
    requester_kind text NOT NULL CHECK (requester_kind IN ('operator', 'merchant_user')),
    requester_id   bigint NOT NULL,
    -- The merchant whose users may all see it; only for merchant users.
    merchant_id    bigint REFERENCES merchants (id),
    -- What builds it: `audit`, `report.liability`, ...
    kind           text NOT NULL CHECK (kind <> ''),
    title          text NOT NULL CHECK (title <> ''),
    filename       text NOT NULL CHECK (filename <> ''),
    content_type   text NOT NULL CHECK (content_type <> ''),
    -- What it was asked with (the filter), to show and to audit.
    params         jsonb NOT NULL,
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_done      bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    rows_total     bigint CHECK (rows_total >= 0),
    -- Why it failed, as a reason code the pages translate (the cause is logged).
    error          text CHECK (error IN ('interrupted', 'too_large', 'build_failed')),
    bytes          bytea,
    -- The process running it, and when that process last said it still was:
    -- a row whose runner stopped saying so was interrupted (a crash, a restart).
    runner         text NOT NULL,
    heartbeat_at   timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    CHECK ((requester_kind = 'merchant_user') = (merchant_id IS NOT NULL)),
    CHECK ((status = 'done') = (bytes IS NOT NULL)),
    CHECK ((status = 'failed') = (error IS NOT NULL)),
    CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL))
);
CREATE INDEX report_exports_requester ON report_exports (requester_kind, requester_id, id DESC);
CREATE INDEX report_exports_merchant ON report_exports (merchant_id, id DESC)
    WHERE merchant_id IS NOT NULL;
CREATE INDEX report_exports_unfinished ON report_exports (heartbeat_at)
    WHERE status IN ('queued', 'running');
CREATE INDEX report_exports_finished ON report_exports (finished_at)
    WHERE finished_at IS NOT NULL;
