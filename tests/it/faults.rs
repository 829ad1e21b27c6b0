//! Faults, through HTTP: a database that goes away, a lock held too long, a
//! settlement run whose process died, a server told to stop. Each is answered
//! quickly and plainly — 503 with `Retry-After`, never a 500 or a hang — and
//! nothing in flight is dropped.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use alliance::{
    db::schema::settlement_runs, people::operator::OperatorRole, settlement::run as settlement_run,
};
use diesel::{Connection, PgConnection, RunQueryDsl, prelude::*, sql_query};
use futures_util::future::join_all;
use tokio::{
    net::{TcpListener, TcpStream},
    task::AbortHandle,
};

use thirtyfour::By;

use crate::{
    api_support::{ApiClient, partner, spawn_app_with},
    browser::{element, screenshot_path, sign_in},
    harness::{TestApp, TestDb, spawn_app},
    people_support::{PASSWORD, operator},
};

/// A TCP relay to PostgreSQL that the test can cut, as a network fault or a
/// restarting database would: cut, it drops every open connection and refuses
/// new ones until restored.
struct Relay {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Relay {
    async fn to(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Self {
            address: listener.local_addr().unwrap(),
            up: Arc::new(AtomicBool::new(true)),
            open: Arc::new(Mutex::new(Vec::new())),
        };
        let (up, open) = (relay.up.clone(), relay.open.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().unwrap().push(task.abort_handle());
            }
        });
        relay
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user:pass@host:port/db` URL.
fn server_of(url: &str) -> String {
    let after_at = url.split_once('@').unwrap().1;
    after_at.split('/').next().unwrap().to_owned()
}

/// A server whose connections to PostgreSQL go through a relay the test cuts.
async fn spawn_app_behind_relay() -> (TestApp, Relay) {
    let target = server_of(TestDb::new().url());
    let relay = Relay::to(target.clone()).await;
    let relayed = relay.address.to_string();
    let app = spawn_app_with(|config| {
        let url = config.database_url().replace(&target, &relayed);
        config.database_url = url.into();
    })
    .await;
    (app, relay)
}

/// `LOCK TABLE … IN ACCESS EXCLUSIVE MODE`, held by another session (on its
/// own thread) until released.
struct TableLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl TableLock {
    fn take(url: &str, table: &'static str) -> Self {
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let url = url.to_owned();
        let holder = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            conn.transaction(|conn| {
                sql_query(format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")).execute(conn)?;
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        locked_rx.recv().unwrap();
        Self { release, holder }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.holder.join().unwrap();
    }
}

#[tokio::test]
async fn a_database_that_goes_away_is_answered_with_503_and_retry_after_then_comes_back() {
    let (app, relay) = spawn_app_behind_relay().await;
    let shop = partner(&app, "RELAY");
    let mut api = ApiClient::new(&app, &shop);
    let member = api.enrol("13800138000").await;
    let member_path = format!("/api/v1/members/{member}");
    operator(&mut app.db.conn(), "ops@alliance.test", OperatorRole::Risk);
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in("platform", "ops@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(browser.get("/platform").await.status, 200);

    relay.cut();

    // The API: a problem document the client can act on.
    let read = api.get(&member_path).await;
    assert_eq!(read.status, 503, "{read:?}");
    assert_eq!(read.content_type, "application/problem+json");
    assert_eq!(read.problem(), "unavailable");
    assert_eq!(read.retry_after.as_deref(), Some("5"));
    let write = api
        .post(
            "/api/v1/members",
            "enrol-while-down",
            &serde_json::json!({ "phone": "13900139000" }),
        )
        .await;
    assert_eq!(write.status, 503, "{write:?}");
    api.language = Some("en");
    let english = api.get(&member_path).await;
    assert!(
        english.text.contains("Temporarily unavailable"),
        "{english:?}"
    );

    // The portals: the session cannot even be loaded; the page says so in the
    // visitor's language.
    let page = browser.get("/platform").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("服务暂时不可用"), "{}", page.body);
    let english = reqwest::Client::new()
        .get(app.url("/platform/sign-in"))
        .header("Accept-Language", "en")
        .header("Cookie", "alliance_session=stale")
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), 503);
    assert_eq!(
        english
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "5"
    );
    assert!(
        english
            .text()
            .await
            .unwrap()
            .contains("Temporarily unavailable")
    );

    relay.restore();
    let mut attempts = 0;
    let back = loop {
        let read = api.get(&member_path).await;
        if read.status != 503 || attempts == 50 {
            break read;
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(back.status, 200, "{back:?}");
    assert_eq!(browser.get("/platform").await.status, 200);
}

#[tokio::test]
async fn requests_blocked_by_a_held_lock_are_answered_with_503_not_left_hanging() {
    let app = spawn_app_with(|config| {
        config.database_limits.lock_timeout = Duration::from_millis(300);
    })
    .await;
    let shop = partner(&app, "LOCKED");
    let api = ApiClient::new(&app, &shop);
    let member = api.enrol("13800138001").await;
    let member_path = format!("/api/v1/members/{member}");

    // Another session holds the members table until every request is answered:
    // a server that waited for the lock would never answer, and the test would
    // hang instead of pass.
    let lock = TableLock::take(app.db.url(), "members");
    let answers = join_all((0..16).map(|_| api.get(&member_path))).await;
    lock.release();
    for answer in &answers {
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.problem(), "unavailable");
        assert_eq!(answer.retry_after.as_deref(), Some("5"));
    }
    assert_eq!(api.get(&member_path).await.status, 200);
}

#[tokio::test]
async fn a_settlement_run_whose_process_died_is_marked_interrupted_by_the_next_run() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "finance@alliance.test",
        OperatorRole::Finance,
    );
    // Two runs left unfinished: one whose process is alive (its connection
    // holds the run's lock), one whose process died (its connection is gone).
    let started = |conn: &mut PgConnection| -> i64 {
        let id = diesel::insert_into(settlement_runs::table)
            .values((
                settlement_runs::trigger.eq("schedule"),
                settlement_runs::started_by.eq("settlement scheduler"),
            ))
            .returning(settlement_runs::id)
            .get_result(conn)
            .unwrap();
        alliance::db::try_advisory_lock(conn, settlement_run::run_lock(id)).unwrap();
        id
    };
    let mut alive = app.db.conn();
    let running = started(&mut alive);
    let died = started(&mut app.db.conn()); // the connection closes here

    let browser = app.browser();
    browser
        .sign_in("platform", "finance@alliance.test", PASSWORD)
        .await;
    let before = browser.get("/platform/settlement").await;
    assert_eq!(
        before.body.matches("status-running").count(),
        2,
        "{}",
        before.body
    );

    let ran = browser
        .submit("/platform/settlement", "/platform/settlement/run", &[])
        .await;
    assert_eq!(ran.status, 303, "{}", ran.body);

    let after = browser.get("/platform/settlement").await;
    let row = |id: i64| {
        let start = after.body.find(&format!("id=\"run-{id}\"")).unwrap();
        after.body[start..start + after.body[start..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row(died).contains("status-interrupted"), "{}", row(died));
    assert!(row(died).contains("已中断"), "{}", row(died));
    assert!(row(running).contains("status-running"), "{}", row(running));
    let detail = browser
        .get(&format!("/platform/settlement/runs/{died}"))
        .await;
    assert!(
        detail.body.contains("id=\"run-interrupted\""),
        "{}",
        detail.body
    );
    drop(alive);
}

/// Picks a port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `alliance serve` as a service manager runs it.
fn serve(db: &TestDb, port: u16) -> Child {
    let outbox = std::env::temp_dir().join(format!("alliance-sigterm-{port}"));
    Command::new(env!("CARGO_BIN_EXE_alliance"))
        .arg("serve")
        .env_remove("ALLIANCE_ENV")
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("ALLIANCE_BIND", format!("127.0.0.1:{port}"))
        .env("ALLIANCE_OUTBOX_DIR", &outbox)
        .env("ALLIANCE_UPLOAD_DIR", outbox.join("uploads"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alliance serve")
}

#[tokio::test]
async fn sigterm_drains_requests_in_flight_and_drops_none() {
    let db = TestDb::new();
    let port = free_port();
    let mut server = serve(&db, port);
    let base = format!("http://127.0.0.1:{port}");
    // reqwest is built without a TLS provider; no server in this process
    // installed one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not become ready");

    // Clients send through a balancer that health-checks `/readyz` every
    // 100 ms, as a load balancer does, and stops routing when it fails; every
    // request routed must be answered in full, including those in flight when
    // the signal comes and those sent while the server drains.
    let routing = Arc::new(AtomicBool::new(true));
    let signalled = Arc::new(AtomicBool::new(false));
    let answered_after_signal = Arc::new(AtomicUsize::new(0));
    let balancer = {
        let (client, base, routing) = (client.clone(), base.clone(), routing.clone());
        tokio::spawn(async move {
            loop {
                let ready = client.get(format!("{base}/readyz")).send().await;
                if !ready.is_ok_and(|r| r.status() == 200) {
                    routing.store(false, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let loops: Vec<_> = (0..24)
        .map(|_| {
            let (client, base) = (client.clone(), base.clone());
            let (routing, signalled, answered_after_signal) = (
                routing.clone(),
                signalled.clone(),
                answered_after_signal.clone(),
            );
            tokio::spawn(async move {
                let mut broken = Vec::new();
                while routing.load(Ordering::SeqCst) {
                    let was_signalled = signalled.load(Ordering::SeqCst);
                    match client.get(format!("{base}/consumer/sign-in")).send().await {
                        Ok(response) => {
                            let status = response.status();
                            match response.text().await {
                                Ok(_) if status == 200 => {
                                    if was_signalled {
                                        answered_after_signal.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                                Ok(_) => broken.push(format!("status {status}")),
                                Err(e) => broken.push(format!("body cut: {e:?}")),
                            }
                        }
                        Err(e) => broken.push(format!("request dropped: {e:?}")),
                    }
                }
                broken
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    signalled.store(true, Ordering::SeqCst);

    balancer.await.unwrap();
    let mut broken = Vec::new();
    for l in loops {
        broken.extend(l.await.unwrap());
    }
    assert!(broken.is_empty(), "requests broken by the stop: {broken:?}");
    assert!(
        answered_after_signal.load(Ordering::SeqCst) > 0,
        "no request was served while draining"
    );
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_request_that_finds_every_connection_busy_is_answered_with_503() {
    let app = spawn_app_with(|config| {
        config.database_pool_size = 1;
        config.database_limits.pool_wait = Duration::from_millis(200);
    })
    .await;
    let shop = partner(&app, "BUSY");
    let api = ApiClient::new(&app, &shop);
    let member = api.enrol("13800138002").await;
    let member_path = format!("/api/v1/members/{member}");

    // The pool's one connection waits on a lock (for up to the 2 s lock
    // timeout) while a second request asks for a connection.
    let lock = TableLock::take(app.db.url(), "members");
    let blocked = api.get(&member_path);
    let second = async {
        // Sent once the first has taken the connection.
        tokio::time::sleep(Duration::from_millis(100)).await;
        api.get(&member_path).await
    };
    let (blocked, second) = tokio::join!(blocked, second);
    lock.release();
    for answer in [&blocked, &second] {
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.problem(), "unavailable");
        assert_eq!(answer.retry_after.as_deref(), Some("5"));
    }
    assert_eq!(api.get(&member_path).await.status, 200);
}

/// What an operator sees: the runs list with an interrupted run, and the page
/// a portal shows while the database is down — in a real Chromium, in Chinese
/// and English, at 1366 and 390 pixels; screenshots in target/screenshots/.
#[tokio::test(flavor = "multi_thread")]
async fn the_interrupted_run_and_the_outage_page_show_in_both_languages_and_widths() {
    let (app, relay) = spawn_app_behind_relay().await;
    {
        let conn = &mut app.db.conn();
        operator(conn, "finance@alliance.test", OperatorRole::Finance);
        diesel::insert_into(settlement_runs::table)
            .values((
                settlement_runs::trigger.eq("schedule"),
                settlement_runs::started_by.eq("settlement scheduler"),
            ))
            .execute(conn)
            .unwrap();
        settlement_run::mark_interrupted(conn).unwrap();
    }
    let browser = crate::browser::Browser::launch().await;
    let driver = browser.driver();
    sign_in(&app, driver, "platform", "finance@alliance.test").await;
    let shots = async |name: &str, marker: By| {
        for language in ["zh", "en"] {
            driver
                .add_cookie(thirtyfour::Cookie::new("alliance_lang", language))
                .await
                .unwrap();
            driver.refresh().await.unwrap();
            let shown = element(driver, marker.clone()).await.text().await.unwrap();
            assert!(!shown.trim().is_empty(), "{name} {language}");
            for width in [1366, 390] {
                driver.set_window_rect(0, 0, width, 900).await.unwrap();
                driver
                    .screenshot(&screenshot_path(&format!("{name}-{language}-{width}")))
                    .await
                    .unwrap();
            }
        }
    };
    driver.goto(app.url("/platform/settlement")).await.unwrap();
    shots(
        "platform-settlement-runs-interrupted",
        By::ClassName("status-interrupted"),
    )
    .await;
    relay.cut();
    shots(
        "platform-database-unavailable",
        By::ClassName("empty-title"),
    )
    .await;
    browser.quit().await;
}
