//! The earning pages end to end against a real server: manual issuing and
//! refunds, adjustments with maker-checker, campaigns on the platform, and the
//! member's points detail. Every check that matters reads the ledger.

use alliance::{
    chart,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
        points::ProgramCode,
    },
    earn, ledger,
    merchant::standing,
    people::{merchant_user::MerchantRole, operator::OperatorRole},
};
use diesel::PgConnection;

use crate::{
    harness::{Page, spawn_app},
    people_support::*,
};

const PHONE: &str = "13800000001";

fn wallet(conn: &mut PgConnection, member_id: MemberId, program: &str) -> i64 {
    let code = ProgramCode::parse(program).unwrap();
    let id = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

/// A hidden field's value in the first form that has it.
fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} on the page:\n{}", page.body))
        + marker.len();
    page.body[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn issuing_through_the_page_books_the_points_once_even_when_submitted_twice() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let alice = member(conn, &app.keys, PHONE, None);
    let browser = app.browser();
    browser
        .sign_in("merchant", "till@brew.test", PASSWORD)
        .await;

    let form = browser.get("/merchant/issue").await;
    assert_eq!(form.status, 200);
    let fields = [
        ("csrf_token", form.csrf()),
        ("token", hidden(&form, "token")),
        ("phone", PHONE.to_owned()),
        ("amount", "128.50".to_owned()),
        ("receipt", String::new()),
        ("store_id", String::new()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = browser.post("/merchant/issue", &fields).await;
    assert_eq!(first.status, 303, "{}", first.body);
    let again = browser.post("/merchant/issue", &fields).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let replayed = again.location.unwrap();
    assert!(replayed.contains("replayed=true"), "{replayed}");

    assert_eq!(wallet(conn, alice, "BREW"), 128);
    let result = browser.get(&first.location.unwrap()).await;
    assert!(
        result.body.contains("id=\"issue-total\">128<"),
        "{}",
        result.body
    );
    let shown = browser.get(&replayed).await;
    assert!(shown.body.contains("本次未重复发放"), "{}", shown.body);

    // A partial refund takes back its share, then the rest takes back all.
    let order_id = hidden(&shown, "order_id");
    assert!(order_id.starts_with("MANUAL-"), "{order_id}");
    let half = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[
                ("order_id", &order_id),
                ("amount", "64.25"),
                ("refunded_before", "0.00"),
            ],
        )
        .await;
    assert_eq!(half.status, 303, "{}", half.body);
    assert_eq!(wallet(conn, alice, "BREW"), 64);
    // The same form again (a double click): refused, nothing refunded twice.
    let twice = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[
                ("order_id", &order_id),
                ("amount", "64.25"),
                ("refunded_before", "0.00"),
            ],
        )
        .await;
    assert_eq!(twice.status, 422);
    assert!(twice.body.contains("本次未重复退款"), "{}", twice.body);
    assert_eq!(wallet(conn, alice, "BREW"), 64);
    let rest = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[
                ("order_id", &order_id),
                ("amount", ""),
                ("refunded_before", "64.25"),
            ],
        )
        .await;
    assert_eq!(rest.status, 303, "{}", rest.body);
    assert_eq!(wallet(conn, alice, "BREW"), 0);
    let too_much = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[
                ("order_id", &order_id),
                ("amount", "1.00"),
                ("refunded_before", "128.50"),
            ],
        )
        .await;
    assert_eq!(too_much.status, 422);
    assert!(
        too_much.body.contains("退款金额超过可退金额（0.00）"),
        "{}",
        too_much.body
    );
}

#[tokio::test]
async fn a_refused_issue_shows_the_translated_reason_and_changes_nothing() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let alice = member(conn, &app.keys, PHONE, None);
    let browser = app.browser();
    browser
        .sign_in("merchant", "till@brew.test", PASSWORD)
        .await;

    let unknown = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue",
            &[
                ("phone", "13900000009"),
                ("amount", "50.00"),
                ("token", "t1"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.contains("没有使用该手机号的会员"),
        "{}",
        unknown.body
    );

    standing::suspend(conn, &Actor::system("test"), shop, "逾期未结算").unwrap();
    let suspended = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue",
            &[("phone", PHONE), ("amount", "50.00"), ("token", "t2")],
        )
        .await;
    assert_eq!(suspended.status, 422);
    assert!(
        suspended.body.contains("商户已被暂停"),
        "{}",
        suspended.body
    );

    // The same refusal in English.
    browser
        .submit(
            "/merchant/issue",
            "/lang",
            &[("lang", "en"), ("next", "/merchant/issue")],
        )
        .await;
    let english = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue",
            &[("phone", PHONE), ("amount", "50.00"), ("token", "t3")],
        )
        .await;
    assert!(
        english.body.contains("The merchant is suspended"),
        "{}",
        english.body
    );
    assert_eq!(wallet(conn, alice, "BREW"), 0);
}

