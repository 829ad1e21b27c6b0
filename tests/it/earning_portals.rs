//! The earning pages end to end against a real server: manual issuing and
//! refunds, adjustments with maker-checker, campaigns on the platform, and the
//! member's points detail. Every check that matters reads the ledger.

use alliance::{
    chart,
    domain::{actor::Actor, points::ProgramCode},
    ledger,
    merchant::standing,
    people::merchant_user::MerchantRole,
};
use diesel::PgConnection;

use crate::{
    harness::{Page, spawn_app},
    people_support::*,
};

const PHONE: &str = "13800000001";

fn wallet(conn: &mut PgConnection, member_id: i64, program: &str) -> i64 {
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
            &[("order_id", &order_id), ("amount", "64.25")],
        )
        .await;
    assert_eq!(half.status, 303, "{}", half.body);
    assert_eq!(wallet(conn, alice, "BREW"), 64);
    let rest = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[("order_id", &order_id), ("amount", "")],
        )
        .await;
    assert_eq!(rest.status, 303, "{}", rest.body);
    assert_eq!(wallet(conn, alice, "BREW"), 0);
    let too_much = browser
        .submit(
            "/merchant/issue",
            "/merchant/issue/refund",
            &[("order_id", &order_id), ("amount", "1.00")],
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
