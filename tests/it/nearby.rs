//! Nearby (LBS): distances measured in PostgreSQL agree with the haversine
//! formula, the 3 km edge, nearest first, the `GiST` index serving the search,
//! rewards collected nearby, and the member's nearby page with its district
//! picker and bad coordinates.

use alliance::{
    db::schema::{reward_stores, rewards},
    domain::{
        geo::GeoPoint,
        id::{MerchantId, RewardId, StoreId},
    },
    redemption::nearby,
};
use chrono::{Duration, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Double, Text},
};
use serde_json::json;
use thirtyfour::prelude::*;

use crate::{
    browser,
    exchange_support::two_programs,
    harness::{TestDb, spawn_app},
    people_support::{PASSWORD, member},
};

/// 人民广场 (People's Square).
pub const PEOPLES_SQUARE: (f64, f64) = (31.2304, 121.4737);
/// 外滩 (the Bund).
const BUND: (f64, f64) = (31.2400, 121.4900);
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The haversine great-circle distance, metres, on the same sphere.
fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (phi1, phi2) = (a.0.to_radians(), b.0.to_radians());
    let d_phi = phi2 - phi1;
    let d_lambda = (b.1 - a.1).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// A point `metres` due north of `from` (a meridian is a great circle).
fn north_of(from: (f64, f64), metres: f64) -> (f64, f64) {
    (from.0 + (metres / EARTH_RADIUS_M).to_degrees(), from.1)
}

fn point(at: (f64, f64)) -> GeoPoint {
    GeoPoint::new(at.0, at.1).unwrap()
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: StoreId,
}

/// An active store of the merchant at `at` (rounded to the column's 6 decimals).
pub fn store(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    name: &str,
    at: (f64, f64),
) -> StoreId {
    sql_query(
        "INSERT INTO stores (merchant_id, name, address, latitude, longitude)
         VALUES ($1, $2, '上海市', round($3::numeric, 6), round($4::numeric, 6)) RETURNING id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Text, _>(name)
    .bind::<Double, _>(at.0)
    .bind::<Double, _>(at.1)
    .get_result::<Id>(conn)
    .unwrap()
    .id
}

/// A published reward of the merchant on offer for a month, ¥`value_fen`,
/// `points_price` of its own points, no cash.
pub fn reward(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    title: &str,
    value_fen: i64,
    points_price: i64,
) -> RewardId {
    diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(merchant_id),
            rewards::title_zh.eq(title),
            rewards::title_en.eq(title),
            rewards::category.eq("drinks"),
            rewards::value_fen.eq(value_fen),
            rewards::points_price.eq(Some(points_price)),
            rewards::other_points.eq(true),
            rewards::cash_topup.eq(false),
            rewards::stock.eq(10_i64),
            rewards::valid_from.eq(Utc::now() - Duration::days(1)),
            rewards::valid_until.eq(Utc::now() + Duration::days(30)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap()
}

fn names_and_distances(conn: &mut PgConnection, here: (f64, f64)) -> Vec<(String, f64)> {
    nearby::stores(conn, point(here))
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.distance_m))
        .collect()
}

#[test]
fn nearby_distances_match_the_haversine_formula_within_a_metre() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let coffee = two_programs(conn).coffee;
    store(conn, coffee, "外滩店", BUND);
    let expected = haversine_m(PEOPLES_SQUARE, BUND);
    assert!((1_850.0..1_900.0).contains(&expected), "{expected}");

    let found = names_and_distances(conn, PEOPLES_SQUARE);

    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "外滩店");
    assert!(
        (found[0].1 - expected).abs() < 1.0,
        "{} vs {expected}",
        found[0].1
    );
}

