//! Exchange through the domain: quotes, execution, limits, concurrency and the
//! ledger entry it books.

use std::sync::{Arc, Barrier};

use alliance::{
    approval,
    chart::{self, HouseAccount},
    db::schema::{exchange_quotes, exchanges, point_lots, programs, transfers},
    domain::{
        actor::{Actor, ActorKind},
        id::MemberId,
        money::Money,
        rate::Rate,
    },
    error::{Class, Classify, Kind, Refusal},
    exchange::{
        self, ExchangeError, Executor, overrides,
        policy::{self, ExchangePolicy},
        rates::{self, Source, Trigger},
    },
    i18n::Locale,
    merchant::standing,
    people::{member, operator::OperatorRole, verification},
    program,
};
use chrono::Utc;
use diesel::prelude::*;

use crate::{
    exchange_support::{earn_points, keys, member_with_coffee, points, quote, two_programs},
    harness::TestDb,
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support,
};

fn member_actor() -> Actor {
    Actor::system("test-member")
}

/// An operator (role operator) as the actor of platform changes.
fn operator_actor(conn: &mut PgConnection) -> Actor {
    let id = people_support::operator(conn, "rates@alliance.test", OperatorRole::Operator);
    Actor {
        kind: ActorKind::Operator,
        id: Some(id),
        label: "rates@alliance.test".to_owned(),
        role: "operator".to_owned(),
        merchant_id: None,
        ip: None,
    }
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

/// Runs `execute` for every quote at once, each on its own connection.
fn execute_concurrently(
    db: &TestDb,
    member_id: MemberId,
    quote_ids: Vec<String>,
) -> Vec<Result<exchange::Executed, ExchangeError>> {
    let url = Arc::new(db.url().to_owned());
    let start = Arc::new(Barrier::new(quote_ids.len()));
    let handles: Vec<_> = quote_ids
        .into_iter()
        .map(|id| {
            let (url, start) = (Arc::clone(&url), Arc::clone(&start));
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                start.wait();
                exchange::execute(&mut conn, &id, Executor::Member(member_id), &member_actor())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Every exchange entry moves as much into `house:clearing` as out of it.
fn assert_clearing_nets_to_zero_per_entry(conn: &mut PgConnection) {
    let house = chart::ensure_house_accounts(conn).unwrap();
    let clearing = house.id(HouseAccount::Clearing).0;
    let entries: Vec<i64> = exchanges::table
        .select(exchanges::journal_entry_id)
        .load(conn)
        .unwrap();
    assert!(!entries.is_empty());
    for entry in entries {
        assert_eq!(net_in_entry(conn, entry, clearing), 0, "entry {entry}");
    }
}

#[test]
fn fifty_concurrent_exchanges_from_one_balance_never_overspend() {
    let db = TestDb::new();
    let (alice, quote_ids) = {
        let conn = &mut db.conn();
        let shops = two_programs(conn);
        let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);
        // Fifty quotes of 250 points each: 12,500 points against 4,000.
        let ids: Vec<String> = (0..50)
            .map(|_| quote(conn, alice, "COFFEE", "CINEMA", 250).unwrap().id)
            .collect();
        (alice, ids)
    };

    let results = execute_concurrently(&db, alice, quote_ids);

    let executed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(executed, 16);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, ExchangeError::InsufficientPoints { available: 0 })),
        "{results:?}"
    );
    let conn = &mut db.conn();
    assert_eq!(points(conn, alice, "COFFEE"), 0);
    let to_points: i64 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|done| done.exchange.to_points)
        .sum();
    assert_eq!(points(conn, alice, "CINEMA"), to_points);
    assert_clearing_nets_to_zero_per_entry(conn);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn the_daily_limit_out_of_a_program_is_exact_under_concurrency() {
    let db = TestDb::new();
    let (alice, quote_ids) = {
        let conn = &mut db.conn();
        let shops = two_programs(conn);
        let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);
        program::set_member_daily_exchange_limit(conn, &member_actor(), "COFFEE", 1_000).unwrap();
        let ids: Vec<String> = (0..20)
            .map(|_| quote(conn, alice, "COFFEE", "CINEMA", 250).unwrap().id)
            .collect();
        (alice, ids)
    };

    let results = execute_concurrently(&db, alice, quote_ids);

    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(
                e,
                ExchangeError::DailyLimit {
                    limit: 1_000,
                    used: 1_000,
                    ..
                }
            )),
        "{results:?}"
    );
    let conn = &mut db.conn();
    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    // A new quote is refused up front, with what was used.
    let refused = quote(conn, alice, "COFFEE", "CINEMA", 250).unwrap_err();
    assert_eq!(
        refused.message(Locale::En).unwrap(),
        "At most 1000 COFFEE points may be exchanged out per day; 1000 have been exchanged today."
    );
    assert_clearing_nets_to_zero_per_entry(conn);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn an_expired_quote_is_refused_and_books_nothing() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 1_000);
    let quote = quote(conn, alice, "COFFEE", "CINEMA", 500).unwrap();
    assert_eq!((quote.expires_at - quote.created_at).num_seconds(), 60);
    diesel::update(exchange_quotes::table.find(&quote.id))
        .set(exchange_quotes::expires_at.eq(Utc::now() - chrono::Duration::seconds(1)))
        .execute(conn)
        .unwrap();

    let refused = exchange::execute(conn, &quote.id, Executor::Member(alice), &member_actor());

    let error = refused.unwrap_err();
    assert!(matches!(error, ExchangeError::QuoteExpired), "{error:?}");
    assert!(matches!(
        error.class(),
        Class::Refusal(Refusal {
            kind: Kind::Conflict,
            ..
        })
    ));
    assert_eq!(
        error.message(Locale::ZhCn).unwrap(),
        "报价已过期，请重新获取报价。"
    );
    assert_eq!(points(conn, alice, "COFFEE"), 1_000);
    assert_eq!(exchanges::table.count().get_result::<i64>(conn).unwrap(), 0);
    assert_verified(conn);
}

