//! PostgreSQL itself refuses what the ledger must never contain, whatever the
//! application does. Raw SQL on purpose: these bypass the Rust code.

use diesel::{RunQueryDsl, sql_query};

use crate::{harness::TestDb, ledger_support::*};

fn refused(conn: &mut diesel::PgConnection, sql: &str) -> String {
    match sql_query(sql).execute(conn) {
        Ok(n) => panic!("the database accepted `{sql}` ({n} rows)"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_database_refuses_to_update_or_delete_a_transfer_or_entry() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 10)).unwrap();
    assert!(refused(conn, "UPDATE transfers SET amount = 1000").contains("immutable"));
    assert!(refused(conn, "DELETE FROM transfers").contains("immutable"));
    assert!(refused(conn, "TRUNCATE transfers CASCADE").contains("immutable"));
    assert!(refused(conn, "UPDATE journal_entries SET kind = 'adjust'").contains("immutable"));
    assert!(refused(conn, "DELETE FROM journal_entries").contains("immutable"));
    assert_verified(conn);
}

#[test]
fn the_database_refuses_a_transfer_between_accounts_of_different_assets() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, _) = issuer_and_wallet(conn, "p");
    let cash = open(conn, "cash", "CNY", false, 1);
    sql_query("INSERT INTO journal_entries (idempotency_key, request_hash, kind) VALUES ('raw', decode(repeat('00', 32), 'hex'), 'test')")
        .execute(conn)
        .unwrap();
    let err = refused(
        conn,
        &format!(
            "INSERT INTO transfers (journal_entry_id, asset, debit_account_id, debit_shard, credit_account_id, credit_shard, amount, phase) \
             SELECT id, 'PTS', {issuer}, 0, {cash}, 0, 5, 'posted' FROM journal_entries WHERE idempotency_key = 'raw'"
        ),
    );
    assert!(err.contains("foreign key"), "{err}");
}

#[test]
fn the_database_refuses_an_overdraft_of_a_no_overdraft_account() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 10)).unwrap();
    let err = refused(
        conn,
        &format!("UPDATE account_balances SET debits_posted = 11 WHERE account_id = {wallet}"),
    );
    assert!(err.contains("balance_no_overdraft"), "{err}");
    let err = refused(
        conn,
        &format!("UPDATE account_balances SET debits_pending = 11 WHERE account_id = {wallet}"),
    );
    assert!(err.contains("balance_no_overdraft"), "{err}");
    // A house account has no floor.
    sql_query(format!(
        "UPDATE account_balances SET debits_posted = debits_posted + 0 WHERE account_id = {issuer}"
    ))
    .execute(conn)
    .unwrap();
}

#[test]
fn the_database_refuses_a_balance_row_whose_flag_differs_from_its_account() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (_, wallet) = issuer_and_wallet(conn, "p");
    let err = refused(
        conn,
        &format!("UPDATE account_balances SET no_overdraft = false WHERE account_id = {wallet}"),
    );
    assert!(err.contains("foreign key"), "{err}");
}
