//! Members through the partner API: enrol or find by mobile number, standing,
//! and balances in every program.

use alliance::{
    audit::{self, AuditFilter},
    chart,
    db::schema::members,
    domain::points::ProgramCode,
    ledger::{self, EntryRequest, TransferRequest},
};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    api_support::{ApiClient, partner},
    harness::spawn_app,
    people_support,
};

#[tokio::test]
async fn a_new_number_enrols_a_member_without_a_password_and_audits_it() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);

    let response = client
        .post(
            "/api/v1/members",
            "m-1",
            &json!({"phone": "+8613800000001", "name": "韩梅梅"}),
        )
        .await;

    assert_eq!(response.status, 201, "{response:?}");
    let body = response.json();
    assert_eq!(body["phone"], "138****0001");
    assert_eq!(body["display_name"], "韩梅梅");
    assert_eq!(body["tier"], "basic");
    assert_eq!(body["identity"], "unverified");
    assert_eq!(body["consent"], serde_json::Value::Null);
    let member_id = body["member_id"].as_i64().unwrap();
    let conn = &mut app.db.conn();
    let password: Option<String> = members::table
        .find(member_id)
        .select(members::password_hash)
        .first(conn)
        .unwrap();
    assert_eq!(password, None);
    let actions: Vec<String> = audit::search(
        conn,
        &AuditFilter {
            target_kind: Some("member".to_owned()),
            target_id: Some(member_id.to_string()),
            ..AuditFilter::default()
        },
        10,
    )
    .unwrap()
    .into_iter()
    .map(|e| {
        assert_eq!(e.actor_label, format!("api:{}", coffee.key_id));
        assert_eq!(e.merchant_id, Some(coffee.merchant_id));
        e.action
    })
    .collect();
    assert_eq!(actions, ["merchant_member.link", "member.enrol"]);
}

#[tokio::test]
async fn a_known_number_finds_the_member_in_any_spelling_and_keeps_their_name() {
    // The member signed up in the app: new to this merchant (201) the first
    // time, known to it (200) after.
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let existing = people_support::member(&mut app.db.conn(), &app.keys, "13800000001", None);

    for (key, phone) in [
        ("a", "13800000001"),
        ("b", "+86 138-0000-0001"),
        ("c", "008613800000001"),
    ] {
        let response = client
            .post(
                "/api/v1/members",
                key,
                &json!({"phone": phone, "name": "别的名字"}),
            )
            .await;
        let expected = if key == "a" { 201 } else { 200 };
        assert_eq!(response.status, expected, "{phone}: {response:?}");
        let body = response.json();
        assert_eq!(body["member_id"], existing.0);
        assert_eq!(body["display_name"], "王小明");
        assert_eq!(body["consent"]["granted"], true);
        assert_eq!(body["consent"]["current"], true);
    }
}

#[tokio::test]
async fn invalid_fields_are_listed_in_the_problem() {
    let app = spawn_app().await;
    let mut client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    client.language = Some("en");
    for (key, body, field) in [
        ("a", json!({"phone": "12345"}), "phone"),
        ("b", json!({}), "phone"),
        ("c", json!({"phone": "13800000001", "name": "   "}), "name"),
    ] {
        let response = client.post("/api/v1/members", key, &body).await;
        assert_eq!(response.status, 422, "{body}: {response:?}");
        assert_eq!(response.problem(), "validation_failed");
        let errors = &response.json()["errors"];
        assert_eq!(errors[0]["field"], field, "{errors}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("api."),
            "{errors}"
        );
    }
    let response = client
        .post("/api/v1/members", "d", &json!("not an object"))
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.problem(), "malformed_body");
}

#[tokio::test]
async fn balances_list_every_program_with_held_points_and_value_rounded_down() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let member_id = client.enrol("13800000001").await;
    let earned = client
        .post(
            "/api/v1/earn",
            "e-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "1234.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    let alp = client
        .post(
            "/api/v1/earn",
            "e-2",
            &json!({"member_id": member_id, "order_id": "POS-2", "amount_cny": "10.00", "program": "ALP"}),
        )
        .await;
    assert_eq!(alp.status, 201, "{alp:?}");
    let alp_points: i64 = alp.json()["points"].as_str().unwrap().parse().unwrap();
    // An open redemption holds 5 of the member's COFFEE points.
    {
        let conn = &mut app.db.conn();
        let code = ProgramCode::parse("COFFEE").unwrap();
        let wallet = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
        let issuance = chart::open(conn, &chart::program_issuance(&code)).unwrap();
        let entry = EntryRequest::new("test:hold:1", "redemption")
            .transfer(TransferRequest::hold(wallet, issuance, "COFFEE", 5, 3600));
        ledger::submit(conn, &[entry])
            .unwrap()
            .pop()
            .unwrap()
            .unwrap();
    }

    let response = client
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await;

    assert_eq!(response.status, 200, "{response:?}");
    let body = response.json();
    assert_eq!(body["member_id"], member_id.0);
    let balances = body["balances"].as_array().unwrap();
    let coffee = balances.iter().find(|b| b["program"] == "COFFEE").unwrap();
    // 1,234 points earned, 5 held: 1,229 available at ¥0.01 → ¥12.29.
    assert_eq!(coffee["available"], "1229");
    assert_eq!(coffee["held"], "5");
    assert_eq!(coffee["value_cny"], "12.29");
    let hub = balances.iter().find(|b| b["program"] == "ALP").unwrap();
    assert_eq!(hub["available"], alp_points.to_string());
    assert_eq!(hub["value_cny"], serde_json::Value::Null);
    assert_eq!(body["total_value_cny"], "12.29");
}
