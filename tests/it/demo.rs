//! The chart of accounts and the demo data set.

use std::collections::BTreeMap;

use alliance::{
    chart::{self, HouseAccount},
    demo,
    domain::points::ProgramCode,
    ledger::{self, AccountSpec},
};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Text},
};

use crate::{harness::TestDb, ledger_support::assert_verified};

/// One account's balance summed over its shards, by code.
#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct CodeBalance {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    debits_posted: i64,
    #[diesel(sql_type = BigInt)]
    credits_posted: i64,
    #[diesel(sql_type = BigInt)]
    debits_pending: i64,
    #[diesel(sql_type = BigInt)]
    credits_pending: i64,
}

fn balances_by_code(conn: &mut PgConnection) -> Vec<CodeBalance> {
    sql_query(
        "SELECT a.code, sum(b.debits_posted)::int8 AS debits_posted, \
                sum(b.credits_posted)::int8 AS credits_posted, \
                sum(b.debits_pending)::int8 AS debits_pending, \
                sum(b.credits_pending)::int8 AS credits_pending \
         FROM accounts a JOIN account_balances b ON b.account_id = a.id \
         GROUP BY a.code ORDER BY a.code",
    )
    .load(conn)
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    sql_query(query).get_result::<Count>(conn).unwrap().count
}

#[test]
fn seeding_twice_commits_nothing_the_second_time() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let first = demo::seed(conn).unwrap();
    assert!(first.ends_with(" 0 already present"), "{first}");
    let balances = balances_by_code(conn);
    let entries = count(conn, "SELECT count(*) AS count FROM journal_entries");
    let transfers = count(conn, "SELECT count(*) AS count FROM transfers");

    let second = demo::seed(conn).unwrap();
    assert!(second.contains(": 0 committed now"), "{second}");
    assert_eq!(balances_by_code(conn), balances);
    assert_eq!(
        count(conn, "SELECT count(*) AS count FROM journal_entries"),
        entries
    );
    assert_eq!(
        count(conn, "SELECT count(*) AS count FROM transfers"),
        transfers
    );
    assert_verified(conn);
}

#[test]
fn the_seeded_books_verify_and_hold_the_ledger_rules() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn).unwrap();
    assert_verified(conn);

    let clearing = chart::open(conn, &HouseAccount::Clearing.spec()).unwrap();
    let balance = ledger::balance(conn, clearing).unwrap();
    assert_eq!((balance.posted(), balance.debits_pending), (0, 0));
    // And not just in total: in every exchange entry on its own.
    let unbalanced_exchanges = count(
        conn,
        "SELECT count(*) AS count FROM ( \
             SELECT e.id FROM journal_entries e JOIN transfers t ON t.journal_entry_id = e.id \
             JOIN accounts a ON a.code = 'house:clearing' \
             WHERE e.kind = 'exchange' \
             GROUP BY e.id \
             HAVING sum(CASE WHEN t.credit_account_id = a.id THEN t.amount \
                             WHEN t.debit_account_id = a.id THEN -t.amount ELSE 0 END) <> 0 \
                 OR bool_and(t.credit_account_id <> a.id AND t.debit_account_id <> a.id)) x",
    );
    assert_eq!(unbalanced_exchanges, 0);

    let wallets: BTreeMap<String, CodeBalance> = balances_by_code(conn)
        .into_iter()
        .filter(|b| b.code.starts_with("member:"))
        .map(|b| (b.code.clone(), b))
        .collect();
    assert_eq!(wallets.len(), 24 * 3);
    for (code, b) in &wallets {
        let available = b.credits_posted - b.debits_posted - b.debits_pending;
        assert!(available >= 0, "{code} holds {available}");
    }
    // Some members hold points of both programs, and the history reached them.
    let holders = wallets
        .values()
        .filter(|b| b.credits_posted > b.debits_posted)
        .count();
    assert!(holders > 24, "only {holders} wallets hold points");
}

#[test]
fn the_demo_leaves_one_redemption_hold_pending() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn).unwrap();
    let open_holds = count(
        conn,
        "SELECT count(*) AS count FROM transfers t WHERE t.phase = 'pending' \
         AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)",
    );
    assert_eq!(open_holds, 1);
    for kind in [
        "deposit",
        "earn",
        "exchange",
        "expire",
        "redeem",
        "redeem_cancel",
    ] {
        let entries = count(
            conn,
            &format!("SELECT count(*) AS count FROM journal_entries WHERE kind = '{kind}'"),
        );
        assert!(entries > 0, "no {kind} entries");
    }
}

fn shape(spec: &AccountSpec) -> (&str, &str, Option<i64>, bool, i16) {
    (
        spec.code.as_str(),
        spec.asset.as_str(),
        spec.owner_id,
        spec.no_overdraft,
        spec.shards,
    )
}

#[test]
fn chart_specs_have_the_documented_floors_and_shards() {
    let house: Vec<_> = HouseAccount::ALL
        .iter()
        .map(|account| {
            let spec = account.spec();
            assert_eq!(spec.owner_kind, "house");
            (spec.code, spec.asset, spec.no_overdraft, spec.shards)
        })
        .collect();
    let cny = "CNY".to_owned();
    assert_eq!(
        house,
        [
            ("house:bank".to_owned(), cny.clone(), false, 4),
            ("house:clearing".to_owned(), cny.clone(), false, 16),
            ("house:alp".to_owned(), cny.clone(), false, 16),
            ("house:fees".to_owned(), cny.clone(), false, 16),
            ("house:campaigns".to_owned(), cny.clone(), false, 16),
            ("house:payouts".to_owned(), cny, false, 4),
        ]
    );

    let brew = ProgramCode::parse("BREW").unwrap();
    let alp = ProgramCode::alp();
    assert_eq!(
        shape(&chart::program_issuance(&brew)),
        ("program:BREW:issuance", "BREW", None, false, 16)
    );
    assert_eq!(
        shape(&chart::program_breakage(&brew)),
        ("program:BREW:breakage", "BREW", None, false, 4)
    );
    assert_eq!(
        shape(&chart::program_issuance(&alp)),
        ("program:ALP:issuance", "ALP", None, false, 16)
    );
    assert_eq!(
        shape(&chart::member_wallet(7, &brew)),
        ("member:7:BREW", "BREW", Some(7), true, 1)
    );
    assert_eq!(
        shape(&chart::member_wallet(7, &alp)),
        ("member:7:ALP", "ALP", Some(7), true, 1)
    );
    assert_eq!(
        shape(&chart::merchant_deposit(3)),
        ("merchant:3:deposit", "CNY", Some(3), true, 1)
    );
    assert_eq!(
        shape(&chart::merchant_settlement(3)),
        ("merchant:3:settlement", "CNY", Some(3), false, 8)
    );
}

#[test]
fn ensuring_the_house_twice_opens_the_same_accounts() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let first = chart::ensure_house_accounts(conn).unwrap();
    let again = chart::ensure_house_accounts(conn).unwrap();
    assert_eq!(first, again);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM accounts"), 8);
    let fees = ledger::account(conn, first.id(HouseAccount::Fees))
        .unwrap()
        .unwrap();
    assert_eq!((fees.code.as_str(), fees.shards), ("house:fees", 16));
}
