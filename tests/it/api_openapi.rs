//! The OpenAPI document matches the server both ways: every documented
//! operation is served, and every API route the code registers is documented.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    api_redemption::cake,
    api_support::{ApiClient, partner},
    harness::spawn_app,
    people_support::funded_shop,
};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// (METHOD, path template) of every documented operation.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

/// Routes declared in the API's source: `#[get("/members")]` and the like,
/// with the scope's prefix where the handler sits inside it.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut routes = BTreeSet::new();
    for file in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(
            !source.contains(".route(") && !source.contains("web::resource("),
            "API routes are registered through documented handlers only"
        );
        for line in source.lines().map(str::trim) {
            for method in METHODS {
                if let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) {
                    let path = rest.split('"').next().unwrap();
                    let full = if path.starts_with("/api/") {
                        path.to_owned()
                    } else {
                        format!("/api/v1{path}")
                    };
                    routes.insert((method.to_uppercase(), full));
                }
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_document_is_openapi_3_and_served_without_a_signature() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(document["components"]["securitySchemes"]["signature"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());
    let operations = operations(&document);
    for expected in [
        ("POST", "/api/v1/members"),
        ("GET", "/api/v1/members/{member_id}"),
        ("GET", "/api/v1/members/{member_id}/balances"),
        ("POST", "/api/v1/earn"),
        ("GET", "/api/v1/earn/{order_id}"),
        ("POST", "/api/v1/earn/{order_id}/refund"),
        ("POST", "/api/v1/exchange/quotes"),
        ("GET", "/api/v1/exchange/quotes/{quote_id}"),
        ("POST", "/api/v1/exchange"),
        ("POST", "/api/v1/redemptions"),
        ("GET", "/api/v1/redemptions/{redemption_id}"),
        ("POST", "/api/v1/redemptions/{redemption_id}/fulfil"),
        ("POST", "/api/v1/redemptions/{redemption_id}/cancel"),
        ("GET", "/api/v1/rewards"),
        ("GET", "/api/v1/openapi.json"),
    ] {
        assert!(
            operations.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} is not documented: {operations:?}"
        );
    }
}

#[tokio::test]
async fn every_route_in_the_api_source_is_documented_and_nothing_else_is() {
    let app = spawn_app().await;
    let document: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = operations(&document);
    let declared = routes_in_source();
    assert!(!declared.is_empty());
    assert_eq!(documented, declared);
}

#[tokio::test]
async fn every_documented_operation_is_served_and_undocumented_methods_are_not() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let member_id = client.enrol("13800000001").await;
    let earned = client
        .post(
            "/api/v1/earn",
            "seed",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "1000.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    // Paths name things that exist, so a 404 can only mean "not served".
    funded_shop(&mut app.db.conn(), "CINEMA", "0.02");
    let quoted = client
        .post(
            "/api/v1/exchange/quotes",
            "seed-quote",
            &json!({"member_id": member_id, "from_program": "COFFEE", "to_program": "CINEMA", "from_points": "1000"}),
        )
        .await;
    assert_eq!(quoted.status, 201, "{quoted:?}");
    let quote_id = quoted.json()["quote_id"].as_str().unwrap().to_owned();
    let reward_id = cake(&mut app.db.conn(), coffee.merchant_id, 5);
    let redeemed = client
        .post(
            "/api/v1/redemptions",
            "seed-redemption",
            &json!({"member_id": member_id, "reward_id": reward_id, "pay": [{"program": "COFFEE", "points": "1000"}]}),
        )
        .await;
    assert_eq!(redeemed.status, 201, "{redeemed:?}");
    let redemption_id = redeemed.json()["redemption_id"].as_i64().unwrap();
    let statement_id = crate::settlement_support::settle_after_end(
        &mut app.db.conn(),
        coffee.merchant_id,
        crate::settlement_support::day(0),
    )
    .unwrap()
    .statement
    .id;
    let document: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let concrete = |template: &str| {
        template
            .replace("{member_id}", &member_id.to_string())
            .replace("{order_id}", "POS-1")
            .replace("{quote_id}", &quote_id)
            .replace("{redemption_id}", &redemption_id.to_string())
            .replace("{statement_id}", &statement_id.to_string())
    };

    let documented = operations(&document);
    for (method, template) in &documented {
        let path = concrete(template);
        let body = if method == "POST" {
            b"{}".to_vec()
        } else {
            Vec::new()
        };
        let mut headers = client.signature(method, &path, &body).headers();
        headers.push(("Idempotency-Key", format!("probe {method} {template}")));
        let response = client.send(method, &path, body, &headers).await;
        assert!(
            ![404, 405].contains(&response.status),
            "{method} {template} is documented but not served: {response:?}"
        );
    }

    for template in document["paths"].as_object().unwrap().keys() {
        for method in METHODS.map(str::to_uppercase) {
            if documented.contains(&(method.clone(), template.clone())) {
                continue;
            }
            let path = concrete(template);
            let headers = client.signature(&method, &path, b"").headers();
            let response = client.send(&method, &path, Vec::new(), &headers).await;
            assert!(
                [404, 405].contains(&response.status),
                "{method} {template} is served but not documented: {response:?}"
            );
        }
    }
}
