//! Sign-in under attack and under load (issue #17), through a real server.

use alliance::{db::schema::sign_in_attempts, people::operator::OperatorRole};
use diesel::{QueryDsl, RunQueryDsl};
use futures_util::future::join_all;

use crate::{
    harness::{Browser, TestApp, spawn_app},
    people_support::*,
    portal_flows::link,
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

async fn ask_for_reset(browser: &Browser, identifier: &str) -> crate::harness::Page {
    browser
        .submit(
            "/platform/password-reset",
            "/platform/password-reset",
            &[("identifier", identifier)],
        )
        .await
}

#[tokio::test]
async fn a_reset_voids_every_older_reset_link() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    ask_for_reset(&browser, "ops@alliance.test").await;
    let older = link(&app.outbox.sent()[0].text, "/platform/password-reset/");
    ask_for_reset(&browser, "ops@alliance.test").await;
    let newer = link(&app.outbox.sent()[1].text, "/platform/password-reset/");
    assert_ne!(older, newer);
    let password = "a-new-secret-2026";
    let fields = [("password", password), ("password_confirm", password)];
    let set = browser.submit(&newer, &newer, &fields).await;
    assert_eq!(set.status, 303, "{}", set.body);

    let stale = app.browser();
    assert!(stale.get(&older).await.body.contains("此链接无效"));
    let undone = stale
        .submit(
            &older,
            &older,
            &[
                ("password", "attacker-pass-77"),
                ("password_confirm", "attacker-pass-77"),
            ],
        )
        .await;
    assert_eq!(undone.status, 422);
    assert_eq!(
        stale
            .sign_in("platform", "ops@alliance.test", password)
            .await
            .status,
        303,
        "the new password stands"
    );
}

#[tokio::test]
async fn reset_mail_is_limited_per_recipient_and_per_source_with_the_same_answer() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    let browser = app.browser();
    for _ in 0..5 {
        let page = ask_for_reset(&browser, "ops@alliance.test").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("如果该账户存在"), "{}", page.body);
    }
    assert_eq!(app.outbox.sent().len(), 3, "three an hour to one address");

    // From one address to many recipients: ten an hour, then nothing more.
    diesel::sql_query(
        "INSERT INTO operators (email, display_name, password_hash, role) \
         SELECT 'ops' || n || '@alliance.test', 'ops' || n, password_hash, 'operator' \
         FROM operators, generate_series(1, 10) AS n WHERE email = 'ops@alliance.test'",
    )
    .execute(conn)
    .unwrap();
    for n in 1..=10 {
        let page = ask_for_reset(&browser, &format!("ops{n}@alliance.test")).await;
        assert!(page.body.contains("如果该账户存在"));
    }
    assert_eq!(app.outbox.sent().len(), 10, "ten an hour from one address");
    // Another address is not held back by this one.
    ask_for_reset(&app.browser_from("127.0.0.2"), "ops10@alliance.test").await;
    assert_eq!(app.outbox.sent().len(), 11);
}

/// A valid unified social credit code: `n` in the serial part, and the check
/// character that fits.
fn credit_code(n: u32) -> String {
    let base = format!("913301007161{n:05}");
    "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .map(|check| format!("{base}{check}"))
        .find(|code| alliance::domain::credit_code::CreditCode::parse(code).is_ok())
        .unwrap()
}

#[tokio::test]
async fn applications_mail_the_same_applicant_only_a_few_times_an_hour() {
    let app = spawn_app().await;
    let browser = app.browser();
    for n in 0..4 {
        let code = credit_code(n);
        let mut fields = vec![
            ("company_name", "梧桐加油站有限公司"),
            ("credit_code", code.as_str()),
            ("contact_name", "李雯"),
            ("contact_phone", "139 1234 5678"),
            ("contact_email", "li.wen@wutong.test"),
            ("category", "petrol"),
            ("requested_tier", "standard"),
            ("bank_account_name", "梧桐加油站有限公司"),
            ("bank_name", "招商银行上海分行"),
            ("bank_account_number", "6222 0212 3456 7890"),
        ];
        fields.extend([
            ("store_name", "徐汇店"),
            ("store_address", "上海市徐汇区漕溪北路 1 号"),
            ("store_latitude", "31.188012"),
            ("store_longitude", "121.436500"),
        ]);
        let page = browser.submit("/apply", "/apply", &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(
            page.location
                .as_deref()
                .is_some_and(|l| l.starts_with("/apply/status/"))
        );
    }
    assert_eq!(app.outbox.sent().len(), 3);
}

#[tokio::test]
async fn a_next_with_control_characters_goes_home_never_elsewhere_or_to_an_error() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    for next in [
        "/platform\r\nSet-Cookie: x=y",
        "/platform/\r\n/evil",
        "/platform/\t/evil.example",
        "/\t/evil.example",
    ] {
        let browser = app.browser();
        let page = browser
            .submit(
                "/platform/sign-in",
                "/platform/sign-in",
                &[
                    ("identifier", "ops@alliance.test"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (303, Some("/platform")),
            "{next:?}"
        );
        let switched = browser
            .submit("/", "/lang", &[("lang", "en"), ("next", next)])
            .await;
        assert_eq!(
            (switched.status, switched.location.as_deref()),
            (303, Some("/")),
            "{next:?}"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_over_https_only() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let over_https = client
        .get(app.url("/platform/sign-in"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        over_https
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000; includeSubDomains")
    );
    let over_http = client
        .get(app.url("/platform/sign-in"))
        .send()
        .await
        .unwrap();
    assert!(
        over_http
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}
