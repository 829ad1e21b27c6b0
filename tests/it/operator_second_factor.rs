//! Operators' second factor (issue #17): required for admin and finance, set up
//! right after the password, asked for at every sign-in, codes single-use and
//! throttled, secrets sealed at rest, and a CLI way back in. Real server.

use alliance::{
    crypto::Keys,
    db::schema::{audit_events, operator_recovery_codes, operator_second_factors},
    people::operator::OperatorRole,
};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};

use crate::{
    harness::{TestApp, second_factor, spawn_app},
    people_support::*,
};

/// Signs in with the password only; returns the browser and where it was sent.
async fn password_only(app: &TestApp, email: &str) -> (crate::harness::Browser, Option<String>) {
    let browser = app.browser();
    let page = browser
        .submit(
            "/platform/sign-in",
            "/platform/sign-in",
            &[("identifier", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    (browser, page.location)
}

#[tokio::test]
async fn an_admin_must_set_up_a_second_factor_before_anything_else() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "admin@alliance.test",
        OperatorRole::Admin,
    );
    let (browser, next) = password_only(&app, "admin@alliance.test").await;
    assert_eq!(next.as_deref(), Some(second_factor::ENROL));
    // Past the password but not signed in: every page sends them to sign in.
    for path in ["/platform", "/platform/operators", "/platform/books"] {
        assert_eq!(browser.get(path).await.status, 303, "{path}");
    }
    let enrol = browser.get(second_factor::ENROL).await;
    assert_eq!(enrol.status, 200);
    assert!(enrol.body.contains("<svg"), "a QR code");
    let secret = second_factor::key_on_page(&enrol.body);
    assert_eq!(
        second_factor::key_on_page(&browser.get(second_factor::ENROL).await.body),
        secret,
        "a reload keeps the key already scanned"
    );
    let wrong = browser
        .post(
            second_factor::ENROL,
            &[("csrf_token", &enrol.csrf()), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("验证码不正确"), "{}", wrong.body);
    assert_eq!(browser.get("/platform").await.status, 303);

    let code = second_factor::enrolled(&app.address, "admin@alliance.test", &secret);
    let codes = browser
        .post(
            second_factor::ENROL,
            &[("csrf_token", &enrol.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(codes.status, 200, "{}", codes.body);
    assert_eq!(
        codes.body.matches("<li><code>").count(),
        10,
        "ten recovery codes"
    );
    assert_eq!(browser.get("/platform").await.status, 200, "signed in now");

    // Kept only as digests, and the secret only sealed.
    let conn = &mut app.db.conn();
    let stored: Vec<Vec<u8>> = operator_recovery_codes::table
        .select(operator_recovery_codes::code_hash)
        .load(conn)
        .unwrap();
    assert_eq!(stored.len(), 10);
    let sealed: Vec<u8> = operator_second_factors::table
        .select(operator_second_factors::secret_ciphertext)
        .first(conn)
        .unwrap();
    let keys = Keys::derive(alliance::config::Config::from_env().unwrap().secret_key());
    assert!(
        keys.decrypt(&sealed, b"members.phone").is_err(),
        "bound to its row"
    );
}

#[tokio::test]
async fn a_code_signs_in_once_and_a_recovery_code_once() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "finance@alliance.test",
        OperatorRole::Finance,
    );
    // Set up through the real pages (the harness's phone keeps the key).
    assert_eq!(
        app.browser()
            .sign_in("platform", "finance@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
    let (browser, next) = password_only(&app, "finance@alliance.test").await;
    assert_eq!(next.as_deref(), Some(second_factor::CHALLENGE));
    assert_eq!(
        browser.get("/platform").await.status,
        303,
        "not yet signed in"
    );
    // The code that confirmed the set-up: spent.
    let replayed = browser
        .submit(
            second_factor::CHALLENGE,
            second_factor::CHALLENGE,
            &[(
                "code",
                &second_factor::spent_code(&app.address, "finance@alliance.test"),
            )],
        )
        .await;
    assert_eq!(replayed.status, 401, "the same code twice");
    assert_eq!(browser.get("/platform").await.status, 303);

    let recovery = second_factor::next_code(&app.address, "finance@alliance.test");
    let signed_in = browser
        .submit(
            second_factor::CHALLENGE,
            second_factor::CHALLENGE,
            &[("code", &recovery.to_uppercase())],
        )
        .await;
    assert_eq!(
        (signed_in.status, signed_in.location.as_deref()),
        (303, Some("/platform"))
    );
    assert_eq!(browser.get("/platform").await.status, 200);

    let (other, _) = password_only(&app, "finance@alliance.test").await;
    let again = other
        .submit(
            second_factor::CHALLENGE,
            second_factor::CHALLENGE,
            &[("code", &recovery)],
        )
        .await;
    assert_eq!(again.status, 401, "a recovery code works once");
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "admin@alliance.test",
        OperatorRole::Admin,
    );
    app.browser()
        .sign_in("platform", "admin@alliance.test", PASSWORD)
        .await;
    let (browser, _) = password_only(&app, "admin@alliance.test").await;
    for _ in 0..5 {
        let page = browser
            .submit(
                second_factor::CHALLENGE,
                second_factor::CHALLENGE,
                &[("code", "123456")],
            )
            .await;
        assert_eq!(page.status, 401);
    }
    let throttled = browser
        .submit(
            second_factor::CHALLENGE,
            second_factor::CHALLENGE,
            &[(
                "code",
                &second_factor::next_code(&app.address, "admin@alliance.test"),
            )],
        )
        .await;
    assert_eq!(
        throttled.status, 429,
        "even a right code, after five wrong ones"
    );
}

#[tokio::test]
async fn other_operators_sign_in_without_one_and_may_set_one_up() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    let (browser, next) = password_only(&app, "ops@alliance.test").await;
    assert_eq!(next.as_deref(), Some("/platform"));
    let enrol = browser.get(second_factor::ENROL).await;
    assert_eq!(enrol.status, 200);
    let secret = second_factor::key_on_page(&enrol.body);
    let code = second_factor::enrolled(&app.address, "ops@alliance.test", &secret);
    let codes = browser
        .post(
            second_factor::ENROL,
            &[("csrf_token", &enrol.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(codes.status, 200);
    let (_, next) = password_only(&app, "ops@alliance.test").await;
    assert_eq!(
        next.as_deref(),
        Some(second_factor::CHALLENGE),
        "once set up, always asked"
    );
}

#[tokio::test]
async fn an_admin_resets_a_locked_out_operators_factor_from_the_cli_audited() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let finance = operator(conn, "finance@alliance.test", OperatorRole::Finance);
    app.browser()
        .sign_in("platform", "finance@alliance.test", PASSWORD)
        .await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_alliance"))
            .args(args)
            .env_remove("ALLIANCE_ENV")
            .env("ALLIANCE_DATABASE_URL", app.db.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let own = run(&[
        "operator",
        "reset-second-factor",
        "--email",
        "finance@alliance.test",
        "--by",
        "finance@alliance.test",
    ]);
    assert_eq!(own.status.code(), Some(1), "{own:?}");
    let reset = run(&[
        "operator",
        "reset-second-factor",
        "--email",
        "finance@alliance.test",
        "--by",
        "admin@alliance.test",
    ]);
    assert_eq!(reset.status.code(), Some(0), "{reset:?}");
    let audited: Vec<(String, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("operator.second_factor_reset"))
        .select((audit_events::actor_label, audit_events::target_id))
        .load(conn)
        .unwrap();
    assert_eq!(
        audited,
        vec![("admin@alliance.test".to_owned(), Some(finance.to_string()))]
    );
    let (_, next) = password_only(&app, "finance@alliance.test").await;
    assert_eq!(next.as_deref(), Some(second_factor::ENROL), "set up anew");
}

/// Types the password into the real sign-in form, and stops there.
async fn password_in_chromium(app: &TestApp, driver: &thirtyfour::WebDriver, email: &str) {
    use thirtyfour::prelude::*;
    driver.goto(app.url("/platform/sign-in")).await.unwrap();
    let field = |id: &'static str| async move { driver.find(By::Id(id)).await.unwrap() };
    field("identifier").await.send_keys(email).await.unwrap();
    field("password").await.send_keys(PASSWORD).await.unwrap();
    driver
        .find(By::Css("form.form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The set-up and code pages in a real Chromium, in Chinese and English, at 1366
/// and 390 pixels wide; the screenshots go to target/screenshots/.
#[tokio::test(flavor = "multi_thread")]
async fn the_set_up_and_code_pages_show_in_both_languages_and_widths() {
    use crate::browser::{Browser as Chromium, element, screenshot_path, switch_language};
    use thirtyfour::prelude::*;
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "admin@alliance.test",
        OperatorRole::Admin,
    );
    for (marker, shot) in [
        ("factor-qr", "platform-second-factor-enrol"),
        ("code", "platform-second-factor-code"),
    ] {
        let browser = Chromium::launch().await;
        let driver = browser.driver();
        password_in_chromium(&app, driver, "admin@alliance.test").await;
        element(driver, By::Id(marker)).await;
        for language in ["zh", "en"] {
            if language == "en" {
                switch_language(driver).await;
            }
            element(driver, By::Id(marker)).await;
            for width in [1366, 390] {
                driver.set_window_rect(0, 0, width, 1000).await.unwrap();
                driver
                    .screenshot(&screenshot_path(&format!("{shot}-{language}-{width}")))
                    .await
                    .unwrap();
            }
        }
        if shot.ends_with("enrol") {
            // Set up, so the next round meets the code page.
            let key = element(driver, By::Css("#factor-key code")).await;
            let secret = key.text().await.unwrap().replace(' ', "");
            let code = second_factor::enrolled(&app.address, "admin@alliance.test", &secret);
            element(driver, By::Id("code"))
                .await
                .send_keys(&code)
                .await
                .unwrap();
            driver
                .find(By::Css("form.form button[type=submit]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let codes = element(driver, By::Id("recovery-codes")).await;
            assert_eq!(codes.find_all(By::Tag("li")).await.unwrap().len(), 10);
            driver
                .screenshot(&screenshot_path("platform-second-factor-codes-en-390"))
                .await
                .unwrap();
        }
        browser.quit().await;
    }
}
