//! The SMS-code pages in a real Chromium, in Chinese and English, at 1366 and
//! 390 pixels wide; the screenshots go to target/screenshots/ for a person to
//! look at.

use thirtyfour::prelude::*;

use crate::{
    browser::{Browser, element, screenshot_path, sign_in, switch_language},
    harness::{TestApp, spawn_app},
    people_support::member,
    phone_support::forget_verification,
};

async fn shoot(driver: &WebDriver, name: &str, language: &str) {
    for width in [1366, 390] {
        driver.set_window_rect(0, 0, width, 1000).await.unwrap();
        driver
            .screenshot(&screenshot_path(&format!("{name}-{language}-{width}")))
            .await
            .unwrap();
    }
}

/// Opens `path`, types `phone` (if the page asks for one), asks for a code and
/// waits for step two.
async fn ask_for_code(app: &TestApp, driver: &WebDriver, path: &str, phone: Option<&str>) {
    driver.goto(app.url(path)).await.unwrap();
    if let Some(phone) = phone {
        element(driver, By::Id("phone"))
            .await
            .send_keys(phone)
            .await
            .unwrap();
    }
    element(driver, By::Id("send-code"))
        .await
        .click()
        .await
        .unwrap();
    element(driver, By::Id("code-sent")).await;
    element(driver, By::Id("code")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_pages_show_in_both_languages_and_widths() {
    let app = spawn_app().await;
    for (language, n) in [("zh", 1), ("en", 2)] {
        let (joining, member_phone, unproven) = (
            format!("1370000000{n}"),
            format!("1380000000{n}"),
            format!("1390000000{n}"),
        );
        {
            let conn = &mut app.db.conn();
            member(conn, &app.keys, &member_phone, None);
            let id = member(conn, &app.keys, &unproven, None);
            forget_verification(&app, id);
        }
        let browser = Browser::launch().await;
        let driver = browser.driver();
        driver.goto(app.url("/consumer/sign-up")).await.unwrap();
        if language == "en" {
            switch_language(driver).await;
        }
        element(driver, By::Id("claim-hint")).await;
        shoot(driver, "consumer-sign-up", language).await;
        ask_for_code(&app, driver, "/consumer/sign-up", Some(&joining)).await;
        shoot(driver, "consumer-sign-up-code", language).await;
        ask_for_code(&app, driver, "/consumer/sign-in/code", Some(&member_phone)).await;
        shoot(driver, "consumer-sign-in-code", language).await;
        ask_for_code(
            &app,
            driver,
            "/consumer/password-reset",
            Some(&member_phone),
        )
        .await;
        shoot(driver, "consumer-reset-code", language).await;

        sign_in(&app, driver, "consumer", &unproven).await;
        element(driver, By::Id("verify-banner")).await;
        shoot(driver, "consumer-home-verify", language).await;
        driver
            .goto(app.url("/consumer/phone/verify"))
            .await
            .unwrap();
        element(driver, By::Id("send-code")).await;
        shoot(driver, "consumer-verify", language).await;
        ask_for_code(&app, driver, "/consumer/phone/verify", None).await;
        shoot(driver, "consumer-verify-code", language).await;
        browser.quit().await;
    }
}
