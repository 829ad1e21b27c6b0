//! The cashier's voucher page (核销) end to end against a real server: look a
//! voucher up, see the cash to collect, confirm once; the ledger says so.

use alliance::{
    chart,
    db::schema::redemptions,
    domain::{actor::Actor, id::MemberId, money::Money, points::ProgramCode},
    ledger,
    people::merchant_user::MerchantRole,
    redemption::{self, RedeemRequest},
};
use diesel::prelude::*;

use crate::{
    api_redemption::cake,
    exchange_support::{earn_points, points},
    harness::spawn_app,
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support::{PASSWORD, funded_shop, member, merchant_user},
};

use crate::redemption_support::leg;

fn posted(conn: &mut PgConnection, member_id: MemberId, program: &str) -> i64 {
    let code = ProgramCode::parse(program).unwrap();
    let id = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

#[tokio::test]
async fn a_cashier_sees_the_cash_to_collect_and_serves_a_voucher_once() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let alice = member(conn, &app.keys, "13800000001", None);
    earn_points(conn, shop, alice, 2_000);
    let reward = cake(conn, shop, 5);
    // 800 points pay ¥8.00 of the ¥10.00 cake; ¥2.00 is paid at the counter.
    let held = redemption::redeem(
        conn,
        &RedeemRequest {
            member_id: alice,
            reward_id: reward,
            pay: vec![leg("BREW", 800)],
            cash: Money::from_fen(200),
            request_key: "app-order-1".to_owned(),
        },
        &Actor::system("test-member"),
    )
    .unwrap();
    let code = held.voucher_code.clone();
    let browser = app.browser();
    browser
        .sign_in("merchant", "till@brew.test", PASSWORD)
        .await;

    let page = browser.get("/merchant/redeem").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("href=\"/merchant/redeem\""), "nav item");

    // Typed with blanks, as printed on the member's screen.
    let spaced = format!("{} {} {}", &code[..4], &code[4..8], &code[8..]);
    let looked_up = browser
        .submit(
            "/merchant/redeem",
            "/merchant/redeem/look-up",
            &[("code", &spaced), ("store_id", "")],
        )
        .await;
    assert_eq!(looked_up.status, 200, "{}", looked_up.body);
    for shown in [
        "芝士蛋糕",
        "138****0001",
        "请向会员收取现金 ¥2.00。",
        "待核销",
        "id=\"voucher-confirm\"",
    ] {
        assert!(
            looked_up.body.contains(shown),
            "{shown}:\n{}",
            looked_up.body
        );
    }
    // Looking up changes nothing: the points are held, not spent.
    assert_eq!(posted(conn, alice, "BREW"), 2_000);
    assert_eq!(points(conn, alice, "BREW"), 1_200);

    let confirm = [("code", code.as_str()), ("store_id", "")];
    let served = browser
        .submit("/merchant/redeem", "/merchant/redeem/confirm", &confirm)
        .await;
    assert_eq!(served.status, 303, "{}", served.body);
    assert_eq!(served.location.as_deref(), Some("/merchant/redeem"));
    assert_eq!(posted(conn, alice, "BREW"), 1_200);
    assert_eq!(points(conn, alice, "BREW"), 1_200);
    let status: String = redemptions::table
        .find(held.id)
        .select(redemptions::status)
        .first(conn)
        .unwrap();
    assert_eq!(status, "fulfilled");
    let after = browser.get("/merchant/redeem").await;
    assert!(after.body.contains("核销成功"), "{}", after.body);
    let today = &after.body[after.body.find("id=\"served-today\"").unwrap()..];
    assert!(today.contains(&code), "{today}");
    assert!(today.contains("¥2.00"), "{today}");

    // A second confirm (a double click, or the voucher shown again) is refused.
    let again = browser
        .submit("/merchant/redeem", "/merchant/redeem/confirm", &confirm)
        .await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("该兑换券已核销。"), "{}", again.body);
    assert!(!again.body.contains("id=\"voucher-confirm\""));
    let looked_again = browser
        .submit(
            "/merchant/redeem",
            "/merchant/redeem/look-up",
            &[("code", &code), ("store_id", "")],
        )
        .await;
    assert_eq!(looked_again.status, 422);
    assert!(looked_again.body.contains("该兑换券已核销。"));
    assert_eq!(posted(conn, alice, "BREW"), 1_200);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn unknown_and_malformed_codes_are_explained_in_the_cashiers_language() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let browser = app.browser();
    browser
        .sign_in("merchant", "till@brew.test", PASSWORD)
        .await;

    let unknown = browser
        .submit(
            "/merchant/redeem",
            "/merchant/redeem/look-up",
            &[("code", "999999999999"), ("store_id", "")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.contains("找不到该兑换券。"),
        "{}",
        unknown.body
    );
    let confirmed = browser
        .submit(
            "/merchant/redeem",
            "/merchant/redeem/confirm",
            &[("code", "999999999999"), ("store_id", "")],
        )
        .await;
    assert_eq!(confirmed.status, 422);
    assert!(confirmed.body.contains("找不到该兑换券。"));
    let malformed = browser
        .submit(
            "/merchant/redeem",
            "/merchant/redeem/look-up",
            &[("code", "12345"), ("store_id", "")],
        )
        .await;
    assert_eq!(malformed.status, 422);
    assert!(malformed.body.contains("券码应为 12 位数字。"));
    // Without the CSRF token nothing is looked up.
    let forged = browser
        .post(
            "/merchant/redeem/confirm",
            &[("code", "999999999999"), ("store_id", "")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_verified(conn);
}
