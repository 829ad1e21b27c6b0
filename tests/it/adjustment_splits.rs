//! Splitting an adjustment below the approval threshold does not avoid the
//! second person (issue #17): what one person books without approval for a
//! merchant in 24 hours counts as one, so 5 × 999 points are not five small
//! adjustments.

use alliance::{
    chart,
    domain::{id::MemberId, points::ProgramCode},
    ledger,
    people::merchant_user::MerchantRole,
};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};

use crate::{
    harness::{Browser, Page},
    people_support::*,
};

const PHONE: &str = "13800000001";

fn wallet(conn: &mut PgConnection, member_id: MemberId) -> i64 {
    let code = ProgramCode::parse("BREW").unwrap();
    let id = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Adjustments filed for approval rather than booked.
fn waiting(conn: &mut PgConnection) -> i64 {
    sql_query("SELECT count(*) AS n FROM point_adjustments WHERE approval_id IS NOT NULL")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

fn hidden(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.body.find(&marker).unwrap() + marker.len();
    page.body[start..].split('"').next().unwrap().to_owned()
}

/// Fills a fresh adjustment form adding `points` to `phone`'s holder, and
/// returns its fields.
async fn form(browser: &Browser, phone: &str, points: &str) -> Vec<(&'static str, String)> {
    let page = browser.get("/merchant/adjustments").await;
    vec![
        ("csrf_token", page.csrf()),
        ("token", hidden(&page, "token")),
        ("phone", phone.to_owned()),
        ("direction", "add".to_owned()),
        ("points", points.to_owned()),
        ("reason", "顾客投诉补偿".to_owned()),
    ]
}

async fn send(browser: &Browser, fields: &[(&'static str, String)]) -> u16 {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/merchant/adjustments", &fields).await.status
}

async fn adjust(browser: &Browser, points: &str) -> u16 {
    send(browser, &form(browser, PHONE, points).await).await
}

async fn signed_in(app: &crate::harness::TestApp, email: &str) -> Browser {
    let browser = app.browser();
    assert_eq!(
        browser.sign_in("merchant", email, PASSWORD).await.status,
        303
    );
    browser
}

#[tokio::test]
async fn the_split_that_takes_a_persons_day_over_the_threshold_goes_to_approval() {
    let app = crate::harness::spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "owner@brew.test", MerchantRole::Owner);
    merchant_user(conn, shop, "manager@brew.test", MerchantRole::Manager);
    let alice = member(conn, &app.keys, PHONE, None);
    let owner = signed_in(&app, "owner@brew.test").await;

    for _ in 0..5 {
        assert_eq!(adjust(&owner, "999").await, 303);
    }
    assert_eq!(wallet(conn, alice), 999, "only the first is booked at once");
    assert_eq!(waiting(conn), 4, "the 2nd to 5th splits wait for approval");

    // Another person's allowance is their own.
    let manager = signed_in(&app, "manager@brew.test").await;
    assert_eq!(adjust(&manager, "999").await, 303);
    assert_eq!(wallet(conn, alice), 1_998);
    assert_eq!(waiting(conn), 4);
}

#[tokio::test]
async fn splits_sent_at_once_are_counted_together() {
    let app = crate::harness::spawn_app().await;
    let conn = &mut app.db.conn();
    let shop = funded_shop(conn, "BREW", "0.01");
    merchant_user(conn, shop, "owner@brew.test", MerchantRole::Owner);
    let alice = member(conn, &app.keys, PHONE, None);
    let bob = member(conn, &app.keys, "13900000002", None);
    // Two sessions of the same owner, each with a form drawn before either is
    // sent, for two members (whose own locks do not serialise them).
    let (first, second) = (
        signed_in(&app, "owner@brew.test").await,
        signed_in(&app, "owner@brew.test").await,
    );
    let (a, b) = (
        form(&first, PHONE, "600").await,
        form(&second, "13900000002", "600").await,
    );
    let (sa, sb) = tokio::join!(send(&first, &a), send(&second, &b));
    assert_eq!((sa, sb), (303, 303));
    assert_eq!(
        wallet(conn, alice) + wallet(conn, bob),
        600,
        "one booked, one waits"
    );
    assert_eq!(waiting(conn), 1);
}