#[test]
fn nearby_keeps_a_store_2_9_km_away_and_drops_one_3_1_km_away_nearest_first() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let coffee = two_programs(conn).coffee;
    store(conn, coffee, "3.1 km", north_of(PEOPLES_SQUARE, 3_100.0));
    store(conn, coffee, "2.9 km", north_of(PEOPLES_SQUARE, 2_900.0));
    store(conn, coffee, "外滩店", BUND);
    store(conn, coffee, "here", PEOPLES_SQUARE);

    let found = names_and_distances(conn, PEOPLES_SQUARE);

    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["here", "外滩店", "2.9 km"]);
    assert!(found[0].1 < 1.0);
    // Six decimals of a degree are ~0.1 m.
    assert!((found[2].1 - 2_900.0).abs() < 1.0, "{}", found[2].1);
}

#[test]
fn nearby_stores_are_found_through_the_gist_index() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let coffee = two_programs(conn).coffee;
    // A city's worth of stores spread over Shanghai, so a scan would be dear.
    sql_query(
        "INSERT INTO stores (merchant_id, name, address, latitude, longitude)
         SELECT $1, 'store ' || g, '上海市', 30.7 + (g % 100) * 0.012, 120.9 + (g / 100) * 0.022
           FROM generate_series(0, 4999) g",
    )
    .bind::<BigInt, _>(coffee)
    .execute(conn)
    .unwrap();
    sql_query("ANALYZE stores").execute(conn).unwrap();

    let plan = nearby::stores_plan(conn, point(PEOPLES_SQUARE)).unwrap();

    assert!(plan.contains("stores_earth_point"), "{plan}");
    assert!(!plan.contains("Seq Scan on stores"), "{plan}");
    // And the search still finds what the index holds.
    let found = nearby::stores(conn, point(PEOPLES_SQUARE)).unwrap();
    assert!(!found.is_empty());
    assert!(found.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    assert!(found.iter().all(|s| s.distance_m <= nearby::RADIUS_M));
}

#[test]
fn nearby_rewards_are_those_collected_at_a_store_in_reach_nearest_first() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    let bund = store(conn, shops.coffee, "外滩店", BUND);
    let far = store(
        conn,
        shops.coffee,
        "远店",
        north_of(PEOPLES_SQUARE, 5_000.0),
    );
    store(
        conn,
        shops.cinema,
        "广场影城",
        north_of(PEOPLES_SQUARE, 100.0),
    );
    let anywhere = reward(conn, shops.coffee, "拿铁", 1_500, 150);
    let at_bund = reward(conn, shops.coffee, "外滩蛋糕", 2_000, 200);
    let far_only = reward(conn, shops.coffee, "远店面包", 800, 80);
    let movie = reward(conn, shops.cinema, "电影票", 3_000, 300);
    for (reward_id, store_id) in [(at_bund, bund), (at_bund, far), (far_only, far)] {
        diesel::insert_into(reward_stores::table)
            .values((
                reward_stores::reward_id.eq(reward_id),
                reward_stores::store_id.eq(store_id),
            ))
            .execute(conn)
            .unwrap();
    }

    let near = nearby::rewards(conn, point(PEOPLES_SQUARE), Utc::now()).unwrap();

    let ids: Vec<RewardId> = near.iter().map(|r| r.offered.listing.reward.id).collect();
    assert_eq!(ids[0], movie);
    let mut rest = ids[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, [anywhere, at_bund]);
    let bund_m = haversine_m(PEOPLES_SQUARE, BUND);
    assert!(
        near[1..]
            .iter()
            .all(|r| (r.distance_m - bund_m).abs() < 1.0)
    );
    assert!(!ids.contains(&far_only));
}

