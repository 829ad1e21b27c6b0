//! Recommendations (为你推荐) on a constructed scenario: members A and B
//! redeemed X and Y, C redeemed X, so Y is recommended to C as popular with
//! similar members; what C's points pay for says so; nothing C cannot pay,
//! that is not near and no similar member liked is listed; a cancelled
//! redemption is no evidence; a store nearby adds its reason; and the page
//! shows the badges in that order.

use alliance::{
    domain::{
        actor::Actor,
        geo::GeoPoint,
        id::{MemberId, MerchantId, RewardId},
        money::Money,
    },
    redemption::{
        self, RedeemRequest,
        pay::Leg,
        recommend::{self, Reason},
    },
};
use chrono::Utc;
use diesel::PgConnection;

use crate::{
    exchange_support::{earn_points, keys, two_programs},
    harness::{TestDb, spawn_app},
    nearby::{PEOPLES_SQUARE, reward, store},
    people_support::{PASSWORD, member},
};

const C_PHONE: &str = "13800000003";

/// Redeems the reward with the proposed mix; the redemption's id.
fn redeem(conn: &mut PgConnection, member_id: MemberId, reward_id: RewardId) -> i64 {
    let proposal = redemption::propose(conn, member_id, reward_id)
        .unwrap()
        .expect("the member can pay");
    let request = RedeemRequest {
        member_id,
        reward_id,
        pay: proposal.legs.iter().filter_map(Leg::as_pay).collect(),
        cash: proposal.cash,
        request_key: format!("t-{member_id}-{reward_id}"),
    };
    assert_eq!(request.cash, Money::ZERO);
    redemption::redeem(conn, &request, &Actor::system("test"))
        .unwrap()
        .id
}

/// COFFEE's rewards: X (100 points), Y (300), Z (200), and W (1,000,000: no
/// member can pay it); A and B redeemed X and Y, C redeemed X. Everyone earned
/// 1,000 COFFEE points.
struct Scenario {
    coffee: MerchantId,
    c: MemberId,
    x: RewardId,
    y: RewardId,
    z: RewardId,
    w: RewardId,
}

fn scenario(conn: &mut PgConnection, keys: &alliance::crypto::Keys) -> Scenario {
    let coffee = two_programs(conn).coffee;
    let latte = reward(conn, coffee, "X 拿铁", 100, 100);
    let cake = reward(conn, coffee, "Y 蛋糕", 300, 300);
    let cookie = reward(conn, coffee, "Z 曲奇", 200, 200);
    let machine = reward(conn, coffee, "W 咖啡机", 1_000_000, 1_000_000);
    let [alice, bob, carol] = ["13800000001", "13800000002", C_PHONE].map(|phone| {
        let id = member(conn, keys, phone, None);
        earn_points(conn, coffee, id, 1_000);
        id
    });
    for liker in [alice, bob] {
        redeem(conn, liker, latte);
        redeem(conn, liker, cake);
    }
    redeem(conn, carol, latte);
    Scenario {
        coffee,
        c: carol,
        x: latte,
        y: cake,
        z: cookie,
        w: machine,
    }
}

fn ranked(
    conn: &mut PgConnection,
    member_id: MemberId,
    here: Option<GeoPoint>,
) -> Vec<(RewardId, Vec<Reason>)> {
    recommend::for_member(conn, member_id, here, Utc::now())
        .unwrap()
        .into_iter()
        .map(|r| (r.offered.listing.reward.id, r.scored.reasons))
        .collect()
}

#[test]
fn what_similar_members_redeemed_comes_first_then_what_my_points_pay_cheapest_first() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let s = scenario(conn, &keys());

    let similar = recommend::similarities(conn, s.c).unwrap();
    // co(X, Y) = 2 (A, B); n(X) = 3, n(Y) = 2.
    let cosine = 2.0 / (3.0_f64 * 2.0).sqrt();
    assert!((similar[&s.y] - cosine).abs() < 1e-9, "{similar:?}");
    assert_eq!(similar.len(), 1, "{similar:?}");

    assert_eq!(
        ranked(conn, s.c, None),
        [
            (s.y, vec![Reason::EnoughPoints, Reason::SimilarMembers]),
            (s.x, vec![Reason::EnoughPoints]),
            (s.z, vec![Reason::EnoughPoints]),
        ]
    );
    // W: not payable, not near, liked by no one.
    assert!(!ranked(conn, s.c, None).iter().any(|(id, _)| *id == s.w));
}

#[test]
fn a_cancelled_redemption_is_no_evidence_of_taste() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let s = scenario(conn, &keys());
    let d = member(conn, &keys(), "13800000004", None);
    earn_points(conn, s.coffee, d, 1_000);
    redeem(conn, d, s.x);
    let z = redeem(conn, d, s.z);
    redemption::cancel(conn, d, z, &Actor::system("test")).unwrap();

    let similar = recommend::similarities(conn, s.c).unwrap();

    assert!(!similar.contains_key(&s.z), "{similar:?}");
    assert!(similar.contains_key(&s.y));
}

#[test]
fn a_member_who_can_pay_nothing_still_gets_the_catalog_and_a_store_nearby_counts() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let s = scenario(conn, &keys());
    let broke = member(conn, &keys(), "13800000009", None);

    // No reason for anything: the whole catalog rather than nothing.
    let everything = ranked(conn, broke, None);
    assert_eq!(everything.len(), 4);
    assert!(everything.iter().all(|(_, reasons)| reasons.is_empty()));

    store(conn, s.coffee, "广场店", PEOPLES_SQUARE);
    let here = GeoPoint::new(PEOPLES_SQUARE.0, PEOPLES_SQUARE.1).unwrap();
    let near = ranked(conn, broke, Some(here));
    assert_eq!(near.len(), 4);
    assert!(near.iter().all(|(_, reasons)| reasons == &[Reason::Nearby]));
    // For C, nearness adds to the other reasons.
    assert_eq!(
        ranked(conn, s.c, Some(here))[0],
        (
            s.y,
            vec![Reason::Nearby, Reason::EnoughPoints, Reason::SimilarMembers]
        )
    );
}

#[tokio::test]
async fn the_for_you_page_shows_each_recommendation_with_its_reasons() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let s = scenario(conn, &app.keys);
    store(conn, s.coffee, "广场店", PEOPLES_SQUARE);
    let browser = app.browser();
    let signed = browser.sign_in("consumer", C_PHONE, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);

    let rewards = browser.get("/consumer/rewards").await;
    assert!(rewards.body.contains("href=\"/consumer/for-you\""));
    let page = browser.get("/consumer/for-you").await;
    assert_eq!(page.status, 200);
    let y = page.body.find("Y 蛋糕").expect("Y is recommended");
    let z = page.body.find("Z 曲奇").expect("Z is recommended");
    assert!(y < z, "Y before Z");
    assert!(!page.body.contains("W 咖啡机"));
    let y_card = &page.body[y..z];
    assert!(
        y_card.contains("积分够用") && y_card.contains("相似会员喜欢"),
        "{y_card}"
    );
    assert!(!page.body[z..].contains("相似会员喜欢"));
    let nearby_badge = "<span class=\"badge badge-accent\">附近</span>";
    assert!(!page.body.contains(nearby_badge));

    let near = browser.get("/consumer/for-you?district=huangpu").await;
    assert!(near.body.contains(nearby_badge), "{}", near.body);
    let bad = browser.get("/consumer/for-you?lat=x&lng=y").await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("id=\"location-error\""));
    assert!(bad.body.contains("Y 蛋糕"));
}
