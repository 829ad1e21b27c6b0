//! The signature check against a real server: every way a request can be
//! wrongly signed gets 401, another merchant's key gets 403 (or 404 for its
//! orders), and none of them changes anything.

use alliance::db::schema::merchants;
use alliance::domain::id::MemberId;
use diesel::prelude::*;
use serde_json::json;

use crate::{
    api_support::{ApiClient, Signature, footprint, new_key, nonce, now, partner, sign},
    harness::spawn_app,
};

fn earn_body(member_id: MemberId, order: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "member_id": member_id,
        "order_id": order,
        "amount_cny": "88.00",
    }))
    .unwrap()
}

/// One wrongly signed request and the problem it must get.
struct Case {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    problem: &'static str,
}

/// Every way to sign `body` for `POST path` wrongly, starting from `good`.
fn wrongly_signed(client: &ApiClient, good: &Signature, path: &str, body: &[u8]) -> Vec<Case> {
    let case = |name, signature: &Signature, body: &[u8], problem| Case {
        name,
        headers: signature.headers(),
        body: body.to_vec(),
        problem,
    };
    let resigned = |mut signature: Signature, secret: &str, path: &str| {
        signature.mac = sign(
            secret,
            "POST",
            path,
            signature.timestamp,
            &signature.nonce,
            body,
        );
        signature
    };
    let mut cases = vec![case(
        "wrong secret",
        &resigned(good.clone(), "not-the-secret", path),
        body,
        "signature_invalid",
    )];
    // Past the 300 s limit with room to spare: the cases are all built before
    // the first is sent, and on a loaded machine the server's clock has moved
    // on by the time the last arrives (301 s ahead was once read as 300).
    for skew in [-330, 330, -3600] {
        let mut stale = client.signature("POST", path, body);
        stale.timestamp = now() + skew;
        let stale = resigned(stale, &client.secret, path);
        cases.push(case("stale timestamp", &stale, body, "timestamp_stale"));
    }
    let mut tampered = body.to_vec();
    tampered.extend_from_slice(b" ");
    cases.push(case("tampered body", good, &tampered, "signature_invalid"));
    let mut elsewhere = client.signature("POST", path, body);
    elsewhere.nonce = nonce();
    let elsewhere = resigned(elsewhere, &client.secret, "/api/v1/members");
    cases.push(case(
        "signed for another path",
        &elsewhere,
        body,
        "signature_invalid",
    ));
    let unknown_key = Signature {
        key_id: "ak_doesnotexist000000000000".to_owned(),
        ..client.signature("POST", path, body)
    };
    cases.push(case("unknown key", &unknown_key, body, "signature_invalid"));
    let mut uppercase = client.signature("POST", path, body);
    uppercase.mac = uppercase.mac.to_uppercase();
    cases.push(case("uppercase hex", &uppercase, body, "signature_missing"));
    for missing in 0..4 {
        let mut without = case(
            "a header missing",
            &client.signature("POST", path, body),
            body,
            "signature_missing",
        );
        without.headers.remove(missing);
        cases.push(without);
    }
    cases
}

#[tokio::test]
async fn every_signature_failure_is_refused_with_401_and_changes_nothing() {
    let app = spawn_app().await;
    let client = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let member_id = client.enrol("13800000001").await;
    let path = "/api/v1/earn";
    let body = earn_body(member_id, "POS-1");
    let good = client.signature("POST", path, &body);
    let before = footprint(&app);

    for mut case in wrongly_signed(&client, &good, path, &body) {
        case.headers
            .push(("Idempotency-Key", format!("k-{}", case.name)));
        let response = client.send("POST", path, case.body, &case.headers).await;
        assert_eq!(response.status, 401, "{}: {response:?}", case.name);
        assert_eq!(response.problem(), case.problem, "{}", case.name);
    }
    assert_eq!(footprint(&app), before, "refused requests changed nothing");

    // The refused requests spent no nonce: the good signature still works once…
    let mut headers = good.headers();
    headers.push(("Idempotency-Key", "k-good".to_owned()));
    let first = client.send("POST", path, body.clone(), &headers).await;
    assert_eq!(first.status, 201, "{first:?}");
    let after_first = footprint(&app);

    // …and only once: the same request again is a replay.
    headers.last_mut().unwrap().1 = "k-replay".to_owned();
    let replay = client.send("POST", path, body, &headers).await;
    assert_eq!(replay.status, 401, "{replay:?}");
    assert_eq!(replay.problem(), "nonce_replayed");
    assert_eq!(footprint(&app), after_first, "the replay changed nothing");
}