#[tokio::test]
async fn a_large_adjustment_waits_for_a_second_person_and_the_maker_cannot_approve_it() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "owner@brew.test", MerchantRole::Owner);
    merchant_user(conn, shop, "manager@brew.test", MerchantRole::Manager);
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let alice = member(conn, &app.keys, PHONE, None);
    let owner = app.browser();
    owner.sign_in("merchant", "owner@brew.test", PASSWORD).await;
    // Each call fills a freshly drawn form; `twice` submits it a second time.
    let adjust_with = |points: &'static str, direction: &'static str, twice: bool| {
        let owner = &owner;
        async move {
            let form = owner.get("/merchant/adjustments").await;
            let (csrf, token) = (form.csrf(), hidden(&form, "token"));
            let fields = [
                ("csrf_token", csrf.as_str()),
                ("token", token.as_str()),
                ("phone", PHONE),
                ("direction", direction),
                ("points", points),
                ("reason", "顾客投诉补偿"),
            ];
            let first = owner.post("/merchant/adjustments", &fields).await;
            if twice {
                owner.post("/merchant/adjustments", &fields).await
            } else {
                first
            }
        }
    };
    let adjust = |points, direction| adjust_with(points, direction, false);

    // Small: booked at once, and once even when the form is sent twice.
    assert_eq!(adjust_with("200", "add", true).await.status, 303);
    assert_eq!(wallet(conn, alice, "BREW"), 200);
    // Taking back more than the member has is refused and changes nothing.
    let too_much = adjust("500", "deduct").await;
    assert_eq!(too_much.status, 422);
    assert!(
        too_much.body.contains("可用积分只有 200"),
        "{}",
        too_much.body
    );
    assert_eq!(wallet(conn, alice, "BREW"), 200);

    // Large: waits.
    assert_eq!(adjust("5000", "add").await.status, 303);
    assert_eq!(wallet(conn, alice, "BREW"), 200);
    let queue = owner.get("/merchant/approvals").await;
    assert!(queue.body.contains("积分调整"), "{}", queue.body);
    let marker = "href=\"/merchant/approvals/";
    let start = queue.body.find(marker).expect("a pending approval") + marker.len();
    let id: String = queue.body[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let detail = format!("/merchant/approvals/{id}");
    let decide = format!("{detail}/decision");

    // The maker sees no decision form and a forged decision is refused.
    assert!(!owner.get(&detail).await.body.contains("name=\"decision\""));
    let own = owner
        .submit(&detail, &decide, &[("decision", "approve")])
        .await;
    assert_eq!(own.status, 303);
    assert!(owner.get(&detail).await.body.contains("不能审批自己"));
    assert_eq!(wallet(conn, alice, "BREW"), 200);

    // A cashier may not decide at all.
    let till = app.browser();
    till.sign_in("merchant", "till@brew.test", PASSWORD).await;
    assert_eq!(till.get(&detail).await.status, 403);

    // Another manager approves: booked now, once.
    let manager = app.browser();
    manager
        .sign_in("merchant", "manager@brew.test", PASSWORD)
        .await;
    let approved = manager
        .submit(&detail, &decide, &[("decision", "approve")])
        .await;
    assert_eq!(approved.status, 303);
    assert_eq!(wallet(conn, alice, "BREW"), 5_200);
    let again = manager
        .submit(&detail, &decide, &[("decision", "approve")])
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(wallet(conn, alice, "BREW"), 5_200);
    let list = owner.get("/merchant/adjustments").await;
    assert!(list.body.contains("已入账"), "{}", list.body);
}

/// `2026-11-22T16:05` in Shanghai, as a datetime-local input sends it.
fn shanghai_local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn earn_at(conn: &mut PgConnection, shop: MerchantId, member_id: MemberId, order: &str) -> i64 {
    let request = earn::EarnRequest {
        merchant_id: shop,
        order_id: earn::OrderId::parse(order).unwrap(),
        member_id,
        amount: Money::parse("120.00").unwrap(),
        occurred_at: None,
        store_id: None,
        program: None,
        source: earn::Source::Api,
        device_id: None,
        ip: None,
    };
    earn::earn(conn, &request, &Actor::system("test-till"))
        .unwrap()
        .order
        .points
}

