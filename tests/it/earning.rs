//! Earning points through the earn service: the breakdown, exactly-once orders,
//! refunds, FIFO expiry, campaigns' exact budgets, ALP, tiers and limits.

use std::sync::Arc;

use alliance::{
    campaign, chart,
    crypto::Keys,
    db::schema::{campaign_merchants, campaigns, journal_entries, point_lots, programs},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
        points::ProgramCode,
    },
    earn::{self, EarnError, EarnRequest, OrderId, Source, expiry, lot},
    email::Mailer,
    ledger::{self, EntryRequest, TransferRequest},
    merchant::standing,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    harness::TestDb,
    ledger_support::{assert_lots_match_wallets, assert_verified, submit_one},
    people_support::{funded_shop, member},
};

fn keys() -> Keys {
    Keys::derive("earning test secret key, at least 32 characters")
}

fn cashier() -> Actor {
    Actor::system("test-till")
}

fn purchase(
    merchant_id: MerchantId,
    member_id: MemberId,
    order: &str,
    amount: &str,
) -> EarnRequest {
    EarnRequest {
        merchant_id,
        order_id: OrderId::parse(order).unwrap(),
        member_id,
        amount: Money::parse(amount).unwrap(),
        occurred_at: None,
        store_id: None,
        program: None,
        source: Source::Api,
        device_id: None,
        ip: None,
    }
}

