//! Background exports (issue #9): the audit log exported whole through the real
//! server, exports that do not block other requests while their query waits,
//! progress on the export's page, who may see an export, failures, and exports
//! a stopped server left unfinished.

use std::sync::mpsc;

use alliance::{
    audit::{self, Change},
    db,
    domain::{
        actor::{Actor, ActorKind},
        id::MerchantId,
    },
    email::Mailer,
    export::{self, ExportSpec, Requester, Runner},
    i18n::Locale,
    people::{merchant_user::MerchantRole, operator::OperatorRole},
    sms::SmsSender,
    startup::Application,
};
use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Nullable, Text},
};

use crate::{
    harness::{Browser, Page, TestApp, TestDb, spawn_app, test_config},
    people_support::{PASSWORD, merchant, merchant_user, operator},
};

/// Waiting is never asserted on: this only bounds how long a broken export
/// can hang the suite (600 × 100 ms).
const POLLS: usize = 600;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    error: Option<String>,
}

async fn signed_in(app: &TestApp, portal: &str, email: &str) -> Browser {
    let browser = app.browser();
    let page = browser.sign_in(portal, email, PASSWORD).await;
    assert_eq!(page.status, 303, "sign-in of {email}");
    browser
}

/// Gets `path` until its body contains `needle`.
pub(crate) async fn wait_for(browser: &Browser, path: &str, needle: &str) -> Page {
    let mut last = String::new();
    for _ in 0..POLLS {
        let page = browser.get(path).await;
        if page.status == 200 && page.body.contains(needle) {
            return page;
        }
        last = page.body;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never showed {needle:?}; last:\n{last}");
}

/// The export a POST redirected to.
fn export_id(page: &Page) -> i64 {
    assert_eq!(page.status, 303, "the export was started: {}", page.body);
    let location = page.location.as_deref().unwrap();
    location
        .strip_prefix("/platform/exports/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirected to {location}"))
}

/// Status, Content-Disposition and body of a download.
pub(crate) async fn download(
    browser: &Browser,
    app: &TestApp,
    path: &str,
) -> (u16, String, Vec<u8>) {
    let response = browser.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

fn merchant_actor(user_id: i64, merchant_id: MerchantId) -> Actor {
    Actor {
        kind: ActorKind::MerchantUser,
        id: Some(user_id),
        label: "owner@shop.test".to_owned(),
        role: "owner".to_owned(),
        merchant_id: Some(merchant_id),
        ip: Some("10.0.0.7".to_owned()),
    }
}

fn operator_actor(id: i64) -> Actor {
    Actor {
        kind: ActorKind::Operator,
        id: Some(id),
        label: "ops@alliance.test".to_owned(),
        role: "admin".to_owned(),
        merchant_id: None,
        ip: None,
    }
}

/// `n` events `test.<verb>` by a merchant's owner, through the real recorder.
fn record_events(conn: &mut PgConnection, actor: &Actor, verb: &'static str, n: usize) {
    let action: &'static str = match verb {
        "alpha" => "test.alpha",
        "beta" => "test.beta",
        _ => "other.gamma",
    };
    conn.transaction(|conn| {
        for i in 0..n {
            let target = if i == 0 {
                "=1+2".to_owned()
            } else {
                i.to_string()
            };
            audit::record(
                conn,
                actor,
                Change::new(action, "thing", target).after(serde_json::json!({"n": i})),
            )?;
        }
        diesel::QueryResult::Ok(())
    })
    .unwrap();
}

