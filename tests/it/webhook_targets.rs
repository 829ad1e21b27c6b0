//! Webhooks go only to public addresses (issue #17, SSRF): internal URLs in any
//! spelling are refused in the merchant console, a delivery whose host resolves
//! inside the network is refused before anything connects, and a receiver on
//! the allow-list still gets its deliveries.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
};

use alliance::{
    domain::{actor::Actor, id::MerchantId},
    people::merchant_user::MerchantRole,
    webhook::endpoint,
    webhook::{deliver_due, enqueue},
};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{Nullable, Text},
};
use serde_json::json;

use crate::{
    harness::{Browser, TestApp, spawn_app, spawn_app_with},
    people_support::{PASSWORD, merchant, merchant_user},
};

/// The owner of a new merchant, signed in to the console.
async fn owner(app: &TestApp) -> (MerchantId, Browser) {
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in("merchant", "owner@brew.test", PASSWORD)
            .await
            .status,
        303
    );
    (brew, browser)
}

async fn set_url(owner: &Browser, url: &str) -> crate::harness::Page {
    owner
        .submit(
            "/merchant/settings",
            "/merchant/settings/webhook",
            &[("webhook_url", url)],
        )
        .await
}

#[tokio::test]
async fn internal_webhook_urls_are_refused_in_every_spelling() {
    let app = spawn_app_with(|config| config.webhook_allow_hosts.clear()).await;
    let (brew, owner) = owner(&app).await;
    let conn = &mut app.db.conn();
    let not_public = "回调地址必须指向公网地址";
    let not_https = "回调地址必须使用 https://";
    let refusals = [
        ("http://127.1", not_https),
        ("http://0x7f000001", not_https),
        ("https://127.1/", not_public),
        ("https://0x7f000001/", not_public),
        ("https://2130706433/", not_public),
        ("https://0177.0.0.1/", not_public),
        ("https://169.254.169.254/latest/meta-data/", not_public),
        ("https://10.0.0.5/hook", not_public),
        ("https://172.16.3.4/hook", not_public),
        ("https://192.168.1.1/hook", not_public),
        ("https://100.64.0.1/hook", not_public),
        ("https://0.0.0.0/hook", not_public),
        ("https://224.0.0.1/hook", not_public),
        ("https://[::1]/hook", not_public),
        ("https://[::]/hook", not_public),
        ("https://[::ffff:127.0.0.1]/hook", not_public),
        ("https://[::ffff:a9fe:a9fe]/hook", not_public),
        ("https://[fd00::1]/hook", not_public),
        ("https://[fe80::1]/hook", not_public),
        // A name is judged by what it resolves to.
        ("https://localhost/hook", not_public),
    ];
    for (url, reason) in refusals {
        let refused = set_url(&owner, url).await;
        assert_eq!(refused.status, 422, "{url}");
        assert!(refused.body.contains(reason), "{url}: {}", refused.body);
        assert_eq!(endpoint::of_merchant(conn, brew).unwrap(), None, "{url}");
    }
    assert_eq!(
        set_url(&owner, "https://hooks.brew.example.cn/alliance")
            .await
            .status,
        303,
        "a public name (not resolvable here) is saved; each delivery checks it"
    );
}

#[derive(QueryableByName)]
struct LastError {
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

/// Queues one delivery for the merchant, with a secret so it is sent.
fn queue_one(app: &TestApp, conn: &mut PgConnection, merchant_id: MerchantId) {
    endpoint::rotate_secret(conn, &app.keys, &Actor::system("test"), merchant_id).unwrap();
    enqueue(
        conn,
        merchant_id,
        "deposit.low",
        &format!("merchant:{merchant_id}"),
        &json!({"merchant_id": merchant_id}),
    )
    .unwrap();
}

#[tokio::test]
async fn a_delivery_whose_host_resolves_internally_is_refused_before_connecting() {
    let app = spawn_app_with(|config| config.webhook_allow_hosts.clear()).await;
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    queue_one(&app, conn, brew);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let pool = alliance::db::pool(app.db.url(), 2).unwrap();
    // Saved while the name was public; its DNS now answers with loopback. The
    // numeric spelling stands for a row written before the check existed.
    for url in [
        format!("https://localhost:{port}/hook"),
        format!("https://0x7f000001:{port}/hook"),
    ] {
        sql_query("UPDATE merchants SET webhook_url = $1 WHERE id = $2")
            .bind::<Text, _>(&url)
            .bind::<diesel::sql_types::BigInt, _>(brew)
            .execute(conn)
            .unwrap();
        sql_query("UPDATE webhook_deliveries SET next_attempt_at = now()")
            .execute(conn)
            .unwrap();
        assert_eq!(
            deliver_due(&pool, &app.keys, &app.webhook_policy)
                .await
                .unwrap(),
            0,
            "{url}"
        );
        let recorded: LastError = sql_query("SELECT last_error FROM webhook_deliveries")
            .get_result(conn)
            .unwrap();
        let error = recorded.last_error.unwrap();
        assert!(
            error.contains("non-public address (127.0.0.1)"),
            "{url}: {error}"
        );
        assert!(
            listener.accept().is_err(),
            "{url}: nothing connected to the internal address"
        );
    }
}

/// Accepts one request, answers 200 and returns its body.
fn receive_one(listener: &TcpListener) -> String {
    let (mut stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 2 {
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        line.clear();
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn an_allow_listed_receiver_gets_its_delivery() {
    let app = spawn_app().await;
    let (brew, owner) = owner(&app).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    assert_eq!(set_url(&owner, &url).await.status, 303);
    let conn = &mut app.db.conn();
    queue_one(&app, conn, brew);
    let received = std::thread::spawn(move || receive_one(&listener));
    let pool = alliance::db::pool(app.db.url(), 2).unwrap();
    assert_eq!(
        deliver_due(&pool, &app.keys, &app.webhook_policy)
            .await
            .unwrap(),
        1
    );
    let body: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert_eq!(body["event"], "deposit.low");
}
