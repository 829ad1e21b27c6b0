//! A partner's till driving the API end to end with real signed HTTP requests:
//! enrol a member, earn, look the order up, refund part of it, read balances;
//! and the per-key rate limit.

use std::num::NonZeroU32;

use serde_json::json;

use crate::{
    api_support::{ApiClient, partner, spawn_app_with},
    harness::spawn_app,
};

#[tokio::test]
async fn a_till_enrols_a_member_earns_refunds_and_reads_balances() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let till = ApiClient::new(&app, &coffee);

    let enrolled = till
        .post(
            "/api/v1/members",
            "enrol-1",
            &json!({"phone": "+8613800000001"}),
        )
        .await;
    assert_eq!(enrolled.status, 201, "{enrolled:?}");
    let member_id = enrolled.json()["member_id"].as_i64().unwrap();
    assert_eq!(enrolled.json()["display_name"], "138****0001");

    let member = till.get(&format!("/api/v1/members/{member_id}")).await;
    assert_eq!(member.status, 200);
    assert_eq!(member.json()["tier"], "basic");

    let earned = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({
                "member_id": member_id,
                "order_id": "POS-20261122-0001",
                "amount_cny": "200.00",
                "occurred_at": chrono::Utc::now().to_rfc3339(),
                "device_id": "till-7",
            }),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    assert_eq!(earned.content_type, "application/json");
    let order = earned.json();
    assert_eq!(order["points"], "200");
    assert_eq!(order["amount_cny"], "200.00");
    assert_eq!(order["program"], "COFFEE");
    assert_eq!(order["breakdown"]["base_points"], "200");
    assert_eq!(order["breakdown"]["total_points"], "200");
    assert_eq!(order["breakdown"]["tier"]["code"], "basic");

    let found = till.get("/api/v1/earn/POS-20261122-0001").await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["points"], "200");

    let refunded = till
        .post(
            "/api/v1/earn/POS-20261122-0001/refund",
            "refund-1",
            &json!({"amount_cny": "50.00"}),
        )
        .await;
    assert_eq!(refunded.status, 200, "{refunded:?}");
    let refund = refunded.json();
    assert_eq!(refund["amount_cny"], "50.00");
    assert_eq!(refund["points_reversed"], "50");
    assert_eq!(refund["order"]["refunded_cny"], "50.00");

    let too_much = till
        .post(
            "/api/v1/earn/POS-20261122-0001/refund",
            "refund-2",
            &json!({"amount_cny": "150.01"}),
        )
        .await;
    assert_eq!(too_much.status, 409, "{too_much:?}");

    let balances = till
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await;
    assert_eq!(balances.status, 200);
    let body = balances.json();
    assert_eq!(body["balances"][0]["program"], "COFFEE");
    assert_eq!(body["balances"][0]["available"], "150");
    assert_eq!(body["balances"][0]["held"], "0");
    assert_eq!(body["balances"][0]["value_cny"], "1.50");
    assert_eq!(body["total_value_cny"], "1.50");

    // The rest of the purchase is refunded with an empty body.
    let signature = till.signature("POST", "/api/v1/earn/POS-20261122-0001/refund", b"");
    let mut headers = signature.headers();
    headers.push(("Idempotency-Key", "refund-rest".to_owned()));
    let rest = till
        .send(
            "POST",
            "/api/v1/earn/POS-20261122-0001/refund",
            Vec::new(),
            &headers,
        )
        .await;
    assert_eq!(rest.status, 200, "{rest:?}");
    assert_eq!(rest.json()["amount_cny"], "150.00");
    let balances = till
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await
        .json();
    assert_eq!(balances["balances"][0]["available"], "0");
}

#[tokio::test]
async fn an_order_reported_again_is_the_same_order_and_another_purchase_under_its_id_is_refused() {
    let app = spawn_app().await;
    let till = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let member_id = till.enrol("13800000001").await;
    let first = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-20261122-0001", "amount_cny": "200.00"}),
        )
        .await;
    assert_eq!(first.status, 201, "{first:?}");

    // Reporting the same purchase again (a till retrying with a new key) is
    // the same order, not new points.
    let again = till
        .post(
            "/api/v1/earn",
            "sale-1-retry",
            &json!({"member_id": member_id, "order_id": "POS-20261122-0001", "amount_cny": "200.00"}),
        )
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json()["points"], "200");
    // The same order id for a different purchase is refused.
    let conflict = till
        .post(
            "/api/v1/earn",
            "sale-1-other",
            &json!({"member_id": member_id, "order_id": "POS-20261122-0001", "amount_cny": "5.00"}),
        )
        .await;
    assert_eq!(conflict.status, 409, "{conflict:?}");
    assert_eq!(conflict.problem(), "order_conflict");

    let balances = till
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await
        .json();
    assert_eq!(balances["balances"][0]["available"], "200");
}

#[tokio::test]
async fn an_earn_with_invalid_fields_lists_every_one() {
    let app = spawn_app().await;
    let mut till = ApiClient::new(&app, &partner(&app, "COFFEE"));
    till.language = Some("en");
    let response = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({
                "order_id": "has space",
                "amount_cny": "12.345",
                "occurred_at": "yesterday",
                "program": "alp",
            }),
        )
        .await;
    assert_eq!(response.status, 422, "{response:?}");
    let fields: Vec<String> = response.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "member_id",
            "order_id",
            "amount_cny",
            "occurred_at",
            "program"
        ]
    );
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(|config| {
        config.api_rate_per_minute = NonZeroU32::new(3).unwrap();
    })
    .await;
    let coffee = partner(&app, "COFFEE");
    let till = ApiClient::new(&app, &coffee);
    let member_id = till.enrol("13800000001").await;
    let path = format!("/api/v1/members/{member_id}");
    assert_eq!(till.get(&path).await.status, 200);
    assert_eq!(till.get(&path).await.status, 200);

    let limited = till.get(&path).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    assert_eq!(limited.problem(), "rate_limited");
    let retry_after: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Another key has an allowance of its own.
    let (key_id, secret) = crate::api_support::new_key(&app, coffee.merchant_id);
    let mut erp = till.clone();
    erp.key_id = key_id;
    erp.secret = secret;
    assert_eq!(erp.get(&path).await.status, 200);
}