#[tokio::test]
async fn a_campaign_created_on_the_platform_page_gives_its_bonus_on_the_next_earn() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    let alice = member(conn, &app.keys, PHONE, None);
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    operator(conn, "risk@alliance.test", OperatorRole::Risk);
    let now = chrono::Utc::now();
    let merchant_field = format!("merchant_{shop}");
    let (starts, ends) = (
        shanghai_local(now - chrono::Duration::hours(1)),
        shanghai_local(now + chrono::Duration::days(7)),
    );
    let form = [
        ("name_zh", "双十一十倍积分"),
        ("name_en", "Double eleven 10x"),
        ("multiplier", "10"),
        ("steps", "≥¥100 +50, ≥¥500 +300"),
        ("starts_at", starts.as_str()),
        ("ends_at", ends.as_str()),
        ("budget", "1000.00"),
        ("house_share", "50"),
        (merchant_field.as_str(), "on"),
    ];

    // Risk may look but not create.
    let risk = app.browser();
    risk.sign_in("platform", "risk@alliance.test", PASSWORD)
        .await;
    let refused = risk
        .submit("/platform/campaigns", "/platform/campaigns", &form)
        .await;
    assert_eq!(refused.status, 403);

    let ops = app.browser();
    ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    // A window that ends before it starts is refused, in words.
    let mut backwards = form;
    backwards[5] = ("ends_at", starts.as_str());
    let bad = ops
        .submit("/platform/campaigns", "/platform/campaigns", &backwards)
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("结束须晚于开始"), "{}", bad.body);

    let created = ops
        .submit("/platform/campaigns", "/platform/campaigns", &form)
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let list = ops.get("/platform/campaigns").await;
    assert!(list.body.contains("双十一十倍积分"), "{}", list.body);
    assert!(list.body.contains("≥¥100 +50, ≥¥500 +300"), "{}", list.body);

    // ¥120: base 120, 10x adds 1,080, the ¥100 step adds 50.
    assert_eq!(earn_at(conn, shop, alice, "POS-1"), 1_250);
    assert_eq!(wallet(conn, alice, "BREW"), 1_250);
    let list = ops.get("/platform/campaigns").await;
    assert!(list.body.contains("¥11.30"), "{}", list.body);

    // Paused, it gives nothing more.
    let marker = "action=\"/platform/campaigns/";
    let start = list.body.find(marker).unwrap() + marker.len();
    let id: String = list.body[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let paused = ops
        .submit(
            "/platform/campaigns",
            &format!("/platform/campaigns/{id}/status"),
            &[("status", "paused")],
        )
        .await;
    assert_eq!(paused.status, 303);
    assert_eq!(earn_at(conn, shop, alice, "POS-2"), 120);
    assert_eq!(wallet(conn, alice, "BREW"), 1_370);
}

#[tokio::test]
async fn the_member_sees_when_their_points_lapse_their_tier_and_their_earning_history() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    let alice = member(conn, &app.keys, PHONE, None);
    assert_eq!(earn_at(conn, shop, alice, "POS-1"), 120);
    earn::refund(
        conn,
        shop,
        &earn::OrderId::parse("POS-1").unwrap(),
        Some(Money::parse("20.00").unwrap()),
        None,
        &Actor::system("test-till"),
    )
    .unwrap();
    assert_eq!(wallet(conn, alice, "BREW"), 100);
    let lots = earn::lot::upcoming(conn, alice).unwrap();
    let lapses = lots[0]
        .expires_at
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M")
        .to_string();

    let browser = app.browser();
    browser.sign_in("consumer", PHONE, PASSWORD).await;
    let home = browser.get("/consumer").await;
    assert!(
        home.body.contains("href=\"/consumer/points\""),
        "{}",
        home.body
    );
    let page = browser.get("/consumer/points").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("{lapses} 过期")),
        "{}",
        page.body
    );
    assert!(page.body.contains(">100<"), "{}", page.body);
    assert!(page.body.contains("已退款 ¥20.00"), "{}", page.body);
    assert!(page.body.contains("扣回 20"), "{}", page.body);
    // ¥100 net spend towards the next tier.
    assert!(page.body.contains("消费 ¥100.00"), "{}", page.body);
    assert!(page.body.contains("即可升级为"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cashier_issues_points_in_a_real_browser_and_a_double_click_issues_once() {
    use thirtyfour::prelude::*;

    use crate::browser::{Browser, screenshot_path, sign_in};

    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "till@brew.test", MerchantRole::Cashier);
    let alice = member(conn, &app.keys, PHONE, None);

    let browser = Browser::launch().await;
    let driver = browser.driver();
    sign_in(&app, driver, "merchant", "till@brew.test").await;
    driver.goto(app.url("/merchant/issue")).await.unwrap();
    for (id, text) in [("phone", PHONE), ("amount", "88.80")] {
        driver
            .find(By::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    let submit = driver.find(By::Id("issue-submit")).await.unwrap();
    submit.click().await.unwrap();
    // An impatient second click: the page may already be going, which is fine.
    let _ = submit.click().await;
    let mut total = None;
    for _ in 0..200 {
        if let Ok(found) = driver.find(By::Id("issue-total")).await {
            total = Some(found.text().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        total.as_deref(),
        Some("88"),
        "{}",
        driver.source().await.unwrap()
    );
    driver
        .screenshot(&screenshot_path("merchant-issue-zh"))
        .await
        .unwrap();
    browser.quit().await;
    assert_eq!(wallet(conn, alice, "BREW"), 88);
}
