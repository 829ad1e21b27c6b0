//! `Idempotency-Key` against a real server: duplicates run once, a reused key
//! with a different body is a 409, and refusals are replayed like successes.

use alliance::{
    chart,
    db::schema::{api_idempotency, earn_orders, journal_entries},
    domain::{id::MemberId, points::ProgramCode},
    ledger,
};
use diesel::prelude::*;
use serde_json::json;

use crate::{
    api_support::{ApiClient, footprint, partner},
    harness::spawn_app,
};

fn wallet(app: &crate::harness::TestApp, member_id: MemberId, program: &str) -> i64 {
    let conn = &mut app.db.conn();
    let code = ProgramCode::parse(program).unwrap();
    let id = chart::open(conn, &chart::member_wallet(member_id, &code)).unwrap();
    ledger::balance(conn, id).unwrap().posted()
}

#[tokio::test]
async fn twenty_concurrent_duplicates_of_one_earn_post_it_once() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let member_id = client.enrol("13800000001").await;
    let body = json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "120.00"});
    let entries_before: i64 = journal_entries::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();

    let requests = (0..20).map(|_| {
        let client = client.clone();
        let body = body.clone();
        tokio::spawn(async move { client.post("/api/v1/earn", "till-7-sale-1", &body).await })
    });
    let mut responses = Vec::new();
    for request in requests {
        responses.push(request.await.unwrap());
    }

    let first = &responses[0];
    assert_eq!(first.status, 201, "{first:?}");
    for response in &responses {
        assert_eq!(response.status, first.status);
        assert_eq!(
            response.text, first.text,
            "every duplicate gets the same body"
        );
    }
    assert_eq!(
        responses.iter().filter(|r| !r.replayed).count(),
        1,
        "one ran, nineteen were replayed"
    );
    let conn = &mut app.db.conn();
    let orders: i64 = earn_orders::table.count().get_result(conn).unwrap();
    assert_eq!(orders, 1);
    let entries: i64 = journal_entries::table.count().get_result(conn).unwrap();
    assert_eq!(entries, entries_before + 1, "one ledger entry");
    assert_eq!(wallet(&app, member_id, "COFFEE"), 120, "points issued once");
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let member_id = client.enrol("13800000001").await;
    let first = client
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "10.00"}),
        )
        .await;
    assert_eq!(first.status, 201);
    let before = footprint(&app);

    let second = client
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-2", "amount_cny": "99.00"}),
        )
        .await;
    assert_eq!(second.status, 409, "{second:?}");
    assert_eq!(second.problem(), "idempotency_key_reused");
    // The same key on another operation is another request too.
    let third = client
        .post(
            "/api/v1/members",
            "sale-1",
            &json!({"phone": "13800000002"}),
        )
        .await;
    assert_eq!(third.status, 409, "{third:?}");

    let after = footprint(&app);
    assert_eq!(after.earn_orders, before.earn_orders);
    assert_eq!(after.members, before.members);
    assert_eq!(after.journal_entries, before.journal_entries);
    assert_eq!(wallet(&app, member_id, "COFFEE"), 10);
}

#[tokio::test]
async fn a_repeat_gets_the_original_status_and_body_even_for_a_refusal() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let tea = ApiClient::new(&app, &partner(&app, "TEA"));
    let stranger = tea.enrol("13900000009").await;
    let body = json!({"member_id": stranger, "order_id": "POS-1", "amount_cny": "10.00"});

    let refused = client.post("/api/v1/earn", "sale-1", &body).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(!refused.replayed);

    // Coffee meets the member now, but the key already has its answer.
    client.enrol("13900000009").await;
    let repeat = client.post("/api/v1/earn", "sale-1", &body).await;
    assert_eq!(repeat.status, 403);
    assert!(repeat.replayed);
    assert_eq!(repeat.text, refused.text);

    // A new key runs the request afresh.
    let fresh = client.post("/api/v1/earn", "sale-2", &body).await;
    assert_eq!(fresh.status, 201, "{fresh:?}");
}

