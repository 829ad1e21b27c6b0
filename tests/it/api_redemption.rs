//! The partner API's redemption endpoints: a partner orders its own reward for
//! a member it knows, serves the voucher (核销) or cancels it.
//!
//! COFFEE is the calling partner (strategic, 1 point per CNY); its reward is a
//! ¥10.00 cake, or 1,000 COFFEE points, with cash top-up allowed.

use alliance::db::schema::{redemptions, rewards};
use alliance::domain::id::RewardId;
use alliance::domain::id::{MemberId, MerchantId};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::{
    api_support::{ApiClient, ApiResponse, partner},
    exchange_support::points,
    harness::{TestApp, spawn_app},
    ledger_support::{assert_lots_match_wallets, assert_verified},
};

/// A published reward of the merchant's worth ¥10.00, or 1,000 of its points,
/// payable with cash too; `stock` in stock.
pub fn cake(conn: &mut PgConnection, merchant_id: MerchantId, stock: i64) -> RewardId {
    diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(merchant_id),
            rewards::title_zh.eq("芝士蛋糕"),
            rewards::title_en.eq("Cheesecake"),
            rewards::category.eq("dining"),
            rewards::value_fen.eq(1_000),
            rewards::points_price.eq(Some(1_000_i64)),
            rewards::other_points.eq(false),
            rewards::cash_topup.eq(true),
            rewards::stock.eq(stock),
            rewards::valid_from.eq(Utc::now() - Duration::days(1)),
            rewards::valid_until.eq(Utc::now() + Duration::days(30)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap()
}

fn stock(app: &TestApp, reward_id: RewardId) -> i64 {
    rewards::table
        .find(reward_id)
        .select(rewards::stock)
        .first(&mut app.db.conn())
        .unwrap()
}

/// COFFEE's till, a member it enrolled who earned 2,000 COFFEE points, and
/// COFFEE's cake (5 in stock).
struct Setup {
    app: TestApp,
    till: ApiClient,
    merchant_id: MerchantId,
    member_id: MemberId,
    reward_id: RewardId,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let till = ApiClient::new(&app, &coffee);
    let member_id = till.enrol("13800000001").await;
    let earned = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "2000.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    let reward_id = cake(&mut app.db.conn(), coffee.merchant_id, 5);
    Setup {
        app,
        till,
        merchant_id: coffee.merchant_id,
        member_id,
        reward_id,
    }
}

fn order_body(member_id: MemberId, reward_id: RewardId, points: &str, cash: &str) -> Value {
    json!({
        "member_id": member_id,
        "reward_id": reward_id,
        "pay": [{"program": "COFFEE", "points": points}],
        "cash_cny": cash,
    })
}

async fn order(till: &ApiClient, key: &str, body: &Value) -> ApiResponse {
    till.post("/api/v1/redemptions", key, body).await
}

async fn fulfil(till: &ApiClient, key: &str, id: i64) -> ApiResponse {
    till.post(&format!("/api/v1/redemptions/{id}/fulfil"), key, &json!({}))
        .await
}

async fn cancel(till: &ApiClient, key: &str, id: i64) -> ApiResponse {
    till.post(&format!("/api/v1/redemptions/{id}/cancel"), key, &json!({}))
        .await
}

fn assert_books_clean(app: &TestApp) {
    let conn = &mut app.db.conn();
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn a_partner_orders_a_reward_serves_the_voucher_once_and_the_points_are_spent() {
    let Setup {
        app,
        till,
        member_id,
        reward_id,
        ..
    } = setup().await;

    // 800 points pay ¥8.00 of the cake; the member adds ¥2.00 at the counter.
    let held = order(
        &till,
        "order-1",
        &order_body(member_id, reward_id, "800", "2.00"),
    )
    .await;
    assert_eq!(held.status, 201, "{held:?}");
    assert_eq!(held.content_type, "application/json");
    let body = held.json();
    let id = body["redemption_id"].as_i64().unwrap();
    assert_eq!(body["member_id"], member_id.0);
    assert_eq!(body["reward_id"], reward_id.0);
    assert_eq!(body["status"], "held");
    let code = body["voucher_code"].as_str().unwrap();
    assert_eq!(code.len(), 12);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(body["value_cny"], "10.00");
    assert_eq!(body["cash_cny"], "2.00");
    assert_eq!(
        body["pay"],
        json!([{"program": "COFFEE", "points": "800", "value_cny": "8.00"}])
    );
    assert!(body["expires_at"].as_str().is_some());
    assert_eq!(body["resolved_at"], Value::Null);
    // Held, not spent: unavailable, and the stock is taken.
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 1_200);
    assert_eq!(stock(&app, reward_id), 4);
    let looked_up = till.get(&format!("/api/v1/redemptions/{id}")).await;
    assert_eq!(looked_up.status, 200, "{looked_up:?}");
    assert_eq!(looked_up.json()["voucher_code"], code);

    let served = fulfil(&till, "serve-1", id).await;
    assert_eq!(served.status, 200, "{served:?}");
    assert_eq!(served.json()["status"], "fulfilled");
    assert!(served.json()["resolved_at"].as_str().is_some());
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 1_200);

    // Serving it again, or cancelling it now, is a conflict.
    let again = fulfil(&till, "serve-2", id).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem(), "already_resolved");
    let too_late = cancel(&till, "cancel-1", id).await;
    assert_eq!(too_late.status, 409, "{too_late:?}");
    assert_eq!(too_late.problem(), "already_resolved");
    assert_eq!(stock(&app, reward_id), 4);
    assert_books_clean(&app);
}

