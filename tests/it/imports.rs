//! `alliance import`: a merchant's members, opening balances and order history
//! come in from CSV, validated before anything is booked, booked once however
//! often (or in whatever order) a file is run, and resumed after a kill -9.

use std::{
    fmt::Write as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alliance::{
    chart,
    crypto::Keys,
    db::schema::{earn_orders, imports, journal_entries, point_lots},
    domain::{actor::Actor, id::MemberId, phone::Phone, points::ProgramCode},
    import::{self, ImportRequest, Kind, Outcome, Problem, Progress, State},
    ledger, people,
};
use diesel::{PgConnection, prelude::*};

use crate::{harness::TestDb, people_support::funded_shop};

const SECRET_KEY: &str = "import test secret key, longer than 32 characters";

struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

fn run(conn: &mut PgConnection, kind: Kind, csv: &str, skip_invalid: bool, award: bool) -> Outcome {
    import::run(
        conn,
        &Keys::derive(SECRET_KEY),
        &Actor::system("test"),
        &ImportRequest {
            kind,
            merchant_code: "COFFEE",
            file_name: "test.csv",
            bytes: csv.as_bytes(),
            skip_invalid,
            award,
        },
        &Silent,
    )
    .unwrap()
}

fn booked(outcome: &Outcome) -> i32 {
    match &outcome.state {
        State::Finished { import, .. } => import.rows_booked,
        other => panic!("not finished: {other:?}"),
    }
}

fn member_id(conn: &mut PgConnection, phone: &str) -> MemberId {
    people::member::find_by_phone(
        conn,
        &Keys::derive(SECRET_KEY),
        &Phone::parse(phone).unwrap(),
    )
    .unwrap()
    .unwrap()
    .id
}

fn wallet(conn: &mut PgConnection, phone: &str) -> i64 {
    let id = member_id(conn, phone);
    let code = chart::member_wallet(id, &ProgramCode::parse("COFFEE").unwrap()).code;
    let account = ledger::find_account(conn, &code).unwrap().unwrap();
    ledger::balance(conn, account.id).unwrap().posted()
}

const MEMBERS: &str = "phone,name,tier,joined_at\n\
                       13900000001,张三,gold,2024-01-05\n\
                       13900000002,,,2024/02/01 10:00\n";

#[test]
fn a_file_with_a_bad_row_books_nothing_and_names_each_problem_by_line_and_column() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    funded_shop(conn, "COFFEE", "0.01");
    let csv = format!("{MEMBERS}13900000001,again,,2024-01-01\n1390000,x,diamond,2999-01-01\n");
    let outcome = run(conn, Kind::Members, &csv, false, false);
    assert!(matches!(outcome.state, State::Refused));
    let found: Vec<(u64, &str, &Problem)> = outcome
        .rejections
        .iter()
        .map(|r| (r.line, r.column, &r.problem))
        .collect();
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(
        found[0],
        (4, "phone", &Problem::DuplicatePhone { first: 2 })
    );
    assert_eq!(
        (found[1].0, found[1].1, found[1].2),
        (5, "phone", &Problem::Phone)
    );
    assert_eq!((found[2].0, found[2].1), (5, "tier"));
    assert_eq!(
        (found[3].0, found[3].1, found[3].2),
        (5, "joined_at", &Problem::Future)
    );
    let imported: i64 = imports::table.count().get_result(conn).unwrap();
    assert_eq!(imported, 0);
    assert!(
        people::member::find_by_phone(
            conn,
            &Keys::derive(SECRET_KEY),
            &Phone::parse("13900000001").unwrap()
        )
        .unwrap()
        .is_none()
    );

    // With --skip-invalid the good rows are booked and the others reported.
    let outcome = run(conn, Kind::Members, &csv, true, false);
    assert_eq!(booked(&outcome), 2);
    assert_eq!(import::rejected_lines(&outcome.rejections).len(), 2);
    let ann = member_id(conn, "13900000001");
    let ann = people::member::find(conn, ann).unwrap().unwrap();
    assert_eq!(ann.tier, "gold");
}