/// The ids of the events an `action=test` filter matches, newest first,
/// straight from the table.
fn matching_ids(conn: &mut PgConnection) -> Vec<i64> {
    sql_query(
        "SELECT id FROM audit_events WHERE action = 'test' OR action LIKE 'test.%' ORDER BY id DESC",
    )
    .load::<Id>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

fn outcome(conn: &mut PgConnection, id: i64) -> Outcome {
    sql_query("SELECT status, error FROM report_exports WHERE id = $1")
        .bind::<BigInt, _>(id)
        .get_result(conn)
        .unwrap()
}

fn spec(requester: Requester) -> ExportSpec {
    ExportSpec {
        requester,
        kind: "test".to_owned(),
        title: "测试导出".to_owned(),
        filename: "test.csv".to_owned(),
        content_type: "text/csv; charset=utf-8".to_owned(),
        params: serde_json::json!({}),
    }
}

/// Starts an export on `runner` (a runner of the test's own, sharing the
/// server's database: any process serves any export).
fn start(
    runner: &Runner,
    conn: &mut PgConnection,
    requester: Requester,
    build: impl FnOnce(&mut PgConnection, &export::Progress) -> anyhow::Result<Vec<u8>> + Send + 'static,
) -> i64 {
    let actor = match requester {
        Requester::Operator(id) => operator_actor(id),
        Requester::MerchantUser {
            merchant_id,
            user_id,
            ..
        } => merchant_actor(user_id, merchant_id),
    };
    runner
        .start(conn, &actor, spec(requester), build)
        .unwrap()
        .0
}

/// `who` can neither open, download nor list the merchant export `id`.
pub async fn assert_hidden(app: &TestApp, who: &Browser, id: i64) {
    let path = format!("/merchant/exports/{id}");
    assert_eq!(who.get(&path).await.status, 404, "{path}");
    let download = download(who, app, &format!("{path}/download")).await;
    assert_eq!(download.0, 404, "{path}/download");
    let listed = who.get("/merchant/exports").await.body;
    assert!(!listed.contains(&format!("data-export=\"{id}\"")), "{path}");
}

fn test_runner(app: &TestApp) -> Runner {
    Runner::new(&db::pool(app.db.url(), 4).unwrap())
}

#[tokio::test]
async fn the_audit_log_exports_every_matching_event_as_csv() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let shop = merchant(conn, "CSVSHOP");
    let owner = merchant_user(conn, shop, "owner@shop.test", MerchantRole::Owner);
    let actor = merchant_actor(owner, shop);
    // More than one batch of the export's reads.
    record_events(conn, &actor, "alpha", 1_100);
    record_events(conn, &actor, "beta", 7);
    record_events(conn, &actor, "gamma", 5);
    let expected = matching_ids(conn);
    assert_eq!(expected.len(), 1_107);

    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let audit_page = browser.get("/platform/audit?action=test").await;
    assert!(
        audit_page
            .body
            .contains("action=\"/platform/audit/export\"")
    );
    let started = browser
        .submit(
            "/platform/audit?action=test",
            "/platform/audit/export",
            &[("action", "test"), ("actor", ""), ("before", "5")],
        )
        .await;
    let id = export_id(&started);
    let path = format!("/platform/exports/{id}");
    let page = wait_for(&browser, &path, "id=\"export-download\"").await;
    assert!(page.body.contains("1,107 / 1,107 行"), "{}", page.body);
    assert!(page.body.contains("value=\"100\""));
    assert!(
        !page.body.contains("http-equiv=\"refresh\""),
        "a finished export stops refreshing"
    );
    let list = browser.get("/platform/exports").await;
    assert!(list.body.contains(&format!("data-export=\"{id}\"")));

    let (status, disposition, bytes) =
        download(&browser, &app, &format!("/platform/exports/{id}/download")).await;
    assert_eq!(status, 200);
    assert!(
        disposition.starts_with("attachment; filename=\"audit-"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    let csv = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .expect("a byte order mark for Excel");
    let mut reader = csv::Reader::from_reader(csv);
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers.len(), 13);
    assert_eq!(headers[0], "编号");
    assert_eq!(headers[7], "操作");
    assert_eq!(headers[12], Locale::ZhCn.t("exports.audit_csv.ip"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(
        ids, expected,
        "every matching event, newest first, and nothing else"
    );
    let first_alpha = rows
        .iter()
        .find(|r| &r[9] == "'=1+2" && &r[7] == "test.alpha")
        .expect("the formula-like target is defused");
    assert!(
        chrono::NaiveDateTime::parse_from_str(&first_alpha[1], "%Y-%m-%d %H:%M:%S").is_ok(),
        "{}",
        &first_alpha[1]
    );
    assert_eq!(&first_alpha[2], "owner@shop.test");
    assert_eq!(&first_alpha[3], "owner", "the merchant user's display name");
    assert_eq!(first_alpha[4], Locale::ZhCn.t("role.owner"));
    assert_eq!(first_alpha[5], shop.to_string());
    assert_eq!(&first_alpha[6], "CSVSHOP 商户");
    assert_eq!(&first_alpha[8], "thing");
    assert_eq!(&first_alpha[10], "");
    assert_eq!(&first_alpha[11], "{\"n\":0}");
    assert_eq!(&first_alpha[12], "10.0.0.7");

    // Asking for it was audited, with the filter it was asked with.
    let requested: Vec<Id> = sql_query(
        "SELECT count(*)::int8 AS id FROM audit_events
          WHERE action = 'export.request' AND target_id = $1
            AND after -> 'params' ->> 'action' = 'test'",
    )
    .bind::<Text, _>(id.to_string())
    .load(conn)
    .unwrap();
    assert_eq!(requested[0].id, 1);
}

#[tokio::test]
async fn an_export_waiting_on_a_lock_does_not_block_other_requests() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let shop = merchant(conn, "LOCKSHOP");
    let owner = merchant_user(conn, shop, "owner@shop.test", MerchantRole::Owner);
    record_events(conn, &merchant_actor(owner, shop), "alpha", 40);
    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let token = browser.get("/platform/audit").await.csrf();

    // The export reads the names of merchant users (what asking for it
    // touches does not); this transaction keeps it waiting.
    let mut lock = app.db.conn();
    sql_query("BEGIN").execute(&mut lock).unwrap();
    sql_query("LOCK TABLE merchant_users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .unwrap();

    let started = browser
        .post(
            "/platform/audit/export",
            &[("csrf_token", token.as_str()), ("action", "test")],
        )
        .await;
    let id = export_id(&started);
    let path = format!("/platform/exports/{id}");
    // It has counted the events and is waiting for the lock.
    let page = wait_for(&browser, &path, "0 / 40 行").await;
    assert!(page.body.contains("status-processing"), "shown running");
    assert!(page.body.contains("<progress"));
    assert!(page.body.contains("http-equiv=\"refresh\" content=\"2\""));
    assert!(!page.body.contains("id=\"export-download\""));
    assert_eq!(outcome(conn, id).status, "running");

    // Meanwhile the server answers.
    assert_eq!(browser.get("/healthz").await.status, 200);
    assert_eq!(browser.get("/platform/audit").await.status, 200);
    let list = browser.get("/platform/exports").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&format!("data-export=\"{id}\"")));
    assert_eq!(
        download(&browser, &app, &format!("{path}/download"))
            .await
            .0,
        404,
        "nothing to download before it is done"
    );

    sql_query("COMMIT").execute(&mut lock).unwrap();
    let page = wait_for(&browser, &path, "id=\"export-download\"").await;
    assert!(page.body.contains("40 / 40 行"));
    let (status, _, bytes) = download(&browser, &app, &format!("{path}/download")).await;
    assert_eq!(status, 200);
    let rows = csv::Reader::from_reader(&bytes[3..]).records().count();
    assert_eq!(rows, 40);
}

#[tokio::test]
async fn the_export_page_shows_progress_as_the_build_reports_it() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let admin = operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let runner = test_runner(&app);
    let (step, steps) = mpsc::channel::<()>();
    let id = start(
        &runner,
        conn,
        Requester::Operator(admin),
        move |_, progress| {
            progress.set(3, 10);
            steps.recv()?;
            progress.set(10, 10);
            Ok(b"a,b\n1,2\n".to_vec())
        },
    );
    let path = format!("/platform/exports/{id}");
    let page = wait_for(&browser, &path, "3 / 10 行").await;
    assert!(page.body.contains("value=\"30\""), "{}", page.body);
    assert!(page.body.contains("30%"));
    assert!(page.body.contains("测试导出"));

    step.send(()).unwrap();
    let page = wait_for(&browser, &path, "id=\"export-download\"").await;
    assert!(
        page.body.contains("10 / 10 行"),
        "the final count is written"
    );
    let (status, disposition, bytes) = download(&browser, &app, &format!("{path}/download")).await;
    assert_eq!(status, 200);
    assert_eq!(disposition, "attachment; filename=\"test.csv\"");
    assert_eq!(bytes, b"a,b\n1,2\n");
}

