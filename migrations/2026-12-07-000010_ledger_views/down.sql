DROP VIEW ledger_balance_shards;
DROP VIEW ledger_holds;
DROP VIEW ledger_movements;
