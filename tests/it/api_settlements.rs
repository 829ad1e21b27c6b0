//! Settlement statements through the partner API, the signed webhooks that
//! announce them, and the statement email with its CSV.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::TcpListener,
    sync::mpsc,
};

use alliance::{
    domain::id::StatementId,
    email::Mailer,
    settlement::{notify, statement},
    webhook::endpoint,
};
use diesel::{RunQueryDsl, sql_query};

use crate::{
    api_support::{ApiClient, Partner, new_key, sign},
    harness::{TestApp, spawn_app},
    settlement_support::{day, operator, settle_after_end},
};

/// CINEMA (owed money) settled for today, with an API key; COFFEE's statement too.
async fn settled() -> (TestApp, Partner, StatementId, StatementId) {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = crate::settlement_support::after_one_exchange(conn);
    sql_query("UPDATE merchants SET tier = 'strategic'")
        .execute(conn)
        .unwrap();
    let cinema = settle_after_end(conn, shops.cinema, day(0))
        .unwrap()
        .statement;
    let coffee = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    let (key_id, secret) = new_key(&app, shops.cinema);
    let partner = Partner {
        merchant_id: shops.cinema,
        key_id,
        secret,
    };
    (app, partner, cinema.id, coffee.id)
}

#[tokio::test]
async fn statements_list_by_range_and_show_one_with_its_payouts() {
    let (app, partner, cinema, coffee) = settled().await;
    let api = ApiClient::new(&app, &partner);
    let today = crate::settlement_support::today();
    let list = api
        .get(&format!("/api/v1/settlements?from={today}&to={today}"))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let body = list.json();
    let statements = body["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["statement_id"], cinema.0);
    assert_eq!(statements[0]["lines"][0]["kind"], "exchange");
    assert!(statements[0]["closing_cny"].as_str().unwrap().contains('.'));

    let before = today.pred_opt().unwrap();
    let empty = api
        .get(&format!("/api/v1/settlements?from={before}&to={before}"))
        .await;
    assert_eq!(empty.json()["statements"].as_array().unwrap().len(), 0);

    let one = api.get(&format!("/api/v1/settlements/{cinema}")).await;
    assert_eq!(one.status, 200, "{}", one.text);
    let one = one.json();
    assert_eq!(one["outcome"], "payout");
    assert_eq!(one["payouts"][0]["account"], "****6789");
    assert_eq!(one["payouts"][0]["status"], "pending");
    assert!(one["collection"].is_null());

    let theirs = api.get(&format!("/api/v1/settlements/{coffee}")).await;
    assert_eq!(
        (theirs.status, theirs.problem().as_str()),
        (404, "not_found")
    );
}

#[tokio::test]
async fn bad_ranges_are_400_with_field_errors_and_unsigned_is_401() {
    let (app, partner, cinema, _) = settled().await;
    let api = ApiClient::new(&app, &partner);
    for (query, field) in [
        ("?from=2026-13-01&to=2026-11-30", "from"),
        ("?from=2026-11-01", "to"),
        ("?from=2026-11-30&to=2026-11-01", "to"),
        ("?from=2025-01-01&to=2026-11-30", "to"),
    ] {
        let r = api.get(&format!("/api/v1/settlements{query}")).await;
        assert_eq!(
            (r.status, r.problem().as_str()),
            (400, "invalid_query"),
            "{query}"
        );
        assert_eq!(r.json()["errors"][0]["field"], field, "{query}");
    }
    let unsigned = api
        .send(
            "GET",
            &format!("/api/v1/settlements/{cinema}"),
            Vec::new(),
            &[],
        )
        .await;
    assert_eq!(unsigned.status, 401);
}

/// A local webhook receiver: answers each request with the next status and
/// passes on (headers, body).
/// A request as received: (lower-cased header name, value) pairs and the body.
type Received = (Vec<(String, String)>, String);

fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks/alliance?v=1",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            headers.push(("request-line".to_owned(), line.trim().to_owned()));
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(": ") else {
                    break;
                };
                headers.push((name.to_ascii_lowercase(), value.to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .unwrap()
                .1
                .parse()
                .unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            tx.send((headers, String::from_utf8(body).unwrap()))
                .unwrap();
        }
    });
    (url, rx)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    &headers.iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn settlement_ready_is_delivered_signed_after_a_retry() {
    let (app, partner, cinema, _) = settled().await;
    let (url, requests) = receiver(vec![500, 200]);
    let pool = alliance::db::pool(app.db.url(), 2).unwrap();
    let secret = {
        let conn = &mut app.db.conn();
        let url = endpoint::WebhookUrl::parse(&url).unwrap();
        endpoint::set(conn, &operator(), partner.merchant_id, Some(&url)).unwrap();
        endpoint::rotate_secret(conn, &app.keys, &operator(), partner.merchant_id).unwrap()
    };
    assert_eq!(
        alliance::webhook::deliver_due(&pool, &app.keys, &app.webhook_policy)
            .await
            .unwrap(),
        0
    );
    let (_, first) = requests.recv().unwrap();
    let conn = &mut app.db.conn();
    sql_query("UPDATE webhook_deliveries SET next_attempt_at = now()")
        .execute(conn)
        .unwrap();
    assert_eq!(
        alliance::webhook::deliver_due(&pool, &app.keys, &app.webhook_policy)
            .await
            .unwrap(),
        1
    );
    let (headers, body) = requests.recv().unwrap();
    assert_eq!(first, body, "the retry sends the same delivery");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["event"], "settlement.ready");
    assert_eq!(json["data"]["statement_id"], cinema.0);
    assert_eq!(header(&headers, "x-alliance-event"), "settlement.ready");
    let expected = sign(
        &secret,
        "POST",
        "/hooks/alliance?v=1",
        header(&headers, "x-alliance-timestamp").parse().unwrap(),
        header(&headers, "x-alliance-nonce"),
        body.as_bytes(),
    );
    assert_eq!(header(&headers, "x-alliance-signature"), expected);
    assert_eq!(
        alliance::webhook::deliver_due(&pool, &app.keys, &app.webhook_policy)
            .await
            .unwrap(),
        0,
        "delivered once"
    );
}

#[tokio::test]
async fn the_statement_is_emailed_once_with_its_csv() {
    let (app, partner, cinema, _) = settled().await;
    let conn = &mut app.db.conn();
    sql_query("UPDATE merchants SET contact_email = 'finance@cinema.example.cn'")
        .execute(conn)
        .unwrap();
    let pool = alliance::db::pool(app.db.url(), 2).unwrap();
    let (mailer, outbox) = Mailer::memory();
    let sent = notify::email_statements(&pool, &mailer).await.unwrap();
    assert_eq!(sent, 2, "both statements");
    assert_eq!(
        notify::email_statements(&pool, &mailer).await.unwrap(),
        0,
        "once"
    );
    let statement = statement::find(conn, cinema).unwrap().unwrap();
    assert!(statement.notified_at.is_some());
    let email = outbox
        .sent()
        .into_iter()
        .find(|e| e.attachments[0].filename.contains("CINEMA"))
        .unwrap();
    assert_eq!(email.to, "finance@cinema.example.cn");
    assert!(email.subject.contains("结算对账单"), "{}", email.subject);
    let csv = &email.attachments[0];
    assert!(
        csv.filename.starts_with("statement-")
            && std::path::Path::new(&csv.filename).extension() == Some("csv".as_ref()),
        "{}",
        csv.filename
    );
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.content.clone()).unwrap();
    assert!(text.contains(&statement.closing.to_string()), "{text}");
    assert!(partner.merchant_id.0 > 0);
}