#[tokio::test]
async fn cancelling_a_held_redemption_gives_the_points_and_the_stock_back() {
    let Setup {
        app,
        till,
        member_id,
        reward_id,
        ..
    } = setup().await;
    let held = order(
        &till,
        "order-1",
        &order_body(member_id, reward_id, "1000", "0.00"),
    )
    .await;
    assert_eq!(held.status, 201, "{held:?}");
    let id = held.json()["redemption_id"].as_i64().unwrap();
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 1_000);

    let cancelled = cancel(&till, "cancel-1", id).await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 2_000);
    assert_eq!(stock(&app, reward_id), 5);
    // A cancelled voucher cannot be served.
    let served = fulfil(&till, "serve-1", id).await;
    assert_eq!(served.status, 409, "{served:?}");
    assert_eq!(served.problem(), "already_resolved");
    assert_books_clean(&app);
}

#[tokio::test]
async fn another_merchants_redemption_and_reward_are_not_found() {
    let Setup {
        app,
        till,
        member_id,
        reward_id,
        ..
    } = setup().await;
    let held = order(
        &till,
        "order-1",
        &order_body(member_id, reward_id, "1000", "0.00"),
    )
    .await;
    assert_eq!(held.status, 201, "{held:?}");
    let id = held.json()["redemption_id"].as_i64().unwrap();

    let tea = ApiClient::new(&app, &partner(&app, "TEA"));
    let same_member = tea.enrol("13800000001").await;
    assert_eq!(same_member, member_id);
    for response in [
        tea.get(&format!("/api/v1/redemptions/{id}")).await,
        fulfil(&tea, "serve-1", id).await,
        cancel(&tea, "cancel-1", id).await,
        order(
            &tea,
            "order-1",
            &order_body(member_id, reward_id, "1000", "0.00"),
        )
        .await,
    ] {
        assert_eq!(response.status, 404, "{response:?}");
        assert_eq!(response.problem(), "not_found");
    }
    // And an id that names nothing at all answers the same.
    let unknown = fulfil(&till, "serve-unknown", id + 1_000).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");

    let status: String = redemptions::table
        .find(id)
        .select(redemptions::status)
        .first(&mut app.db.conn())
        .unwrap();
    assert_eq!(status, "held");
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 1_000);
    assert_books_clean(&app);
}

#[tokio::test]
async fn a_repeated_order_replays_the_same_redemption_and_holds_once() {
    let Setup {
        app,
        till,
        member_id,
        reward_id,
        ..
    } = setup().await;
    let body = order_body(member_id, reward_id, "800", "2.00");
    let first = order(&till, "order 1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = order(&till, "order 1", &body).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert!(again.replayed);
    assert_eq!(again.json(), first.json());
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 1_200);
    assert_eq!(stock(&app, reward_id), 4);

    // The same key for another order is refused and holds nothing.
    let other = order(
        &till,
        "order 1",
        &order_body(member_id, reward_id, "1000", "0.00"),
    )
    .await;
    assert_eq!(other.status, 409, "{other:?}");
    assert_eq!(other.problem(), "idempotency_key_reused");
    let count: i64 = redemptions::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();
    assert_eq!(count, 1);
    assert_books_clean(&app);
}

#[tokio::test]
async fn payments_the_reward_cannot_take_are_refused_and_hold_nothing() {
    let Setup {
        app,
        till,
        member_id,
        reward_id,
        merchant_id,
    } = setup().await;
    let cases = [
        // Short by ¥1.00.
        (
            order_body(member_id, reward_id, "800", "1.00"),
            422,
            "short",
        ),
        (
            order_body(member_id, reward_id, "800", "3.00"),
            422,
            "overpaid",
        ),
        (
            json!({"member_id": member_id, "reward_id": reward_id,
                   "pay": [{"program": "TEA", "points": "1000"}]}),
            422,
            "program_not_accepted",
        ),
        (
            json!({"member_id": member_id, "reward_id": reward_id,
                   "pay": [{"program": "COFFEE", "points": "0"}], "cash_cny": "-1"}),
            422,
            "validation_failed",
        ),
        (
            json!({"member_id": member_id.0 + 1_000, "reward_id": reward_id, "pay": []}),
            403,
            "member_not_known",
        ),
    ];
    for (i, (body, status, problem)) in cases.into_iter().enumerate() {
        let refused = order(&till, &format!("bad-{i}"), &body).await;
        assert_eq!(refused.status, status, "{body} {refused:?}");
        assert_eq!(refused.problem(), problem, "{body}");
    }

    // Two orders hold 1,800 of the 2,000 points; a third for 1,000 finds 200.
    let other = cake(&mut app.db.conn(), merchant_id, 5);
    let whole = json!({"member_id": member_id, "reward_id": other,
                       "pay": [{"program": "COFFEE", "points": "1000"}]});
    assert_eq!(order(&till, "first", &whole).await.status, 201);
    let part = order_body(member_id, reward_id, "800", "2.00");
    assert_eq!(order(&till, "second", &part).await.status, 201);
    let refused = order(
        &till,
        "third",
        &order_body(member_id, reward_id, "1000", "0.00"),
    )
    .await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(refused.problem(), "insufficient_points");
    assert!(
        refused.json()["detail"].as_str().unwrap().contains("200"),
        "{refused:?}"
    );
    assert_eq!(stock(&app, reward_id), 4);
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 200);
    assert_books_clean(&app);
}
