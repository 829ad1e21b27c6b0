-- The double-entry ledger (see shared/design/LEDGER.md).
-- Every balance in Alliance is the sum of the immutable transfers below.

CREATE TABLE assets (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
    -- Decimal places of one minor unit: CNY is 2 (fen), points are 0.
    scale      smallint NOT NULL CHECK (scale BETWEEN 0 AND 6),
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id           bigserial PRIMARY KEY,
    -- A stable, human-readable key chosen by the owner's domain, e.g. 'house:clearing'.
    code         text NOT NULL UNIQUE CHECK (code <> ''),
    asset        text NOT NULL REFERENCES assets (code),
    owner_kind   text NOT NULL CHECK (owner_kind ~ '^[a-z_]+$'),
    owner_id     bigint,
    purpose      text NOT NULL CHECK (purpose ~ '^[a-z_]+$'),
    -- Credit-normal accounts that hold value for their owner (member wallets,
    -- deposits): debits may never exceed credits.
    no_overdraft boolean NOT NULL,
    -- Hot house accounts spread their balance over several rows (see ledger/mod.rs).
    shards       smallint NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 64),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (no_overdraft AND shards > 1)),
    -- Targets of the composite foreign keys below.
    UNIQUE (id, asset),
    UNIQUE (id, asset, no_overdraft)
);
CREATE INDEX accounts_owner ON accounts (owner_kind, owner_id);

CREATE TABLE account_balances (
    account_id      bigint NOT NULL,
    shard           smallint NOT NULL CHECK (shard >= 0),
    asset           text NOT NULL,
    no_overdraft    boolean NOT NULL,
    debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    PRIMARY KEY (account_id, shard),
    -- The copied flag and asset always match the account's own.
    FOREIGN KEY (account_id, asset, no_overdraft) REFERENCES accounts (id, asset, no_overdraft),
    -- PostgreSQL itself refuses an overdraft, whatever the application does.
    -- Pending debits count against what is available.
    CONSTRAINT balance_no_overdraft
        CHECK (NOT no_overdraft OR debits_posted + debits_pending <= credits_posted)
) WITH (fillfactor = 70); -- room for HOT updates: these rows change on every transfer

CREATE TABLE journal_entries (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- SHA-256 of the canonical request; a retry must match it exactly.
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,31}$'),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journal_entries_kind_time ON journal_entries (kind, created_at);

CREATE TABLE transfers (
    id                bigserial PRIMARY KEY,
    journal_entry_id  bigint NOT NULL REFERENCES journal_entries (id),
    asset             text NOT NULL,
    debit_account_id  bigint NOT NULL,
    debit_shard       smallint NOT NULL CHECK (debit_shard >= 0),
    credit_account_id bigint NOT NULL,
    credit_shard      smallint NOT NULL CHECK (credit_shard >= 0),
    amount            bigint NOT NULL CHECK (amount > 0),
    -- posted: moves value now. pending: a hold. post_pending / void_pending resolve
    -- the hold named by pending_id (TigerBeetle's two-phase semantics).
    phase             text NOT NULL CHECK (phase IN ('posted', 'pending', 'post_pending', 'void_pending')),
    pending_id        bigint REFERENCES transfers (id),
    expires_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- Both accounts carry the transfer's asset: balanced by construction.
    FOREIGN KEY (debit_account_id, asset) REFERENCES accounts (id, asset),
    FOREIGN KEY (credit_account_id, asset) REFERENCES accounts (id, asset),
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((phase IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)),
    CHECK (expires_at IS NULL OR phase = 'pending')
);
-- A hold is resolved (posted or voided) at most once.
CREATE UNIQUE INDEX transfers_resolve_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_debit_account ON transfers (debit_account_id, id);
CREATE INDEX transfers_credit_account ON transfers (credit_account_id, id);
CREATE INDEX transfers_journal_entry ON transfers (journal_entry_id);
CREATE INDEX transfers_pending_expiry ON transfers (expires_at) WHERE phase = 'pending';

-- Journal entries and transfers are never changed: mistakes are corrected by new,
-- reversing entries.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Each `ledger verify` run, so the books page can show the last result.
CREATE TABLE ledger_verifications (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    clean       boolean NOT NULL,
    findings    jsonb NOT NULL DEFAULT '[]'::jsonb
);