#[tokio::test]
async fn a_replayed_read_is_refused_too() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let member_id = client.enrol("13800000001").await;
    let path = format!("/api/v1/members/{member_id}");
    let headers = client.signature("GET", &path, b"").headers();

    assert_eq!(
        client.send("GET", &path, Vec::new(), &headers).await.status,
        200
    );
    let replay = client.send("GET", &path, Vec::new(), &headers).await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.problem(), "nonce_replayed");
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let member_id = client.enrol("13800000001").await;
    let path = format!("/api/v1/members/{member_id}");
    assert_eq!(client.get(&path).await.status, 200);

    let conn = &mut app.db.conn();
    let key = alliance::merchant::api_key::list(conn, coffee.merchant_id)
        .unwrap()
        .into_iter()
        .find(|k| k.key_id == coffee.key_id)
        .unwrap();
    alliance::merchant::api_key::revoke(
        conn,
        &alliance::domain::actor::Actor::system("test"),
        coffee.merchant_id,
        key.id,
    )
    .unwrap();

    let response = client.get(&path).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.problem(), "signature_invalid");
}

#[tokio::test]
async fn another_merchants_key_cannot_read_or_earn_for_members_it_does_not_know() {
    let app = spawn_app().await;
    let coffee = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let tea = ApiClient::new(&app, &partner(&app, "TEA"));
    let member_id = coffee.enrol("13800000001").await;
    let earned = coffee
        .post(
            "/api/v1/earn",
            "coffee-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "50.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    let before = footprint(&app);

    for path in [
        format!("/api/v1/members/{member_id}"),
        format!("/api/v1/members/{member_id}/balances"),
    ] {
        let response = tea.get(&path).await;
        assert_eq!(response.status, 403, "{path}: {response:?}");
        assert_eq!(response.problem(), "member_not_known");
    }
    // A member id that does not exist looks the same: ids cannot be probed.
    let response = tea
        .get(&format!("/api/v1/members/{}", member_id.0 + 1000))
        .await;
    assert_eq!(response.status, 403);

    let response = tea
        .post(
            "/api/v1/earn",
            "tea-1",
            &json!({"member_id": member_id, "order_id": "TEA-1", "amount_cny": "50.00"}),
        )
        .await;
    assert_eq!(response.status, 403, "{response:?}");
    assert_eq!(response.problem(), "member_not_known");

    // Coffee's orders do not exist for Tea.
    let response = tea.get("/api/v1/earn/POS-1").await;
    assert_eq!(response.status, 404, "{response:?}");
    let response = tea
        .post("/api/v1/earn/POS-1/refund", "tea-2", &json!({}))
        .await;
    assert_eq!(response.status, 404, "{response:?}");

    let after = footprint(&app);
    assert_eq!(after.earn_orders, before.earn_orders);
    assert_eq!(after.journal_entries, before.journal_entries);
    assert_eq!(after.members, before.members);
    assert_eq!(
        after.audit_events, before.audit_events,
        "no change was audited because none was made"
    );
    assert_eq!(
        coffee.get("/api/v1/earn/POS-1").await.json()["refunded_cny"],
        "0.00"
    );
}

#[tokio::test]
async fn a_second_key_of_the_same_merchant_sees_the_same_members() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let till = ApiClient::new(&app, &coffee);
    let member_id = till.enrol("13800000001").await;
    let (key_id, secret) = new_key(&app, coffee.merchant_id);
    let mut erp = till.clone();
    erp.key_id = key_id;
    erp.secret = secret;
    assert_eq!(
        erp.get(&format!("/api/v1/members/{member_id}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn problems_speak_the_callers_language() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let mut client = ApiClient::new(&app, &coffee);
    let chinese = client.get("/api/v1/members/1").await.json();
    client.language = Some("en-US,en;q=0.9");
    let english = client.get("/api/v1/members/1").await.json();
    assert_eq!(english["type"], chinese["type"]);
    assert_eq!(english["title"], "Member not accessible");
    assert_eq!(chinese["title"], "无权访问该会员");

    client.secret = "wrong".to_owned();
    let refused = client.get("/api/v1/members/1").await.json();
    assert_eq!(refused["title"], "Invalid signature");
}

#[tokio::test]
async fn a_merchant_that_loses_api_access_is_refused_on_the_next_request() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let member_id = client.enrol("13800000001").await;
    let path = format!("/api/v1/members/{member_id}");
    assert_eq!(client.get(&path).await.status, 200);

    diesel::update(merchants::table.find(coffee.merchant_id))
        .set(merchants::tier.eq("standard"))
        .execute(&mut app.db.conn())
        .unwrap();

    let response = client.get(&path).await;
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(response.problem(), "signature_invalid");
}