#[test]
fn opening_balances_are_booked_once_backdated_whatever_file_they_come_in() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    funded_shop(conn, "COFFEE", "0.01");
    assert_eq!(booked(&run(conn, Kind::Members, MEMBERS, false, false)), 2);
    let lots = "phone,points,earned_at,expires_at\n\
                13900000001,500,2025-06-01,2030-06-01\n\
                13900000001,300,2025-01-01 09:30,\n\
                13900000002,100,2025-03-01,2030-01-01\n";
    assert_eq!(booked(&run(conn, Kind::Lots, lots, false, false)), 3);
    assert_eq!(wallet(conn, "13900000001"), 800);
    assert_eq!(wallet(conn, "13900000002"), 100);

    // Each lot keeps when it was earned; the entry is backdated to the
    // merchant's joining, booked now.
    let ann = member_id(conn, "13900000001");
    let earned: Vec<(i64, chrono::DateTime<chrono::Utc>)> = point_lots::table
        .filter(point_lots::member_id.eq(ann))
        .order(point_lots::created_at)
        .select((point_lots::points, point_lots::created_at))
        .load(conn)
        .unwrap();
    assert_eq!(earned[0].0, 300);
    assert_eq!(earned[0].1.to_rfc3339(), "2025-01-01T01:30:00+00:00");
    let (effective, created): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        journal_entries::table
            .filter(journal_entries::kind.eq("import_opening"))
            .select((journal_entries::effective_at, journal_entries::created_at))
            .first(conn)
            .unwrap();
    assert!(effective < created, "{effective} {created}");

    // The same file again books nothing; the same rows in another order and
    // under another name replay; other lots for a member already opened are
    // refused row by row.
    assert!(matches!(
        run(conn, Kind::Lots, lots, false, false).state,
        State::AlreadyImported(_)
    ));
    let reordered = "expires_at,points,phone,earned_at\n\
                     2030-01-01,100,13900000002,2025-03-01\n\
                     ,300,13900000001,2025-01-01 09:30\n\
                     2030-06-01,500,13900000001,2025-06-01\n";
    let outcome = run(conn, Kind::Lots, reordered, false, false);
    assert_eq!(booked(&outcome), 0);
    assert!(outcome.rejections.is_empty());
    let changed = "phone,points,earned_at,expires_at\n13900000002,999,2025-03-01,2030-01-01\n";
    let outcome = run(conn, Kind::Lots, changed, false, false);
    assert_eq!(booked(&outcome), 0);
    assert_eq!(
        outcome.rejections[0].problem,
        Problem::OpeningBalanceImported
    );
    assert_eq!(wallet(conn, "13900000001"), 800);
    assert_eq!(wallet(conn, "13900000002"), 100);
    assert!(ledger::verify(conn).unwrap().is_clean());
}

#[test]
fn order_history_counts_once_and_awards_points_only_when_asked() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    funded_shop(conn, "COFFEE", "0.01");
    run(conn, Kind::Members, MEMBERS, false, false);
    let orders = "phone,order_id,amount_cny,occurred_at,store_code,refunded_cny\n\
                  13900000001,H-1,100.00,2025-06-01 12:00,,\n\
                  13900000002,H-2,58.50,2025-07-01,,8.50\n\
                  13900000003,H-3,10,2025-07-01,,\n\
                  13900000002,H-4,10,2025-07-01,,20\n";
    let outcome = run(conn, Kind::Orders, orders, false, false);
    assert!(matches!(outcome.state, State::Refused));
    let problems: Vec<&Problem> = outcome.rejections.iter().map(|r| &r.problem).collect();
    assert_eq!(
        problems,
        [&Problem::UnknownMember, &Problem::RefundExceedsAmount]
    );

    let valid: String = orders.lines().take(3).fold(String::new(), |mut csv, line| {
        writeln!(csv, "{line}").unwrap();
        csv
    });
    assert_eq!(booked(&run(conn, Kind::Orders, &valid, false, true)), 2);
    let points: Vec<(String, i64, i64)> = earn_orders::table
        .order(earn_orders::order_id)
        .select((
            earn_orders::order_id,
            earn_orders::points,
            earn_orders::refunded_fen,
        ))
        .load(conn)
        .unwrap();
    // One COFFEE point per yuan not refunded.
    assert_eq!(
        points,
        [("H-1".to_owned(), 100, 0), ("H-2".to_owned(), 50, 850)]
    );
    assert_eq!(wallet(conn, "13900000002"), 50);

    // The same orders without the award, as another file: nothing new.
    let again = run(
        conn,
        Kind::Orders,
        &valid.replace("100.00", "100"),
        false,
        false,
    );
    assert_eq!(booked(&again), 0);
    assert!(again.rejections.is_empty(), "{:?}", again.rejections);
    let other = "phone,order_id,amount_cny,occurred_at,store_code,refunded_cny\n\
                 13900000002,H-1,5,2025-06-01 12:00,,\n";
    assert_eq!(
        run(conn, Kind::Orders, other, false, false).rejections[0].problem,
        Problem::OrderDiffers
    );
    assert!(ledger::verify(conn).unwrap().is_clean());
}

