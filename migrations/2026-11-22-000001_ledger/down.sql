DROP TABLE ledger_verifications;
DROP TABLE transfers;
DROP TABLE journal_entries;
DROP FUNCTION ledger_refuse_change();
DROP TABLE account_balances;
DROP TABLE accounts;
DROP TABLE assets;
