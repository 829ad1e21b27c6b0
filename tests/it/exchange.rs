//! Exchange through the domain: quotes, execution, limits, concurrency and the
//! ledger entry it books.

use alliance::{
    chart::{self, HouseAccount},
    db::schema::{exchanges, point_lots, transfers},
    domain::actor::Actor,
    exchange::{self, ExchangeError, Executor},
};
use diesel::prelude::*;

use crate::{
    exchange_support::{member_with_coffee, points, quote, two_programs},
    harness::TestDb,
    ledger_support::{assert_lots_match_wallets, assert_verified},
};

fn member_actor() -> Actor {
    Actor::system("test-member")
}

/// The sum of a house account's movements in one entry: credits minus debits.
fn net_in_entry(conn: &mut PgConnection, entry: i64, account: i64) -> i64 {
    let legs: Vec<(i64, i64, i64)> = transfers::table
        .filter(transfers::journal_entry_id.eq(entry))
        .select((
            transfers::debit_account_id,
            transfers::credit_account_id,
            transfers::amount,
        ))
        .load(conn)
        .unwrap();
    legs.iter()
        .map(|(debit, credit, amount)| {
            (i64::from(*credit == account) - i64::from(*debit == account)) * amount
        })
        .sum()
}

#[test]
fn an_exchange_retires_a_issues_b_and_clears_the_cash_through_the_house() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);

    let quote = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    // Unpublished rates: COFFEE sells at 0.0099, CINEMA buys at 0.0202; the
    // standard spread 3% on ¥9.90 is 30 fen (basic members get no discount).
    assert_eq!(quote.value_out_fen, 990);
    assert_eq!(quote.fee_fen, 30);
    assert_eq!(quote.to_points, 475);
    let done =
        exchange::execute(conn, &quote.id, Executor::Member(alice), &member_actor()).unwrap();

    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    assert_eq!(points(conn, alice, "CINEMA"), 475);
    let house = chart::ensure_house_accounts(conn).unwrap();
    let entry = done.exchange.journal_entry_id;
    assert_eq!(
        net_in_entry(conn, entry, house.id(HouseAccount::Clearing).0),
        0
    );
    assert_eq!(
        net_in_entry(conn, entry, house.id(HouseAccount::Fees).0),
        done.exchange.house_fen
    );
    let coffee_settlement = chart::open(conn, &chart::merchant_settlement(shops.coffee)).unwrap();
    let cinema_settlement = chart::open(conn, &chart::merchant_settlement(shops.cinema)).unwrap();
    assert_eq!(net_in_entry(conn, entry, coffee_settlement.0), -990);
    // CINEMA is paid at its buy value: 475 × ¥0.0202 = ¥9.595, rounded down.
    assert_eq!(net_in_entry(conn, entry, cinema_settlement.0), 959);
    let cinema_lots: i64 = point_lots::table
        .filter(point_lots::member_id.eq(alice))
        .filter(point_lots::program_code.eq("CINEMA"))
        .select(point_lots::remaining)
        .first(conn)
        .unwrap();
    assert_eq!(cinema_lots, 475);

    // The same quote again is refused and books nothing.
    let again = exchange::execute(conn, &quote.id, Executor::Member(alice), &member_actor());
    assert!(matches!(again, Err(ExchangeError::QuoteUsed)), "{again:?}");
    let count: i64 = exchanges::table.count().get_result(conn).unwrap();
    assert_eq!(count, 1);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}
