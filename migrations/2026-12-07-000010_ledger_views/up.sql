-- The ledger's read interface (issue #18): other modules read the books
-- through these views and never name transfers, journal_entries or
-- account_balances, so the ledger alone knows how it stores them. Each view
-- is a plain SELECT that PostgreSQL inlines into the query using it: the
-- tables' indexes serve it as if the query named them.

-- Every transfer that moved value: a posted one, or the post of a hold (a hold
-- counts when it is posted, a voided one never), with its entry. `created_at`
-- is the transfer's booking time, `entry_created_at` its entry's — the same
-- instant; filter on the latter with `kind` to use the entries' (kind,
-- created_at) index. Every transfer has an entry: the join is LEFT only so that
-- PostgreSQL drops it from queries that read no entry column.
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

-- Every hold and how it ended: `outcome` is NULL while it is open, else
-- 'posted' or 'voided', and `resolved_by` the entry that ended it.
CREATE VIEW ledger_holds AS
SELECT t.id AS hold_id,
       t.journal_entry_id AS entry_id,
       t.asset,
       t.debit_account_id,
       t.credit_account_id,
       t.amount,
       t.expires_at,
       t.created_at,
       r.journal_entry_id AS resolved_by,
       CASE r.phase WHEN 'post_pending' THEN 'posted' WHEN 'void_pending' THEN 'voided' END
           AS outcome
  FROM transfers t
  LEFT JOIN transfers r ON r.pending_id = t.id
 WHERE t.phase = 'pending';

-- Every balance row with its account. Hot house accounts spread their balance
-- over several shards: an account's balance is the sum of its rows.
CREATE VIEW ledger_balance_shards AS
SELECT a.id AS account_id,
       b.shard,
       a.code,
       a.asset,
       a.owner_kind,
       a.owner_id,
       a.purpose,
       b.debits_posted,
       b.credits_posted,
       b.debits_pending,
       b.credits_pending
  FROM accounts a
  JOIN account_balances b ON b.account_id = a.id;
