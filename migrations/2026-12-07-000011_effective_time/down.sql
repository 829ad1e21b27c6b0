DROP VIEW ledger_movements;
CREATE VIEW ledger_movements AS
SELECT t.id AS transfer_id,
       t.journal_entry_id AS entry_id,
       j.kind,
       j.metadata,
       j.created_at AS entry_created_at,
       t.created_at,
       t.asset,
       t.debit_account_id,
       t.credit_account_id,
       t.amount
  FROM transfers t
  LEFT JOIN journal_entries j ON j.id = t.journal_entry_id
 WHERE t.phase IN ('posted', 'post_pending');

DROP INDEX journal_entries_kind_effective;
CREATE INDEX journal_entries_kind_time ON journal_entries (kind, created_at);

ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entries_backdated_only,
    DROP COLUMN effective_at;
