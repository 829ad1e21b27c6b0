//! Each portal's home with real activity behind it, in a real Chromium, in
//! Chinese and in English: the key figures are there, and a screenshot of each
//! goes to target/screenshots/ for a person to look at.

use alliance::people::operator::OperatorRole;
use thirtyfour::prelude::*;

use crate::{
    browser::{Browser, element, screenshot_path, sign_in, switch_language},
    harness::spawn_app,
    overview::scenario,
    people_support::operator,
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
    scenario(conn);
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
