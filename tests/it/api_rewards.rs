//! The partner API's catalog (`GET /rewards`): the calling merchant's rewards,
//! every status, with their prices, stock, validity and stores — and nothing
//! of another merchant's.

use alliance::db::schema::{reward_stores, rewards};
use alliance::domain::id::RewardId;
use diesel::prelude::*;
use serde_json::Value;

use crate::{
    api_redemption::cake,
    api_support::{ApiClient, partner},
    harness::spawn_app,
    nearby::store,
};

#[tokio::test]
async fn a_partner_lists_its_own_rewards_and_no_one_elses() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let cinema = partner(&app, "CINEMA");
    let conn = &mut app.db.conn();
    let cake_id = cake(conn, coffee.merchant_id, 5);
    let draft_id = cake(conn, coffee.merchant_id, 0);
    diesel::update(rewards::table.find(draft_id))
        .set((
            rewards::status.eq("draft"),
            rewards::title_en.eq("Draft pie"),
        ))
        .execute(conn)
        .unwrap();
    let store_id = store(conn, coffee.merchant_id, "人民广场店", (31.2304, 121.4737));
    diesel::insert_into(reward_stores::table)
        .values((
            reward_stores::reward_id.eq(cake_id),
            reward_stores::store_id.eq(store_id),
        ))
        .execute(conn)
        .unwrap();
    let movie_id = cake(conn, cinema.merchant_id, 9);

    let listed = ApiClient::new(&app, &coffee).get("/api/v1/rewards").await;

    assert_eq!(listed.status, 200, "{listed:?}");
    let body = listed.json();
    let list = body["rewards"].as_array().unwrap();
    let ids: Vec<RewardId> = list
        .iter()
        .map(|r| RewardId(r["reward_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids, [draft_id, cake_id], "newest first, COFFEE's only");
    assert!(!ids.contains(&movie_id));
    let cake = &list[1];
    assert_eq!(cake["title_zh"], "芝士蛋糕");
    assert_eq!(cake["title_en"], "Cheesecake");
    assert_eq!(cake["category"], "dining");
    assert_eq!(cake["value_cny"], "10.00");
    assert_eq!(cake["points_price"], "1000");
    assert_eq!(cake["other_points"], false);
    assert_eq!(cake["cash_topup"], true);
    assert_eq!(cake["stock"], "5");
    assert_eq!(cake["status"], "published");
    assert!(cake["valid_from"].as_str().unwrap() < cake["valid_until"].as_str().unwrap());
    assert_eq!(cake["store_ids"], Value::from(vec![store_id.0]));
    let draft = &list[0];
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["title_en"], "Draft pie");
    assert_eq!(draft["stock"], "0");
    assert_eq!(draft["store_ids"], Value::from(Vec::<i64>::new()));

    let theirs = ApiClient::new(&app, &cinema).get("/api/v1/rewards").await;
    let theirs = theirs.json();
    let ids: Vec<RewardId> = theirs["rewards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| RewardId(r["reward_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids, [movie_id]);
}

#[tokio::test]
async fn the_catalog_needs_a_signature() {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    let mut wrong = ApiClient::new(&app, &coffee);
    wrong.secret = "not the secret".to_owned();

    let refused = wrong.get("/api/v1/rewards").await;

    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.content_type, "application/problem+json");
}
