//! The real server on its own port and database.

use crate::harness::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_reports_ready_on_a_migrated_database() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_reports_unavailable_when_migrations_are_missing() {
    use alliance::db::MIGRATIONS;
    use diesel_migrations::MigrationHarness;
    let app = spawn_app().await;
    app.db.conn().revert_last_migration(MIGRATIONS).unwrap();
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn the_style_guide_renders_in_development() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/style-guide")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("class=\"stat-grid\"")
    );
}