#[tokio::test]
async fn only_the_requester_or_their_merchants_owner_and_managers_see_an_export() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let alice = operator(conn, "alice@alliance.test", OperatorRole::Admin);
    operator(conn, "bob@alliance.test", OperatorRole::Admin);
    let shop = merchant(conn, "SEESHOP");
    let other_shop = merchant(conn, "OTHERSHOP");
    let owner = merchant_user(conn, shop, "owner@see.test", MerchantRole::Owner);
    let cashier = merchant_user(conn, shop, "cashier@see.test", MerchantRole::Cashier);
    merchant_user(conn, shop, "manager@see.test", MerchantRole::Manager);
    merchant_user(conn, other_shop, "owner@other.test", MerchantRole::Owner);
    let runner = test_runner(&app);
    let alices = start(&runner, conn, Requester::Operator(alice), |_, _| {
        Ok(b"alice".to_vec())
    });
    let shops = start(
        &runner,
        conn,
        Requester::MerchantUser {
            merchant_id: shop,
            user_id: owner,
            reads_reports: true,
        },
        |_, _| Ok(b"shop".to_vec()),
    );
    let cashiers = start(
        &runner,
        conn,
        Requester::MerchantUser {
            merchant_id: shop,
            user_id: cashier,
            reads_reports: false,
        },
        |_, _| Ok(b"till".to_vec()),
    );

    let alice = signed_in(&app, "platform", "alice@alliance.test").await;
    wait_for(
        &alice,
        &format!("/platform/exports/{alices}"),
        "export-download",
    )
    .await;
    let manager = signed_in(&app, "merchant", "manager@see.test").await;
    let page = wait_for(
        &manager,
        &format!("/merchant/exports/{shops}"),
        "export-download",
    )
    .await;
    assert!(
        page.body
            .contains(&format!("href=\"/merchant/exports/{shops}/download\""))
    );
    let (status, _, bytes) = download(
        &manager,
        &app,
        &format!("/merchant/exports/{shops}/download"),
    )
    .await;
    assert_eq!(
        (status, bytes.as_slice()),
        (200, b"shop".as_slice()),
        "same merchant"
    );
    let listed = manager.get("/merchant/exports").await.body;
    assert!(listed.contains(&format!("data-export=\"{shops}\"")));
    assert!(listed.contains(&format!("data-export=\"{cashiers}\"")));
    // A cashier sees its own exports only: not the owner's (issue #17).
    let cashier = signed_in(&app, "merchant", "cashier@see.test").await;
    wait_for(
        &cashier,
        &format!("/merchant/exports/{cashiers}"),
        "export-download",
    )
    .await;
    let listed = cashier.get("/merchant/exports").await.body;
    assert!(listed.contains(&format!("data-export=\"{cashiers}\"")));
    assert_hidden(&app, &cashier, shops).await;

    let bob = signed_in(&app, "platform", "bob@alliance.test").await;
    let stranger = signed_in(&app, "merchant", "owner@other.test").await;
    for (who, path) in [
        (&bob, format!("/platform/exports/{alices}")),
        (&alice, format!("/platform/exports/{shops}")),
        (&stranger, format!("/merchant/exports/{alices}")),
        (&cashier, format!("/merchant/exports/{alices}")),
    ] {
        assert_eq!(who.get(&path).await.status, 404, "{path}");
        assert_eq!(
            download(who, &app, &format!("{path}/download")).await.0,
            404,
            "{path}/download"
        );
    }
    assert!(
        !bob.get("/platform/exports")
            .await
            .body
            .contains(&format!("data-export=\"{alices}\""))
    );
    assert_hidden(&app, &stranger, shops).await;
}

