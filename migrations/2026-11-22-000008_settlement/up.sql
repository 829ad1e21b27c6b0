-- Periodic settlement of each merchant's position with the house (LEDGER.md,
-- "Settle"): the contract terms, the split of payouts among recipients, the
-- statements with the settlement-account transfers each one covers, payouts and
-- their bank batches, collections of what merchants owe, the leases that keep two
-- server processes from running one job at once, and the outbox of signed
-- webhooks.

-- Each merchant's settlement contract. A merchant without a row settles on the
-- defaults (`settlement::terms`).
CREATE TABLE settlement_terms (
    merchant_id         bigint PRIMARY KEY REFERENCES merchants (id),
    cycle               text NOT NULL CHECK (cycle IN ('daily', 'weekly', 'monthly')),
    -- ISO weekday (1 = Monday) a weekly period starts on.
    weekday             smallint CHECK (weekday BETWEEN 1 AND 7),
    -- Day of the month a monthly period starts on; at most 28 so every month has it.
    month_day           smallint CHECK (month_day BETWEEN 1 AND 28),
    -- The platform's share of every payout, in basis points.
    platform_fee_bp     integer NOT NULL CHECK (platform_fee_bp BETWEEN 0 AND 10000),
    -- Days a merchant has to pay what a statement says it owes.
    collection_days     smallint NOT NULL CHECK (collection_days BETWEEN 1 AND 90),
    -- Whether an overdue amount may be taken from the settlement deposit.
    deduct_from_deposit boolean NOT NULL,
    -- Where statements are emailed; the merchant's contact when empty.
    finance_email       text CHECK (finance_email <> ''),
    updated_by          text NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((cycle = 'weekly') = (weekday IS NOT NULL)),
    CHECK ((cycle = 'monthly') = (month_day IS NOT NULL))
);

-- Who a merchant's payouts go to (分账). Exactly one active recipient per merchant
-- takes the rest; the others take a percentage or a fixed amount.
CREATE TABLE payout_recipients (
    id                 bigserial PRIMARY KEY,
    merchant_id        bigint NOT NULL REFERENCES merchants (id),
    kind               text NOT NULL CHECK (kind IN ('own_account', 'agent')),
    name               text NOT NULL CHECK (name <> ''),
    bank_name          text NOT NULL CHECK (bank_name <> ''),
    bank_code          text CHECK (bank_code <> ''),
    -- The account number, sealed like every bank account (onboarding::BankAccountNumber).
    account_ciphertext bytea NOT NULL,
    account_last4      text NOT NULL,
    share_kind         text NOT NULL CHECK (share_kind IN ('rest', 'percent', 'fixed')),
    share_bp           integer CHECK (share_bp BETWEEN 1 AND 10000),
    share_fen          bigint CHECK (share_fen > 0),
    position           smallint NOT NULL,
    active             boolean NOT NULL DEFAULT true,
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((share_kind = 'percent') = (share_bp IS NOT NULL)),
    CHECK ((share_kind = 'fixed') = (share_fen IS NOT NULL))
);
CREATE INDEX payout_recipients_merchant ON payout_recipients (merchant_id) WHERE active;
CREATE UNIQUE INDEX payout_recipients_one_rest ON payout_recipients (merchant_id)
    WHERE active AND share_kind = 'rest';

-- One pass of the scheduler or of an operator over the merchants that are due.
CREATE TABLE settlement_runs (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL CHECK (trigger IN ('schedule', 'operator')),
    started_by  text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    settled     integer NOT NULL DEFAULT 0,
    payout_fen  bigint NOT NULL DEFAULT 0,
    owed_fen    bigint NOT NULL DEFAULT 0,
    -- Merchants that could not be settled, with why: [{merchant_id, error}].
    exceptions  jsonb NOT NULL DEFAULT '[]'::jsonb
);

-- One statement per (merchant, period). Positions are credits minus debits of
-- `merchant:m:settlement` in fen: positive, the house owes the merchant.
-- closing = opening + activity; carried = closing less what the settlement
-- itself booked (the payout), and becomes the next statement's opening.
CREATE TABLE settlement_statements (
    id               bigserial PRIMARY KEY,
    merchant_id      bigint NOT NULL REFERENCES merchants (id),
    run_id           bigint REFERENCES settlement_runs (id),
    cycle            text NOT NULL,
    period_start     timestamptz NOT NULL,
    period_end       timestamptz NOT NULL,
    opening_fen      bigint NOT NULL,
    activity_fen     bigint NOT NULL,
    closing_fen      bigint NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('payout', 'collection', 'nil')),
    platform_fee_fen bigint NOT NULL CHECK (platform_fee_fen >= 0),
    carried_fen      bigint NOT NULL,
    -- Where the next statement starts looking for unclaimed transfers: the
    -- smallest transfer id this one claimed (a transfer that commits late was
    -- still numbered after the start of the period before).
    scan_from_id     bigint NOT NULL,
    -- The payout booking (`settle:...`), when the outcome is a payout.
    journal_entry_id bigint REFERENCES journal_entries (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- When the statement was emailed and its webhook queued.
    notified_at      timestamptz,
    UNIQUE (merchant_id, period_start),
    CHECK (period_end > period_start),
    CHECK (closing_fen = opening_fen + activity_fen),
    CHECK ((outcome = 'payout') = (journal_entry_id IS NOT NULL))
);
CREATE INDEX settlement_statements_merchant ON settlement_statements (merchant_id, period_end DESC);
CREATE INDEX settlement_statements_run ON settlement_statements (run_id);

