//! Fuzzes every operation of the partner API (issue #17), driven by the
//! OpenAPI document the server serves: for every path parameter, query
//! parameter and body field, boundary numbers, wrong types, unicode, NUL and
//! huge strings, plus malformed and missing bodies, each correctly signed so it
//! reaches the handler. No answer may be a 5xx: a 5xx tells a partner to retry
//! a request that will never succeed. The cases are a fixed list, in a fixed
//! order, so a failure reproduces; the run takes a few seconds.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::{
    api_support::{ApiClient, partner, spawn_app_with},
    harness::TestApp,
};

use alliance::domain::id::MemberId;

const METHODS: [&str; 2] = ["get", "post"];
/// A huge value is cut to this in a path or query: longer URLs are refused by
/// the HTTP client itself and never reach the server.
const MAX_URL_VALUE_CHARS: usize = 16 * 1024;

/// Values every field and parameter is tried with.
fn hostile_values() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(0.5),
        json!(""),
        json!(" "),
        json!("0"),
        json!("-1"),
        json!("-0.01"),
        json!("9223372036854775807"),
        json!("-9223372036854775808"),
        json!("99999999999999999999999999999999.99"),
        json!("0.000000000000000000000000000001"),
        json!("1e400"),
        json!("NaN"),
        json!("2026-02-30T25:61:00Z"),
        json!("😀🎉"),
        json!("\u{202e}مرحبا"),
        json!("e\u{301}\u{301}\u{301}"),
        json!("a\u{0}b"),
        json!(true),
        json!(null),
        json!([]),
        json!([{"program": "\u{0}", "points": "-1"}]),
        json!({}),
        json!("x".repeat(1 << 20)),
    ]
}

/// Bodies that are not the JSON object any operation takes.
const MALFORMED: [&[u8]; 10] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"42",
    b"\"text\"",
    b"{}",
    b"{\"a\":1,,}",
    b"\xff\xfe",
    b"{\"member_id\": 1e999}",
];

/// Text for a value in a path or query string.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Follows a `$ref` within the document.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .trim_start_matches("#/")
            .split('/')
            .fold(document, |node, key| &node[key]),
        None => schema,
    }
}

/// A plausible value for a field, so the other fields of a mutated body get
/// past the first check and the mutation is what the handler meets.
fn plausible(name: &str, schema: &Value, member_id: MemberId) -> Value {
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if name == "member_id" {
        return json!(member_id);
    }
    let kind = schema["type"]
        .as_str()
        .or_else(|| schema["type"].as_array().and_then(|t| t[0].as_str()))
        .unwrap_or("string");
    match kind {
        "integer" => json!(1),
        "number" => json!(1.0),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ => json!("1"),
    }
}

/// The operation's body with a plausible value in every field.
fn base_body(document: &Value, operation: &Value, member_id: MemberId) -> Map<String, Value> {
    let properties: Map<String, Value> =
        operation["requestBody"]["content"]["application/json"]["schema"]
            .as_object()
            .map(|schema| resolve(document, &Value::Object(schema.clone())).clone())
            .and_then(|schema| schema["properties"].as_object().cloned())
            .unwrap_or_default();
    properties
        .iter()
        .map(|(name, schema)| {
            (
                name.clone(),
                plausible(name, resolve(document, schema), member_id),
            )
        })
        .collect()
}

/// One request to send.
struct Case {
    method: String,
    path: String,
    body: Vec<u8>,
    /// What was changed, for the report.
    what: String,
}

