//! The merchant's rewards catalog, end to end through the merchant console:
//! creating, editing, publishing and unpublishing rewards, their images, and
//! what another merchant's staff and a cashier may do with them.

use alliance::{
    catalog::{self, Reward},
    domain::{
        actor::Actor,
        id::{MerchantId, RewardId, StoreId},
        shanghai,
    },
    merchant::store::{self, StoreDetails},
    people::merchant_user::MerchantRole,
};
use base64::Engine as _;
use chrono::{Days, NaiveDate, Utc};

use crate::{
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, funded_shop, merchant_user},
};

/// A real 1×1 PNG.
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn today() -> NaiveDate {
    Utc::now().with_timezone(&shanghai::offset()).date_naive()
}

fn day(offset_days: i64) -> String {
    let today = today();
    let day = if offset_days >= 0 {
        today.checked_add_days(Days::new(offset_days.unsigned_abs()))
    } else {
        today.checked_sub_days(Days::new(offset_days.unsigned_abs()))
    };
    day.unwrap().to_string()
}

struct Shop {
    id: MerchantId,
    browser: Browser,
}

/// A funded merchant with a signed-in user of `role`.
async fn shop(app: &TestApp, code: &str, role: MerchantRole) -> Shop {
    let mut conn = app.db.conn();
    let id = funded_shop(&mut conn, code, "0.01");
    let email = format!("{}@{code}.example.cn", role.as_str());
    merchant_user(&mut conn, id, &email, role);
    let browser = app.browser();
    let signed_in = browser.sign_in("merchant", &email, PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    Shop { id, browser }
}

fn add_store(app: &TestApp, merchant_id: MerchantId, name: &str) -> StoreId {
    let details =
        StoreDetails::parse(name, "上海市黄浦区南京东路 1 号", "31.23", "121.47").unwrap();
    store::add(
        &mut app.db.conn(),
        &Actor::system("test"),
        merchant_id,
        &details,
    )
    .unwrap()
    .id
}

fn rewards_of(app: &TestApp, merchant_id: MerchantId) -> Vec<Reward> {
    catalog::of_merchant(&mut app.db.conn(), merchant_id).unwrap()
}

/// A valid reward form: a latte for ¥32 or 3,200 points, this month.
fn latte<'a>(first_day: &'a str, last_day: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title_zh", "拿铁咖啡一杯"),
        ("title_en", "A cup of latte"),
        ("description_zh", "任意门店领取，大杯。"),
        ("description_en", "Grande, at any store."),
        ("category", "drinks"),
        ("value", "32.00"),
        ("points_price", "3200"),
        ("other_points", "on"),
        ("stock", "500"),
        ("first_day", first_day),
        ("last_day", last_day),
    ]
}

/// Creates the latte through the form; returns its id.
async fn create_latte(shop: &Shop, extra: &[(&str, &str)]) -> RewardId {
    let (from, until) = (day(0), day(30));
    let mut form = latte(&from, &until);
    form.extend_from_slice(extra);
    let created = shop
        .browser
        .submit("/merchant/catalog/new", "/merchant/catalog", &form)
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    created
        .location
        .unwrap()
        .strip_prefix("/merchant/catalog/")
        .unwrap()
        .parse()
        .unwrap()
}

async fn upload(
    app: &TestApp,
    shop: &Shop,
    reward_id: RewardId,
    name: &str,
    bytes: Vec<u8>,
) -> crate::harness::Page {
    let page = format!("/merchant/catalog/{reward_id}");
    let token = shop.browser.get(&page).await.csrf();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("image/png")
                .unwrap(),
        );
    let response = shop
        .browser
        .client
        .post(app.url(&format!("{page}/image")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    crate::harness::Page {
        status,
        location,
        body: response.text().await.unwrap(),
    }
}

fn stored_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.upload_dir.join("rewards")).map_or(0, Iterator::count)
}