-- A statement is a record of what was settled: only the notice time may change.
CREATE FUNCTION settlement_statement_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'settlement statements are never deleted';
    END IF;
    IF (to_jsonb(NEW) - 'notified_at') IS DISTINCT FROM (to_jsonb(OLD) - 'notified_at') THEN
        RAISE EXCEPTION 'a settlement statement is never rewritten; corrections go to the next period';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settlement_statements_immutable BEFORE UPDATE OR DELETE ON settlement_statements
    FOR EACH ROW EXECUTE FUNCTION settlement_statement_refuse_change();

-- The statement's activity grouped by the kind of journal entry and direction.
-- `correction` marks reversals of earlier activity (a late refund, a failed payout).
CREATE TABLE settlement_lines (
    statement_id bigint NOT NULL REFERENCES settlement_statements (id),
    kind         text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('in', 'out')),
    correction   boolean NOT NULL,
    transfers    integer NOT NULL CHECK (transfers > 0),
    amount_fen   bigint NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (statement_id, kind, direction)
);

-- Which statement covers each posted transfer of a settlement account: a transfer
-- is settled exactly once, whenever it committed.
CREATE TABLE settlement_claims (
    transfer_id  bigint PRIMARY KEY REFERENCES transfers (id),
    statement_id bigint NOT NULL REFERENCES settlement_statements (id)
);
CREATE INDEX settlement_claims_statement ON settlement_claims (statement_id);

-- A bank file of payouts: created, sent to the bank, then each payout in it is
-- confirmed or failed.
CREATE TABLE payout_batches (
    id             bigserial PRIMARY KEY,
    -- The pain.001 MsgId.
    reference      text NOT NULL UNIQUE,
    execution_date date NOT NULL,
    payouts        integer NOT NULL CHECK (payouts > 0),
    total_fen      bigint NOT NULL CHECK (total_fen > 0),
    status         text NOT NULL CHECK (status IN ('created', 'sent', 'closed')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_by        text,
    sent_at        timestamptz
);

-- One transfer to one recipient of one statement's payout.
CREATE TABLE payouts (
    id                bigserial PRIMARY KEY,
    statement_id      bigint NOT NULL REFERENCES settlement_statements (id),
    merchant_id       bigint NOT NULL REFERENCES merchants (id),
    recipient_id      bigint NOT NULL REFERENCES payout_recipients (id),
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    -- The ISO 20022 EndToEndId.
    reference         text NOT NULL UNIQUE,
    status            text NOT NULL CHECK (status IN ('pending', 'batched', 'sent', 'confirmed', 'failed')),
    batch_id          bigint REFERENCES payout_batches (id),
    -- `house:payouts → house:bank` when confirmed, `house:payouts → merchant:m:settlement` when failed.
    resolved_entry_id bigint REFERENCES journal_entries (id),
    failure_reason    text,
    resolved_by       text,
    resolved_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (batch_id IS NULL)),
    CHECK ((status IN ('confirmed', 'failed')) = (resolved_entry_id IS NOT NULL))
);
CREATE INDEX payouts_statement ON payouts (statement_id);
CREATE INDEX payouts_pending ON payouts (id) WHERE status = 'pending';
CREATE INDEX payouts_batch ON payouts (batch_id);
CREATE INDEX payouts_merchant ON payouts (merchant_id, id DESC);

-- What a statement says a merchant owes, until paid. A later statement that still
-- finds the merchant owing supersedes the open collection (its closing includes
-- the older debt) and keeps the earlier due date.
CREATE TABLE settlement_collections (
    id            bigserial PRIMARY KEY,
    statement_id  bigint NOT NULL UNIQUE REFERENCES settlement_statements (id),
    merchant_id   bigint NOT NULL REFERENCES merchants (id),
    amount_fen    bigint NOT NULL CHECK (amount_fen > 0),
    collected_fen bigint NOT NULL DEFAULT 0 CHECK (collected_fen >= 0),
    due_on        date NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'overdue', 'paid', 'superseded')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    CHECK (collected_fen <= amount_fen)
);
CREATE UNIQUE INDEX settlement_collections_one_open ON settlement_collections (merchant_id)
    WHERE status IN ('open', 'overdue');

-- A lease on a named job: whoever holds an unexpired lease runs it. Several
-- server processes share one database; the lease keeps them from running the same
-- job at the same time.
CREATE TABLE job_leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now()
);

-- Merchants sign webhook checks with this secret (shown once when set).
ALTER TABLE merchants ADD COLUMN webhook_secret_ciphertext bytea;

-- Webhooks to send: written in the transaction that caused them, delivered and
-- retried by a job, signed like partner-API requests.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    merchant_id     bigint NOT NULL REFERENCES merchants (id),
    event           text NOT NULL,
    -- One delivery per event and subject (e.g. `settlement.ready` of statement 7).
    subject         text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, event, subject)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
