//! Refunds, holds, lots and their locks (issue 16, holes 2 and 3): a refund
//! claims what a pending redemption holds and takes it when the hold is voided;
//! holds reserve the oldest lots and expiry spares them; refunds keep only what
//! the rules give the net purchase and re-judge the tier; and redemptions and
//! refunds racing each other always end cleanly.

use std::sync::{Arc, Barrier};

use alliance::{
    clock::SimClock,
    db::schema::{campaign_merchants, campaigns, earn_orders, point_lots, programs, rewards},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId},
        money::Money,
    },
    earn::{self, EarnRequest, OrderId, Source, expiry},
    error::Classify,
    ledger,
    redemption::{self, RedeemRequest},
};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    api_support::{ApiClient, partner},
    exchange_support::{keys, points},
    harness::{TestDb, spawn_app},
    ledger_support::{assert_holds_match_lots, assert_lots_match_wallets, assert_verified},
    people_support::{funded_shop, member},
};

use crate::redemption_support::leg;

fn actor() -> Actor {
    Actor::system("test")
}

/// A published reward of the merchant's worth ¥10.00, or 1,000 of its points,
/// payable with cash too.
fn reward(conn: &mut PgConnection, merchant_id: MerchantId, stock: i64) -> RewardId {
    diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(merchant_id),
            rewards::title_zh.eq("咖啡券"),
            rewards::title_en.eq("Coffee voucher"),
            rewards::category.eq("dining"),
            rewards::value_fen.eq(1_000),
            rewards::points_price.eq(Some(1_000_i64)),
            rewards::other_points.eq(false),
            rewards::cash_topup.eq(true),
            rewards::stock.eq(stock),
            rewards::valid_from.eq(Utc::now() - Duration::days(60)),
            rewards::valid_until.eq(Utc::now() + Duration::days(60)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap()
}

fn purchase(merchant_id: MerchantId, member_id: MemberId, order: &str, fen: i64) -> EarnRequest {
    EarnRequest {
        merchant_id,
        order_id: OrderId::parse(order).unwrap(),
        member_id,
        amount: Money::from_fen(fen),
        occurred_at: None,
        store_id: None,
        program: None,
        source: Source::Api,
        device_id: None,
        ip: None,
    }
}

/// 640 points and ¥3.60 for the ¥10.00 reward.
fn order_640(member_id: MemberId, reward_id: RewardId, key: &str) -> RedeemRequest {
    RedeemRequest {
        member_id,
        reward_id,
        pay: vec![leg("COFFEE", 640)],
        cash: Money::from_fen(360),
        request_key: key.to_owned(),
    }
}

fn refund_all(conn: &mut PgConnection, shop: MerchantId, order: &str) -> earn::Refunded {
    earn::refund(
        conn,
        shop,
        &OrderId::parse(order).unwrap(),
        None,
        None,
        &actor(),
    )
    .unwrap()
}

fn order_row(conn: &mut PgConnection, shop: MerchantId, order: &str) -> earn::EarnOrder {
    earn::find_order(conn, shop, &OrderId::parse(order).unwrap())
        .unwrap()
        .unwrap()
}

fn assert_books_clean(conn: &mut PgConnection) {
    assert_verified(conn);
    assert_lots_match_wallets(conn);
    assert_holds_match_lots(conn);
}

/// The reproduction through the partner API: earn ¥1,000, hold 640 in
/// a redemption, refund the order in full, cancel the redemption.
#[tokio::test]
async fn a_full_refund_while_points_are_held_takes_them_when_the_redemption_is_cancelled() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let till = ApiClient::new(&app, &coffee);
    let member_id = till.enrol("13800000001").await;
    let earned = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "1000.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    let reward_id = reward(&mut app.db.conn(), coffee.merchant_id, 5);
    let held = till
        .post(
            "/api/v1/redemptions",
            "order-1",
            &json!({
                "member_id": member_id,
                "reward_id": reward_id,
                "pay": [{"program": "COFFEE", "points": "640"}],
                "cash_cny": "3.60",
            }),
        )
        .await;
    assert_eq!(held.status, 201, "{held:?}");
    let id = held.json()["redemption_id"].as_i64().unwrap();

    let refunded = till
        .post("/api/v1/earn/POS-1/refund", "refund-1", &json!({}))
        .await;
    assert_eq!(refunded.status, 200, "{refunded:?}");
    assert_eq!(refunded.json()["points_reversed"], "360");
    // Held, not spent: nothing is unrecovered.
    assert_eq!(refunded.json()["points_unrecovered"], "0");
    let order = order_row(&mut app.db.conn(), coffee.merchant_id, "POS-1");
    assert_eq!(order.points_claimed, 640);
    assert_books_clean(&mut app.db.conn());

    let cancelled = till
        .post(
            &format!("/api/v1/redemptions/{id}/cancel"),
            "cancel-1",
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    // The claimed 640 were taken with the void: nothing is left of the order.
    let conn = &mut app.db.conn();
    assert_eq!(points(conn, member_id, "COFFEE"), 0);
    let order = order_row(conn, coffee.merchant_id, "POS-1");
    assert_eq!(
        (
            order.points_reversed,
            order.points_claimed,
            order.points_unrecovered
        ),
        (1_000, 0, 0)
    );
    let balances = till
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await;
    assert_eq!(balances.status, 200, "{balances:?}");
    assert_books_clean(conn);
}

#[test]
fn points_claimed_by_a_refund_count_unrecovered_only_once_the_voucher_is_served() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    earn::earn(conn, &purchase(shop, alice, "POS-1", 100_000), &actor()).unwrap();
    let reward_id = reward(conn, shop, 5);
    let held = redemption::redeem(conn, &order_640(alice, reward_id, "r-1"), &actor()).unwrap();

    let refunded = refund_all(conn, shop, "POS-1");
    assert_eq!(
        (
            refunded.points_reversed,
            refunded.points_claimed,
            refunded.points_unrecovered
        ),
        (360, 640, 0)
    );
    redemption::fulfil(conn, shop, &held.voucher_code, None, &actor()).unwrap();

    // Served: the 640 were really spent, and only now are they unrecovered.
    let order = order_row(conn, shop, "POS-1");
    assert_eq!(
        (
            order.points_reversed,
            order.points_claimed,
            order.points_unrecovered
        ),
        (360, 0, 640)
    );
    assert_eq!(points(conn, alice, "COFFEE"), 0);
    assert_books_clean(conn);
}

