//! The member app's rewards: the catalog and its filters, a reward's page with
//! the proposed mix, ordering it once however often the form is sent, the
//! voucher with its QR code, cancelling, a short mix refused; and the whole
//! path in a real Chromium, to a cashier serving the voucher.

use alliance::{
    db::schema::{redemptions, rewards},
    domain::id::{MemberId, MerchantId, RewardId},
    people::merchant_user::MerchantRole,
    redemption,
};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use thirtyfour::prelude::*;

use crate::{
    browser,
    exchange_support::{earn_points, points, two_programs},
    harness::{Browser, Page, TestApp, spawn_app},
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support::{PASSWORD, member, merchant_user},
};

const PHONE: &str = "13800000001";

/// A reward row as a merchant's catalog would hold it.
struct Reward<'a> {
    merchant: MerchantId,
    title_zh: &'a str,
    title_en: &'a str,
    category: &'a str,
    value_fen: i64,
    points_price: Option<i64>,
    cash_topup: bool,
    status: &'a str,
    valid: (DateTime<Utc>, DateTime<Utc>),
}

impl<'a> Reward<'a> {
    /// Published, on offer for a month, other programs' points accepted.
    fn published(merchant: MerchantId, title_zh: &'a str, title_en: &'a str) -> Self {
        Self {
            merchant,
            title_zh,
            title_en,
            category: "entertainment",
            value_fen: 3_000,
            points_price: None,
            cash_topup: false,
            status: "published",
            valid: (
                Utc::now() - Duration::days(1),
                Utc::now() + Duration::days(30),
            ),
        }
    }

    fn insert(self, conn: &mut PgConnection) -> RewardId {
        diesel::insert_into(rewards::table)
            .values((
                rewards::merchant_id.eq(self.merchant),
                rewards::title_zh.eq(self.title_zh),
                rewards::title_en.eq(self.title_en),
                rewards::category.eq(self.category),
                rewards::value_fen.eq(self.value_fen),
                rewards::points_price.eq(self.points_price),
                rewards::other_points.eq(true),
                rewards::cash_topup.eq(self.cash_topup),
                rewards::stock.eq(10_i64),
                rewards::valid_from.eq(self.valid.0),
                rewards::valid_until.eq(self.valid.1),
                rewards::status.eq(self.status),
            ))
            .returning(rewards::id)
            .get_result(conn)
            .unwrap()
    }
}

/// The CINEMA reward the tests order: ¥30.00 or 1,500 CINEMA, cash allowed.
fn movie_ticket(conn: &mut PgConnection, cinema: MerchantId) -> RewardId {
    Reward {
        points_price: Some(1_500),
        cash_topup: true,
        ..Reward::published(cinema, "双人电影票", "Movie tickets for two")
    }
    .insert(conn)
}

async fn signed_in(app: &TestApp) -> Browser {
    let browser = app.browser();
    let signed = browser.sign_in("consumer", PHONE, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
}

/// The value of the input named `name` on the page.
fn input_value(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}:\n{}", page.body));
    let rest = &page.body[at..];
    let start = rest.find("value=\"").expect("a value") + "value=\"".len();
    rest[start..].split('"').next().unwrap().to_owned()
}

fn redemptions_of(conn: &mut PgConnection, member_id: MemberId) -> Vec<(i64, String, String)> {
    redemptions::table
        .filter(redemptions::member_id.eq(member_id))
        .select((
            redemptions::id,
            redemptions::voucher_code,
            redemptions::status,
        ))
        .load(conn)
        .unwrap()
}