#[test]
fn a_quote_is_only_its_members() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 1_000);
    let bob = member_with_coffee(conn, shops.coffee, "13800000002", 1_000);
    let quote = quote(conn, alice, "COFFEE", "CINEMA", 500).unwrap();

    let by_bob = exchange::execute(conn, &quote.id, Executor::Member(bob), &member_actor());
    assert!(
        matches!(by_bob, Err(ExchangeError::UnknownQuote)),
        "{by_bob:?}"
    );
    let by_partner = exchange::execute(
        conn,
        &quote.id,
        Executor::Partner(shops.cinema),
        &member_actor(),
    );
    assert!(
        matches!(by_partner, Err(ExchangeError::UnknownQuote)),
        "{by_partner:?}"
    );
    assert_eq!(points(conn, bob, "COFFEE"), 1_000);
    assert_eq!(points(conn, alice, "COFFEE"), 1_000);
}

#[test]
fn execution_keeps_the_quoted_terms_when_rates_move() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 2_000);
    let quoted = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();

    // An operator pins CINEMA's buy value higher, within the review distance.
    let operator = operator_actor(conn);
    let pinned = overrides::request(
        conn,
        &operator,
        &overrides::NewOverride {
            program_code: "CINEMA".to_owned(),
            sell: Rate::parse("0.0198").unwrap(),
            buy: Rate::parse("0.0206").unwrap(),
            starts_at: Utc::now() - chrono::Duration::minutes(1),
            ends_at: Utc::now() + chrono::Duration::hours(1),
            reason: "影院周年庆".to_owned(),
        },
        approval::Policy {
            dual_approval_from: Money::from_fen(i64::MAX),
        },
        &crate::harness::approval_registry(),
    )
    .unwrap();
    assert_eq!(pinned.pinned.status.as_str(), "active");
    let requoted = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    assert!(requoted.to_points < quoted.to_points);
    assert_eq!(requoted.buy_value, rust_decimal::Decimal::new(206, 4));

    let done =
        exchange::execute(conn, &quoted.id, Executor::Member(alice), &member_actor()).unwrap();

    assert_eq!(done.exchange.to_points, quoted.to_points);
    assert_eq!(points(conn, alice, "CINEMA"), quoted.to_points);
    assert_eq!(points(conn, alice, "COFFEE"), 1_000);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn a_suspended_merchants_members_can_still_exchange_out_but_not_in() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 2_000);
    earn_points(conn, shops.cinema, alice, 1_000);
    let operator = operator_actor(conn);
    standing::suspend(conn, &operator, shops.coffee, "保证金争议").unwrap();

    let out = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    exchange::execute(conn, &out.id, Executor::Member(alice), &member_actor()).unwrap();
    assert_eq!(points(conn, alice, "COFFEE"), 1_000);

    let into = quote(conn, alice, "CINEMA", "COFFEE", 500).unwrap_err();
    assert!(
        matches!(&into, ExchangeError::DestinationBlocked { program, .. } if program == "COFFEE"),
        "{into:?}"
    );
    assert_eq!(
        into.message(Locale::En).unwrap(),
        "Points cannot be exchanged into COFFEE at the moment: \
         The merchant is suspended; no points can be issued for now."
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn switches_and_per_exchange_limits_are_enforced_at_quote_and_execution() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 3_000);

    let below = quote(conn, alice, "COFFEE", "CINEMA", 99).unwrap_err();
    assert!(
        matches!(below, ExchangeError::BelowMinimum { min: 100, .. }),
        "{below:?}"
    );
    let same = quote(conn, alice, "COFFEE", "COFFEE", 500).unwrap_err();
    assert!(matches!(same, ExchangeError::SameProgram), "{same:?}");
    let too_many = quote(conn, alice, "COFFEE", "CINEMA", 3_001).unwrap_err();
    assert!(
        matches!(
            too_many,
            ExchangeError::InsufficientPoints { available: 3_000 }
        ),
        "{too_many:?}"
    );

    // Quoted while open, executed after COFFEE closed exchanging out.
    let quoted = quote(conn, alice, "COFFEE", "CINEMA", 500).unwrap();
    diesel::update(programs::table.filter(programs::code.eq("COFFEE")))
        .set(programs::exchange_out.eq(false))
        .execute(conn)
        .unwrap();
    let closed = exchange::execute(conn, &quoted.id, Executor::Member(alice), &member_actor());
    assert!(
        matches!(&closed, Err(ExchangeError::ExchangeOutClosed(p)) if p == "COFFEE"),
        "{closed:?}"
    );
    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    diesel::update(programs::table.filter(programs::code.eq("CINEMA")))
        .set(programs::exchange_in.eq(false))
        .execute(conn)
        .unwrap();
    diesel::update(programs::table.filter(programs::code.eq("COFFEE")))
        .set(programs::exchange_out.eq(true))
        .execute(conn)
        .unwrap();
    let closed_in = quote(conn, alice, "COFFEE", "CINEMA", 500).unwrap_err();
    assert!(
        matches!(&closed_in, ExchangeError::ExchangeInClosed(p) if p == "CINEMA"),
        "{closed_in:?}"
    );
    assert_eq!(exchanges::table.count().get_result::<i64>(conn).unwrap(), 0);
}