#[tokio::test]
async fn a_manager_creates_edits_publishes_and_unpublishes_a_reward() {
    let app = spawn_app().await;
    let shop = shop(&app, "LATTE", MerchantRole::Manager).await;
    let store = add_store(&app, shop.id, "人民广场店");

    let key = format!("store_{store}");
    let id = create_latte(&shop, &[(&key, "on")]).await;
    let page = shop.browser.get(&format!("/merchant/catalog/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("权益草稿已创建"), "{}", page.body);
    assert!(page.body.contains("拿铁咖啡一杯"));
    assert!(
        page.body
            .contains(&format!("name=\"store_{store}\" checked"))
    );
    let [reward] = rewards_of(&app, shop.id).try_into().unwrap();
    assert_eq!(
        (reward.value_fen, reward.points_price, reward.stock),
        (3200, Some(3200), 500)
    );
    assert_eq!(reward.status.as_str(), "draft");
    assert_eq!(reward.first_day().to_string(), day(0));
    assert_eq!(reward.last_day().to_string(), day(30));
    assert_eq!(
        catalog::stores_of(&mut app.db.conn(), shop.id, id).unwrap(),
        [store]
    );

    // Edited: no price in points any more, cash may top up, every store.
    let (from, until) = (day(1), day(60));
    let mut form = latte(&from, &until);
    form.retain(|(k, _)| *k != "points_price");
    form.push(("cash_topup", "on"));
    form.push(("title_en", "A large latte"));
    form.retain(|(k, v)| *k != "title_en" || *v == "A large latte");
    let path = format!("/merchant/catalog/{id}");
    let saved = shop.browser.submit(&path, &path, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let [reward] = rewards_of(&app, shop.id).try_into().unwrap();
    assert_eq!(reward.title_en, "A large latte");
    assert_eq!(reward.points_price, None);
    assert!(reward.cash_topup && reward.other_points);
    assert_eq!(reward.last_day().to_string(), day(60));
    assert!(
        catalog::stores_of(&mut app.db.conn(), shop.id, id)
            .unwrap()
            .is_empty()
    );

    let status = format!("/merchant/catalog/{id}/status");
    let published = shop
        .browser
        .submit(&path, &status, &[("status", "published")])
        .await;
    assert_eq!(published.status, 303);
    assert_eq!(rewards_of(&app, shop.id)[0].status.as_str(), "published");
    let list = shop.browser.get("/merchant/catalog").await;
    assert!(list.body.contains("权益已上架"), "{}", list.body);
    assert!(list.body.contains("status-active"));
    assert!(list.body.contains("¥32.00"));
    // Valid from tomorrow: published, but not yet redeemable.
    assert!(
        catalog::published(&mut app.db.conn(), Utc::now())
            .unwrap()
            .is_empty()
    );
    let tomorrow_noon = Utc::now() + chrono::Duration::days(2);
    assert_eq!(
        catalog::published(&mut app.db.conn(), tomorrow_noon).unwrap()[0].id,
        id
    );

    let unpublished = shop
        .browser
        .submit(&path, &status, &[("status", "unpublished")])
        .await;
    assert_eq!(unpublished.status, 303);
    assert_eq!(rewards_of(&app, shop.id)[0].status.as_str(), "unpublished");

    let filter = alliance::audit::AuditFilter {
        target_kind: Some("reward".to_owned()),
        ..Default::default()
    };
    let actions: Vec<String> = alliance::audit::search(&mut app.db.conn(), &filter, 50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "reward.create",
        "reward.update",
        "reward.publish",
        "reward.unpublish",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn a_reward_whose_validity_is_over_is_not_published() {
    let app = spawn_app().await;
    let shop = shop(&app, "OLDIE", MerchantRole::Owner).await;
    let (from, until) = (day(-30), day(-1));
    let created = shop
        .browser
        .submit(
            "/merchant/catalog/new",
            "/merchant/catalog",
            &latte(&from, &until),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let path = created.location.unwrap();
    let refused = shop
        .browser
        .submit(&path, &format!("{path}/status"), &[("status", "published")])
        .await;
    assert_eq!(refused.status, 303);
    assert!(
        shop.browser
            .get(&path)
            .await
            .body
            .contains("有效期已过，无法上架")
    );
    assert_eq!(rewards_of(&app, shop.id)[0].status.as_str(), "draft");
}

#[tokio::test]
async fn invalid_rewards_are_refused_with_translated_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let shop = shop(&app, "TYPO", MerchantRole::Owner).await;
    let refused = shop
        .browser
        .submit(
            "/merchant/catalog/new",
            "/merchant/catalog",
            &[
                ("title_zh", ""),
                ("title_en", "A latte"),
                ("category", "cars"),
                ("value", "100000.01"),
                ("points_price", ""),
                ("stock", "-1"),
                ("first_day", "2026-12-02"),
                ("last_day", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    for message in [
        "请填写中文名称",
        "请选择类别",
        "请输入 0.01 至 100,000.00 元之间的价值",
        "请至少提供一种支付方式",
        "库存须为 0 至 1,000,000 之间的整数",
        "截止日期不能早于生效日期",
    ] {
        assert!(
            refused.body.contains(message),
            "{message}:\n{}",
            refused.body
        );
    }
    // What was typed is shown again.
    assert!(refused.body.contains("value=\"A latte\""));
    assert!(rewards_of(&app, shop.id).is_empty());

    // In English on request.
    shop.browser
        .submit(
            "/merchant/catalog/new",
            "/lang",
            &[("lang", "en"), ("next", "/merchant/catalog/new")],
        )
        .await;
    let english = shop
        .browser
        .submit(
            "/merchant/catalog/new",
            "/merchant/catalog",
            &[
                ("title_zh", "拿铁"),
                ("title_en", ""),
                ("category", "drinks"),
                ("value", "32"),
                ("other_points", "on"),
                ("stock", "1"),
                ("first_day", "2026-12-01"),
                ("last_day", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(english.status, 422);
    assert!(
        english.body.contains("Enter an English title"),
        "{}",
        english.body
    );
    assert!(rewards_of(&app, shop.id).is_empty());
}

#[tokio::test]
async fn another_merchants_reward_is_not_found() {
    let app = spawn_app().await;
    let owner = shop(&app, "MINE", MerchantRole::Owner).await;
    let id = create_latte(&owner, &[]).await;
    let other = shop(&app, "THEIRS", MerchantRole::Owner).await;

    let path = format!("/merchant/catalog/{id}");
    assert_eq!(other.browser.get(&path).await.status, 404);
    let (from, until) = (day(0), day(1));
    let form = latte(&from, &until);
    let edit = other
        .browser
        .submit("/merchant/catalog", &path, &form)
        .await;
    assert_eq!(edit.status, 404);
    let publish = other
        .browser
        .submit(
            "/merchant/catalog",
            &format!("{path}/status"),
            &[("status", "published")],
        )
        .await;
    assert_eq!(publish.status, 404);
    let list = other.browser.get("/merchant/catalog").await;
    assert!(!list.body.contains("拿铁咖啡一杯"));
    let [reward] = rewards_of(&app, owner.id).try_into().unwrap();
    assert_eq!(
        (reward.title_zh.as_str(), reward.status.as_str()),
        ("拿铁咖啡一杯", "draft")
    );
}

#[tokio::test]
async fn a_cashier_sees_the_catalog_but_cannot_change_it() {
    let app = spawn_app().await;
    let owner = shop(&app, "TILL", MerchantRole::Owner).await;
    let id = create_latte(&owner, &[]).await;
    let cashier_email = "cashier2@till.example.cn";
    merchant_user(
        &mut app.db.conn(),
        owner.id,
        cashier_email,
        MerchantRole::Cashier,
    );
    let cashier = app.browser();
    cashier.sign_in("merchant", cashier_email, PASSWORD).await;

    let list = cashier.get("/merchant/catalog").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("拿铁咖啡一杯"));
    assert!(!list.body.contains("/status\""));
    let path = format!("/merchant/catalog/{id}");
    let page = cashier.get(&path).await;
    assert!(page.body.contains("disabled"));
    assert_eq!(cashier.get("/merchant/catalog/new").await.status, 403);
    let publish = cashier
        .submit(&path, &format!("{path}/status"), &[("status", "published")])
        .await;
    assert_eq!(publish.status, 403);
    assert_eq!(rewards_of(&app, owner.id)[0].status.as_str(), "draft");
}

#[tokio::test]
async fn another_merchants_store_is_refused() {
    let app = spawn_app().await;
    let shop = shop(&app, "OWNSTORE", MerchantRole::Owner).await;
    let other = funded_shop(&mut app.db.conn(), "OTHERSTORE", "0.01");
    let theirs = add_store(&app, other, "别家门店");
    let key = format!("store_{theirs}");
    let (from, until) = (day(0), day(30));
    let mut form = latte(&from, &until);
    form.push((&key, "on"));
    let refused = shop
        .browser
        .submit("/merchant/catalog/new", "/merchant/catalog", &form)
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("只能选择本商户正在营业的门店"),
        "{}",
        refused.body
    );
    assert!(rewards_of(&app, shop.id).is_empty());
}

#[tokio::test]
async fn a_png_is_stored_and_served_back_with_its_type() {
    let app = spawn_app().await;
    let shop = shop(&app, "PICTURE", MerchantRole::Manager).await;
    let id = create_latte(&shop, &[]).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PIXEL_PNG)
        .unwrap();

    let uploaded = upload(&app, &shop, id, "latte.png", png.clone()).await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    let name = rewards_of(&app, shop.id)[0].image_path.clone().unwrap();
    assert!(
        name.starts_with(&format!("r{id}_")) && name.split_once('.').unwrap().1 == "png",
        "{name}"
    );
    assert!(
        shop.browser
            .get(&format!("/merchant/catalog/{id}"))
            .await
            .body
            .contains(&format!("/media/rewards/{name}"))
    );

    let served = reqwest::get(app.url(&format!("/media/rewards/{name}")))
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());

    for bad in ["r1_x.gif", "..%2Fsecret.png", "R1.png", "missing_1.png"] {
        let response = reqwest::get(app.url(&format!("/media/rewards/{bad}")))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{bad}");
    }
}

#[tokio::test]
async fn a_text_file_named_png_and_an_oversized_image_are_refused() {
    let app = spawn_app().await;
    let shop = shop(&app, "NOPIC", MerchantRole::Owner).await;
    let id = create_latte(&shop, &[]).await;

    let text = upload(
        &app,
        &shop,
        id,
        "photo.png",
        b"just some text, honestly".to_vec(),
    )
    .await;
    assert_eq!(text.status, 422);
    assert!(
        text.body.contains("只支持 PNG、JPEG 或 WebP 图片"),
        "{}",
        text.body
    );

    let mut huge = base64::engine::general_purpose::STANDARD
        .decode(PIXEL_PNG)
        .unwrap();
    huge.resize(2 * 1024 * 1024 + 1, 0);
    let large = upload(&app, &shop, id, "big.png", huge).await;
    assert_eq!(large.status, 422);
    assert!(large.body.contains("图片不能超过 2 MB"), "{}", large.body);

    assert_eq!(rewards_of(&app, shop.id)[0].image_path, None);
    assert_eq!(stored_files(&app), 0);

    // Without the form's token nothing is read.
    let forged = shop
        .browser
        .client
        .post(app.url(&format!("/merchant/catalog/{id}/image")))
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(PIXEL_PNG)
                        .unwrap(),
                ),
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(stored_files(&app), 0);
}