#[tokio::test]
async fn a_failing_audit_export_is_marked_failed_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let shop = merchant(conn, "FAILSHOP");
    let owner = merchant_user(conn, shop, "owner@shop.test", MerchantRole::Owner);
    record_events(conn, &merchant_actor(owner, shop), "alpha", 3);
    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let token = browser.get("/platform/audit").await.csrf();

    // The export's read of merchant names fails.
    sql_query("REVOKE SELECT ON merchants FROM CURRENT_USER")
        .execute(conn)
        .unwrap();
    let failed = export_id(
        &browser
            .post(
                "/platform/audit/export",
                &[("csrf_token", token.as_str()), ("action", "test")],
            )
            .await,
    );
    let page = wait_for(
        &browser,
        &format!("/platform/exports/{failed}"),
        "id=\"export-failure\"",
    )
    .await;
    assert!(
        page.body
            .contains(&Locale::ZhCn.t("exports.failure.build_failed").into_owned())
    );
    assert!(page.body.contains("status-failed"));
    assert!(!page.body.contains("http-equiv=\"refresh\""));
    let row = outcome(conn, failed);
    assert_eq!(
        (row.status.as_str(), row.error.as_deref()),
        ("failed", Some("build_failed"))
    );
    assert_eq!(
        download(
            &browser,
            &app,
            &format!("/platform/exports/{failed}/download")
        )
        .await
        .0,
        404
    );

    // The server, and its export threads, carry on.
    assert_eq!(browser.get("/healthz").await.status, 200);
    sql_query("GRANT SELECT ON merchants TO CURRENT_USER")
        .execute(conn)
        .unwrap();
    let again = export_id(
        &browser
            .post(
                "/platform/audit/export",
                &[("csrf_token", token.as_str()), ("action", "test")],
            )
            .await,
    );
    wait_for(&browser, &format!("/platform/exports/{again}"), "3 / 3 行").await;
}

