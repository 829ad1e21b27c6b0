//! Signing in and out of each portal through the real forms and a real server.

use alliance::people::{merchant_user::MerchantRole, operator::OperatorRole};

use crate::{harness::spawn_app, people_support::*};

#[tokio::test]
async fn each_portal_signs_in_shows_its_home_and_signs_out() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "ops@alliance.test", OperatorRole::Admin);
    let m = merchant(conn, "BREW");
    merchant_user(conn, m, "owner@brew.test", MerchantRole::Owner);
    member(conn, &app.keys, "13800000001", None);

    for (portal, identifier, expect) in [
        ("platform", "ops@alliance.test", "stat-merchants"),
        ("merchant", "owner@brew.test", "merchant-name"),
        ("consumer", "138 0000 0001", "王小明"),
    ] {
        let browser = app.browser();
        assert_eq!(
            browser.get(&format!("/{portal}")).await.location.as_deref(),
            Some(format!("/{portal}/sign-in?next=%2F{portal}").as_str())
        );
        let signed_in = browser.sign_in(portal, identifier, PASSWORD).await;
        assert_eq!(
            (signed_in.status, signed_in.location.as_deref()),
            (303, Some(format!("/{portal}").as_str())),
            "{portal}: {}",
            signed_in.body
        );
        let home = browser.get(&format!("/{portal}")).await;
        assert_eq!(home.status, 200, "{portal}");
        assert!(home.body.contains(expect), "{portal} home lacks {expect}");
        let out = browser
            .submit(&format!("/{portal}"), &format!("/{portal}/sign-out"), &[])
            .await;
        assert_eq!(out.status, 303);
        assert_eq!(
            browser.get(&format!("/{portal}")).await.status,
            303,
            "{portal}: still signed in after sign-out"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_translated_message() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    let refused = browser
        .sign_in("platform", "ops@alliance.test", "wrong-password-1")
        .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("账号或密码不正确"),
        "{}",
        refused.body
    );
    assert_eq!(browser.get("/platform").await.status, 303);
    // An unknown account gets exactly the same answer.
    let unknown = browser
        .sign_in("platform", "nobody@alliance.test", "wrong-password-1")
        .await;
    assert_eq!(unknown.status, 401);
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    for _ in 0..5 {
        assert_eq!(
            browser
                .sign_in("platform", "ops@alliance.test", "guess-123456")
                .await
                .status,
            401
        );
    }
    let throttled = browser
        .sign_in("platform", "ops@alliance.test", PASSWORD)
        .await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.body.contains("尝试次数过多"));
    // Another account from the same address is not locked by this one.
    operator(
        &mut app.db.conn(),
        "other@alliance.test",
        OperatorRole::Operator,
    );
    assert_eq!(
        browser
            .sign_in("platform", "other@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn a_missing_or_forged_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    browser.get("/platform/sign-in").await;
    let missing = browser
        .post(
            "/platform/sign-in",
            &[("identifier", "ops@alliance.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, 403);
    let forged = browser
        .post(
            "/platform/sign-in",
            &[
                ("csrf_token", "forged"),
                ("identifier", "ops@alliance.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(
        forged.body.contains("无法完成此操作"),
        "a translated error page: {}",
        forged.body
    );
    assert_eq!(browser.get("/platform").await.status, 303, "not signed in");
    // A token from another visitor's session is just as forged.
    let other = app.browser().get("/platform/sign-in").await.csrf();
    let stolen = browser
        .post(
            "/platform/sign-in",
            &[
                ("csrf_token", &other),
                ("identifier", "ops@alliance.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(stolen.status, 403);
}

#[tokio::test]
async fn signing_in_rotates_the_session_cookie_and_sets_safe_cookie_flags() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(app.url("/platform/sign-in"))
        .send()
        .await
        .unwrap();
    let before = session_cookie(&page);
    assert!(
        before.contains("HttpOnly") && before.contains("SameSite=Lax"),
        "{before}"
    );
    let token = {
        let body = page.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let start = body.find(marker).unwrap() + marker.len();
        body[start..].split('"').next().unwrap().to_owned()
    };
    let cookie = before.split(';').next().unwrap().to_owned();
    let signed_in = client
        .post(app.url("/platform/sign-in"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", token.as_str()),
            ("identifier", "ops@alliance.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let after = session_cookie(&signed_in);
    assert_ne!(
        after.split(';').next(),
        Some(cookie.as_str()),
        "the session id must change on sign-in"
    );
    // The old cookie no longer signs anyone in.
    let replay = client
        .get(app.url("/platform"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("alliance_session="))
        .expect("a session cookie")
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/platform/sign-in",
        "/consumer/sign-up",
        "/no-such-page",
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(headers.get("referrer-policy").unwrap(), "same-origin");
    }
}

#[tokio::test]
async fn the_first_visit_follows_accept_language_and_the_switch_is_remembered() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let english = client
        .get(app.url("/platform/sign-in"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let body = english.text().await.unwrap();
    assert!(
        body.contains("<html lang=\"en\"") && body.contains("Sign in"),
        "{body}"
    );
    let chinese = client
        .get(app.url("/platform/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chinese.contains("<html lang=\"zh-CN\"") && chinese.contains("登录"));

    let browser = app.browser();
    let switched = browser
        .submit(
            "/",
            "/lang",
            &[("lang", "en"), ("next", "/platform/sign-in")],
        )
        .await;
    assert_eq!(
        (switched.status, switched.location.as_deref()),
        (303, Some("/platform/sign-in"))
    );
    assert!(
        browser.get("/").await.body.contains("<html lang=\"en\""),
        "remembered across pages"
    );
    // An offsite "next" is ignored.
    let offsite = browser
        .submit(
            "/",
            "/lang",
            &[("lang", "zh-CN"), ("next", "//evil.example")],
        )
        .await;
    assert_eq!(offsite.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn a_signed_in_persons_language_is_saved_to_their_account() {
    let app = spawn_app().await;
    let id = operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    browser
        .sign_in("platform", "ops@alliance.test", PASSWORD)
        .await;
    browser
        .submit(
            "/platform",
            "/lang",
            &[("lang", "en"), ("next", "/platform")],
        )
        .await;
    let saved = alliance::people::locale(
        &mut app.db.conn(),
        alliance::domain::portal::Portal::Platform,
        id,
    )
    .unwrap();
    assert_eq!(saved, Some(alliance::i18n::Locale::En));
    // A new device picks the saved language up at sign-in.
    let other = app.browser();
    other
        .sign_in("platform", "ops@alliance.test", PASSWORD)
        .await;
    assert!(
        other
            .get("/platform")
            .await
            .body
            .contains("<html lang=\"en\"")
    );
}

#[tokio::test]
async fn an_expired_session_is_refused_and_purged() {
    use diesel::{RunQueryDsl, sql_query};
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    browser
        .sign_in("platform", "ops@alliance.test", PASSWORD)
        .await;
    assert_eq!(browser.get("/platform").await.status, 200);
    let conn = &mut app.db.conn();
    sql_query("UPDATE web_sessions SET expires_at = now() - interval '1 second'")
        .execute(conn)
        .unwrap();
    assert_eq!(
        browser.get("/platform").await.status,
        303,
        "an expired session signs no one in"
    );
    let purged = alliance::web::session::purge_expired(conn).unwrap();
    assert!(purged >= 1);
    let left: i64 = diesel::QueryDsl::count(alliance::db::schema::web_sessions::table)
        .get_result(conn)
        .unwrap();
    // Only the fresh anonymous session of the last request is left.
    assert!(left <= 1, "{left} sessions left");
}

#[tokio::test]
async fn an_old_cheaper_password_hash_is_upgraded_at_sign_in() {
    use alliance::db::schema::operators;
    use base64::Engine;
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    let app = spawn_app().await;
    let id = operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    // What a hash from before the cost was raised looks like.
    let salt = [7u8; 16];
    let mut hash = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(1_000).unwrap(),
        &salt,
        PASSWORD.as_bytes(),
        &mut hash,
    );
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let old = format!(
        "pbkdf2-sha256$1000${}${}",
        b64.encode(salt),
        b64.encode(hash)
    );
    let conn = &mut app.db.conn();
    diesel::update(operators::table.find(id))
        .set(operators::password_hash.eq(&old))
        .execute(conn)
        .unwrap();

    assert_eq!(
        app.browser()
            .sign_in("platform", "ops@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
    let stored: String = operators::table
        .find(id)
        .select(operators::password_hash)
        .first(conn)
        .unwrap();
    assert!(
        stored.starts_with(&format!(
            "pbkdf2-sha256${}$",
            alliance::crypto::PBKDF2_ITERATIONS
        )),
        "{stored}"
    );
    assert_eq!(
        app.browser()
            .sign_in("platform", "ops@alliance.test", PASSWORD)
            .await
            .status,
        303,
        "the new hash verifies"
    );
}

#[tokio::test]
async fn many_failures_from_one_address_throttle_it_across_accounts() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let browser = app.browser();
    // Guessing at many accounts from one address: each stays under its own limit.
    for n in 0..30 {
        let page = browser
            .sign_in(
                "platform",
                &format!("guess{n}@alliance.test"),
                "guess-123456",
            )
            .await;
        assert_eq!(page.status, 401);
    }
    assert_eq!(
        browser
            .sign_in("platform", "ops@alliance.test", PASSWORD)
            .await
            .status,
        429
    );
}
