//! The consumer portal's exchange page and real-name verification.

use alliance::{
    db::schema::{exchange_quotes, exchanges},
    domain::id::MemberId,
    exchange::quote as quotes,
    people::verification,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    exchange_support::{earn_points, points, two_programs},
    harness::{Browser, Page, TestApp, spawn_app},
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support::{PASSWORD, member},
};

const PHONE: &str = "13800000001";

/// A signed-in member with 4,000 COFFEE points, and CINEMA to exchange into.
async fn member_with_coffee(app: &TestApp) -> (MemberId, Browser) {
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.coffee, alice, 4_000);
    let browser = app.browser();
    let signed = browser.sign_in("consumer", PHONE, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    (alice, browser)
}

/// Posts the exchange form; returns the quote's id from the redirect.
async fn get_quote(browser: &Browser, points: &str) -> String {
    let posted = browser
        .submit(
            "/consumer/exchange",
            "/consumer/exchange/quote",
            &[("from", "COFFEE"), ("to", "CINEMA"), ("points", points)],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    posted
        .location
        .unwrap()
        .strip_prefix("/consumer/exchange/quote/")
        .expect("the confirm page")
        .to_owned()
}

async fn confirm(browser: &Browser, quote_id: &str) -> Page {
    browser
        .submit(
            &format!("/consumer/exchange/quote/{quote_id}"),
            "/consumer/exchange/confirm",
            &[("quote_id", quote_id)],
        )
        .await
}

fn executed(conn: &mut PgConnection, member_id: MemberId) -> i64 {
    exchanges::table
        .filter(exchanges::member_id.eq(member_id))
        .count()
        .get_result(conn)
        .unwrap()
}

#[tokio::test]
async fn the_live_preview_prices_like_the_quote_and_a_double_confirm_exchanges_once() {
    let app = spawn_app().await;
    let (alice, browser) = member_with_coffee(&app).await;
    let conn = &mut app.db.conn();

    let page = browser.get("/consumer/exchange").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("COFFEE 积分（可用 4,000）"),
        "{}",
        page.body
    );
    assert!(page.body.contains("/static/js/exchange.js"));

    let preview = browser
        .get("/consumer/exchange/preview?from=COFFEE&to=CINEMA&points=1000")
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let preview: serde_json::Value = serde_json::from_str(&preview.body).unwrap();
    assert_eq!(preview["status"], "ok", "{preview}");
    // ¥9.90 out, the standard 3% spread takes 30 fen, ¥9.60 buys 475 CINEMA.
    assert_eq!(preview["to_points"], "475");
    assert_eq!(preview["value_out"], "¥9.90");
    assert_eq!(preview["fee"], "¥0.30");
    assert_eq!(preview["spread"], "3");
    // The preview stores nothing.
    let stored: i64 = exchange_quotes::table.count().get_result(conn).unwrap();
    assert_eq!(stored, 0);

    let quote_id = get_quote(&browser, "1000").await;
    let quote = quotes::find(conn, &quote_id).unwrap().unwrap();
    assert_eq!(quote.to_points, 475);
    assert_eq!(quote.merchant_id, None);
    let confirm_page = browser
        .get(&format!("/consumer/exchange/quote/{quote_id}"))
        .await;
    assert_eq!(confirm_page.status, 200);
    assert!(
        confirm_page.body.contains("id=\"quote-to-points\">475<"),
        "{}",
        confirm_page.body
    );
    assert!(confirm_page.body.contains("id=\"quote-countdown\""));

    // The same form sent twice, as a double tap does.
    let fields = [
        ("csrf_token", confirm_page.csrf()),
        ("quote_id", quote_id.clone()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = browser.post("/consumer/exchange/confirm", &fields).await;
    let second = browser.post("/consumer/exchange/confirm", &fields).await;
    let done = format!("/consumer/exchange/done/{quote_id}");
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.location.as_deref(), Some(done.as_str()));
    // The second submit finds the quote used and shows what the first did.
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(second.location.as_deref(), Some(done.as_str()));
    assert_eq!(executed(conn, alice), 1);
    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    assert_eq!(points(conn, alice, "CINEMA"), 475);

    let result = browser.get(&done).await;
    assert_eq!(result.status, 200);
    for shown in [
        "id=\"balance-from\">3,000<",
        "id=\"balance-to\">475<",
        "id=\"result-in\">+475<",
    ] {
        assert!(result.body.contains(shown), "{shown}:\n{}", result.body);
    }
    // The confirm page of a used quote leads to its result.
    let again = browser
        .get(&format!("/consumer/exchange/quote/{quote_id}"))
        .await;
    assert_eq!(again.location.as_deref(), Some(done.as_str()));
    let history = browser.get("/consumer/exchange").await;
    assert!(history.body.contains("+475"), "{}", history.body);

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn an_expired_quote_shows_the_expired_message_and_books_nothing() {
    let app = spawn_app().await;
    let (alice, browser) = member_with_coffee(&app).await;
    let conn = &mut app.db.conn();

    let quote_id = get_quote(&browser, "1000").await;
    diesel::update(exchange_quotes::table.find(&quote_id))
        .set(exchange_quotes::expires_at.eq(Utc::now() - Duration::minutes(1)))
        .execute(conn)
        .unwrap();

    let page = browser
        .get(&format!("/consumer/exchange/quote/{quote_id}"))
        .await;
    assert!(page.body.contains("报价已过期"), "{}", page.body);
    assert!(!page.body.contains("id=\"confirm-form\""));
    let posted = confirm(&browser, &quote_id).await;
    assert_eq!(posted.status, 422, "{}", posted.body);
    assert!(posted.body.contains("报价已过期"), "{}", posted.body);
    assert!(
        posted
            .body
            .contains("href=\"/consumer/exchange?from=COFFEE&#38;to=CINEMA&#38;points=1000\""),
        "{}",
        posted.body
    );
    assert_eq!(executed(conn, alice), 0);
    assert_eq!(points(conn, alice, "COFFEE"), 4_000);
    assert_eq!(points(conn, alice, "CINEMA"), 0);

    // More than the member has: refused with the reason, nothing quoted.
    let refused = browser
        .submit(
            "/consumer/exchange",
            "/consumer/exchange/quote",
            &[("from", "COFFEE"), ("to", "CINEMA"), ("points", "5000")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("可用积分不足，当前可用 4000 积分"),
        "{}",
        refused.body
    );
    let preview = browser
        .get("/consumer/exchange/preview?from=COFFEE&to=CINEMA&points=abc")
        .await;
    let preview: serde_json::Value = serde_json::from_str(&preview.body).unwrap();
    assert_eq!(preview["status"], "refused");
    assert_eq!(preview["message"], "请填写要转出的积分数量（正整数）。");
    let stored: i64 = exchange_quotes::table.count().get_result(conn).unwrap();
    assert_eq!(stored, 1);

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn verification_refuses_a_bad_id_number_and_files_a_good_one_for_review() {
    let app = spawn_app().await;
    let (alice, browser) = member_with_coffee(&app).await;
    let conn = &mut app.db.conn();
    let path = "/consumer/profile/verification";

    let page = browser.get(path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("未认证"), "{}", page.body);

    let bad = browser
        .submit(
            path,
            path,
            &[("name", "王小明"), ("id_number", "110105194912310021")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("身份证号校验位不正确"), "{}", bad.body);
    assert!(verification::latest_of(conn, alice).unwrap().is_none());

    let good = browser
        .submit(
            path,
            path,
            &[("name", "王小明"), ("id_number", "11010519491231002X")],
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let pending = browser.get(path).await;
    assert!(pending.body.contains("审核中"), "{}", pending.body);
    assert!(pending.body.contains("002X"), "{}", pending.body);
    assert!(!pending.body.contains("id=\"verification-form\""));
    // Sent again while it waits: told so, nothing filed twice.
    let twice = browser
        .submit(
            path,
            path,
            &[("name", "王小明"), ("id_number", "11010519491231002X")],
        )
        .await;
    assert_eq!(twice.status, 422);
    assert!(
        twice.body.contains("您的认证申请正在审核中"),
        "{}",
        twice.body
    );
    let filed = verification::pending_of(conn, alice).unwrap().unwrap();
    assert_eq!(filed.id_number_hint, "002X");
    assert_eq!(filed.real_name(&app.keys).as_deref(), Some("王小明"));

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

/// Waits for an element's text to be `want`; returns it as found.
async fn text_of(driver: &thirtyfour::WebDriver, by: thirtyfour::By, want: &str) -> String {
    let mut seen = String::new();
    for _ in 0..200 {
        if let Ok(found) = driver.find(by.clone()).await {
            seen = found.text().await.unwrap_or_default();
            if seen == want {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_exchanges_with_a_live_quote_in_a_real_browser() {
    use thirtyfour::prelude::*;

    use crate::browser::{Browser, screenshot_path, sign_in};

    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.coffee, alice, 4_000);

    let browser = Browser::launch().await;
    let driver = browser.driver();
    sign_in(&app, driver, "consumer", PHONE).await;
    driver.goto(app.url("/consumer/exchange")).await.unwrap();
    driver
        .find(By::Id("points"))
        .await
        .unwrap()
        .send_keys("1000")
        .await
        .unwrap();

    let live = text_of(driver, By::Css("#quote-terms [data-term=to_points]"), "475").await;
    assert_eq!(live, "475", "{}", driver.source().await.unwrap());
    driver
        .screenshot(&screenshot_path("consumer-exchange-live-zh"))
        .await
        .unwrap();
    driver
        .find(By::Id("get-quote"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let quoted = text_of(driver, By::Id("quote-to-points"), "475").await;
    assert_eq!(quoted, "475", "{}", driver.source().await.unwrap());
    driver
        .screenshot(&screenshot_path("consumer-exchange-confirm-zh"))
        .await
        .unwrap();
    driver
        .find(By::Id("confirm-exchange"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let balance = text_of(driver, By::Id("balance-to"), "475").await;
    assert_eq!(balance, "475", "{}", driver.source().await.unwrap());
    driver
        .screenshot(&screenshot_path("consumer-exchange-result-zh"))
        .await
        .unwrap();
    browser.quit().await;

    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    assert_eq!(points(conn, alice, "CINEMA"), 475);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

/// Issue #4: a suspended merchant's members still see their points and can
/// exchange them out — through the member's own pages, not only the service.
#[tokio::test]
async fn a_suspended_merchants_member_still_sees_and_exchanges_out_their_points() {
    let app = spawn_app().await;
    let (alice, browser) = member_with_coffee(&app).await;
    let conn = &mut app.db.conn();
    let coffee = alliance::merchant::find_by_code(conn, "COFFEE")
        .unwrap()
        .unwrap();
    alliance::merchant::standing::suspend(
        conn,
        &alliance::domain::actor::Actor::system("test-operator"),
        coffee.id,
        "保证金争议",
    )
    .unwrap();

    let home = browser.get("/consumer").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("4,000"), "{}", home.body);
    let quote_id = get_quote(&browser, "1000").await;
    let done = confirm(&browser, &quote_id).await;

    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(executed(conn, alice), 1);
    assert_eq!(points(conn, alice, "COFFEE"), 3_000);
    assert_eq!(points(conn, alice, "CINEMA"), 475);
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}
