-- Effective time (issue #19): every journal entry has the time it happened in
-- the world (`effective_at`, its value date) beside the time it was booked
-- (`created_at`). They are the same instant except for history an import
-- brings in, which is backdated — never later than it was booked, which the
-- CHECK makes the database itself refuse. Reports, dashboards, lots, expiry
-- and settlement periods read effective time.

ALTER TABLE journal_entries ADD COLUMN effective_at timestamptz;

-- Entries already booked happened when they were booked. Entries are
-- immutable (the trigger refuses every UPDATE); this one schema change fills
-- the new column with the trigger paused, inside the migration's transaction.
ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable;
UPDATE journal_entries SET effective_at = created_at;
ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_immutable;

-- A row inserted without it happened when it was booked: `now()` is the
-- transaction's start, the same instant `created_at` defaults to.
ALTER TABLE journal_entries
    ALTER COLUMN effective_at SET NOT NULL,
    ALTER COLUMN effective_at SET DEFAULT now(),
    ADD CONSTRAINT journal_entries_backdated_only CHECK (effective_at <= created_at);

-- Reports and dashboards filter entries by kind and effective time.
DROP INDEX journal_entries_kind_time;
CREATE INDEX journal_entries_kind_effective ON journal_entries (kind, effective_at);

-- The movements view carries effective time instead of the entry's booking
-- time; `created_at` stays the transfer's booking time.
DROP VIEW ledger_movements;
CREATE VIEW ledger_movements AS
SELECT t.id AS transfer_id,
       t.journal_entry_id AS entry_id,
       j.kind,
       j.metadata,
       j.effective_at,
       t.created_at,
       t.asset,
       t.debit_account_id,
       t.credit_account_id,
       t.amount
  FROM transfers t
  LEFT JOIN journal_entries j ON j.id = t.journal_entry_id
 WHERE t.phase IN ('posted', 'post_pending');