#[test]
fn exchanges_worth_the_threshold_need_a_verified_member() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);
    let threshold = ExchangePolicy {
        real_name_threshold_fen: 1_000,
        ..policy::current(conn).unwrap()
    };
    policy::update(conn, &member_actor(), &threshold).unwrap();

    // ¥9.90 passes; ¥10.89 is at or above ¥10.00.
    quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    let refused = quote(conn, alice, "COFFEE", "CINEMA", 1_100).unwrap_err();
    assert!(
        matches!(refused, ExchangeError::RealNameRequired { .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.message(Locale::ZhCn).unwrap(),
        "单笔价值 ¥10.00 及以上的兑换需先完成实名认证。"
    );

    let me = member_actor();
    let request =
        verification::submit(conn, &keys(), &me, alice, "王小明", "11010519491231002X").unwrap();
    assert!(!member::identity_verified(conn, alice).unwrap());
    let operator = operator_actor(conn);
    verification::decide(conn, &operator, request.id, true, None).unwrap();
    assert!(member::identity_verified(conn, alice).unwrap());
    assert_eq!(request.real_name(&keys()).as_deref(), Some("王小明"));

    let quoted = quote(conn, alice, "COFFEE", "CINEMA", 1_100).unwrap();
    exchange::execute(conn, &quoted.id, Executor::Member(alice), &me).unwrap();
    assert_verified(conn);
}

#[test]
fn a_publication_stores_each_programs_inputs_and_moves_values_with_the_flow() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);
    for _ in 0..3 {
        let quoted = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
        exchange::execute(conn, &quoted.id, Executor::Member(alice), &member_actor()).unwrap();
    }

    let publication = rates::publish(conn, Trigger::OnDemand, &member_actor()).unwrap();

    let rows = rates::current_all(conn).unwrap();
    let coffee = rows.iter().find(|r| r.program_code == "COFFEE").unwrap();
    let cinema = rows.iter().find(|r| r.program_code == "CINEMA").unwrap();
    assert_eq!(
        coffee.source,
        Source::Model {
            publication_id: publication.id
        }
    );
    let coffee_inputs = coffee.published.as_ref().unwrap();
    assert_eq!(coffee_inputs.outflow_fen, 3 * 990);
    assert_eq!(coffee_inputs.inflow_fen, 0);
    // ¥29.70 out of COFFEE against the ¥10,000 floor: 1000 × 0.5 × 2970 / 1,000,000 → −1 bp.
    assert_eq!(coffee_inputs.shift_bp, -1);
    assert!(coffee.sell < Rate::parse("0.0099").unwrap());
    assert!(cinema.published.as_ref().unwrap().shift_bp > 0);
    assert!(cinema.buy >= cinema.sell && coffee.buy >= coffee.sell);
    assert_eq!(publication.policy["band_bp"], 1000);
    let history = rates::history(conn, "COFFEE", Utc::now() - chrono::Duration::days(1)).unwrap();
    assert_eq!(history.len(), 1);
}