/// Every case for one operation.
fn cases_for(
    document: &Value,
    method: &str,
    template: &str,
    operation: &Value,
    member_id: MemberId,
) -> Vec<Case> {
    let params: Vec<(String, String)> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| matches!(p["in"].as_str(), Some("path" | "query")))
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["in"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let concrete = |overrides: &[(&str, String)]| {
        let mut path = template.to_owned();
        let mut query = Vec::new();
        for (name, place) in &params {
            let value = overrides.iter().find(|(n, _)| n == name).map_or_else(
                || {
                    if name == "member_id" {
                        member_id.to_string()
                    } else {
                        "1".to_owned()
                    }
                },
                |(_, v)| encode(&v.chars().take(MAX_URL_VALUE_CHARS).collect::<String>()),
            );
            match place.as_str() {
                "path" => path = path.replace(&format!("{{{name}}}"), &value),
                _ if overrides.iter().any(|(n, _)| n == name) => {
                    query.push(format!("{name}={value}"));
                }
                _ => {}
            }
        }
        if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        }
    };
    let base = base_body(document, operation, member_id);
    let body_of = |object: &Map<String, Value>| {
        if method == "post" {
            serde_json::to_vec(object).unwrap()
        } else {
            Vec::new()
        }
    };

    let mut cases = vec![Case {
        method: method.to_uppercase(),
        path: concrete(&[]),
        body: body_of(&base),
        what: "plausible".to_owned(),
    }];
    for value in hostile_values() {
        let shown: String = value.to_string().chars().take(40).collect();
        for (name, _) in &params {
            cases.push(Case {
                method: method.to_uppercase(),
                path: concrete(&[(name.as_str(), as_text(&value))]),
                body: body_of(&base),
                what: format!("{name} = {shown}"),
            });
        }
        for name in base.keys() {
            let mut body = base.clone();
            body.insert(name.clone(), value.clone());
            cases.push(Case {
                method: method.to_uppercase(),
                path: concrete(&[]),
                body: body_of(&body),
                what: format!("{name} = {shown}"),
            });
        }
    }
    if method == "post" {
        for name in base.keys() {
            let mut body = base.clone();
            body.remove(name);
            cases.push(Case {
                method: "POST".to_owned(),
                path: concrete(&[]),
                body: body_of(&body),
                what: format!("{name} missing"),
            });
        }
        for raw in MALFORMED {
            cases.push(Case {
                method: "POST".to_owned(),
                path: concrete(&[]),
                body: raw.to_vec(),
                what: format!("body {}", String::from_utf8_lossy(raw)),
            });
        }
    }
    cases
}

async fn seeded() -> (TestApp, ApiClient, MemberId) {
    // The rate limit is not what is tested; every case must reach its handler.
    let app = spawn_app_with(|config| {
        config.api_rate_per_minute = std::num::NonZeroU32::new(1_000_000).unwrap();
    })
    .await;
    let coffee = partner(&app, "COFFEE");
    let client = ApiClient::new(&app, &coffee);
    let member_id = client.enrol("13800000001").await;
    let earned = client
        .post(
            "/api/v1/earn",
            "seed",
            &json!({"member_id": member_id, "order_id": "1", "amount_cny": "100.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    (app, client, member_id)
}

#[tokio::test]
async fn no_api_operation_answers_5xx_to_hostile_input() {
    let (app, client, member_id) = seeded().await;
    let document: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut cases = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method)
                && template != "/api/v1/openapi.json"
            {
                cases.extend(cases_for(&document, method, template, operation, member_id));
            }
        }
    }
    assert!(cases.len() > 500, "{} cases", cases.len());

    let mut failures = String::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (i, case) in cases.iter().enumerate() {
        let signature = client.signature(&case.method, &case.path, &case.body);
        let mut headers = signature.headers();
        headers.push(("Idempotency-Key", format!("fuzz-{i}")));
        let response = client
            .send(&case.method, &case.path, case.body.clone(), &headers)
            .await;
        *statuses.entry(response.status).or_default() += 1;
        if response.status >= 500 {
            let path: String = case.path.chars().take(120).collect();
            writeln!(
                failures,
                "{} {path} [{}] → {} {}",
                case.method,
                case.what,
                response.status,
                response.text.chars().take(200).collect::<String>()
            )
            .unwrap();
        }
    }
    println!("{} cases; statuses {statuses:?}", cases.len());
    assert!(failures.is_empty(), "5xx answers:\n{failures}");
}
