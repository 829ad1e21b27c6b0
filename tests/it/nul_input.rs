//! A NUL character (U+0000) in what a client sends is the client's mistake,
//! refused where the input enters (issue #17): 422 problem+json from the
//! partner API, 400 from the portals; never the 500 PostgreSQL's refusal to
//! store it used to become, and nothing is written.

use alliance::people::merchant_user::MerchantRole;
use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
use serde_json::json;

use crate::{
    api_support::{ApiClient, partner},
    harness::spawn_app,
    people_support::{PASSWORD, merchant, merchant_user},
};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut diesel::PgConnection, table: &str) -> i64 {
    sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[tokio::test]
async fn the_api_refuses_a_nul_in_json_query_or_path_with_422() {
    let app = spawn_app().await;
    let brew = partner(&app, "BREW");
    let till = ApiClient::new(&app, &brew);
    let member_id = till.enrol("13800000001").await;
    let conn = &mut app.db.conn();

    for body in [
        json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "20.00", "device_id": "till\u{0}7"}),
        json!({"member_id": member_id, "order_id": "POS-\u{0}1", "amount_cny": "20.00"}),
        json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "20.00", "program": "\u{0}"}),
    ] {
        let refused = till.post("/api/v1/earn", "nul-earn", &body).await;
        assert_eq!(refused.status, 422, "{body}: {refused:?}");
        assert_eq!(refused.problem(), "nul_character", "{body}");
    }
    assert_eq!(count(conn, "earn_orders"), 0);

    for path in [
        "/api/v1/settlements?from=2026-01-01%00&to=2026-01-31",
        "/api/v1/earn/POS%001",
        "/api/v1/members/1%00",
    ] {
        let refused = till.get(path).await;
        assert_eq!(refused.status, 422, "{path}: {refused:?}");
        assert_eq!(refused.problem(), "nul_character", "{path}");
    }
}

#[tokio::test]
async fn the_portals_refuse_a_nul_in_a_form_or_query_with_400() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
    let owner = app.browser();
    owner.sign_in("merchant", "owner@brew.test", PASSWORD).await;

    let refused = owner
        .submit(
            "/merchant/stores",
            "/merchant/stores",
            &[
                ("name", "人民广场店\u{0}"),
                ("address", "上海市黄浦区南京东路 1 号"),
                ("latitude", "31.230416"),
                ("longitude", "121.473701"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(count(conn, "stores"), 0);

    for path in [
        "/merchant/reports?from=2026-01-01%00",
        "/merchant/stores?x=%00",
        "/platform/sign-in?next=%2Fplatform%00",
        "/consumer/rewards?q=%00",
    ] {
        assert_eq!(owner.get(path).await.status, 400, "{path}");
    }
}
