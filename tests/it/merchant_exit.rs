//! A merchant leaving the alliance leaves its members whole (issue 16, hole 4):
//! the notice period, the conversion of outstanding points into ALP funded from
//! the deposit, the refund refused while the deposit covers anything, and a
//! deduction capped at what the merchant owes — through the partner API and
//! the portals where the reproduction goes through them, and through
//! the services for the conversion's idempotency, crashes and shortfall.

use alliance::{
    approval::{self, Policy},
    chart::{self, HouseAccount},
    db::schema::{audit_events, journal_entries, merchant_exits},
    deposit::{self, DepositError},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
        points::ProgramCode,
    },
    email::Mailer,
    error::Classify,
    exit,
    i18n::Locale,
    ledger::{self, AccountSpec, EntryRequest, TransferRequest},
    merchant,
    people::operator::OperatorRole,
    risk,
};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::json;

use thirtyfour::By;

use crate::{
    api_support::{ApiClient, Partner, partner},
    browser::{element, screenshot_path, sign_in, switch_language},
    exchange_support::{earn_points, keys, points},
    harness::{Browser, TestApp, TestDb, spawn_app},
    ledger_support::{assert_lots_match_wallets, assert_verified, submit_one},
    people_support::{PASSWORD, funded_shop, member, operator, shop},
    redemption_support::movie_ticket,
};