#[tokio::test]
async fn an_enrolment_repeated_under_its_key_is_the_first_answer() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let body = json!({"phone": "+86 138 0000 0001", "name": "李雷"});
    let first = client.post("/api/v1/members", "m-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    let repeat = client.post("/api/v1/members", "m-1", &body).await;
    assert_eq!((repeat.status, repeat.replayed), (201, true));
    assert_eq!(repeat.text, first.text);
    // Without the key it is a lookup: the same member, found.
    let found = client.post("/api/v1/members", "m-2", &body).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["member_id"], first.json()["member_id"]);
}

#[tokio::test]
async fn keys_are_per_merchant() {
    let app = spawn_app().await;
    let coffee = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let tea = ApiClient::new(&app, &partner(&app, "TEA"));
    let a = coffee
        .post(
            "/api/v1/members",
            "same-key",
            &json!({"phone": "13800000001"}),
        )
        .await;
    let b = tea
        .post(
            "/api/v1/members",
            "same-key",
            &json!({"phone": "13800000002"}),
        )
        .await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(a.json()["member_id"], b.json()["member_id"]);
}

#[tokio::test]
async fn a_post_without_a_valid_idempotency_key_is_refused_before_anything_runs() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let before = footprint(&app);
    let body = serde_json::to_vec(&json!({"phone": "13800000001"})).unwrap();

    let headers = client.signature("POST", "/api/v1/members", &body).headers();
    let response = client
        .send("POST", "/api/v1/members", body.clone(), &headers)
        .await;
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.problem(), "idempotency_key_required");

    let mut headers = client.signature("POST", "/api/v1/members", &body).headers();
    headers.push(("Idempotency-Key", "k".repeat(65)));
    let response = client.send("POST", "/api/v1/members", body, &headers).await;
    assert_eq!(response.status, 400, "{response:?}");

    let after = footprint(&app);
    assert_eq!(after.members, before.members);
    assert_eq!(after.idempotency_keys, before.idempotency_keys);
}

#[tokio::test]
async fn invalid_fields_are_not_stored_so_the_key_can_carry_the_corrected_request() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let invalid = client
        .post("/api/v1/members", "m-1", &json!({"phone": "12345"}))
        .await;
    assert_eq!(invalid.status, 422, "{invalid:?}");
    let stored: i64 = api_idempotency::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();
    assert_eq!(stored, 0);
    let corrected = client
        .post("/api/v1/members", "m-1", &json!({"phone": "13800000001"}))
        .await;
    assert_eq!(corrected.status, 201, "{corrected:?}");
}

#[tokio::test]
async fn nonces_and_keys_are_forgotten_after_their_retention() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    client.enrol("13800000001").await;
    client.enrol("13800000002").await;
    let conn = &mut app.db.conn();
    let (nonces, keys) = (footprint(&app).nonces, footprint(&app).idempotency_keys);
    assert_eq!((nonces, keys), (2, 2));
    // One of each ages past its retention: nonces 10 minutes, keys 24 hours.
    diesel::sql_query(
        "UPDATE api_nonces SET seen_at = now() - interval '11 minutes' \
         WHERE nonce = (SELECT min(nonce) FROM api_nonces)",
    )
    .execute(conn)
    .unwrap();
    diesel::sql_query(
        "UPDATE api_idempotency SET created_at = now() - interval '25 hours' \
         WHERE idempotency_key = 'enrol-13800000001'",
    )
    .execute(conn)
    .unwrap();

    assert_eq!(alliance::api::purge_expired(conn).unwrap(), 2);

    let after = footprint(&app);
    assert_eq!((after.nonces, after.idempotency_keys), (1, 1));
    // The forgotten key may carry a new request now.
    let reused = client
        .post(
            "/api/v1/members",
            "enrol-13800000001",
            &json!({"phone": "13800000003"}),
        )
        .await;
    assert_eq!(reused.status, 201, "{reused:?}");
}

#[tokio::test]
async fn concurrent_enrolments_of_one_number_make_one_member() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let requests = (0..8).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .post(
                    "/api/v1/members",
                    &format!("enrol-{i}"),
                    &json!({"phone": "13800000001"}),
                )
                .await
        })
    });
    let mut statuses = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for request in requests {
        let response = request.await.unwrap();
        statuses.push(response.status);
        ids.insert(response.json()["member_id"].as_i64().unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    assert_eq!(ids.len(), 1);
    assert_eq!(footprint(&app).members, 1);
}
