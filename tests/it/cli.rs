//! The `alliance` binary itself, as an operator runs it.

use std::process::{Command, Output};

use diesel::{RunQueryDsl, sql_query};

use crate::{harness::TestDb, ledger_support::*};

fn alliance(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alliance"))
        .args(args)
        .env_remove("ALLIANCE_ENV")
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run the alliance binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn migrate_brings_an_empty_database_up_to_date_and_is_idempotent() {
    let db = TestDb::empty();
    let first = alliance(&db, &["migrate"], &[]);
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout(&first).starts_with("migrations applied: "),
        "{}",
        stdout(&first)
    );
    let again = alliance(&db, &["migrate"], &[]);
    assert!(
        stdout(&again).contains("none pending"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn ledger_verify_passes_clean_books_and_names_a_tampered_account() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 10)).unwrap();

    let clean = alliance(&db, &["ledger", "verify"], &[]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(stdout(&clean).contains("clean"));

    sql_query(format!(
        "UPDATE account_balances SET credits_posted = 12 WHERE account_id = {wallet}"
    ))
    .execute(conn)
    .unwrap();
    let dirty = alliance(&db, &["ledger", "verify"], &[]);
    assert_eq!(dirty.status.code(), Some(1), "{dirty:?}");
    assert!(stdout(&dirty).contains("p:wallet"), "{}", stdout(&dirty));
}

#[test]
fn production_refuses_to_start_on_default_secrets_and_says_why() {
    let db = TestDb::new();
    let output = alliance(&db, &["serve"], &[("ALLIANCE_ENV", "production")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ALLIANCE_SECRET_KEY"), "{stderr}");
}