fn wallet(conn: &mut PgConnection, member_id: MemberId, program: &str) -> i64 {
    let code = ProgramCode::parse(program).unwrap();
    let id = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

fn posted(conn: &mut PgConnection, spec: &ledger::AccountSpec) -> i64 {
    let id = chart::open(conn, spec).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

fn entries_of_kind(conn: &mut PgConnection, kind: &str) -> i64 {
    journal_entries::table
        .filter(journal_entries::kind.eq(kind))
        .count()
        .get_result(conn)
        .unwrap()
}

fn lots_remaining(conn: &mut PgConnection, member_id: MemberId) -> Vec<i64> {
    point_lots::table
        .filter(point_lots::member_id.eq(member_id))
        .order(point_lots::id)
        .select(point_lots::remaining)
        .load(conn)
        .unwrap()
}

/// What an exchange out or a redemption does to a wallet: lock its lots, retire
/// points and consume lots, oldest first (the spending services of later issues
/// do this).
fn spend(conn: &mut PgConnection, member_id: MemberId, program: &str, points: i64) {
    let code = ProgramCode::parse(program).unwrap();
    conn.transaction(|conn| {
        lot::lock(conn, member_id, program).unwrap();
        let wallet = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
        let issuance = chart::open(conn, &chart::program_issuance(&code)).unwrap();
        let entry = EntryRequest::new(format!("test:spend:{}", rand::random::<u64>()), "exchange")
            .transfer(TransferRequest::move_(wallet, issuance, program, points));
        submit_one(conn, entry).unwrap();
        lot::consume(conn, member_id, program, points).unwrap();
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

#[test]
fn an_earn_issues_base_and_tier_points_in_one_entry_and_opens_a_lot() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    diesel::update(programs::table.filter(programs::merchant_id.eq(shop)))
        .set(programs::earn_points_per_cny.eq(rust_decimal::Decimal::new(25, 1)))
        .execute(conn)
        .unwrap();
    let alice = member(conn, &keys(), "13800000001", None);
    diesel::update(alliance::db::schema::members::table.find(alice))
        .set(alliance::db::schema::members::tier.eq("silver"))
        .execute(conn)
        .unwrap();

    let earned = earn::earn(conn, &purchase(shop, alice, "POS-1", "99.99"), &cashier()).unwrap();

    // floor(99.99 × 2.5) = 249; silver +10% = floor(24.9) = 24.
    assert_eq!(earned.breakdown.base_points, 249);
    assert_eq!(earned.breakdown.tier.points, 24);
    assert_eq!(earned.order.points, 273);
    assert!(!earned.replayed);
    assert_eq!(wallet(conn, alice, "COFFEE"), 273);
    let code = ProgramCode::parse("COFFEE").unwrap();
    assert_eq!(posted(conn, &chart::program_issuance(&code)), -273);
    let lots = lot::upcoming(conn, alice).unwrap();
    assert_eq!(lots.len(), 1);
    assert_eq!(lots[0].remaining, 273);
    assert_eq!(
        lots[0].expires_at,
        lot::expiry(earned.order.occurred_at, 12)
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn the_same_order_twice_is_replayed_and_a_different_purchase_under_its_id_is_refused() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    let first = earn::earn(conn, &purchase(shop, alice, "POS-1", "50.00"), &cashier()).unwrap();
    let again = earn::earn(conn, &purchase(shop, alice, "POS-1", "50.00"), &cashier()).unwrap();
    assert!(again.replayed);
    assert_eq!(again.order, first.order);
    assert_eq!(again.breakdown, first.breakdown);

    let other = earn::earn(conn, &purchase(shop, alice, "POS-1", "51.00"), &cashier());
    assert!(matches!(other, Err(EarnError::OrderConflict)), "{other:?}");
    assert_eq!(entries_of_kind(conn, "earn"), 1);
    assert_eq!(wallet(conn, alice, "COFFEE"), 50);
}

#[test]
fn twenty_concurrent_duplicates_of_one_order_issue_once() {
    let db = TestDb::new();
    let (shop, alice) = {
        let conn = &mut db.conn();
        let shop = funded_shop(conn, "COFFEE", "0.01");
        (shop, member(conn, &keys(), "13800000001", None))
    };
    let url = Arc::new(db.url().to_owned());
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let url = Arc::clone(&url);
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                earn::earn(
                    &mut conn,
                    &purchase(shop, alice, "POS-RACE", "88.00"),
                    &cashier(),
                )
                .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    assert!(results.iter().all(|r| r.order == results[0].order));
    let conn = &mut db.conn();
    assert_eq!(entries_of_kind(conn, "earn"), 1);
    assert_eq!(wallet(conn, alice, "COFFEE"), 88);
}

#[test]
fn a_refund_after_a_partial_spend_takes_back_what_is_left_and_reports_the_rest() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    earn::earn(conn, &purchase(shop, alice, "POS-1", "100.00"), &cashier()).unwrap();
    spend(conn, alice, "COFFEE", 70);

    let order = OrderId::parse("POS-1").unwrap();
    let half = earn::refund(
        conn,
        shop,
        &order,
        Some(Money::parse("40.00").unwrap()),
        None,
        &cashier(),
    )
    .unwrap();
    // 40% of 100 points is 40, but only 30 are left: 30 back, 10 unrecovered.
    assert_eq!((half.points_reversed, half.points_unrecovered), (30, 10));
    assert_eq!(wallet(conn, alice, "COFFEE"), 0);

    let rest = earn::refund(conn, shop, &order, None, None, &cashier()).unwrap();
    assert_eq!((rest.points_reversed, rest.points_unrecovered), (0, 60));
    assert_eq!(rest.order.refunded_fen, 10_000);
    assert_eq!(rest.order.points_kept(), 0);
    assert_eq!(wallet(conn, alice, "COFFEE"), 0);

    let more = earn::refund(
        conn,
        shop,
        &order,
        Some(Money::parse("0.01").unwrap()),
        None,
        &cashier(),
    );
    assert!(
        matches!(more, Err(earn::RefundError::TooMuch { .. })),
        "{more:?}"
    );
    assert_eq!(entries_of_kind(conn, "reverse"), 1);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn partial_refunds_leave_what_the_net_purchase_earns_and_a_full_one_reverses_them_all() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    earn::earn(conn, &purchase(shop, alice, "POS-1", "101.00"), &cashier()).unwrap();
    let order = OrderId::parse("POS-1").unwrap();
    let first = earn::refund(
        conn,
        shop,
        &order,
        Some(Money::parse("33.33").unwrap()),
        None,
        &cashier(),
    )
    .unwrap();
    // ¥67.67 left earns 67 points: 34 of the 101 go back (a third would be 33).
    assert_eq!(first.points_reversed, 34);
    let rest = earn::refund(conn, shop, &order, None, None, &cashier()).unwrap();
    assert_eq!(rest.points_reversed, 67);
    assert_eq!(wallet(conn, alice, "COFFEE"), 0);
    assert_eq!(lots_remaining(conn, alice), vec![0]);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn spending_takes_the_oldest_lots_first_and_expiry_lapses_each_lot_on_its_date() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    let now = Utc::now();
    for (order, days_ago, amount) in [("A", 20, "100.00"), ("B", 10, "100.00"), ("C", 0, "100.00")]
    {
        let mut request = purchase(shop, alice, order, amount);
        request.occurred_at = Some(now - Duration::days(days_ago));
        earn::earn(conn, &request, &cashier()).unwrap();
    }
    spend(conn, alice, "COFFEE", 150);
    assert_eq!(lots_remaining(conn, alice), vec![0, 50, 100]);

    let lots = lot::upcoming(conn, alice).unwrap();
    let b_expiry = lots[0].expires_at.unwrap();
    let c_expiry = lots[1].expires_at.unwrap();
    // Just before B's date nothing lapses; on it, B's 50 do.
    assert_eq!(
        expiry::expire_due(conn, b_expiry - Duration::seconds(1), 100).unwrap(),
        0
    );
    assert_eq!(expiry::expire_due(conn, b_expiry, 100).unwrap(), 1);
    assert_eq!(wallet(conn, alice, "COFFEE"), 100);
    // A second pass at the same moment finds nothing more.
    assert_eq!(expiry::expire_due(conn, b_expiry, 100).unwrap(), 0);
    assert_eq!(expiry::expire_due(conn, c_expiry, 100).unwrap(), 1);
    assert_eq!(wallet(conn, alice, "COFFEE"), 0);
    let code = ProgramCode::parse("COFFEE").unwrap();
    assert_eq!(posted(conn, &chart::program_breakage(&code)), 150);
    assert_eq!(entries_of_kind(conn, "expire"), 2);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn members_are_reminded_once_a_week_of_points_lapsing_within_fifteen_days() {
    let db = TestDb::new();
    let (mailer, outbox) = Mailer::memory();
    let pool = alliance::db::pool(db.url(), 2).unwrap();
    let alice = {
        let conn = &mut db.conn();
        let shop = funded_shop(conn, "COFFEE", "0.01");
        let alice = member(conn, &keys(), "13800000001", Some("alice@example.com"));
        earn::earn(conn, &purchase(shop, alice, "A", "120.00"), &cashier()).unwrap();
        alice
    };
    let expires = lot::upcoming(&mut db.conn(), alice).unwrap()[0]
        .expires_at
        .unwrap();

    let pass = |at| expiry::send_reminders(&pool, &mailer, "https://alliance.test", at);
    // 16 days ahead: too early.
    assert_eq!(pass(expires - Duration::days(16)).await.unwrap(), 0);
    assert_eq!(pass(expires - Duration::days(14)).await.unwrap(), 1);
    let email = outbox.last_to("alice@example.com").unwrap();
    assert!(email.text.contains("120"), "{}", email.text);
    assert!(email.text.contains("COFFEE 积分"), "{}", email.text);
    // The next days of that week: nothing more.
    assert_eq!(pass(expires - Duration::days(8)).await.unwrap(), 0);
    // A week later, still lapsing: reminded again.
    assert_eq!(pass(expires - Duration::days(6)).await.unwrap(), 1);
    assert_eq!(outbox.sent().len(), 2);
}

fn campaign_for(
    conn: &mut PgConnection,
    merchants: &[MerchantId],
    multiplier: i64,
    budget_fen: i64,
) -> i64 {
    let id: i64 = diesel::insert_into(campaigns::table)
        .values((
            campaigns::name_zh.eq("双十一十倍积分"),
            campaigns::name_en.eq("Double eleven 10x"),
            campaigns::multiplier.eq(rust_decimal::Decimal::from(multiplier)),
            campaigns::starts_at.eq(Utc::now() - Duration::hours(1)),
            campaigns::ends_at.eq(Utc::now() + Duration::hours(1)),
            campaigns::budget_fen.eq(budget_fen),
            campaigns::house_share_bp.eq(5_000),
            campaigns::created_by.eq("test"),
        ))
        .returning(campaigns::id)
        .get_result(conn)
        .unwrap();
    for merchant in merchants {
        diesel::insert_into(campaign_merchants::table)
            .values((
                campaign_merchants::campaign_id.eq(id),
                campaign_merchants::merchant_id.eq(merchant),
            ))
            .execute(conn)
            .unwrap();
    }
    id
}

#[test]
fn a_campaign_budget_is_exact_under_fifty_concurrent_earns() {
    let db = TestDb::new();
    let (shop, members, campaign_id) = {
        let conn = &mut db.conn();
        let shop = funded_shop(conn, "COFFEE", "0.01");
        let members: Vec<MemberId> = (0..50)
            .map(|i| member(conn, &keys(), &format!("1380000{i:04}"), None))
            .collect();
        // 2x: each ¥30 purchase wants 30 bonus points = ¥0.30; 50 want ¥15.00.
        let campaign_id = campaign_for(conn, &[shop], 2, 1_000);
        (shop, members, campaign_id)
    };
    let url = Arc::new(db.url().to_owned());
    let handles: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let url = Arc::clone(&url);
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                earn::earn(
                    &mut conn,
                    &purchase(shop, m, &format!("R-{i}"), "30.00"),
                    &cashier(),
                )
                .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let bonus: i64 = results
        .iter()
        .flat_map(|r| &r.breakdown.campaigns)
        .map(|c| c.points)
        .sum();
    let cost: i64 = results
        .iter()
        .flat_map(|r| &r.breakdown.campaigns)
        .map(|c| c.cost_fen)
        .sum();
    assert_eq!(bonus, 1_000);
    assert_eq!(cost, 1_000);
    let conn = &mut db.conn();
    let spent: i64 = campaigns::table
        .find(campaign_id)
        .select(campaigns::spent_fen)
        .first(conn)
        .unwrap();
    assert_eq!(spent, 1_000);
    // The house paid half of every award to the merchant.
    let house: i64 = results
        .iter()
        .flat_map(|r| &r.breakdown.campaigns)
        .map(|c| c.house_fen)
        .sum();
    assert_eq!(house, 500);
    assert_eq!(
        posted(conn, &chart::HouseAccount::Campaigns.spec()),
        -500,
        "house:campaigns paid out"
    );
    assert_eq!(posted(conn, &chart::merchant_settlement(shop)), 500);
    // After the cap, no more bonus.
    let after = earn::earn(
        conn,
        &purchase(shop, members[0], "AFTER", "30.00"),
        &cashier(),
    )
    .unwrap();
    assert!(after.breakdown.campaigns.is_empty());
    assert!(
        campaign::running_for_update(conn, shop, Utc::now())
            .unwrap()
            .is_empty()
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn issuing_alp_charges_the_merchant_the_issue_price() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    // ¥100 at 1 point/CNY worth ¥0.02 is ¥2.00: 200 ALP at ¥0.01.
    let shop = funded_shop(conn, "COFFEE", "0.02");
    let alice = member(conn, &keys(), "13800000001", None);
    let mut request = purchase(shop, alice, "ALP-1", "100.00");
    request.program = Some(ProgramCode::alp());
    let earned = earn::earn(conn, &request, &cashier()).unwrap();
    assert_eq!(earned.order.points, 200);
    assert_eq!(wallet(conn, alice, "ALP"), 200);
    assert_eq!(posted(conn, &chart::merchant_settlement(shop)), -200);
    assert_eq!(posted(conn, &chart::HouseAccount::Alp.spec()), 200);

    // A full refund gives the merchant its money back.
    earn::refund(
        conn,
        shop,
        &OrderId::parse("ALP-1").unwrap(),
        None,
        None,
        &cashier(),
    )
    .unwrap();
    assert_eq!(wallet(conn, alice, "ALP"), 0);
    assert_eq!(posted(conn, &chart::merchant_settlement(shop)), 0);
    assert_verified(conn);
    assert_lots_match_wallets(conn);

    request.order_id = OrderId::parse("OTHER-1").unwrap();
    request.program = Some(ProgramCode::parse("TEA").unwrap());
    let refused = earn::earn(conn, &request, &cashier());
    assert!(
        matches!(refused, Err(EarnError::ProgramNotAllowed)),
        "{refused:?}"
    );
}

#[test]
fn a_suspended_merchant_cannot_issue_and_nothing_is_booked() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    standing::suspend(conn, &cashier(), shop, "逾期未结算").unwrap();
    let refused = earn::earn(conn, &purchase(shop, alice, "POS-1", "50.00"), &cashier());
    assert!(matches!(refused, Err(EarnError::Blocked(_))), "{refused:?}");
    assert_eq!(entries_of_kind(conn, "earn"), 0);
    assert!(
        earn::find_order(conn, shop, &OrderId::parse("POS-1").unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_daily_limit_refuses_the_earn_that_would_pass_it() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    diesel::update(programs::table.filter(programs::merchant_id.eq(shop)))
        .set(programs::member_daily_earn_limit.eq(1_000))
        .execute(conn)
        .unwrap();
    let alice = member(conn, &keys(), "13800000001", None);
    earn::earn(conn, &purchase(shop, alice, "POS-1", "900.00"), &cashier()).unwrap();
    let refused = earn::earn(conn, &purchase(shop, alice, "POS-2", "101.00"), &cashier());
    assert!(
        matches!(
            refused,
            Err(EarnError::DailyLimit {
                limit: 1_000,
                earned_today: 900
            })
        ),
        "{refused:?}"
    );
    earn::earn(conn, &purchase(shop, alice, "POS-3", "100.00"), &cashier()).unwrap();
    assert_eq!(wallet(conn, alice, "COFFEE"), 1_000);
}

#[test]
fn spending_past_silver_upgrades_the_member_and_a_refund_below_it_takes_the_tier_away_at_once() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shop = funded_shop(conn, "COFFEE", "0.01");
    let alice = member(conn, &keys(), "13800000001", None);
    let first = earn::earn(conn, &purchase(shop, alice, "BIG", "5000.00"), &cashier()).unwrap();
    assert_eq!(first.breakdown.tier.code, "basic");
    assert_eq!(first.upgraded_to.as_deref(), Some("silver"));
    let next = earn::earn(conn, &purchase(shop, alice, "NEXT", "100.00"), &cashier()).unwrap();
    assert_eq!(next.breakdown.tier.code, "silver");
    assert_eq!(next.order.points, 110);

    // A refund that drops the spend below silver's keep threshold (¥3,000)
    // takes the tier away when it is booked, not at the nightly review.
    earn::refund(
        conn,
        shop,
        &OrderId::parse("BIG").unwrap(),
        Some(Money::parse("4000.00").unwrap()),
        None,
        &cashier(),
    )
    .unwrap();
    assert!(
        earn::tier::review_all(conn, Utc::now(), 100)
            .unwrap()
            .is_empty()
    );
    assert_eq!(earn::tier::of_member(conn, alice).unwrap().code, "basic");
}
