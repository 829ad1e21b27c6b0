//! Combined redemption through the domain: holds, vouchers, caps, all or
//! nothing, and the cash legs of other programs' points.

use std::sync::{Arc, Barrier};

use alliance::{
    chart::{self, HouseAccount},
    db::schema::{redemptions, rewards},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId},
        money::Money,
        phone::Phone,
    },
    error::Classify,
    people::member,
    redemption::{self, Caps, RedeemError, RedeemRequest, Window},
};
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    exchange_support::{earn_points, keys, points, two_programs},
    harness::TestDb,
    ledger_support::{assert_lots_match_wallets, assert_verified},
    redemption_support::{leg, movie_ticket, order},
};

fn actor() -> Actor {
    Actor::system("test-member")
}

fn enrolled(conn: &mut PgConnection, phone: &str) -> MemberId {
    member::enrol_or_find(conn, &keys(), &actor(), &Phone::parse(phone).unwrap(), None)
        .unwrap()
        .id
}

fn stock(conn: &mut PgConnection, reward_id: RewardId) -> i64 {
    rewards::table
        .find(reward_id)
        .select(rewards::stock)
        .first(conn)
        .unwrap()
}

fn settlement_balance(conn: &mut PgConnection, merchant_id: MerchantId) -> i64 {
    let account = chart::open(conn, &chart::merchant_settlement(merchant_id)).unwrap();
    let balance = alliance::ledger::balance(conn, account).unwrap();
    balance.credits_posted - balance.debits_posted
}

fn house_balance(conn: &mut PgConnection, account: HouseAccount) -> i64 {
    let house = chart::ensure_house_accounts(conn).unwrap();
    let balance = alliance::ledger::balance(conn, house.id(account)).unwrap();
    balance.credits_posted - balance.debits_posted
}

#[test]
fn a_combined_redemption_holds_at_order_and_posts_the_cash_legs_when_served() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = enrolled(conn, "13800000001");
    earn_points(conn, shops.cinema, alice, 500);
    earn_points(conn, shops.coffee, alice, 4_000);
    let ticket = movie_ticket(conn, shops.cinema, 5);
    let cinema_before = settlement_balance(conn, shops.cinema);

    // 500 CINEMA pay ¥10.00 of the ticket; 2,000 COFFEE are ¥19.80 out less the
    // 3% fee (60 fen), ¥19.20; the member adds ¥0.80 in cash.
    let held = redemption::redeem(
        conn,
        &order(
            alice,
            ticket,
            &[("CINEMA", 500), ("COFFEE", 2_000)],
            80,
            "order-1",
        ),
        &actor(),
    )
    .unwrap();

    assert_eq!(held.status.as_str(), "held");
    assert_eq!(held.voucher_code.len(), 12);
    assert_eq!(stock(conn, ticket), 4);
    assert_eq!(points(conn, alice, "CINEMA"), 0);
    assert_eq!(points(conn, alice, "COFFEE"), 2_000);
    assert_eq!(settlement_balance(conn, shops.cinema), cinema_before);
    // A retry with the same key is the same order.
    let again = redemption::redeem(
        conn,
        &order(
            alice,
            ticket,
            &[("CINEMA", 500), ("COFFEE", 2_000)],
            80,
            "order-1",
        ),
        &actor(),
    )
    .unwrap();
    assert_eq!(again.id, held.id);

    let served =
        redemption::fulfil(conn, shops.cinema, &held.voucher_code, None, &actor()).unwrap();

    assert_eq!(served.status.as_str(), "fulfilled");
    assert_eq!(
        settlement_balance(conn, shops.cinema) - cinema_before,
        1_920
    );
    assert_eq!(settlement_balance(conn, shops.coffee), -1_980);
    assert_eq!(house_balance(conn, HouseAccount::Fees), 60);
    assert_eq!(house_balance(conn, HouseAccount::Clearing), 0);
    let twice = redemption::fulfil(conn, shops.cinema, &held.voucher_code, None, &actor());
    assert!(
        matches!(&twice, Err(RedeemError::AlreadyResolved(s)) if s.as_str() == "fulfilled"),
        "{twice:?}"
    );
    let elsewhere = redemption::fulfil(conn, shops.coffee, &held.voucher_code, None, &actor());
    assert!(
        matches!(elsewhere, Err(RedeemError::UnknownVoucher)),
        "{elsewhere:?}"
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn a_mix_one_program_cannot_cover_holds_nothing_at_all() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = enrolled(conn, "13800000001");
    earn_points(conn, shops.cinema, alice, 500);
    earn_points(conn, shops.coffee, alice, 4_000);
    let ticket = movie_ticket(conn, shops.cinema, 5);

    // 540 CINEMA (¥10.80) and 2,000 COFFEE (¥19.20) pay exactly, but only 500
    // CINEMA are there.
    let refused = redemption::redeem(
        conn,
        &order(
            alice,
            ticket,
            &[("COFFEE", 2_000), ("CINEMA", 540)],
            0,
            "order-1",
        ),
        &actor(),
    );

    assert!(
        matches!(&refused, Err(RedeemError::InsufficientPoints { program, available: 500 }) if program == "CINEMA"),
        "{refused:?}"
    );
    assert_eq!(points(conn, alice, "COFFEE"), 4_000);
    assert_eq!(points(conn, alice, "CINEMA"), 500);
    assert_eq!(stock(conn, ticket), 5);
    assert_eq!(
        redemptions::table.count().get_result::<i64>(conn).unwrap(),
        0
    );
    let short = redemption::redeem(
        conn,
        &order(alice, ticket, &[("CINEMA", 500)], 0, "order-2"),
        &actor(),
    )
    .unwrap_err();
    assert_eq!(
        short.message(alliance::i18n::Locale::ZhCn).unwrap(),
        "支付不足，还差 ¥20.00。"
    );
    assert_verified(conn);
}