#[tokio::test]
async fn a_panicking_build_fails_its_export_and_the_runner_goes_on() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let admin = operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let runner = test_runner(&app);
    let ids: Vec<i64> = (0..3)
        .map(|_| {
            start(&runner, conn, Requester::Operator(admin), |_, _| {
                panic!("a bug in a report")
            })
        })
        .collect();
    let after = start(&runner, conn, Requester::Operator(admin), |_, _| {
        Ok(b"fine".to_vec())
    });
    wait_for(
        &browser,
        &format!("/platform/exports/{after}"),
        "export-download",
    )
    .await;
    for id in ids {
        let row = outcome(conn, id);
        assert_eq!(
            (row.status.as_str(), row.error.as_deref()),
            ("failed", Some("build_failed"))
        );
    }
}

#[tokio::test]
async fn an_export_that_is_too_large_fails_as_such() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let admin = operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let browser = signed_in(&app, "platform", "admin@alliance.test").await;
    let runner = test_runner(&app);
    let id = start(&runner, conn, Requester::Operator(admin), |_, _| {
        Ok(vec![b'x'; export::MAX_BYTES + 1])
    });
    let page = wait_for(
        &browser,
        &format!("/platform/exports/{id}"),
        "id=\"export-failure\"",
    )
    .await;
    assert!(
        page.body
            .contains(&Locale::ZhCn.t("exports.failure.too_large").into_owned())
    );
    assert_eq!(outcome(conn, id).error.as_deref(), Some("too_large"));
}