#[test]
fn a_hold_voided_by_the_ledger_timeout_gives_the_claimed_points_to_the_refund() {
    let clock = SimClock::starting_at(Utc::now());
    let _installed = clock.install();
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    earn::earn(conn, &purchase(shop, alice, "POS-1", 100_000), &actor()).unwrap();
    let reward_id = reward(conn, shop, 5);
    let held = redemption::redeem(conn, &order_640(alice, reward_id, "r-1"), &actor()).unwrap();
    refund_all(conn, shop, "POS-1");

    // Past the voucher and the ledger's own timeout, and the ledger gets there
    // before the voucher expiry job.
    clock.advance(Duration::days(redemption::VOUCHER_DAYS + 2));
    assert_eq!(earn::held::void_expired_holds(conn, 100).unwrap(), 1);
    assert_eq!(points(conn, alice, "COFFEE"), 0);
    assert_eq!(order_row(conn, shop, "POS-1").points_reversed, 1_000);
    assert_books_clean(conn);

    // The voucher expiry job then closes the redemption and returns the stock.
    assert_eq!(redemption::expire_due(conn, 100, &actor()).unwrap(), 1);
    let expired = redemption::find(conn, held.id).unwrap().unwrap();
    assert_eq!(expired.status.as_str(), "expired");
    let stock: i64 = rewards::table
        .find(reward_id)
        .select(rewards::stock)
        .first(conn)
        .unwrap();
    assert_eq!(stock, 5);
    assert_books_clean(conn);
}

