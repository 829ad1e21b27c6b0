//! The platform's caps on high-demand rewards, set through the page and held
//! by the redemption service.

use alliance::{
    db::schema::{reward_caps, rewards},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId},
        money::Money,
        phone::Phone,
    },
    error::Classify,
    people::{member, operator::OperatorRole},
    redemption::{self, RedeemError, RedeemRequest, Window},
};
use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    exchange_support::{earn_points, two_programs},
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, operator},
};

use crate::redemption_support::leg;

async fn signed_in(app: &TestApp, email: &str, role: OperatorRole) -> Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    let signed = browser.sign_in("platform", email, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
}

fn popcorn(conn: &mut PgConnection, cinema: MerchantId) -> RewardId {
    diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(cinema),
            rewards::title_zh.eq("爆米花套餐"),
            rewards::title_en.eq("Popcorn combo"),
            rewards::category.eq("entertainment"),
            rewards::value_fen.eq(1_000),
            rewards::points_price.eq(Some(500_i64)),
            rewards::stock.eq(100),
            rewards::valid_from.eq(Utc::now() - Duration::days(1)),
            rewards::valid_until.eq(Utc::now() + Duration::days(30)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap()
}

fn order(member_id: MemberId, reward_id: RewardId, key: &str) -> RedeemRequest {
    RedeemRequest {
        member_id,
        reward_id,
        pay: vec![leg("CINEMA", 500)],
        cash: Money::ZERO,
        request_key: key.to_owned(),
    }
}

#[tokio::test]
async fn an_operator_caps_a_reward_per_member_and_the_page_shows_what_is_left() {
    let app = spawn_app().await;
    let (reward, alice) = {
        let conn = &mut app.db.conn();
        let shops = two_programs(conn);
        let alice = member::enrol_or_find(
            conn,
            &app.keys,
            &Actor::system("test"),
            &Phone::parse("13800000001").unwrap(),
            None,
        )
        .unwrap()
        .id;
        earn_points(conn, shops.cinema, alice, 2_000);
        (popcorn(conn, shops.cinema), alice)
    };
    let browser = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let page = browser.get("/platform/rewards").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("爆米花套餐"), "{}", page.body);

    let saved = browser
        .submit(
            "/platform/rewards",
            &format!("/platform/rewards/{reward}/caps"),
            &[("daily_total", "5"), ("daily_per_member", "1")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    let conn = &mut app.db.conn();
    let actor = Actor::system("test-member");
    redemption::redeem(conn, &order(alice, reward, "first"), &actor).unwrap();
    let second = redemption::redeem(conn, &order(alice, reward, "second"), &actor);
    assert!(
        matches!(second, Err(RedeemError::CapReached(Window::DailyPerMember))),
        "{second:?}"
    );
    assert_eq!(
        second
            .unwrap_err()
            .message(alliance::i18n::Locale::ZhCn)
            .unwrap(),
        "该权益已达每人每日兑换上限，请改日再来。"
    );
    let page = browser.get("/platform/rewards").await;
    assert!(
        page.body.contains("data-remaining=\"today\">4<"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn bad_caps_change_nothing_and_only_rate_keepers_may_set_them() {
    let app = spawn_app().await;
    let reward = {
        let conn = &mut app.db.conn();
        let shops = two_programs(conn);
        popcorn(conn, shops.cinema)
    };
    let ops = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let refused = ops
        .submit(
            "/platform/rewards",
            &format!("/platform/rewards/{reward}/caps"),
            &[("daily_total", "-3")],
        )
        .await;
    assert_eq!(refused.status, 303);
    let page = ops.get("/platform/rewards").await;
    assert!(page.body.contains("上限须为大于零的整数"), "{}", page.body);
    let risk = signed_in(&app, "risk@alliance.test", OperatorRole::Risk).await;
    let forbidden = risk
        .submit(
            "/platform/rewards",
            &format!("/platform/rewards/{reward}/caps"),
            &[("daily_total", "3")],
        )
        .await;
    assert_eq!(forbidden.status, 403);

    let conn = &mut app.db.conn();
    let caps: i64 = reward_caps::table.count().get_result(conn).unwrap();
    assert_eq!(caps, 0);
}
