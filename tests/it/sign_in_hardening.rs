//! Sign-in under attack and under load (issue #17), through a real server.

use alliance::{db::schema::sign_in_attempts, people::operator::OperatorRole};
use diesel::{QueryDsl, RunQueryDsl};
use futures_util::future::join_all;

use crate::{
    harness::{Browser, TestApp, spawn_app},
    people_support::*,
};

/// `n` browsers, each on the sign-in page with its own session and CSRF token.
async fn on_the_sign_in_page(app: &TestApp, n: usize) -> Vec<(Browser, String)> {
    join_all((0..n).map(|_| async {
        let browser = app.browser();
        let token = browser.get("/platform/sign-in").await.csrf();
        (browser, token)
    }))
    .await
}

async fn post_sign_in(browser: &Browser, token: &str, identifier: &str, password: &str) -> u16 {
    browser
        .post(
            "/platform/sign-in",
            &[
                ("csrf_token", token),
                ("identifier", identifier),
                ("password", password),
            ],
        )
        .await
        .status
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browsers = on_the_sign_in_page(&app, 20).await;
    let statuses = join_all(
        browsers
            .iter()
            .map(|(b, t)| post_sign_in(b, t, "ops@alliance.test", "guess-123456")),
    )
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert_eq!(checked + refused, 20, "{statuses:?}");
    let recorded: i64 = sign_in_attempts::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();
    assert_eq!(recorded, i64::try_from(checked).unwrap());
}

#[tokio::test]
async fn an_attacker_elsewhere_does_not_lock_the_owner_out() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let attacker = app.browser_from("127.0.0.1");
    for _ in 0..5 {
        let page = attacker
            .sign_in("platform", "ops@alliance.test", "guess-123456")
            .await;
        assert_eq!(page.status, 401);
    }
    assert_eq!(
        attacker
            .sign_in("platform", "ops@alliance.test", "guess-123456")
            .await
            .status,
        429,
        "the attacker's address is refused"
    );
    // The owner, from another address, is slowed down but let in.
    let owner = app.browser_from("127.0.0.2");
    let started = std::time::Instant::now();
    let signed_in = owner
        .sign_in("platform", "ops@alliance.test", PASSWORD)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "failures on the account slow every attempt on it"
    );
    assert_eq!(owner.get("/platform").await.status, 200);
}

#[tokio::test]
async fn a_burst_of_sign_ins_starves_nothing_else() {
    const BURST: usize = 100;
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    // A hundred colleagues with the same password (its hash copied: creating each
    // through the service would hash it a hundred times over).
    diesel::sql_query(format!(
        "INSERT INTO operators (email, display_name, password_hash, role) \
         SELECT 'ops' || n || '@alliance.test', 'ops' || n, password_hash, 'operator' \
         FROM operators, generate_series(1, {BURST}) AS n WHERE email = 'ops@alliance.test'"
    ))
    .execute(conn)
    .unwrap();
    let watcher = app.browser();
    assert_eq!(
        watcher
            .sign_in("platform", "ops@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
    // Each from an address of its own, as from their own desks.
    let browsers = join_all((1..=BURST).map(|n| {
        let browser = app.browser_from(&format!("127.0.{}.{}", n / 200, n % 200 + 2));
        async move {
            let token = browser.get("/platform/sign-in").await.csrf();
            (browser, token, format!("ops{n}@alliance.test"))
        }
    }))
    .await;
    let burst = join_all(
        browsers
            .iter()
            .map(|(b, t, email)| post_sign_in(b, t, email, PASSWORD)),
    );
    // Other traffic goes on meanwhile: a signed-in page, again and again.
    let done = std::sync::atomic::AtomicBool::new(false);
    let other = async {
        let mut statuses = Vec::new();
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            statuses.push(watcher.get("/platform").await.status);
        }
        statuses
    };
    let (signed_in, others) = tokio::join!(
        async {
            let statuses = burst.await;
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            statuses
        },
        other
    );
    assert!(signed_in.iter().all(|s| *s == 303), "{signed_in:?}");
    assert!(!others.is_empty());
    assert!(others.iter().all(|s| *s == 200), "{others:?}");
}