/// The member earns 640 COFFEE 25 days ago (lapsing within a week, the program
/// keeping points a month) and 640 now, and holds 640 in a redemption.
struct TwoLots {
    db: TestDb,
    shop: MerchantId,
    alice: MemberId,
    held: redemption::Redemption,
    old_lot_expires: DateTime<Utc>,
}

fn two_lots_one_held(clock: &SimClock) -> TwoLots {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    diesel::update(programs::table.filter(programs::code.eq("COFFEE")))
        .set(programs::expiry_months.eq(1_i16))
        .execute(conn)
        .unwrap();
    let alice = member(conn, &keys(), "13800000001", None);
    let mut old = purchase(shop, alice, "OLD", 64_000);
    old.occurred_at = Some(clock.now() - Duration::days(25));
    earn::earn(conn, &old, &actor()).unwrap();
    earn::earn(conn, &purchase(shop, alice, "NEW", 64_000), &actor()).unwrap();
    let reward_id = reward(conn, shop, 5);
    let held = redemption::redeem(conn, &order_640(alice, reward_id, "r-1"), &actor()).unwrap();
    let lots: Vec<(i64, i64, Option<DateTime<Utc>>)> = point_lots::table
        .filter(point_lots::member_id.eq(alice))
        .order(point_lots::expires_at)
        .select((
            point_lots::remaining,
            point_lots::reserved,
            point_lots::expires_at,
        ))
        .load(conn)
        .unwrap();
    // FIFO: the hold reserved the old lot, the new one is free.
    assert_eq!(
        lots.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
        [(640, 640), (640, 0)]
    );
    let old_lot_expires = lots[0].2.unwrap();
    assert!(old_lot_expires < clock.now() + Duration::days(redemption::VOUCHER_DAYS));
    TwoLots {
        db,
        shop,
        alice,
        held,
        old_lot_expires,
    }
}

#[test]
fn a_hold_reserves_the_oldest_lot_so_expiry_spares_the_newer_points() {
    let clock = SimClock::starting_at(Utc::now());
    let _installed = clock.install();
    let TwoLots {
        db,
        shop,
        alice,
        held,
        old_lot_expires,
    } = two_lots_one_held(&clock);
    let conn = &mut db.conn();

    clock.advance(old_lot_expires - clock.now() + Duration::minutes(1));
    // The lapsed lot is wholly held: nothing of the new lot expires.
    assert_eq!(expiry::expire_due(conn, clock.now(), 100).unwrap(), 0);
    assert_eq!(points(conn, alice, "COFFEE"), 640);
    assert_books_clean(conn);

    redemption::fulfil(conn, shop, &held.voucher_code, None, &actor()).unwrap();
    assert_eq!(points(conn, alice, "COFFEE"), 640);
    assert_eq!(expiry::expire_due(conn, clock.now(), 100).unwrap(), 0);
    assert_eq!(points(conn, alice, "COFFEE"), 640);
    assert_books_clean(conn);
}

#[test]
fn a_voided_hold_of_lapsed_points_expires_them_with_the_void() {
    let clock = SimClock::starting_at(Utc::now());
    let _installed = clock.install();
    let TwoLots {
        db,
        alice,
        held,
        old_lot_expires,
        ..
    } = two_lots_one_held(&clock);
    let conn = &mut db.conn();

    clock.advance(old_lot_expires - clock.now() + Duration::minutes(1));
    assert_eq!(expiry::expire_due(conn, clock.now(), 100).unwrap(), 0);
    redemption::cancel(conn, alice, held.id, &actor()).unwrap();

    // The old lot's 640 lapsed with the cancel; the new lot is untouched.
    assert_eq!(points(conn, alice, "COFFEE"), 640);
    let remaining: Vec<i64> = point_lots::table
        .filter(point_lots::member_id.eq(alice))
        .order(point_lots::expires_at)
        .select(point_lots::remaining)
        .load(conn)
        .unwrap();
    assert_eq!(remaining, [0, 640]);
    let breakage = alliance::chart::open(
        conn,
        &alliance::chart::program_breakage(
            &alliance::domain::points::ProgramCode::parse("COFFEE").unwrap(),
        ),
    )
    .unwrap();
    assert_eq!(ledger::balance(conn, breakage).unwrap().credits_posted, 640);
    assert_books_clean(conn);
}