/// `alliance import` as an operator runs it.
fn alliance(db: &TestDb, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alliance"));
    command
        .args(args)
        .env_remove("ALLIANCE_ENV")
        .env("ALLIANCE_SECRET_KEY", SECRET_KEY)
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn an_import_killed_with_sigkill_resumes_where_it_stopped() {
    const MEMBERS: usize = 4_000;
    const LOTS_EACH: usize = 5;
    let db = TestDb::new();
    let dir = tempdir();
    let conn = &mut db.conn();
    funded_shop(conn, "COFFEE", "0.01");
    let mut members = String::from("phone,name,tier,joined_at\n");
    let mut lots = String::from("phone,points,earned_at,expires_at\n");
    for i in 0..MEMBERS {
        let phone = format!("1370{i:07}");
        writeln!(members, "{phone},,,2024-01-01").unwrap();
        for j in 0..LOTS_EACH {
            writeln!(lots, "{phone},{},2025-0{}-01,2031-01-01", 10 + j, j + 1).unwrap();
        }
    }
    let members_file = dir.join("members.csv");
    let lots_file = dir.join("lots.csv");
    std::fs::write(&members_file, members).unwrap();
    std::fs::write(&lots_file, lots).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let out = alliance(
        &db,
        &[
            "import",
            "members",
            "--merchant",
            "COFFEE",
            &path(&members_file),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let child = alliance(
        &db,
        &["import", "lots", "--merchant", "COFFEE", &path(&lots_file)],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut child = KilledOnDrop(child);
    let deadline = Instant::now() + Duration::from_mins(2);
    let done_when_killed = loop {
        let done: Option<i32> = imports::table
            .filter(imports::kind.eq("lots"))
            .select(imports::units_done)
            .first(conn)
            .optional()
            .unwrap();
        if let Some(done) = done.filter(|d| *d > 0) {
            child.kill_9();
            break done;
        }
        assert!(
            Instant::now() < deadline,
            "the import never committed a batch"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let units = i32::try_from(MEMBERS).unwrap();
    assert!(done_when_killed < units, "finished before the kill");
    let lots_booked: i64 = point_lots::table.count().get_result(conn).unwrap();
    assert!(lots_booked < i64::try_from(MEMBERS * LOTS_EACH).unwrap());

    let out = alliance(
        &db,
        &["import", "lots", "--merchant", "COFFEE", &path(&lots_file)],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("resumed after"), "{stdout}");
    let lots_booked: i64 = point_lots::table.count().get_result(conn).unwrap();
    assert_eq!(lots_booked, i64::try_from(MEMBERS * LOTS_EACH).unwrap());
    let entries: i64 = journal_entries::table
        .filter(journal_entries::kind.eq("import_opening"))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(entries, i64::try_from(MEMBERS).unwrap());
    assert_eq!(wallet(conn, "13700000042"), 10 + 11 + 12 + 13 + 14);
    assert!(ledger::verify(conn).unwrap().is_clean());

    // And once more: nothing.
    let out = alliance(
        &db,
        &["import", "lots", "--merchant", "COFFEE", &path(&lots_file)],
    )
    .output()
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing booked"));
}

/// A child process that does not outlive the test, whatever fails first.
struct KilledOnDrop(std::process::Child);

impl KilledOnDrop {
    /// SIGKILL: the process gets no chance to finish what it was doing.
    fn kill_9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("alliance-import-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
