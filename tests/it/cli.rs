//! The `alliance` binary itself, as an operator runs it.

use std::process::{Command, Output};

use alliance::{
    crypto::Keys,
    domain::portal::Portal,
    people::operator::{self, Operator, OperatorRole},
};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};

use crate::{harness::TestDb, ledger_support::*, people_support::check_sign_in};

/// Given to the binary, so the test can derive the same keys.
const SECRET_KEY: &str = "cli test secret key, longer than 32 characters";

/// As `alliance`, with `SECRET_KEY`.
fn alliance_keyed(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let env: Vec<(&str, &str)> = [("ALLIANCE_SECRET_KEY", SECRET_KEY)]
        .into_iter()
        .chain(env.iter().copied())
        .collect();
    alliance(db, args, &env)
}

fn alliance(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alliance"))
        .args(args)
        // Each test decides these, not the shell that runs the suite.
        .env_remove("ALLIANCE_ENV")
        .env_remove("ALLIANCE_OPERATOR_PASSWORD")
        .env_remove("ALLIANCE_SECRET_KEY")
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run the alliance binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Signs in on the platform portal as the binary's server would.
fn sign_in_operator(db: &TestDb, email: &str, password: &str) -> Operator {
    let keys = Keys::derive(SECRET_KEY);
    let id = check_sign_in(db, &keys, Portal::Platform, email, password)
        .unwrap_or_else(|e| panic!("{email} cannot sign in: {e}"));
    operator::find(&mut db.conn(), id).unwrap().unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn cli_audited_operator_creates(conn: &mut PgConnection) -> i64 {
    sql_query(
        "SELECT count(*) AS count FROM audit_events \
         WHERE action = 'operator.create' AND actor_label = 'system:cli'",
    )
    .get_result::<Count>(conn)
    .unwrap()
    .count
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

#[test]
fn operator_create_prints_a_generated_password_once_and_refuses_a_duplicate() {
    let db = TestDb::new();
    let args = [
        "operator",
        "create",
        "--email",
        "First.Admin@Example.cn",
        "--role",
        "admin",
    ];
    let created = alliance_keyed(&db, &args, &[]);
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    let printed = stdout(&created);
    let password = printed
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password printed: {printed}"));
    assert!(printed.contains("change it"), "{printed}");

    let conn = &mut db.conn();
    let admin = sign_in_operator(&db, "first.admin@example.cn", password);
    assert_eq!(admin.role, OperatorRole::Admin);
    assert_eq!(admin.display_name, "first.admin");
    assert_eq!(cli_audited_operator_creates(conn), 1);

    let again = alliance_keyed(&db, &args, &[]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(stderr(&again).contains("already exists"), "{again:?}");
    assert!(!stdout(&again).contains("password"), "{again:?}");
    assert_eq!(operator::list(conn).unwrap().len(), 1);
}

#[test]
fn operator_create_takes_a_strong_password_from_the_environment_and_never_prints_it() {
    let db = TestDb::new();
    let args = [
        "operator",
        "create",
        "--email",
        "finance@example.cn",
        "--role",
        "finance",
        "--name",
        "钱佳",
    ];
    let weak = alliance_keyed(&db, &args, &[("ALLIANCE_OPERATOR_PASSWORD", "short")]);
    assert_eq!(weak.status.code(), Some(1), "{weak:?}");
    assert!(
        stderr(&weak).contains("ALLIANCE_OPERATOR_PASSWORD is too weak"),
        "{weak:?}"
    );
    let conn = &mut db.conn();
    assert!(operator::list(conn).unwrap().is_empty());

    let chosen = "finance-passphrase-2026";
    let created = alliance_keyed(&db, &args, &[("ALLIANCE_OPERATOR_PASSWORD", chosen)]);
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    assert!(!stdout(&created).contains(chosen), "{created:?}");
    let finance = sign_in_operator(&db, "finance@example.cn", chosen);
    assert_eq!(
        (finance.role, finance.display_name.as_str()),
        (OperatorRole::Finance, "钱佳")
    );

    let unknown_role = alliance(
        &db,
        &[
            "operator",
            "create",
            "--email",
            "x@example.cn",
            "--role",
            "boss",
        ],
        &[],
    );
    assert_eq!(unknown_role.status.code(), Some(2), "{unknown_role:?}");
    assert!(stderr(&unknown_role).contains("admin, operator, finance, risk"));
}

#[test]
fn jobs_expire_points_lapses_lots_past_their_date_once() {
    use alliance::{
        domain::{actor::Actor, money::Money},
        earn::{self, EarnRequest, OrderId, Source},
    };

    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = crate::people_support::funded_shop(conn, "COFFEE", "0.01");
    let alice = crate::people_support::member(conn, &Keys::derive(SECRET_KEY), "13800000001", None);
    let request = EarnRequest {
        merchant_id: shop,
        order_id: OrderId::parse("POS-1").unwrap(),
        member_id: alice,
        amount: Money::parse("66.00").unwrap(),
        occurred_at: None,
        store_id: None,
        program: None,
        source: Source::Api,
        device_id: None,
        ip: None,
    };
    earn::earn(conn, &request, &Actor::system("test")).unwrap();
    sql_query("UPDATE point_lots SET expires_at = now() - interval '1 day'")
        .execute(conn)
        .unwrap();

    let first = alliance_keyed(&db, &["jobs", "expire-points"], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stdout(&first).trim(), "expired points from 1 lots");
    let again = alliance_keyed(&db, &["jobs", "expire-points"], &[]);
    assert_eq!(stdout(&again).trim(), "expired points from 0 lots");
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn jobs_publish_rates_stores_a_rate_set_for_every_program() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    crate::exchange_support::two_programs(conn);

    let output = alliance(&db, &["jobs", "publish-rates"], &[]);

    assert!(output.status.success(), "{}", stderr(&output));
    let publication = alliance::exchange::rates::recent_publications(conn, 1)
        .unwrap()
        .pop()
        .expect("a publication");
    assert_eq!(
        stdout(&output).trim(),
        format!("published rate set #{} for 2 programs", publication.id)
    );
    assert_eq!(publication.trigger.as_str(), "schedule");
}