#[test]
fn cancelling_or_expiring_voids_the_holds_and_returns_the_stock() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = enrolled(conn, "13800000001");
    earn_points(conn, shops.cinema, alice, 3_000);
    let ticket = movie_ticket(conn, shops.cinema, 5);
    let first = redemption::redeem(
        conn,
        &order(alice, ticket, &[("CINEMA", 1_500)], 0, "a"),
        &actor(),
    )
    .unwrap();
    let second = redemption::redeem(
        conn,
        &order(alice, ticket, &[("CINEMA", 1_500)], 0, "b"),
        &actor(),
    )
    .unwrap();
    assert_eq!(points(conn, alice, "CINEMA"), 0);
    assert_eq!(stock(conn, ticket), 3);

    redemption::cancel(conn, alice, first.id, &actor()).unwrap();
    diesel::update(redemptions::table.find(second.id))
        .set(redemptions::expires_at.eq(Utc::now() - Duration::seconds(1)))
        .execute(conn)
        .unwrap();
    assert_eq!(redemption::expire_due(conn, 100, &actor()).unwrap(), 1);
    assert_eq!(redemption::expire_due(conn, 100, &actor()).unwrap(), 0);

    assert_eq!(points(conn, alice, "CINEMA"), 3_000);
    assert_eq!(stock(conn, ticket), 5);
    let late = redemption::fulfil(conn, shops.cinema, &second.voucher_code, None, &actor());
    assert!(
        matches!(&late, Err(RedeemError::AlreadyResolved(s)) if s.as_str() == "expired"),
        "{late:?}"
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn two_hundred_concurrent_orders_of_a_reward_capped_at_ten_get_exactly_ten() {
    let db = TestDb::new();
    let (ticket, members) = {
        let conn = &mut db.conn();
        let shops = two_programs(conn);
        let ticket = movie_ticket(conn, shops.cinema, 1_000);
        redemption::set_caps(
            conn,
            &actor(),
            ticket,
            Caps {
                daily_total: Some(10),
                ..Caps::default()
            },
        )
        .unwrap();
        let members: Vec<MemberId> = (0..20)
            .map(|i| {
                let id = enrolled(conn, &format!("139{i:08}"));
                earn_points(conn, shops.cinema, id, 15_000);
                id
            })
            .collect();
        (ticket, members)
    };
    // 40 connections, 5 orders each: 200 orders from 20 members at once.
    let url = Arc::new(db.url().to_owned());
    let start = Arc::new(Barrier::new(40));
    let handles: Vec<_> = (0..40)
        .map(|thread| {
            let (url, start) = (Arc::clone(&url), Arc::clone(&start));
            let member_id = members[thread % members.len()];
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                start.wait();
                (0..5)
                    .map(|n| {
                        redemption::redeem(
                            &mut conn,
                            &order(
                                member_id,
                                ticket,
                                &[("CINEMA", 1_500)],
                                0,
                                &format!("t{thread}-{n}"),
                            ),
                            &actor(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();

    assert_eq!(results.len(), 200);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 10);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, RedeemError::CapReached(Window::DailyTotal))),
        "{results:?}"
    );
    let conn = &mut db.conn();
    assert_eq!(stock(conn, ticket), 990);
    assert_eq!(
        redemption::remaining(conn, ticket, Utc::now())
            .unwrap()
            .today,
        Some(0)
    );
    assert_verified(conn);
}

#[test]
fn the_proposed_mix_spends_the_soonest_lapsing_points_first_and_cash_last() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let alice = enrolled(conn, "13800000001");
    earn_points(conn, shops.cinema, alice, 1_000);
    earn_points(conn, shops.coffee, alice, 1_000);
    // COFFEE's points lapse first.
    diesel::update(
        alliance::db::schema::point_lots::table
            .filter(alliance::db::schema::point_lots::program_code.eq("COFFEE")),
    )
    .set(alliance::db::schema::point_lots::expires_at.eq(Some(Utc::now() + Duration::days(3))))
    .execute(conn)
    .unwrap();
    let ticket = movie_ticket(conn, shops.cinema, 5);

    let proposal = redemption::propose(conn, alice, ticket).unwrap().unwrap();

    // All 1,000 COFFEE (¥9.90 less 30 fen: ¥9.60), then the 1,000 CINEMA
    // (¥20.00), and ¥0.40 in cash.
    let mix: Vec<(&str, i64)> = proposal
        .legs
        .iter()
        .map(|leg| (leg.program.as_str(), leg.points))
        .collect();
    assert_eq!(mix, [("COFFEE", 1_000), ("CINEMA", 1_000)]);
    assert_eq!(proposal.cash, Money::from_fen(40));
    let request = RedeemRequest {
        member_id: alice,
        reward_id: ticket,
        pay: mix.iter().map(|(p, n)| leg(p, *n)).collect(),
        cash: proposal.cash,
        request_key: "proposed".to_owned(),
    };
    redemption::redeem(conn, &request, &actor()).unwrap();

    // With more CINEMA than the ticket needs, the points alone pay and COFFEE
    // gives only what CINEMA leaves.
    earn_points(conn, shops.cinema, alice, 3_000);
    earn_points(conn, shops.coffee, alice, 500);
    let proposal = redemption::propose(conn, alice, ticket).unwrap().unwrap();
    assert_eq!(proposal.cash, Money::ZERO);
    let paid: i64 = proposal.legs.iter().map(|leg| leg.value_fen).sum();
    assert!(paid >= 3_000);
    assert_verified(conn);
}

#[test]
fn a_member_without_points_is_offered_no_cash_only_mix_and_cannot_order_one() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let ticket = movie_ticket(conn, shops.cinema, 5);
    let broke = enrolled(conn, "13800000077");
    assert_eq!(redemption::propose(conn, broke, ticket).unwrap(), None);
    assert!(matches!(
        redemption::redeem(
            conn,
            &order(broke, ticket, &[], 3_000, "cash-only"),
            &actor()
        ),
        Err(RedeemError::NoPoints)
    ));
    assert_eq!(stock(conn, ticket), 5);
}