fn insert_export(conn: &mut PgConnection, runner: &str, status: &str, ages: &str) -> i64 {
    let finished = if matches!(status, "done" | "failed") {
        "now() - $2::interval"
    } else {
        "NULL"
    };
    let (bytes, error) = match status {
        "done" => ("'\\x41'::bytea", "NULL"),
        "failed" => ("NULL", "'build_failed'"),
        _ => ("NULL", "NULL"),
    };
    sql_query(format!(
        "INSERT INTO report_exports (requester_kind, requester_id, kind, title, filename,
             content_type, params, status, runner, heartbeat_at, bytes, error, finished_at)
         VALUES ('operator', 1, 'test', 't', 't.csv', 'text/csv', '{{}}', $1, $3,
                 now() - $2::interval, {bytes}, {error}, {finished})
         RETURNING id"
    ))
    .bind::<Text, _>(status)
    .bind::<Text, _>(ages)
    .bind::<Text, _>(runner)
    .get_result::<Id>(conn)
    .unwrap()
    .id
}

#[tokio::test]
async fn startup_fails_exports_a_stopped_server_left_unfinished() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let interrupted = insert_export(conn, "gone:1:dead", "running", "10 minutes");
    let never_started = insert_export(conn, "gone:1:dead", "queued", "10 minutes");
    // Another server, alive: it said so a moment ago.
    let elsewhere = insert_export(conn, "alive:2:beef", "running", "1 second");
    let finished = insert_export(conn, "gone:1:dead", "done", "10 minutes");

    let (mailer, _outbox) = Mailer::memory();
    let app =
        Application::build_with_senders(&test_config(&db), mailer, SmsSender::memory().0).unwrap();
    tokio::spawn(app.run_until_stopped());

    for _ in 0..POLLS {
        if outcome(conn, interrupted).status == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for id in [interrupted, never_started] {
        let row = outcome(conn, id);
        assert_eq!(
            (row.status.as_str(), row.error.as_deref()),
            ("failed", Some("interrupted"))
        );
    }
    assert_eq!(outcome(conn, elsewhere).status, "running");
    assert_eq!(outcome(conn, finished).status, "done");
}

#[tokio::test]
async fn a_runner_keeps_its_exports_alive_and_old_results_are_purged() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let runner = test_runner(&app);
    let (release, released) = mpsc::channel::<()>();
    let ours = start(&runner, conn, Requester::Operator(1), move |_, _| {
        released.recv()?;
        Ok(b"ours".to_vec())
    });
    let theirs = insert_export(conn, "gone:1:dead", "running", "10 minutes");
    // Both look abandoned; only ours is renewed.
    sql_query("UPDATE report_exports SET heartbeat_at = now() - interval '10 minutes'")
        .execute(conn)
        .unwrap();
    assert_eq!(runner.heartbeat(conn).unwrap(), 1);
    assert_eq!(export::fail_interrupted(conn).unwrap(), 1);
    assert!(outcome(conn, ours).status != "failed");
    assert_eq!(outcome(conn, theirs).error.as_deref(), Some("interrupted"));
    release.send(()).unwrap();
    for _ in 0..POLLS {
        if outcome(conn, ours).status == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(outcome(conn, ours).status, "done");
    assert_eq!(runner.heartbeat(conn).unwrap(), 0, "nothing left in hand");

    let old_done = insert_export(conn, "x", "done", "8 days");
    let old_failed = insert_export(conn, "x", "failed", "8 days");
    let recent = insert_export(conn, "x", "done", "6 days");
    assert_eq!(export::purge_finished(conn).unwrap(), 2);
    let left: Vec<i64> = sql_query("SELECT id FROM report_exports ORDER BY id")
        .load::<Id>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, vec![ours, theirs, recent]);
    assert!(!left.contains(&old_done) && !left.contains(&old_failed));
}