#[tokio::test]
async fn the_nearby_page_lists_stores_and_rewards_of_a_picked_district_and_refuses_bad_coordinates()
{
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let coffee = two_programs(conn).coffee;
    member(conn, &app.keys, "13800000001", None);
    store(conn, coffee, "外滩店", BUND);
    store(conn, coffee, "嘉定店", (31.3752, 121.2655));
    reward(conn, coffee, "外滩拿铁", 1_500, 150);
    let browser = app.browser();
    let signed = browser.sign_in("consumer", "13800000001", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);

    let prompt = browser.get("/consumer/nearby").await;
    assert_eq!(prompt.status, 200);
    assert!(
        prompt.body.contains("id=\"no-location\""),
        "{}",
        prompt.body
    );
    assert!(
        prompt
            .body
            .contains("<option value=\"huangpu\">黄浦区</option>")
    );
    assert!(prompt.body.contains("/static/js/geolocate.js"));
    let rewards = browser.get("/consumer/rewards").await;
    assert!(rewards.body.contains("href=\"/consumer/nearby\""));

    let huangpu = browser
        .get("/consumer/nearby?district=huangpu&lat=&lng=")
        .await;
    assert_eq!(huangpu.status, 200);
    assert!(
        huangpu
            .body
            .contains("<option value=\"huangpu\" selected>黄浦区</option>")
    );
    assert!(huangpu.body.contains("外滩店"), "{}", huangpu.body);
    assert!(!huangpu.body.contains("嘉定店"));
    assert!(huangpu.body.contains("外滩拿铁"));
    assert!(
        huangpu
            .body
            .contains("href=\"/consumer/for-you?district=huangpu\"")
    );
    let expected = haversine_m((31.2317, 121.4846), BUND);
    assert!((1_000.0..1_100.0).contains(&expected), "{expected}");
    let shown = "<span class=\"store-distance\">1.1 公里</span>";
    assert!(huangpu.body.contains(shown), "{shown} in {}", huangpu.body);

    let at_bund = browser
        .get("/consumer/nearby?lat=31.2400&lng=121.4900")
        .await;
    assert!(at_bund.body.contains("外滩店"));
    assert!(
        at_bund
            .body
            .contains("<span class=\"store-distance\">0 米</span>")
    );

    for bad in [
        "lat=abc&lng=121.47",
        "lat=95&lng=121.47",
        "lat=31.2&lng=",
        "district=atlantis",
    ] {
        let page = browser.get(&format!("/consumer/nearby?{bad}")).await;
        assert_eq!(page.status, 200, "{bad}");
        assert!(
            page.body.contains("id=\"location-error\""),
            "{bad}: {}",
            page.body
        );
        assert!(!page.body.contains("外滩店"), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn use_my_location_in_a_real_browser_lists_the_stores_around_it() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let coffee = two_programs(conn).coffee;
    member(conn, &app.keys, "13800000001", None);
    store(conn, coffee, "外滩店", BUND);
    store(conn, coffee, "嘉定店", (31.3752, 121.2655));
    let chromium = browser::Browser::launch().await;
    let driver = chromium.driver();
    browser::sign_in(&app, driver, "consumer", "13800000001").await;
    driver.goto(app.url("/consumer/nearby")).await.unwrap();
    browser::element(driver, By::Id("use-location")).await;
    // Headless Chromium has no position of its own: the device says it is at
    // the Bund, and the member allows it.
    driver
        .execute(
            "var at = {coords: {latitude: arguments[0], longitude: arguments[1]}};
             navigator.geolocation.getCurrentPosition = function (ok) { ok(at); };",
            vec![json!(BUND.0), json!(BUND.1)],
        )
        .await
        .unwrap();

    browser::element(driver, By::Id("use-location"))
        .await
        .click()
        .await
        .unwrap();

    let stores = browser::element(driver, By::Id("near-stores"))
        .await
        .text()
        .await
        .unwrap();
    driver
        .screenshot(&browser::screenshot_path("consumer-nearby"))
        .await
        .unwrap();
    let url = driver.current_url().await.unwrap().to_string();
    chromium.quit().await;
    assert!(
        stores.contains("外滩店") && stores.contains("0 米"),
        "{stores}"
    );
    assert!(!stores.contains("嘉定店"), "{stores}");
    assert!(url.contains("lat=31.240000&lng=121.490000"), "{url}");
}