/// A campaign at `shop`: 500 points more for ¥100 or more.
fn step_campaign(conn: &mut PgConnection, shop: MerchantId) {
    let id: i64 = diesel::insert_into(campaigns::table)
        .values((
            campaigns::name_zh.eq("满百送五百"),
            campaigns::name_en.eq("500 more at ¥100"),
            campaigns::multiplier.eq(rust_decimal::Decimal::ONE),
            campaigns::spend_steps.eq(json!([{"min_fen": 10_000, "bonus_points": 500}])),
            campaigns::starts_at.eq(Utc::now() - Duration::hours(1)),
            campaigns::ends_at.eq(Utc::now() + Duration::hours(1)),
            campaigns::budget_fen.eq(1_000_000),
            campaigns::house_share_bp.eq(5_000),
            campaigns::created_by.eq("test"),
        ))
        .returning(campaigns::id)
        .get_result(conn)
        .unwrap();
    diesel::insert_into(campaign_merchants::table)
        .values((
            campaign_merchants::campaign_id.eq(id),
            campaign_merchants::merchant_id.eq(shop),
        ))
        .execute(conn)
        .unwrap();
}

#[test]
fn a_one_fen_refund_below_a_spend_step_takes_the_step_bonus_back() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    step_campaign(conn, shop);
    let alice = member(conn, &keys(), "13800000001", None);
    let bob = member(conn, &keys(), "13800000002", None);
    let earned = earn::earn(conn, &purchase(shop, alice, "POS-1", 10_000), &actor()).unwrap();
    assert_eq!(earned.order.points, 600);

    let refunded = earn::refund(
        conn,
        shop,
        &OrderId::parse("POS-1").unwrap(),
        Some(Money::from_fen(1)),
        None,
        &actor(),
    )
    .unwrap();
    // A fresh ¥99.99 order earns 99: the member keeps no more.
    let fresh = earn::earn(conn, &purchase(shop, bob, "POS-2", 9_999), &actor()).unwrap();
    assert_eq!(fresh.order.points, 99);
    assert_eq!(refunded.points_reversed, 501);
    assert_eq!(points(conn, alice, "COFFEE"), 99);
    // The rest of the refund takes the rest, exactly.
    refund_all(conn, shop, "POS-1");
    assert_eq!(points(conn, alice, "COFFEE"), 0);
    assert_eq!(order_row(conn, shop, "POS-1").points_reversed, 600);
    assert_books_clean(conn);
}

#[test]
fn a_tier_reached_by_an_order_that_is_then_refunded_is_lost_when_the_refund_is_booked() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    // ¥3,500 keeps silver (¥3,000) but does not reach it (¥5,000).
    earn::earn(conn, &purchase(shop, alice, "POS-1", 350_000), &actor()).unwrap();
    let up = earn::earn(conn, &purchase(shop, alice, "POS-2", 150_000), &actor()).unwrap();
    assert_eq!(up.upgraded_to.as_deref(), Some("silver"));

    refund_all(conn, shop, "POS-2");
    assert_eq!(earn::tier::of_member(conn, alice).unwrap().code, "basic");
    let next = earn::earn(conn, &purchase(shop, alice, "POS-3", 10_000), &actor()).unwrap();
    assert_eq!(next.breakdown.tier.code, "basic");
    assert_eq!(next.order.points, 100);
}