#[tokio::test]
async fn the_catalog_shows_what_is_on_offer_searched_by_category_sorted_and_what_i_can_pay() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.coffee, alice, 1_000);
    movie_ticket(conn, shops.cinema);
    Reward {
        category: "drinks",
        value_fen: 1_500,
        points_price: Some(800),
        ..Reward::published(shops.coffee, "大杯拿铁", "Large latte")
    }
    .insert(conn);
    Reward {
        category: "travel",
        value_fen: 1_000_000,
        ..Reward::published(shops.cinema, "豪华套房", "Luxury suite")
    }
    .insert(conn);
    Reward {
        status: "draft",
        ..Reward::published(shops.cinema, "草稿权益", "Draft reward")
    }
    .insert(conn);
    Reward {
        valid: (
            Utc::now() - Duration::days(10),
            Utc::now() - Duration::days(1),
        ),
        ..Reward::published(shops.cinema, "过期权益", "Lapsed reward")
    }
    .insert(conn);
    let browser = signed_in(&app).await;

    let all = browser.get("/consumer/rewards").await;
    assert_eq!(all.status, 200, "{}", all.body);
    for shown in [
        "双人电影票",
        "大杯拿铁",
        "豪华套房",
        "¥30.00",
        "1,500 CINEMA",
    ] {
        assert!(all.body.contains(shown), "{shown}:\n{}", all.body);
    }
    for hidden in ["草稿权益", "过期权益"] {
        assert!(!all.body.contains(hidden), "{hidden}:\n{}", all.body);
    }
    assert!(
        all.body
            .contains("href=\"/consumer/rewards\" aria-current=\"page\"")
    );

    // Chinese or English titles, any case; a wildcard is only a character.
    for query in ["拿铁", "LATTE"] {
        let found = browser.get(&format!("/consumer/rewards?q={query}")).await;
        assert!(found.body.contains("大杯拿铁"), "{query}:\n{}", found.body);
        assert!(!found.body.contains("双人电影票"), "{query}");
    }
    let wildcard = browser.get("/consumer/rewards?q=%25").await;
    assert!(
        wildcard.body.contains("id=\"no-rewards\""),
        "{}",
        wildcard.body
    );

    let drinks = browser.get("/consumer/rewards?category=drinks").await;
    assert!(drinks.body.contains("大杯拿铁"));
    assert!(!drinks.body.contains("双人电影票"));
    assert!(!drinks.body.contains("豪华套房"));

    let by_value = browser.get("/consumer/rewards?sort=value_desc").await;
    let at = |title: &str| by_value.body.find(title).unwrap();
    assert!(at("豪华套房") < at("双人电影票") && at("双人电影票") < at("大杯拿铁"));

    // 1,000 COFFEE pays the latte; the ticket takes cash for what points
    // leave; nothing Alice has reaches the suite, which takes no cash.
    let mine = browser.get("/consumer/rewards?mine=1").await;
    assert!(mine.body.contains("大杯拿铁"), "{}", mine.body);
    assert!(mine.body.contains("双人电影票"));
    assert!(!mine.body.contains("豪华套房"), "{}", mine.body);
    assert!(
        mine.body
            .contains("id=\"can-pay\" href=\"/consumer/rewards?mine=1\" aria-current=\"page\"")
    );

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn the_proposed_mix_orders_once_however_often_sent_and_cancelling_returns_the_points() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.cinema, alice, 1_000);
    earn_points(conn, shops.coffee, alice, 1_000);
    let ticket = movie_ticket(conn, shops.cinema);
    let browser = signed_in(&app).await;

    let proposal = redemption::propose(conn, alice, ticket).unwrap().unwrap();
    let path = format!("/consumer/rewards/{ticket}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!proposal.legs.is_empty());
    for leg in &proposal.legs {
        assert_eq!(
            input_value(&page, &format!("points_{}", leg.program)),
            leg.points.to_string(),
            "{}",
            page.body
        );
    }
    let cash = format!(
        "{}.{:02}",
        proposal.cash.fen() / 100,
        proposal.cash.fen() % 100
    );
    assert_eq!(input_value(&page, "cash"), cash);
    assert!(page.body.contains("积分与现金正好付清"), "{}", page.body);

    // The form as the page has it, sent twice (a double tap).
    let mut fields = vec![
        ("csrf_token".to_owned(), page.csrf()),
        ("request_key".to_owned(), input_value(&page, "request_key")),
        ("cash".to_owned(), cash),
        ("intent".to_owned(), "redeem".to_owned()),
    ];
    for code in ["CINEMA", "COFFEE"] {
        let name = format!("points_{code}");
        fields.push((name.clone(), input_value(&page, &name)));
    }
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let action = format!("/consumer/rewards/{ticket}/redeem");
    let first = browser.post(&action, &fields).await;
    let second = browser.post(&action, &fields).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(second.location, first.location, "{}", second.body);
    let ordered = redemptions_of(conn, alice);
    assert_eq!(ordered.len(), 1);
    let (id, code, status) = ordered[0].clone();
    assert_eq!(status, "held");
    let voucher_path = format!("/consumer/vouchers/{id}");
    assert_eq!(first.location.as_deref(), Some(voucher_path.as_str()));

    let voucher = browser.get(&voucher_path).await;
    assert_eq!(voucher.status, 200, "{}", voucher.body);
    let grouped = format!("{} {} {}", &code[..4], &code[4..8], &code[8..]);
    assert!(voucher.body.contains(&grouped), "{}", voucher.body);
    assert!(voucher.body.contains("<svg"), "{}", voucher.body);
    assert!(!voucher.body.contains("<?xml"));
    assert!(voucher.body.contains("待使用"));
    let list = browser.get("/consumer/vouchers").await;
    assert!(list.body.contains("双人电影票"), "{}", list.body);
    assert!(list.body.contains(&voucher_path));

    // The order holds the points; cancelling gives them back.
    assert!(points(conn, alice, "CINEMA") < 1_000 || points(conn, alice, "COFFEE") < 1_000);
    let cancelled = browser
        .submit(&voucher_path, &format!("{voucher_path}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    assert_eq!(points(conn, alice, "CINEMA"), 1_000);
    assert_eq!(points(conn, alice, "COFFEE"), 1_000);
    assert_eq!(redemptions_of(conn, alice)[0].2, "cancelled");
    let after = browser.get(&voucher_path).await;
    assert!(
        after.body.contains("已取消兑换，积分已退回"),
        "{}",
        after.body
    );
    assert!(!after.body.contains("id=\"cancel-form\""));
    assert!(!after.body.contains("<svg"));

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn a_short_mix_is_refused_in_the_members_language_and_holds_nothing() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.cinema, alice, 500);
    let ticket = movie_ticket(conn, shops.cinema);
    let browser = signed_in(&app).await;
    let path = format!("/consumer/rewards/{ticket}");
    let action = format!("{path}/redeem");
    let short = [
        ("request_key", "short-mix"),
        ("points_CINEMA", "500"),
        ("cash", "0"),
        ("intent", "redeem"),
    ];

    // 500 CINEMA is worth ¥10.00 of the ¥30.00 ticket.
    let refused = browser.submit(&path, &action, &short).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("支付不足，还差 ¥20.00"),
        "{}",
        refused.body
    );
    assert_eq!(input_value(&refused, "points_CINEMA"), "500");
    assert_eq!(input_value(&refused, "request_key"), "short-mix");
    assert!(redemptions_of(conn, alice).is_empty());
    assert_eq!(points(conn, alice, "CINEMA"), 500);

    // Recalculating prices the entered mix without ordering.
    let check = [
        ("points_CINEMA", "500"),
        ("cash", "20.00"),
        ("intent", "check"),
    ];
    let checked = browser.submit(&path, &action, &check).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert!(
        checked.body.contains("积分与现金正好付清"),
        "{}",
        checked.body
    );
    assert!(redemptions_of(conn, alice).is_empty());

    browser
        .submit(&path, "/lang", &[("lang", "en"), ("next", path.as_str())])
        .await;
    let english = browser.submit(&path, &action, &short).await;
    assert_eq!(english.status, 422);
    assert!(
        english.body.contains("The payment falls short by ¥20.00"),
        "{}",
        english.body
    );
    assert!(redemptions_of(conn, alice).is_empty());

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_redeems_in_a_real_browser_and_a_cashier_serves_the_voucher() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.cinema, alice, 1_000);
    earn_points(conn, shops.coffee, alice, 1_000);
    let ticket = movie_ticket(conn, shops.cinema);
    merchant_user(
        conn,
        shops.cinema,
        "till@cinema.test",
        MerchantRole::Cashier,
    );

    // The member: catalog → the ticket → the proposed mix → the voucher.
    let member_browser = browser::Browser::launch().await;
    let driver = member_browser.driver();
    browser::sign_in(&app, driver, "consumer", PHONE).await;
    driver.goto(app.url("/consumer/rewards")).await.unwrap();
    browser::element(
        driver,
        By::Css(format!("a[href='/consumer/rewards/{ticket}']")),
    )
    .await
    .click()
    .await
    .unwrap();
    browser::element(driver, By::Id("redeem"))
        .await
        .click()
        .await
        .unwrap();
    let shown = browser::element(driver, By::Id("voucher-code"))
        .await
        .text()
        .await
        .unwrap();
    browser::element(driver, By::Css("#voucher-qr svg")).await;
    driver
        .screenshot(&browser::screenshot_path("consumer-voucher"))
        .await
        .unwrap();
    member_browser.quit().await;
    let code: String = shown.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 12, "{shown}");
    assert_eq!(redemptions_of(conn, alice)[0].1, code);

    // The cashier types the code as the member reads it out, and serves it.
    let till = browser::Browser::launch().await;
    let driver = till.driver();
    // Signed in once the console's home is reached: the sign-in page has a
    // language switch too, so waiting for one raced the form's redirect.
    browser::sign_in(&app, driver, "merchant", "till@cinema.test").await;
    driver.goto(app.url("/merchant/redeem")).await.unwrap();
    browser::element(driver, By::Id("code"))
        .await
        .send_keys(&shown)
        .await
        .unwrap();
    browser::element(driver, By::Id("voucher-look-up"))
        .await
        .click()
        .await
        .unwrap();
    browser::element(driver, By::Css("#voucher-confirm button"))
        .await
        .click()
        .await
        .unwrap();
    let mut status = String::new();
    for _ in 0..200 {
        status = redemptions_of(conn, alice)[0].2.clone();
        if status == "fulfilled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "fulfilled", "{}", driver.source().await.unwrap());
    till.quit().await;

    assert_verified(conn);
    assert_lots_match_wallets(conn);
}