#[test]
fn a_rate_published_before_the_rule_cannot_price_an_exchange_across_the_settlement_value() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = member_with_coffee(conn, shops.coffee, "13800000001", 4_000);
    let publication = rates::publish(conn, Trigger::OnDemand, &member_actor()).unwrap();
    // What the model published before the rule after a one-sided flow into
    // COFFEE: a sell value above its ¥0.01 settlement value, and CINEMA (¥0.02)
    // buying below its own. Rows are stored as they were published.
    for (code, sell, buy) in [
        ("COFFEE", "0.0104", "0.0106"),
        ("CINEMA", "0.0190", "0.0194"),
    ] {
        diesel::update(
            alliance::db::schema::program_rates::table
                .filter(alliance::db::schema::program_rates::publication_id.eq(publication.id))
                .filter(alliance::db::schema::program_rates::program_code.eq(code)),
        )
        .set((
            alliance::db::schema::program_rates::sell_value
                .eq(Rate::parse(sell).unwrap().as_decimal()),
            alliance::db::schema::program_rates::buy_value
                .eq(Rate::parse(buy).unwrap().as_decimal()),
        ))
        .execute(conn)
        .unwrap();
    }

    let coffee = rates::current_all(conn).unwrap();
    let coffee_rate = coffee.iter().find(|r| r.program_code == "COFFEE").unwrap();
    assert_eq!(
        (coffee_rate.sell, coffee_rate.buy),
        (Rate::parse("0.01").unwrap(), Rate::parse("0.0106").unwrap())
    );
    let quoted = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    assert_eq!(quoted.sell_value, rust_decimal::Decimal::new(1, 2));
    assert_eq!(quoted.buy_value, rust_decimal::Decimal::new(2, 2));
    // ¥10.00 out less 3% (30 fen) buys 485 CINEMA points at ¥0.02: worth
    // ¥9.70 at settlement value, never more than the ¥10.00 given up.
    assert_eq!((quoted.value_out_fen, quoted.to_points), (1_000, 485));
}

#[test]
fn an_override_across_the_settlement_value_is_refused_and_stores_nothing() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    two_programs(conn);
    let operator = operator_actor(conn);
    let registry = crate::harness::approval_registry();
    for (sell, buy) in [("0.0101", "0.0103"), ("0.0097", "0.0099")] {
        let refused = overrides::request(
            conn,
            &operator,
            &overrides::NewOverride {
                program_code: "COFFEE".into(),
                sell: Rate::parse(sell).unwrap(),
                buy: Rate::parse(buy).unwrap(),
                starts_at: Utc::now(),
                ends_at: Utc::now() + chrono::Duration::hours(1),
                reason: "促销".into(),
            },
            approval::Policy {
                dual_approval_from: Money::from_fen(i64::MAX),
            },
            &registry,
        )
        .unwrap_err();
        assert!(
            matches!(refused, overrides::OverrideError::CrossesSettlement { settlement } if settlement == Rate::parse("0.01").unwrap()),
            "{sell}/{buy}: {refused:?}"
        );
        assert_eq!(
            refused.message(Locale::En).unwrap(),
            "The sell value must not be above, and the buy value not below, the settlement value 0.01; otherwise members could profit by exchanging back and forth."
        );
    }
    assert!(
        overrides::list(conn, Some("COFFEE"), 10)
            .unwrap()
            .is_empty()
    );
}
