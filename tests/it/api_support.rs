//! Partner-API tests' helpers: a strategic merchant with a funded deposit and an
//! API key, and a client that signs requests exactly as API.md says — written
//! from the contract, not from the server's code.

use std::time::{SystemTime, UNIX_EPOCH};

use alliance::{
    crypto,
    db::schema::{
        api_idempotency, api_nonces, audit_events, earn_orders, journal_entries, members,
    },
    deposit::{self, NewTopup},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
    },
    merchant::{self, api_key},
};
use diesel::prelude::*;
use secrecy::ExposeSecret as _;
use serde_json::Value;

use crate::{harness::TestApp, people_support::shop};

/// A merchant whose systems call the API.
#[derive(Debug, Clone)]
pub struct Partner {
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub secret: String,
}

/// A strategic merchant (the tier with API access) with program `code` at
/// ¥0.01 a point, its deposit paid in, and a fresh API key.
pub fn partner(app: &TestApp, code: &str) -> Partner {
    partner_at(app, code, "0.01")
}

/// A partner as [`partner`]'s whose points are worth `settlement_value` each.
pub fn partner_at(app: &TestApp, code: &str, settlement_value: &str) -> Partner {
    let conn = &mut app.db.conn();
    let merchant_id = shop(conn, code, "strategic", settlement_value);
    let notice = deposit::submit_topup(
        conn,
        &Actor::system("test"),
        merchant_id,
        &NewTopup {
            amount: Money::parse("500000.00").unwrap(),
            bank_reference: format!("ICBC-{code}-OPENING"),
        },
    )
    .unwrap();
    deposit::confirm_topup(conn, &Actor::system("test"), notice.id).unwrap();
    let (key_id, secret) = new_key(app, merchant_id);
    Partner {
        merchant_id,
        key_id,
        secret,
    }
}

/// Another key for the merchant: (key id, secret).
pub fn new_key(app: &TestApp, merchant_id: MerchantId) -> (String, String) {
    let conn = &mut app.db.conn();
    let merchant = merchant::find(conn, merchant_id).unwrap().unwrap();
    let issued = api_key::create(
        conn,
        &app.keys,
        &Actor::system("test"),
        &merchant,
        &api_key::KeyLabel::parse("收银系统").unwrap(),
    )
    .unwrap();
    (issued.key.key_id, issued.secret.expose_secret().to_owned())
}

pub use crate::harness::spawn_app_with;

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub fn nonce() -> String {
    crypto::random_token()
}

/// The lowercase hex HMAC-SHA256 of API.md's string to sign.
pub fn sign(
    secret: &str,
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    let message = format!(
        "{method}\n{path}\n{timestamp}\n{nonce}\n{}",
        hex::encode(crypto::sha256(body))
    );
    hex::encode(crypto::hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

/// What a request's signature headers say; tests change one thing at a time.
#[derive(Debug, Clone)]
pub struct Signature {
    pub key_id: String,
    pub timestamp: i64,
    pub nonce: String,
    /// The lowercase hex HMAC.
    pub mac: String,
}

impl Signature {
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("X-Alliance-Key", self.key_id.clone()),
            ("X-Alliance-Timestamp", self.timestamp.to_string()),
            ("X-Alliance-Nonce", self.nonce.clone()),
            ("X-Alliance-Signature", self.mac.clone()),
        ]
    }
}

#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: String,
    pub replayed: bool,
    pub retry_after: Option<String>,
    pub text: String,
}

impl ApiResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The problem type's slug, for `application/problem+json` answers.
    pub fn problem(&self) -> String {
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], self.status, "{body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        body["type"]
            .as_str()
            .unwrap()
            .trim_start_matches("urn:alliance:problem:")
            .to_owned()
    }
}

/// A partner's HTTP client: signs every request with its key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    client: reqwest::Client,
    address: String,
    pub key_id: String,
    pub secret: String,
    pub language: Option<&'static str>,
}

impl ApiClient {
    pub fn new(app: &TestApp, partner: &Partner) -> Self {
        // A pooled connection idle for the server's keep-alive (actix: 5 s) may be
        // closed by the server just as the client reuses it; a partner's client
        // retires idle connections sooner, as this one does.
        let client = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("a plain HTTP client");
        Self {
            client,
            address: app.address.clone(),
            key_id: partner.key_id.clone(),
            secret: partner.secret.clone(),
            language: None,
        }
    }

    /// A correct signature for the request, made now with a fresh nonce.
    pub fn signature(&self, method: &str, path: &str, body: &[u8]) -> Signature {
        let (timestamp, nonce) = (now(), nonce());
        Signature {
            key_id: self.key_id.clone(),
            mac: sign(&self.secret, method, path, timestamp, &nonce, body),
            timestamp,
            nonce,
        }
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        let signature = self.signature("GET", path, b"");
        self.send("GET", path, Vec::new(), &signature.headers())
            .await
    }

    /// A signed POST of `body` (JSON) under `idempotency_key`.
    pub async fn post(&self, path: &str, idempotency_key: &str, body: &Value) -> ApiResponse {
        let body = serde_json::to_vec(body).unwrap();
        let mut headers = self.signature("POST", path, &body).headers();
        headers.push(("Idempotency-Key", idempotency_key.to_owned()));
        self.send("POST", path, body, &headers).await
    }

    /// Sends exactly what it is given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> ApiResponse {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.address))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(language) = self.language {
            request = request.header("Accept-Language", language);
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        ApiResponse {
            status: response.status().as_u16(),
            content_type: header("content-type").unwrap_or_default(),
            replayed: header("idempotent-replayed").is_some(),
            retry_after: header("retry-after"),
            text: response.text().await.unwrap(),
        }
    }

    /// Enrols (or finds) the holder of `phone`; returns the member id.
    pub async fn enrol(&self, phone: &str) -> MemberId {
        let response = self
            .post(
                "/api/v1/members",
                &format!("enrol-{phone}"),
                &serde_json::json!({ "phone": phone }),
            )
            .await;
        assert!(matches!(response.status, 200 | 201), "{response:?}");
        MemberId(response.json()["member_id"].as_i64().unwrap())
    }
}

/// Row counts of what partners can change; equal before and after a refused
/// request means it changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub struct Footprint {
    pub members: i64,
    pub earn_orders: i64,
    pub journal_entries: i64,
    pub idempotency_keys: i64,
    pub nonces: i64,
    pub audit_events: i64,
}

pub fn footprint(app: &TestApp) -> Footprint {
    let conn = &mut app.db.conn();
    Footprint {
        members: members::table.count().get_result(conn).unwrap(),
        earn_orders: earn_orders::table.count().get_result(conn).unwrap(),
        journal_entries: journal_entries::table.count().get_result(conn).unwrap(),
        idempotency_keys: api_idempotency::table.count().get_result(conn).unwrap(),
        nonces: api_nonces::table.count().get_result(conn).unwrap(),
        audit_events: audit_events::table.count().get_result(conn).unwrap(),
    }
}
