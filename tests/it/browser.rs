//! Portal flows in a real headless Chromium (Debian's chromium and
//! chromium-driver, which `scripts/test.sh` installs when missing), driven over
//! `WebDriver` against a real server. Screenshots go to target/screenshots/ so a
//! person can look at what the test saw.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use alliance::people::{merchant_user::MerchantRole, operator::OperatorRole};
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities, WebDriver, prelude::*};

use crate::{
    harness::{TestApp, second_factor, spawn_app},
    people_support::*,
};

/// A chromedriver of its own and the Chromium it drives; both go with it.
pub(crate) struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A throwaway Chromium profile directory, removed on drop.
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "alliance-chromium-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// How many times to look, 100 ms apart, for a page to arrive: generous, because
/// parallel tests on two cores slow Chromium down several-fold.
const POLLS: u32 = 200;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    pub(crate) async fn launch() -> Self {
        let port = free_port();
        let chromedriver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is installed (scripts/test.sh installs Debian's chromium-driver)",
            );
        let profile = tempdir::Dir::new();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        // Flags for a root sandbox without network: no background calls home.
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            "--lang=zh-CN",
            &format!("--user-data-dir={}", profile.0.display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        // A Chinese browser, as most members' phones are.
        caps.add_experimental_option(
            "prefs",
            serde_json::json!({ "intl.accept_languages": "zh-CN,zh" }),
        )
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..POLLS {
            match WebDriver::new(&url, caps.clone()).await {
                Ok(driver) => {
                    return Self {
                        driver: Some(driver),
                        chromedriver,
                        _profile: profile,
                    };
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last_error:?}");
    }

    pub(crate) fn driver(&self) -> &WebDriver {
        self.driver.as_ref().unwrap()
    }

    pub(crate) async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.quit().await.unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends while chromedriver still answers (a failed test
        // never reached `quit`); then chromedriver and its Chromium go.
        drop(self.driver.take());
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

pub(crate) fn screenshot_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.png"))
}

/// Read in one script call: finding `<html>` and then reading its attribute
/// races the navigation a language switch starts (a stale element).
async fn html_lang(driver: &WebDriver) -> String {
    driver
        .execute("return document.documentElement.lang;", Vec::new())
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits for an element; panics with the page's source when it never comes.
pub(crate) async fn element(driver: &WebDriver, by: By) -> WebElement {
    for _ in 0..POLLS {
        if let Ok(found) = driver.find(by.clone()).await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{by:?} never came:\n{}", driver.source().await.unwrap());
}

pub(crate) async fn sign_in(app: &TestApp, driver: &WebDriver, portal: &str, identifier: &str) {
    driver
        .goto(app.url(&format!("/{portal}/sign-in")))
        .await
        .unwrap();
    driver
        .find(By::Id("identifier"))
        .await
        .unwrap()
        .send_keys(identifier)
        .await
        .unwrap();
    driver
        .find(By::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    driver
        .find(By::Css("form.form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let home = app.url(&format!("/{portal}"));
    let enrol = app.url(second_factor::ENROL);
    let challenge = app.url(second_factor::CHALLENGE);
    for _ in 0..POLLS {
        let at = driver.current_url().await.unwrap();
        if at.as_str() == home {
            return;
        }
        if at.as_str() == enrol {
            // The phone scans the key; its first code confirms it.
            let key = driver.find(By::Css("#factor-key code")).await.unwrap();
            let secret = key.text().await.unwrap().replace(' ', "");
            let code = second_factor::enrolled(&app.address, identifier, &secret);
            submit_code(driver, &code).await;
            let onwards = element(driver, By::Id("continue")).await;
            let codes = driver.source().await.unwrap();
            second_factor::keep_recovery_codes(&app.address, identifier, &codes);
            onwards.click().await.unwrap();
        } else if at.as_str() == challenge {
            let code = second_factor::next_code(&app.address, identifier);
            submit_code(driver, &code).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{portal}: not at {home} after signing in:\n{}",
        driver.source().await.unwrap()
    );
}

async fn submit_code(driver: &WebDriver, code: &str) {
    driver
        .find(By::Id("code"))
        .await
        .unwrap()
        .send_keys(code)
        .await
        .unwrap();
    driver
        .find(By::Css("form.form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The next page, before the loop looks at the address again.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

pub(crate) async fn switch_language(driver: &WebDriver) {
    let before = html_lang(driver).await;
    driver
        .find(By::Css("form.lang-switch button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..POLLS {
        if html_lang(driver).await != before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the language did not change from {before}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_portal_signs_in_and_switches_language_in_a_real_browser() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let brew = merchant(conn, "BREW");
    merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
    member(conn, &app.keys, "13800000001", None);

    for (portal, identifier, zh, en) in [
        (
            "platform",
            "admin@alliance.test",
            "联盟概览",
            "The alliance at a glance",
        ),
        ("merchant", "owner@brew.test", "员工人数", "Staff"),
        ("consumer", "13800000001", "我的积分", "My points"),
    ] {
        let browser = Browser::launch().await;
        let driver = browser.driver();
        sign_in(&app, driver, portal, identifier).await;
        assert_eq!(html_lang(driver).await, "zh-CN");
        assert!(
            driver.source().await.unwrap().contains(zh),
            "{portal} in Chinese"
        );
        driver
            .screenshot(&screenshot_path(&format!("{portal}-home-zh")))
            .await
            .unwrap();

        switch_language(driver).await;
        assert_eq!(html_lang(driver).await, "en");
        assert!(
            driver.source().await.unwrap().contains(en),
            "{portal} in English"
        );
        driver
            .screenshot(&screenshot_path(&format!("{portal}-home-en")))
            .await
            .unwrap();
        // Remembered on the next page.
        driver.goto(app.url(&format!("/{portal}"))).await.unwrap();
        assert_eq!(html_lang(driver).await, "en");
        browser.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_home_lists_partner_merchants_in_a_real_browser() {
    let app = spawn_app().await;
    merchant(&mut app.db.conn(), "BREW");
    let browser = Browser::launch().await;
    let driver = browser.driver();
    driver.goto(app.url("/")).await.unwrap();
    let merchants = driver
        .find(By::Id("partner-merchants"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(merchants.contains("BREW 商户"), "{merchants}");
    driver
        .screenshot(&screenshot_path("public-home-zh"))
        .await
        .unwrap();
    browser.quit().await;
}
