//! Each portal's home with real activity behind it (the platform home's
//! scenario, `overview::scenario`), in a real Chromium, in
//! Chinese and in English: the key figures are there, and a screenshot of each
//! goes to target/screenshots/ for a person to look at.

use alliance::people::{merchant_user::MerchantRole, operator::OperatorRole};
use thirtyfour::prelude::*;

use crate::{
    browser::{Browser, element, screenshot_path, sign_in, switch_language},
    harness::spawn_app,
    overview::scenario,
    people_support::{merchant_user, operator},
};

/// The text of every element with one of these ids, once the page has them.
async fn figures(driver: &WebDriver, ids: &[&str]) -> Vec<String> {
    let mut texts = Vec::with_capacity(ids.len());
    for id in ids {
        texts.push(element(driver, By::Id(*id)).await.text().await.unwrap());
    }
    texts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_home_shows_its_figures_and_charts_in_both_languages() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    scenario(conn, &app.keys);
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let browser = Browser::launch().await;
    let driver = browser.driver();
    sign_in(&app, driver, "platform", "admin@alliance.test").await;
    let ids = [
        "figure-members",
        "figure-active_members",
        "figure-issued",
        "figure-redeemed",
        "figure-exchanged",
        "figure-expired",
        "figure-fees",
        "liability-total",
        "stat-payouts",
        "stat-collections",
    ];
    for (language, issued_label) in [("zh", "积分发放"), ("en", "Points issued")] {
        if language == "en" {
            switch_language(driver).await;
        }
        let texts = figures(driver, &ids).await;
        assert_eq!(texts[0], "4", "{language}: members");
        assert_eq!(texts[1], "3", "{language}: active members");
        assert_eq!(texts[2], "¥93.00", "{language}: issued");
        assert!(texts[7].starts_with('¥'), "{language}: liability total");
        let charts = driver.find_all(By::Css("svg.bar-chart")).await.unwrap();
        assert_eq!(charts.len(), 8, "{language}: a chart per trend");
        assert!(
            driver.source().await.unwrap().contains(issued_label),
            "{language}"
        );
        driver
            .screenshot(&screenshot_path(&format!("platform-overview-{language}")))
            .await
            .unwrap();
    }
    browser.quit().await;
}

/// Signs in, checks the figures in Chinese, switches to English, checks them
/// again, and screenshots both.
async fn check_home(
    app: &crate::harness::TestApp,
    portal: &str,
    identifier: &str,
    expected: &[(&str, &str)],
) {
    let browser = Browser::launch().await;
    let driver = browser.driver();
    sign_in(app, driver, portal, identifier).await;
    let ids: Vec<&str> = expected.iter().map(|(id, _)| *id).collect();
    for language in ["zh", "en"] {
        if language == "en" {
            switch_language(driver).await;
        }
        let texts = figures(driver, &ids).await;
        for ((id, want), got) in expected.iter().zip(&texts) {
            assert!(got.contains(want), "{portal} {language} #{id}: {got:?}");
        }
        driver
            .screenshot(&screenshot_path(&format!("{portal}-dashboard-{language}")))
            .await
            .unwrap();
    }
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_merchant_and_member_homes_show_their_figures_in_both_languages() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = scenario(conn, &app.keys);
    merchant_user(conn, shops.cinema, "owner@cinema.test", MerchantRole::Owner);

    // Bob earned 2,000 CINEMA (¥0.02 each) and redeemed 1,500 of them.
    check_home(
        &app,
        "consumer",
        "13800000002",
        &[("total-value", "¥10.00"), ("recent-activity", "1,500")],
    )
    .await;
    // At CINEMA this month: Bob earned (Alice's CINEMA came by exchange, not
    // earning) and Bob redeemed, at no particular store.
    check_home(
        &app,
        "merchant",
        "owner@cinema.test",
        &[
            ("earned-this-month", "1"),
            ("redeemed-this-month", "1"),
            ("stores-served-total", "1"),
            ("deposit-coverage", "%"),
        ],
    )
    .await;
}
