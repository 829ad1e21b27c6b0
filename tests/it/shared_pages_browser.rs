//! The pages the platform and the merchant console show from one
//! implementation (`portals::team`, `portals::approval_queue`) and the
//! platform's settlement pages, in a real Chromium, in Chinese and English, at
//! 1366 and 390 pixels wide. Each page must render its table in its portal with
//! no untranslated catalog key; the screenshots go to target/screenshots/ for a
//! person to look at.

use alliance::people::{merchant_user::MerchantRole, operator::OperatorRole};
use thirtyfour::prelude::*;

use crate::{
    browser::{Browser, element, screenshot_path, sign_in, switch_language},
    harness::spawn_app,
    people_support::{merchant, merchant_user, operator},
};

const PLATFORM_PAGES: &[(&str, &str, &str)] = &[
    ("/platform/operators", "operators", "platform-team"),
    ("/platform/approvals", "approvals", "platform-approvals"),
    (
        "/platform/settlement",
        "settlement-runs",
        "platform-settlement-runs",
    ),
    (
        "/platform/settlement/payouts",
        "batches",
        "platform-settlement-payouts",
    ),
    (
        "/platform/settlement/collections",
        "collections",
        "platform-settlement-collections",
    ),
];

const MERCHANT_PAGES: &[(&str, &str, &str)] = &[
    ("/merchant/staff", "staff", "merchant-team"),
    ("/merchant/approvals", "approvals", "merchant-approvals"),
];

/// What a page shows where a catalog key has no translation.
const UNTRANSLATED: [&str; 6] = [
    "%{",
    "platform.operators.",
    "platform.approvals.",
    "merchant.staff.",
    "earning_portals.",
    "settlement_portals.",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_shared_pages_show_in_both_portals_languages_and_widths() {
    let app = spawn_app().await;
    {
        let conn = &mut app.db.conn();
        operator(conn, "admin@alliance.test", OperatorRole::Admin);
        operator(conn, "risk@alliance.test", OperatorRole::Risk);
        let brew = merchant(conn, "BREW");
        merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
        merchant_user(conn, brew, "cashier@brew.test", MerchantRole::Cashier);
    }
    for (portal, person, pages, colleague) in [
        (
            "platform",
            "admin@alliance.test",
            PLATFORM_PAGES,
            "risk@alliance.test",
        ),
        (
            "merchant",
            "owner@brew.test",
            MERCHANT_PAGES,
            "cashier@brew.test",
        ),
    ] {
        for language in ["zh", "en"] {
            let browser = Browser::launch().await;
            let driver = browser.driver();
            sign_in(&app, driver, portal, person).await;
            if language == "en" {
                switch_language(driver).await;
            }
            for (path, table, shot) in pages {
                driver.goto(app.url(path)).await.unwrap();
                element(driver, By::Id(*table)).await;
                let html = driver.source().await.unwrap();
                for untranslated in UNTRANSLATED {
                    assert!(
                        !html.contains(untranslated),
                        "{path} in {language}: {untranslated}"
                    );
                }
                if path.ends_with("/operators") || path.ends_with("/staff") {
                    assert!(html.contains(colleague), "{path} lists {colleague}");
                    assert!(html.contains("new-email"), "{path} offers the invitation");
                }
                for width in [1366, 390] {
                    driver.set_window_rect(0, 0, width, 1000).await.unwrap();
                    driver
                        .screenshot(&screenshot_path(&format!("{shot}-{language}-{width}")))
                        .await
                        .unwrap();
                }
                driver.set_window_rect(0, 0, 1366, 1000).await.unwrap();
            }
        }
    }
}
