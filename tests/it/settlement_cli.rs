//! A settlement process killed in the middle of its work, for real: the
//! `alliance` binary is stopped with SIGKILL while it is inside the settlement's
//! transaction, after booking the payout and writing the statement.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use chrono::Days;
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};

use crate::{
    harness::TestDb,
    ledger_support::assert_verified,
    settlement_support::{after_one_exchange, after_one_exchange_yesterday, position, today},
};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).unwrap().n
}

fn settle_cinema(db: &TestDb, through: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alliance"));
    command
        .args([
            "jobs",
            "run",
            "settlement",
            "--merchant",
            "CINEMA",
            "--period",
            through,
        ])
        .env_remove("ALLIANCE_ENV")
        .env(
            "ALLIANCE_SECRET_KEY",
            "settlement cli test secret key, 32+ characters",
        )
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_settlement_process_killed_mid_way_books_nothing_and_the_rerun_settles_once() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange_yesterday(conn);
    let owed = position(conn, shops.cinema);
    let through = today().to_string();

    // Another session claims the transfer the run will claim, without
    // committing: the run blocks on that row after everything else it does.
    let account = alliance::chart::open(conn, &alliance::chart::merchant_settlement(shops.cinema))
        .unwrap()
        .0;
    let mut blocker = db.conn();
    sql_query("BEGIN").execute(&mut blocker).unwrap();
    sql_query(format!(
        "INSERT INTO settlement_statements (merchant_id, cycle, period_start, period_end, \
         opening_fen, activity_fen, closing_fen, outcome, platform_fee_fen, carried_fen, scan_from_id) \
         VALUES ({}, 'daily', '2100-01-01', '2100-01-02', 0, 0, 0, 'nil', 0, 0, 0)",
        shops.cinema
    ))
    .execute(&mut blocker)
    .unwrap();
    sql_query(format!(
        "INSERT INTO settlement_claims (transfer_id, statement_id) \
         SELECT t.id, (SELECT max(id) FROM settlement_statements) FROM transfers t \
         WHERE t.credit_account_id = {account}"
    ))
    .execute(&mut blocker)
    .unwrap();

    let mut child = settle_cinema(&db, &through).spawn().unwrap();
    let started = Instant::now();
    while count(
        conn,
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock' \
         AND query LIKE 'INSERT INTO \"settlement_claims\"%'",
    ) == 0
    {
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "the run never reached the claim"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // By now the payout is booked and the statement written, uncommitted.
    child.kill().unwrap();
    child.wait().unwrap();
    sql_query("ROLLBACK").execute(&mut blocker).unwrap();

    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'settle'"
        ),
        0
    );
    assert_eq!(count(conn, "SELECT count(*) AS n FROM payouts"), 0);
    assert_eq!(position(conn, shops.cinema), owed, "nothing moved");
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM settlement_runs WHERE finished_at IS NULL"
        ),
        1,
        "the killed run is left unfinished, for operators to see"
    );

    for _ in 0..2 {
        let output = settle_cinema(&db, &through).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        1
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'settle'"
        ),
        1
    );
    assert_eq!(position(conn, shops.cinema), 0);
    assert_verified(conn);
}

#[test]
fn a_period_that_has_not_ended_is_refused_with_a_clear_error_and_nothing_is_written() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let owed = position(conn, shops.cinema);
    let tomorrow = today() + Days::new(1);

    let output = settle_cinema(&db, &tomorrow.to_string()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "periods ending on {tomorrow} have not ended: today is {} (Asia/Shanghai), so a run settles through {} at the latest",
            today(),
            today()
        )),
        "{stderr}"
    );
    for table in ["settlement_runs", "settlement_statements", "payouts"] {
        assert_eq!(
            count(conn, &format!("SELECT count(*) AS n FROM {table}")),
            0,
            "{table}"
        );
    }
    assert_eq!(position(conn, shops.cinema), owed);

    // Today's period (the merchants joined today) has not ended either: a run
    // through today finds nothing due.
    let output = settle_cinema(&db, &today().to_string()).output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "settlement: nothing due"
    );
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        0
    );
}