fn system() -> Actor {
    Actor::system("test")
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn finance(conn: &mut PgConnection, email: &str) -> Actor {
    Actor {
        kind: alliance::domain::actor::ActorKind::Operator,
        id: Some(operator(conn, email, OperatorRole::Finance)),
        label: email.to_owned(),
        role: "finance".to_owned(),
        merchant_id: None,
        ip: None,
    }
}

/// An account's posted balance (credits − debits); zero when not opened.
fn posted(conn: &mut PgConnection, spec: &AccountSpec) -> i64 {
    ledger::find_account(conn, &spec.code)
        .unwrap()
        .map_or(0, |a| ledger::balance(conn, a.id).unwrap().posted())
}

/// The merchant owes the house `fen` on its settlement account.
fn owe(conn: &mut PgConnection, merchant_id: MerchantId, fen: i64) {
    let settlement = chart::open(conn, &chart::merchant_settlement(merchant_id)).unwrap();
    let house = chart::ensure_house_accounts(conn).unwrap();
    let entry = EntryRequest::new(format!("test:owe:{merchant_id}:{fen}"), "settle").transfer(
        TransferRequest::move_(settlement, house.id(HouseAccount::Fees), "CNY", fen),
    );
    submit_one(conn, entry).unwrap();
}

fn exit_conversions(conn: &mut PgConnection) -> i64 {
    journal_entries::table
        .filter(journal_entries::kind.eq("exit_conversion"))
        .count()
        .get_result(conn)
        .unwrap()
}

fn after_notice(exit: &exit::Exit) -> DateTime<Utc> {
    exit.notice_ends_at + Duration::seconds(1)
}

fn dual_from(amount: &str) -> Policy {
    Policy {
        dual_approval_from: money(amount),
    }
}

/// MILES and HOTEL (strategic partners, ¥0.01 a point, ¥500,000 deposits) and
/// three members who earned 50,000, 40,000 and 20,000 MILES at MILES' till;
/// the first signed up with an email and a password, and holds 1,000 HOTEL.
struct Alliance {
    app: TestApp,
    miles: Partner,
    hotel: Partner,
    hotel_api: ApiClient,
    members: Vec<MemberId>,
}

async fn miles_and_hotel() -> Alliance {
    let app = spawn_app().await;
    let (miles, hotel) = (partner(&app, "MILES"), partner(&app, "HOTEL"));
    let (miles_api, hotel_api) = (ApiClient::new(&app, &miles), ApiClient::new(&app, &hotel));
    member(
        &mut app.db.conn(),
        &app.keys,
        "13800000001",
        Some("ming@example.com"),
    );
    let mut members = Vec::new();
    for (i, (phone, amount)) in ["13800000001", "13800000002", "13800000003"]
        .iter()
        .zip(["50000.00", "40000.00", "20000.00"])
        .enumerate()
    {
        let id = miles_api.enrol(phone).await;
        assert_eq!(hotel_api.enrol(phone).await, id);
        let earned = miles_api
            .post(
                "/api/v1/earn",
                &format!("earn-{i}"),
                &json!({"member_id": id, "order_id": format!("M-{i}"), "amount_cny": amount}),
            )
            .await;
        assert_eq!(earned.status, 201, "{earned:?}");
        members.push(id);
    }
    let earned = hotel_api
        .post(
            "/api/v1/earn",
            "hotel-earn",
            &json!({"member_id": members[0], "order_id": "H-1", "amount_cny": "1000.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    Alliance {
        app,
        miles,
        hotel,
        hotel_api,
        members,
    }
}

/// The member pays HOTEL's ¥30.00 ticket with 2,000 MILES and cash: a held
/// leg that debits MILES' settlement account when served. Returns its id.
async fn hold_a_miles_leg(a: &Alliance, member_id: MemberId) -> i64 {
    let ticket = movie_ticket(&mut a.app.db.conn(), a.hotel.merchant_id, 5);
    let quoted = a
        .hotel_api
        .post(
            "/api/v1/exchange/quotes",
            "price-of-2000-miles",
            &json!({"member_id": member_id, "from_program": "MILES", "to_program": "HOTEL", "from_points": "2000"}),
        )
        .await;
    assert_eq!(quoted.status, 201, "{quoted:?}");
    let breakdown = &quoted.json()["breakdown"];
    let net = money(breakdown["value_out_cny"].as_str().unwrap()).fen()
        - money(breakdown["fee_cny"].as_str().unwrap()).fen();
    let ordered = a
        .hotel_api
        .post(
            "/api/v1/redemptions",
            "ticket-1",
            &json!({
                "member_id": member_id,
                "reward_id": ticket,
                "pay": [{"program": "MILES", "points": "2000"}],
                "cash_cny": Money::from_fen(3_000 - net).to_string(),
            }),
        )
        .await;
    assert_eq!(ordered.status, 201, "{ordered:?}");
    ordered.json()["redemption_id"].as_i64().unwrap()
}

/// An operator starts MILES' exit on its page, refused until confirmed, and
/// sees its notice; returns the exit and the operator's browser.
async fn exit_on_the_page(a: &Alliance, page: &str) -> (exit::Exit, Browser) {
    let conn = &mut a.app.db.conn();
    let status = |conn: &mut PgConnection| {
        merchant::find(conn, a.miles.merchant_id)
            .unwrap()
            .unwrap()
            .status
    };
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    let ops = a.app.browser();
    ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    let path = format!("{page}/exit");
    let unconfirmed = [("reason", "合同到期不再续约"), ("notice_days", "30")];
    ops.submit(page, &path, &unconfirmed).await;
    assert!(ops.get(page).await.body.contains("请勾选确认"));
    assert_eq!(status(conn).as_str(), "active");
    let confirmed = [
        ("reason", "合同到期不再续约"),
        ("notice_days", "30"),
        ("confirm", "yes"),
    ];
    assert_eq!(ops.submit(page, &path, &confirmed).await.status, 303);
    assert_eq!(status(conn).as_str(), "exiting");
    let the_exit = exit::of(conn, a.miles.merchant_id).unwrap().unwrap();
    assert_eq!(
        the_exit.notice_ends_at - the_exit.started_at,
        Duration::days(30)
    );
    let shown = ops.get(page).await.body;
    assert!(
        shown.contains("id=\"exit-stage\"") && shown.contains("通知期"),
        "{shown}"
    );
    assert!(
        shown.contains("¥1,100.00"),
        "110,000 MILES are covered: {shown}"
    );
    let audited: i64 = audit_events::table
        .filter(audit_events::action.eq_any(["merchant.exit", "merchant.exit_notice"]))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(audited, 2);
    (the_exit, ops)
}

/// The member with an email is told once by email; on their points page too.
async fn members_are_told(a: &Alliance) {
    let conn = &mut a.app.db.conn();
    let (mailer, outbox) = Mailer::memory();
    for expected in [1, 0] {
        let told = exit::notice::email_members(conn, &mailer, "http://alliance.test", Utc::now())
            .await
            .unwrap();
        assert_eq!(told, expected, "a member is told once");
    }
    let sent = outbox.sent();
    assert_eq!(sent[0].to, "ming@example.com");
    assert!(sent[0].text.contains("50,000"), "{}", sent[0].text);
    let consumer = a.app.browser();
    consumer.sign_in("consumer", "13800000001", PASSWORD).await;
    let points_page = consumer.get("/consumer/points").await.body;
    assert!(
        points_page.contains("MILES 积分 即将退出联盟"),
        "{points_page}"
    );
    assert!(points_page.contains("价值 ¥500.00"), "{points_page}");
}

/// During the notice nothing goes into MILES, and members still exchange out:
/// 10,000 MILES of the first member go to HOTEL.
async fn exchanges_only_go_out(a: &Alliance) {
    let into = a
        .hotel_api
        .post(
            "/api/v1/exchange/quotes",
            "into-miles",
            &json!({"member_id": a.members[0], "from_program": "HOTEL", "to_program": "MILES", "from_points": "500"}),
        )
        .await;
    assert!((400..500).contains(&into.status), "{into:?}");
    let out = a
        .hotel_api
        .post(
            "/api/v1/exchange/quotes",
            "out-of-miles",
            &json!({"member_id": a.members[0], "from_program": "MILES", "to_program": "HOTEL", "from_points": "10000"}),
        )
        .await;
    assert_eq!(out.status, 201, "{out:?}");
    let executed = a
        .hotel_api
        .post(
            "/api/v1/exchange",
            "out-of-miles-go",
            &json!({"quote_id": out.json()["quote_id"]}),
        )
        .await;
    assert_eq!(executed.status, 201, "{executed:?}");
}

/// Finance cannot refund MILES' deposit while it covers 100,000 points (the
/// held 2,000 included) and the pending leg — the hole let all of it go.
async fn refund_is_refused_while_covered(a: &Alliance, page: &str, finance_officer: &Actor) {
    let conn = &mut a.app.db.conn();
    let refused = deposit::refund(conn, finance_officer, a.miles.merchant_id).unwrap_err();
    let DepositError::StillCovers(covered) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(covered.outstanding_points, 100_000);
    assert_eq!(covered.liability, money("1000.00"));
    assert!(covered.pending.is_positive(), "the held leg is covered");
    let message = refused.message(Locale::ZhCn).unwrap();
    assert!(
        message.contains("会员持有 100000 积分（¥1000.00）"),
        "{message}"
    );
    let finance_browser = a.app.browser();
    finance_browser
        .sign_in("platform", "finance@alliance.test", PASSWORD)
        .await;
    finance_browser
        .submit(page, &format!("{page}/refund"), &[])
        .await;
    // The flash is the refusal's one message, with the figures it refused on.
    let body = finance_browser.get(page).await.body;
    assert!(body.contains("仍须覆盖：会员持有 100000 积分"), "{body}");
    assert_eq!(
        posted(conn, &chart::merchant_deposit(a.miles.merchant_id)),
        50_000_000
    );
}

/// A deduction of what the merchant owes, approved; a cent more is refused.
/// Returns what it took.
fn deduct_what_is_owed(conn: &mut PgConnection, merchant_id: MerchantId, maker: &Actor) -> i64 {
    let owed = -posted(conn, &chart::merchant_settlement(merchant_id));
    assert!(owed > 0);
    let registry = crate::harness::approval_registry();
    let request = |conn: &mut PgConnection, fen: i64| {
        deposit::request_deduction(
            conn,
            maker,
            merchant_id,
            Money::from_fen(fen),
            "退出结清",
            dual_from("1000000.00"),
            &registry,
        )
    };
    assert!(matches!(
        request(conn, owed + 1),
        Err(DepositError::AboveOwed { owed: o }) if o.fen() == owed
    ));
    let deduction = request(conn, owed).unwrap();
    let checker = finance(conn, "finance2@alliance.test");
    let done = approval::decide(conn, deduction.id, &checker, true, None, &registry).unwrap();
    assert_eq!(done.status.as_str(), "approved", "{:?}", done.outcome);
    assert_eq!(posted(conn, &chart::merchant_settlement(merchant_id)), 0);
    owed
}

#[tokio::test]
async fn an_exiting_programme_leaves_its_members_whole_and_its_deposit_covers_them_to_the_end() {
    let a = miles_and_hotel().await;
    let conn = &mut a.app.db.conn();
    let members = a.members.clone();
    let redemption_id = hold_a_miles_leg(&a, members[2]).await;
    let page = format!("/platform/merchants/{}", a.miles.merchant_id);
    let (the_exit, ops) = exit_on_the_page(&a, &page).await;
    members_are_told(&a).await;
    exchanges_only_go_out(&a).await;
    let finance_officer = finance(conn, "finance@alliance.test");
    refund_is_refused_while_covered(&a, &page, &finance_officer).await;

    // The notice ends: what members hold converts; the held 2,000 wait.
    let before: Vec<i64> = members.iter().map(|&m| points(conn, m, "MILES")).collect();
    let pass = exit::conversion::run_due(conn, &system(), after_notice(&the_exit), 1_000).unwrap();
    assert_eq!(
        pass,
        exit::conversion::Pass {
            conversions: 3,
            completed: 0
        }
    );
    for (&m, &had) in members.iter().zip(&before) {
        assert_eq!(points(conn, m, "MILES"), 0);
        // At ¥0.01 a MILES point and ¥0.01 an ALP: value for value.
        assert_eq!(points(conn, m, "ALP"), had, "member {m}");
    }
    let miles = ProgramCode::parse("MILES").unwrap();
    assert_eq!(deposit::outstanding_points(conn, &miles).unwrap(), 2_000);
    assert!(matches!(
        deposit::refund(conn, &finance_officer, a.miles.merchant_id),
        Err(DepositError::StillCovers(_))
    ));

    // HOTEL serves the ticket: the held MILES are spent and MILES owes the leg;
    // nothing is left in members' hands, so the exit completes.
    let served = a
        .hotel_api
        .post(
            &format!("/api/v1/redemptions/{redemption_id}/fulfil"),
            "serve-1",
            &json!({}),
        )
        .await;
    assert_eq!(served.status, 200, "{served:?}");
    let pass = exit::conversion::run_due(conn, &system(), after_notice(&the_exit), 1_000).unwrap();
    assert_eq!(
        pass,
        exit::conversion::Pass {
            conversions: 0,
            completed: 1
        }
    );
    let status = merchant::find(conn, a.miles.merchant_id)
        .unwrap()
        .unwrap()
        .status;
    assert_eq!(status.as_str(), "exited");

    // MILES owes what its members took out; the deposit pays exactly that,
    // and the rest comes back. No position is left unfunded.
    let owed = deduct_what_is_owed(conn, a.miles.merchant_id, &finance_officer);
    let converted = exit::of(conn, a.miles.merchant_id).unwrap().unwrap();
    assert_eq!(converted.alp_issued, before.iter().sum::<i64>());
    assert_eq!(converted.funded_fen, converted.alp_issued, "¥0.01 per ALP");
    assert_eq!(
        posted(conn, &HouseAccount::Alp.spec()),
        converted.funded_fen,
        "the house holds CNY for every ALP it issued"
    );
    let refunded = deposit::refund(conn, &finance_officer, a.miles.merchant_id).unwrap();
    assert_eq!(refunded.fen(), 50_000_000 - converted.funded_fen - owed);
    assert_eq!(
        posted(conn, &chart::merchant_deposit(a.miles.merchant_id)),
        0
    );
    assert_eq!(
        posted(conn, &chart::merchant_settlement(a.miles.merchant_id)),
        0
    );
    assert!(ops.get(&page).await.body.contains("已完成兑换"));
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn a_deduction_is_capped_at_what_the_merchant_owes() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let brew = funded_shop(conn, "BREW", "0.01");
    let maker = finance(conn, "finance@alliance.test");
    let checker = finance(conn, "finance2@alliance.test");
    owe(conn, brew, 6_758);
    let registry = crate::harness::approval_registry();
    let request = |conn: &mut PgConnection, amount: &str| {
        deposit::request_deduction(
            conn,
            &maker,
            brew,
            money(amount),
            "十月结算欠款",
            dual_from("100000.00"),
            &registry,
        )
    };

    // The hole: ¥150,000.01 from a merchant that owed ¥67.58.
    let refused = request(conn, "150000.01").unwrap_err();
    assert!(matches!(refused, DepositError::AboveOwed { owed } if owed == money("67.58")));
    assert!(
        refused.message(Locale::ZhCn).unwrap().contains("¥67.58"),
        "{:?}",
        refused.message(Locale::ZhCn).unwrap()
    );
    assert!(refused.message(Locale::En).unwrap().contains("owes ¥67.58"));

    // Two requests of the whole debt: the first pays it, the second finds
    // nothing owed when it runs and books nothing.
    let first = request(conn, "67.58").unwrap();
    let second = request(conn, "67.58").unwrap();
    assert_eq!(
        approval::decide(conn, first.id, &checker, true, None, &registry)
            .unwrap()
            .status
            .as_str(),
        "approved"
    );
    let failed = approval::decide(conn, second.id, &checker, true, None, &registry).unwrap();
    assert_eq!(failed.status.as_str(), "failed");
    assert!(
        failed.outcome.as_deref().unwrap().contains("欠款 ¥0.00"),
        "{:?}",
        failed.outcome
    );
    assert_eq!(posted(conn, &chart::merchant_settlement(brew)), 0);
    assert_eq!(
        posted(conn, &chart::merchant_deposit(brew)),
        5_000_000 - 6_758
    );
    assert_verified(conn);
}

/// COFFEE (¥0.033333 a point) with its deposit, and three members holding
/// 1,000, 2,000 and 3,000 of its points.
fn coffee_with_members(conn: &mut PgConnection) -> (MerchantId, Vec<MemberId>) {
    let coffee = funded_shop(conn, "COFFEE", "0.033333");
    let members = [1_000, 2_000, 3_000]
        .iter()
        .enumerate()
        .map(|(i, &earned)| {
            let id = member(conn, &keys(), &format!("1390000000{i}"), None);
            earn_points(conn, coffee, id, earned);
            id
        })
        .collect();
    (coffee, members)
}

#[test]
fn the_conversion_books_each_member_once_whatever_passes_and_crashes_happen() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (coffee, members) = coffee_with_members(conn);
    let started = exit::start(conn, &system(), coffee, "停业", 7).unwrap();
    let at = after_notice(&started);

    // Before the notice ends nothing converts.
    let early = exit::conversion::run_due(
        conn,
        &system(),
        started.notice_ends_at - Duration::seconds(1),
        100,
    );
    assert_eq!(early.unwrap(), exit::conversion::Pass::default());

    // A pass that crashes before it commits leaves no trace.
    let crashed = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        let pass = exit::conversion::run_due(conn, &system(), at, 100).unwrap();
        assert_eq!(pass.conversions, 3);
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(crashed.is_err());
    assert_eq!(exit_conversions(conn), 0);
    assert_eq!(points(conn, members[0], "COFFEE"), 1_000);

    // A pass cut short after one member (as a process stopped mid-way) ...
    let first = exit::conversion::run_due(conn, &system(), at, 1).unwrap();
    assert_eq!(
        first,
        exit::conversion::Pass {
            conversions: 1,
            completed: 0
        }
    );
    // ... and the next passes do the rest, once.
    let second = exit::conversion::run_due(conn, &system(), at, 100).unwrap();
    assert_eq!(
        second,
        exit::conversion::Pass {
            conversions: 2,
            completed: 1
        }
    );
    let third = exit::conversion::run_due(conn, &system(), at, 100).unwrap();
    assert_eq!(third, exit::conversion::Pass::default());
    assert_eq!(exit_conversions(conn), 3);

    // Every member holds ALP worth at least their points at ¥0.033333:
    // 1,000 → ¥33.34 → 3,334 ALP at ¥0.01, and so on.
    for (&m, (had, alp)) in members
        .iter()
        .zip([(1_000, 3_334), (2_000, 6_667), (3_000, 10_000)])
    {
        assert_eq!(points(conn, m, "COFFEE"), 0);
        assert_eq!(points(conn, m, "ALP"), alp, "{had} COFFEE");
    }
    let done = exit::of(conn, coffee).unwrap().unwrap();
    assert_eq!(done.points_converted, 6_000);
    assert_eq!(done.alp_issued, 20_001);
    assert_eq!(done.funded_fen, 20_001);
    assert_eq!(done.conversions, 3);
    assert_eq!(done.converted_at, Some(at));
    assert_eq!(posted(conn, &HouseAccount::Alp.spec()), 20_001);
    assert_eq!(
        posted(conn, &chart::merchant_deposit(coffee)),
        5_000_000 - 20_001
    );
    assert_eq!(
        merchant::find(conn, coffee)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "exited"
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn a_deposit_too_small_converts_what_it_funds_alerts_finance_and_finishes_after_a_top_up() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (coffee, members) = coffee_with_members(conn);
    let finance_officer = finance(conn, "finance@alliance.test");
    let started = exit::start(conn, &finance_officer, coffee, "停业", 7).unwrap();
    // Settlements took all but ¥150.00 of the deposit.
    let deposit_account = chart::open(conn, &chart::merchant_deposit(coffee)).unwrap();
    let house = chart::ensure_house_accounts(conn).unwrap();
    submit_one(
        conn,
        EntryRequest::new("test:drain", "deposit_deduction").transfer(TransferRequest::move_(
            deposit_account,
            house.id(HouseAccount::Bank),
            "CNY",
            5_000_000 - 15_000,
        )),
    )
    .unwrap();

    // ¥33.34 and ¥66.67 are funded; the third member's ¥100.00 is not.
    let pass = exit::conversion::run_due(conn, &system(), after_notice(&started), 100).unwrap();
    assert_eq!(
        pass,
        exit::conversion::Pass {
            conversions: 2,
            completed: 0
        }
    );
    assert_eq!(
        points(conn, members[2], "COFFEE"),
        3_000,
        "kept, not turned into unfunded ALP"
    );
    assert_eq!(points(conn, members[2], "ALP"), 0);
    let short = exit::of(conn, coffee).unwrap().unwrap();
    assert_eq!((short.unfunded_points, short.unfunded_fen), (3_000, 10_000));
    let alert = risk::unresolved(conn, exit::conversion::SHORTFALL_KIND, coffee)
        .unwrap()
        .expect("finance is alerted");
    assert_eq!(alert.severity, "critical");
    assert_eq!(
        merchant::find(conn, coffee)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "exiting"
    );

    // The merchant tops up; the next pass finishes and clears the alert.
    let notice = deposit::submit_topup(
        conn,
        &system(),
        coffee,
        &deposit::NewTopup {
            amount: money("100.00"),
            bank_reference: "CMB-COFFEE-EXIT".to_owned(),
        },
    )
    .unwrap();
    deposit::confirm_topup(conn, &finance_officer, notice.id).unwrap();
    let pass = exit::conversion::run_due(conn, &system(), after_notice(&started), 100).unwrap();
    assert_eq!(
        pass,
        exit::conversion::Pass {
            conversions: 1,
            completed: 1
        }
    );
    assert_eq!(points(conn, members[2], "ALP"), 10_000);
    assert!(
        risk::unresolved(conn, exit::conversion::SHORTFALL_KIND, coffee)
            .unwrap()
            .is_none()
    );
    let finished: (i64, i64) = merchant_exits::table
        .find(coffee)
        .select((
            merchant_exits::unfunded_points,
            merchant_exits::unfunded_fen,
        ))
        .first(conn)
        .unwrap();
    assert_eq!(finished, (0, 0));
    assert_eq!(
        posted(conn, &chart::merchant_deposit(coffee)),
        15_000 + 10_000 - 20_001
    );
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[test]
fn an_exit_is_refused_without_a_sensible_notice_or_from_a_merchant_already_leaving() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", "0.01");
    for days in [0, exit::MAX_NOTICE_DAYS + 1] {
        assert!(matches!(
            exit::start(conn, &system(), m, "停业", days),
            Err(exit::ExitError::InvalidNotice)
        ));
    }
    assert!(matches!(
        exit::start(conn, &system(), m, "  ", 30),
        Err(exit::ExitError::InvalidReason)
    ));
    assert_eq!(
        merchant::find(conn, m).unwrap().unwrap().status.as_str(),
        "active"
    );
    exit::start(conn, &system(), m, "停业", 30).unwrap();
    assert!(matches!(
        exit::start(conn, &system(), m, "停业", 30),
        Err(exit::ExitError::WrongStatus)
    ));
}

/// The exit card on the platform's merchant page and the notice on a member's
/// points page, in a real Chromium, in Chinese and English, at 1366 and 390
/// pixels wide; the screenshots go to target/screenshots/ for a person to look at.
#[tokio::test(flavor = "multi_thread")]
async fn the_exit_card_and_the_members_notice_show_in_both_languages_and_widths() {
    let a = miles_and_hotel().await;
    {
        let conn = &mut a.app.db.conn();
        exit::start(conn, &system(), a.miles.merchant_id, "合同到期不再续约", 30).unwrap();
        operator(conn, "ops@alliance.test", OperatorRole::Operator);
    }
    let merchant_page = format!("/platform/merchants/{}", a.miles.merchant_id);
    let pages = [
        (
            "platform",
            "ops@alliance.test",
            merchant_page.as_str(),
            By::Id("exit-stage"),
            "platform-merchant-exit",
        ),
        (
            "consumer",
            "13800000001",
            "/consumer/points",
            By::ClassName("exit-notice"),
            "consumer-points-exit",
        ),
    ];
    for (portal, who, path, marker, shot) in pages {
        let browser = crate::browser::Browser::launch().await;
        let driver = browser.driver();
        sign_in(&a.app, driver, portal, who).await;
        driver.goto(a.app.url(path)).await.unwrap();
        for language in ["zh", "en"] {
            if language == "en" {
                switch_language(driver).await;
            }
            let shown = element(driver, marker.clone()).await.text().await.unwrap();
            assert!(
                !shown.trim().is_empty(),
                "{portal} {language}: the exit is shown"
            );
            for width in [1366, 390] {
                driver.set_window_rect(0, 0, width, 1000).await.unwrap();
                driver
                    .screenshot(&screenshot_path(&format!("{shot}-{language}-{width}")))
                    .await
                    .unwrap();
            }
        }
        browser.quit().await;
    }
}