/// Eight members order and cancel the same reward in a loop, each on its own
/// connection: every request succeeds (no deadlock, no error).
#[test]
fn eight_members_creating_and_cancelling_on_one_reward_never_fail() {
    const MEMBERS: usize = 8;
    const ROUNDS: usize = 12;
    let db = TestDb::new();
    let (shop, reward_id, members) = {
        let conn = &mut db.conn();
        let shop = funded_shop(conn, "COFFEE", "0.01");
        let reward_id = reward(conn, shop, 100);
        let members: Vec<MemberId> = (0..MEMBERS)
            .map(|i| {
                let id = member(conn, &keys(), &format!("1380000{:04}", i + 1), None);
                earn::earn(
                    conn,
                    &purchase(shop, id, &format!("POS-{i}"), 100_000),
                    &actor(),
                )
                .unwrap();
                id
            })
            .collect();
        (shop, reward_id, members)
    };
    let barrier = Arc::new(Barrier::new(MEMBERS));
    let threads: Vec<_> = members
        .iter()
        .map(|&member_id| {
            let url = db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let conn = &mut PgConnection::establish(&url).unwrap();
                barrier.wait();
                let mut failures = Vec::new();
                for round in 0..ROUNDS {
                    let key = format!("loop-{round}");
                    match redemption::redeem(conn, &order_640(member_id, reward_id, &key), &actor())
                    {
                        Ok(held) => {
                            if let Err(e) = redemption::cancel(conn, member_id, held.id, &actor()) {
                                failures.push(format!("cancel: {e}"));
                            }
                        }
                        Err(e) => failures.push(format!("redeem: {e}")),
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    let conn = &mut db.conn();
    for &member_id in &members {
        assert_eq!(points(conn, member_id, "COFFEE"), 1_000);
    }
    let _ = shop;
    assert_books_clean(conn);
}

/// A full refund and a redemption of the same points, at the same moment, for
/// several members: each ends in a success or a translated refusal, never an
/// internal error, and once the redemptions are cancelled nobody keeps a point
/// of a refunded order.
#[test]
fn a_full_refund_racing_a_redemption_ends_cleanly_and_leaves_nothing() {
    const RACES: usize = 6;
    let db = TestDb::new();
    let (shop, reward_id, members) = {
        let conn = &mut db.conn();
        let shop = funded_shop(conn, "COFFEE", "0.01");
        let reward_id = reward(conn, shop, 100);
        let members: Vec<MemberId> = (0..RACES)
            .map(|i| {
                let id = member(conn, &keys(), &format!("1390000{:04}", i + 1), None);
                earn::earn(
                    conn,
                    &purchase(shop, id, &format!("POS-{i}"), 100_000),
                    &actor(),
                )
                .unwrap();
                id
            })
            .collect();
        (shop, reward_id, members)
    };
    for (i, &member_id) in members.iter().enumerate() {
        let barrier = Arc::new(Barrier::new(2));
        let refunding = {
            let url = db.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let conn = &mut PgConnection::establish(&url).unwrap();
                barrier.wait();
                earn::refund(
                    conn,
                    shop,
                    &OrderId::parse(&format!("POS-{i}")).unwrap(),
                    None,
                    None,
                    &actor(),
                )
                .map_err(|e| (e.is_refusal(), e.to_string()))
            })
        };
        let redeeming = {
            let url = db.url().to_owned();
            std::thread::spawn(move || {
                let conn = &mut PgConnection::establish(&url).unwrap();
                barrier.wait();
                redemption::redeem(conn, &order_640(member_id, reward_id, "race"), &actor())
                    .map_err(|e| (e.is_refusal(), e.to_string()))
            })
        };
        let refunded = refunding.join().unwrap();
        let redeemed = redeeming.join().unwrap();
        assert!(refunded.is_ok(), "{refunded:?}");
        if let Err((client, message)) = &redeemed {
            assert!(client, "an internal error: {message}");
        }
        let conn = &mut db.conn();
        if let Ok(held) = redeemed {
            redemption::cancel(conn, member_id, held.id, &actor()).unwrap();
        }
        assert_eq!(points(conn, member_id, "COFFEE"), 0);
        let order: (i64, i64) = earn_orders::table
            .filter(earn_orders::order_id.eq(format!("POS-{i}")))
            .select((
                earn_orders::points_reversed,
                earn_orders::points_unrecovered,
            ))
            .first(conn)
            .unwrap();
        assert_eq!(order, (1_000, 0));
    }
    assert_books_clean(&mut db.conn());
}
