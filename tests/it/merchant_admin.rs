//! The merchant's own administration: stores, partner-API keys and the webhook
//! URL, through the console as its staff use it, and API keys through the
//! `alliance` binary as operators' scripts use it.

use std::{
    process::{Command, Output},
    str::FromStr,
};

use alliance::{
    audit::{self, AuditFilter},
    crypto::Keys,
    domain::{actor::Actor, id::MerchantId},
    merchant::{
        self,
        api_key::{self, KeyLabel},
        store::{self, StoreDetails},
    },
    people::{merchant_user::MerchantRole, operator::OperatorRole},
    webhook::endpoint as webhook,
};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Text};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::{
    harness::{Browser, TestApp, TestDb, spawn_app},
    people_support::*,
};

/// A browser signed in to the merchant console as a new user of `merchant_id`.
async fn staff(app: &TestApp, merchant_id: MerchantId, email: &str, role: MerchantRole) -> Browser {
    merchant_user(&mut app.db.conn(), merchant_id, email, role);
    let browser = app.browser();
    assert_eq!(
        browser.sign_in("merchant", email, PASSWORD).await.status,
        303,
        "{email} signs in"
    );
    browser
}

const PEOPLES_SQUARE: [(&str, &str); 4] = [
    ("name", "人民广场店"),
    ("address", "上海市黄浦区南京东路 1 号"),
    ("latitude", "31.230416"),
    ("longitude", "121.473701"),
];

fn add_store(conn: &mut PgConnection, merchant_id: MerchantId, name: &str) -> store::Store {
    let details = StoreDetails::parse(name, "上海市徐汇区衡山路 8 号", "31.2", "121.4").unwrap();
    store::add(conn, &Actor::system("test"), merchant_id, &details).unwrap()
}

fn issue_key(conn: &mut PgConnection, keys: &Keys, merchant_id: MerchantId) -> api_key::IssuedKey {
    let merchant = merchant::find(conn, merchant_id).unwrap().unwrap();
    let label = KeyLabel::parse("ERP").unwrap();
    api_key::create(conn, keys, &Actor::system("test"), &merchant, &label).unwrap()
}

/// The actions audited for a merchant in an area (`store`, `api_key`, ...).
fn audited(conn: &mut PgConnection, merchant_id: MerchantId, area: &str) -> Vec<(String, String)> {
    let filter = AuditFilter {
        merchant_id: Some(merchant_id),
        action: Some(area.to_owned()),
        ..AuditFilter::default()
    };
    let mut events: Vec<(String, String)> = audit::search(conn, &filter, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor_label))
        .collect();
    events.reverse();
    events
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    text: String,
}

/// Every row of `table` as PostgreSQL prints it (bytea as hex).
fn dump(conn: &mut PgConnection, table: &str) -> String {
    sql_query(format!(
        "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS text FROM {table} t"
    ))
    .get_result::<Dump>(conn)
    .unwrap()
    .text
}

#[tokio::test]
async fn a_manager_adds_edits_deactivates_and_reactivates_a_store() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    let manager = staff(&app, brew, "manager@brew.test", MerchantRole::Manager).await;

    let added = manager
        .submit("/merchant/stores", "/merchant/stores", &PEOPLES_SQUARE)
        .await;
    assert_eq!(
        (added.status, added.location.as_deref()),
        (303, Some("/merchant/stores"))
    );
    let list = manager.get("/merchant/stores").await;
    assert!(list.body.contains("门店已添加"), "{}", list.body);
    assert!(list.body.contains("人民广场店"));
    assert!(list.body.contains("31.230416, 121.473701"));
    let stored = store::list(conn, brew).unwrap();
    assert_eq!(stored.len(), 1);
    let id = stored[0].id;
    assert_eq!(stored[0].latitude, Decimal::from_str("31.230416").unwrap());
    assert_eq!(
        stored[0].longitude,
        Decimal::from_str("121.473701").unwrap()
    );

    let path = format!("/merchant/stores/{id}");
    let form = manager.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"31.230416\""), "{}", form.body);
    let edited = manager
        .submit(
            &path,
            &path,
            &[
                ("name", " 人民广场旗舰店 "),
                ("address", "上海市黄浦区南京东路 2 号"),
                ("latitude", "-31.5"),
                ("longitude", "-121"),
            ],
        )
        .await;
    assert_eq!(edited.status, 303);
    let store = store::find(conn, brew, id).unwrap().unwrap();
    assert_eq!(store.name, "人民广场旗舰店");
    assert_eq!(store.latitude, Decimal::from_str("-31.5").unwrap());
    assert_eq!(store.longitude, Decimal::from(-121));

    let active = format!("{path}/active");
    let deactivated = manager
        .submit("/merchant/stores", &active, &[("active", "false")])
        .await;
    assert_eq!(deactivated.status, 303);
    assert!(!store::find(conn, brew, id).unwrap().unwrap().active);
    manager
        .submit("/merchant/stores", &active, &[("active", "true")])
        .await;
    assert!(store::find(conn, brew, id).unwrap().unwrap().active);

    let by_manager = |action: &str| (action.to_owned(), "manager@brew.test".to_owned());
    assert_eq!(
        audited(conn, brew, "store"),
        vec![
            by_manager("store.create"),
            by_manager("store.update"),
            by_manager("store.deactivate"),
            by_manager("store.activate"),
        ]
    );

    let cashier = staff(&app, brew, "cashier@brew.test", MerchantRole::Cashier).await;
    assert_eq!(cashier.get("/merchant/stores").await.status, 403);
    assert_eq!(
        cashier
            .submit("/merchant", &active, &[("active", "false")])
            .await
            .status,
        403
    );
    assert!(store::find(conn, brew, id).unwrap().unwrap().active);
}

#[tokio::test]
async fn a_store_with_bad_coordinates_is_refused_with_the_reason_and_nothing_changes() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;

    let with = |field: &'static str, value: &'static str| {
        PEOPLES_SQUARE.map(|(f, v)| (f, if f == field { value } else { v }))
    };
    for latitude in ["91", "31.1234567", "三十一", ""] {
        let refused = owner
            .submit(
                "/merchant/stores",
                "/merchant/stores",
                &with("latitude", latitude),
            )
            .await;
        assert_eq!(refused.status, 422, "{latitude:?}");
        assert!(
            refused.body.contains("纬度应为 -90 到 90 之间的数字"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains("value=\"人民广场店\""),
            "the form keeps what was typed"
        );
    }
    let both = owner
        .submit(
            "/merchant/stores",
            "/merchant/stores",
            &[
                ("name", "  "),
                ("address", "地址"),
                ("latitude", "31"),
                ("longitude", "180.5"),
            ],
        )
        .await;
    assert_eq!(both.status, 422);
    assert!(both.body.contains("请填写门店名称"));
    assert!(both.body.contains("经度应为 -180 到 180 之间的数字"));
    assert!(store::list(conn, brew).unwrap().is_empty());

    let existing = add_store(conn, brew, "衡山路店");
    let path = format!("/merchant/stores/{}", existing.id);
    let refused = owner.submit(&path, &path, &with("latitude", "-90.5")).await;
    assert_eq!(refused.status, 422);
    let unchanged = store::find(conn, brew, existing.id).unwrap().unwrap();
    assert_eq!(
        (unchanged.name, unchanged.latitude),
        (existing.name, existing.latitude)
    );

    // The reason in English too, for someone who chose English.
    owner
        .submit(
            "/merchant/stores",
            "/lang",
            &[("lang", "en"), ("next", "/merchant/stores")],
        )
        .await;
    let english = owner
        .submit(
            "/merchant/stores",
            "/merchant/stores",
            &with("longitude", "181"),
        )
        .await;
    assert_eq!(english.status, 422);
    assert!(
        english
            .body
            .contains("Longitude must be a number between -180 and 180"),
        "{}",
        english.body
    );
    assert_eq!(store::list(conn, brew).unwrap().len(), 1);
    assert!(
        audited(conn, brew, "store").is_empty(),
        "refusals change and audit nothing"
    );
}

#[tokio::test]
async fn another_merchants_stores_and_keys_are_not_found_and_stay_unchanged() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");
    let mart = merchant_of_tier(conn, "MART", "strategic");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;
    let mart_store = add_store(conn, mart, "申城超市徐汇店");
    let mart_key = issue_key(conn, &app.keys, mart);

    let store_path = format!("/merchant/stores/{}", mart_store.id);
    assert_eq!(owner.get(&store_path).await.status, 404);
    assert_eq!(owner.get("/merchant/stores/999999").await.status, 404);
    let attempts = [
        (store_path.clone(), PEOPLES_SQUARE.to_vec()),
        (format!("{store_path}/active"), vec![("active", "false")]),
        (
            format!("/merchant/api-keys/{}/revoke", mart_key.key.id),
            Vec::new(),
        ),
    ];
    for (route, form) in attempts {
        let page = owner.submit("/merchant/stores", &route, &form).await;
        assert_eq!(page.status, 404, "{route}");
    }

    let unchanged = store::find(conn, mart, mart_store.id).unwrap().unwrap();
    assert_eq!(
        (unchanged.name.as_str(), unchanged.active),
        ("申城超市徐汇店", true)
    );
    assert!(
        api_key::authenticate(conn, &app.keys, &mart_key.key.key_id)
            .unwrap()
            .is_some(),
        "MART's key still works"
    );
    let keys_page = owner.get("/merchant/api-keys").await.body;
    assert!(!keys_page.contains(&mart_key.key.key_id));
    assert!(
        !owner
            .get("/merchant/stores")
            .await
            .body
            .contains("申城超市")
    );
    assert!(audited(conn, brew, "store").is_empty());
    assert!(audited(conn, brew, "api_key").is_empty());
}

#[tokio::test]
async fn a_new_keys_secret_is_shown_once_and_never_stored_or_shown_in_the_clear() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;

    let created = owner
        .submit(
            "/merchant/api-keys",
            "/merchant/api-keys",
            &[("label", "收银系统")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("只显示这一次"));
    let marker = "id=\"issued-secret\">";
    let start = created.body.find(marker).expect("the secret is shown") + marker.len();
    let secret = created.body[start..].split('<').next().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "{secret}");
    assert_eq!(created.body.matches(secret.as_str()).count(), 1);

    let keys = api_key::list(conn, brew).unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert!(created.body.contains(&key.key_id));
    assert_eq!(
        (key.label.as_str(), key.created_by.as_str()),
        ("收银系统", "owner@brew.test")
    );
    let (merchant_id, verified) = api_key::authenticate(conn, &app.keys, &key.key_id)
        .unwrap()
        .expect("the new key authenticates");
    assert_eq!(
        (merchant_id, verified.expose_secret()),
        (brew, secret.as_str())
    );

    // Never again: not on any page, for the owner or for an operator.
    let list = owner.get("/merchant/api-keys").await;
    assert!(list.body.contains(&key.key_id) && list.body.contains("收银系统"));
    assert!(list.body.contains("从未使用"));
    for path in [
        "/merchant/api-keys",
        "/merchant",
        "/merchant/stores",
        "/merchant/staff",
        "/merchant/settings",
    ] {
        let page = owner.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(&secret), "{path} shows the secret");
    }
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    let admin = app.browser();
    admin
        .sign_in("platform", "admin@alliance.test", PASSWORD)
        .await;
    let audit_page = admin.get("/platform/audit?action=api_key").await;
    assert!(audit_page.body.contains(&key.key_id), "{}", audit_page.body);
    assert!(!audit_page.body.contains(&secret));

    // Nor in the database, as text or as the hex of its bytes; the ciphertext
    // does not even start with the plaintext's bytes.
    let hex_secret = hex::encode(secret.as_bytes());
    for table in ["api_keys", "audit_events", "web_sessions"] {
        let rows = dump(conn, table);
        assert!(!rows.is_empty(), "{table} has rows");
        assert!(!rows.contains(&secret), "{table} holds the secret");
        assert!(!rows.contains(&hex_secret), "{table} holds its bytes");
    }
}

#[tokio::test]
async fn a_revoked_key_stops_authenticating_at_once_and_last_use_is_listed() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;
    let issued = issue_key(conn, &app.keys, brew);
    let key_id = issued.key.key_id.as_str();

    api_key::touch_last_used(conn, key_id).unwrap();
    let used = api_key::list(conn, brew).unwrap()[0].last_used_at;
    assert!(used.is_some());
    api_key::touch_last_used(conn, key_id).unwrap();
    assert_eq!(
        api_key::list(conn, brew).unwrap()[0].last_used_at,
        used,
        "not rewritten within the minute"
    );
    assert!(
        !owner
            .get("/merchant/api-keys")
            .await
            .body
            .contains("从未使用")
    );

    let revoke = format!("/merchant/api-keys/{}/revoke", issued.key.id);
    let revoked = owner.submit("/merchant/api-keys", &revoke, &[]).await;
    assert_eq!(
        (revoked.status, revoked.location.as_deref()),
        (303, Some("/merchant/api-keys"))
    );
    assert!(
        api_key::authenticate(conn, &app.keys, key_id)
            .unwrap()
            .is_none()
    );
    let list = owner.get("/merchant/api-keys").await.body;
    assert!(
        list.contains("密钥已吊销") && list.contains("已吊销"),
        "{list}"
    );
    assert!(
        !list.contains(&revoke),
        "no revoke button for a revoked key"
    );

    // Twice changes nothing more.
    assert_eq!(
        owner
            .submit("/merchant/api-keys", &revoke, &[])
            .await
            .status,
        303
    );
    assert_eq!(
        audited(conn, brew, "api_key"),
        vec![("api_key.revoke".to_owned(), "owner@brew.test".to_owned())]
    );
}

#[tokio::test]
async fn keys_stop_authenticating_when_the_merchant_is_suspended_or_loses_api_access() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");
    let key_id = issue_key(conn, &app.keys, brew).key.key_id;
    let works = |conn: &mut PgConnection| {
        api_key::authenticate(conn, &app.keys, &key_id)
            .unwrap()
            .is_some()
    };
    assert!(works(conn));
    let set = |conn: &mut PgConnection, assignment: &str| {
        sql_query(format!(
            "UPDATE merchants SET {assignment} WHERE id = {brew}"
        ))
        .execute(conn)
        .unwrap();
    };
    set(conn, "status = 'suspended'");
    assert!(!works(conn));
    set(conn, "status = 'active'");
    assert!(works(conn));
    set(conn, "tier = 'standard'");
    assert!(!works(conn));
    assert!(
        api_key::authenticate(conn, &app.keys, "ak_nosuchkey0000000000000")
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_standard_merchant_is_told_api_keys_need_the_strategic_tier() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let mart = merchant(conn, "MART");
    let owner = staff(&app, mart, "owner@mart.test", MerchantRole::Owner).await;

    let page = owner.get("/merchant/api-keys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("只有战略级商户可以调用合作方接口"));
    assert!(
        !page.body.contains("action=\"/merchant/api-keys\""),
        "no create form"
    );
    let refused = owner
        .submit(
            "/merchant/api-keys",
            "/merchant/api-keys",
            &[("label", "ERP")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("请联系平台申请升级为战略级"));
    assert!(api_key::list(conn, mart).unwrap().is_empty());

    let merchant = merchant::find(conn, mart).unwrap().unwrap();
    let label = KeyLabel::parse("ERP").unwrap();
    assert!(matches!(
        api_key::create(conn, &app.keys, &Actor::system("test"), &merchant, &label),
        Err(api_key::ApiKeyError::NoApiAccess)
    ));
}

#[tokio::test]
async fn only_the_owner_manages_keys_and_settings_while_managers_keep_stores() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;
    let manager = staff(&app, brew, "manager@brew.test", MerchantRole::Manager).await;

    let owner_nav = owner.get("/merchant").await.body;
    for item in [
        "/merchant/stores",
        "/merchant/api-keys",
        "/merchant/settings",
    ] {
        assert!(owner_nav.contains(&format!("href=\"{item}\"")), "{item}");
    }
    let manager_nav = manager.get("/merchant").await.body;
    assert!(manager_nav.contains("href=\"/merchant/stores\""));
    assert!(!manager_nav.contains("href=\"/merchant/api-keys\""));
    assert!(!manager_nav.contains("href=\"/merchant/settings\""));

    for path in ["/merchant/api-keys", "/merchant/settings"] {
        assert_eq!(manager.get(path).await.status, 403, "{path}");
    }
    let attempts = [
        ("/merchant/api-keys", ("label", "ERP")),
        (
            "/merchant/settings/webhook",
            ("webhook_url", "https://evil.test/hook"),
        ),
    ];
    for (route, field) in attempts {
        let page = manager.submit("/merchant/stores", route, &[field]).await;
        assert_eq!(page.status, 403, "{route}");
    }
    assert!(api_key::list(conn, brew).unwrap().is_empty());
    assert_eq!(webhook::of_merchant(conn, brew).unwrap(), None);
}

#[tokio::test]
async fn the_webhook_url_must_be_https_except_for_local_testing() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = merchant(conn, "BREW");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;
    let set = |url: &'static str| {
        let owner = &owner;
        async move {
            owner
                .submit(
                    "/merchant/settings",
                    "/merchant/settings/webhook",
                    &[("webhook_url", url)],
                )
                .await
        }
    };

    for (url, reason) in [
        ("http://hooks.brew.test/alliance", "必须使用 https://"),
        ("hooks.brew.test/alliance", "请输入完整的网址"),
        ("https://user:pw@hooks.brew.test/", "不能包含用户名或密码"),
    ] {
        let refused = set(url).await;
        assert_eq!(refused.status, 422, "{url}");
        assert!(refused.body.contains(reason), "{url}: {}", refused.body);
        assert!(
            refused.body.contains(&format!("value=\"{url}\"")),
            "keeps {url}"
        );
        assert_eq!(webhook::of_merchant(conn, brew).unwrap(), None);
    }

    let saved = set("https://hooks.brew.test/alliance").await;
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (303, Some("/merchant/settings"))
    );
    assert_eq!(
        webhook::of_merchant(conn, brew).unwrap().as_deref(),
        Some("https://hooks.brew.test/alliance")
    );
    let page = owner.get("/merchant/settings").await.body;
    assert!(page.contains("回调地址已保存"));
    assert!(page.contains("https://hooks.brew.test/alliance"));

    assert_eq!(set("http://127.0.0.1:9000/hook").await.status, 303);
    assert_eq!(
        webhook::of_merchant(conn, brew).unwrap().as_deref(),
        Some("http://127.0.0.1:9000/hook")
    );
    assert_eq!(
        set("http://localhost:9000/hook").await.status,
        422,
        "only 127.0.0.1 is allowed in the tests"
    );
    assert_eq!(set("").await.status, 303);
    assert_eq!(webhook::of_merchant(conn, brew).unwrap(), None);
    assert!(
        owner
            .get("/merchant/settings")
            .await
            .body
            .contains("回调地址已清除")
    );

    let by_owner = |action: &str| (action.to_owned(), "owner@brew.test".to_owned());
    assert_eq!(
        audited(conn, brew, "webhook"),
        vec![
            by_owner("webhook.set"),
            by_owner("webhook.set"),
            by_owner("webhook.clear"),
        ]
    );
}

/// Given to the binary, so the test can derive the same keys.
const SECRET_KEY: &str = "merchant admin test secret key, longer than 32 characters";

fn alliance(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alliance"))
        .args(args)
        .env_remove("ALLIANCE_ENV")
        .env("ALLIANCE_SECRET_KEY", SECRET_KEY)
        .env("ALLIANCE_DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the alliance binary")
}

fn printed(output: &Output, prefix: &str) -> Option<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(str::to_owned)
}

#[test]
fn the_cli_prints_a_key_once_that_then_authenticates() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let brew = merchant_of_tier(conn, "BREW", "strategic");

    let created = alliance(
        &db,
        &[
            "merchant",
            "api-key",
            "create",
            "--merchant",
            "BREW",
            "--label",
            "ERP 对接",
        ],
    );
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    let key_id = printed(&created, "key id: ").expect("the key id is printed");
    let secret = printed(&created, "secret: ").expect("the secret is printed");
    assert!(key_id.starts_with("ak_"), "{key_id}");

    let (merchant_id, verified) = api_key::authenticate(conn, &Keys::derive(SECRET_KEY), &key_id)
        .unwrap()
        .expect("the printed key authenticates");
    assert_eq!(
        (merchant_id, verified.expose_secret()),
        (brew, secret.as_str())
    );
    let keys = api_key::list(conn, brew).unwrap();
    assert_eq!(
        (keys[0].label.as_str(), keys[0].created_by.as_str()),
        ("ERP 对接", "system:cli")
    );
    assert_eq!(
        audited(conn, brew, "api_key"),
        vec![("api_key.create".to_owned(), "system:cli".to_owned())]
    );
    assert!(!dump(conn, "audit_events").contains(&secret));
}

#[test]
fn the_cli_refuses_an_unknown_merchant_and_a_standard_one_and_says_why() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let mart = merchant_of_tier(conn, "MART", "standard");
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    let unknown = alliance(
        &db,
        &["merchant", "api-key", "create", "--merchant", "NOPE"],
    );
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(
        stderr(&unknown).contains("no merchant has the code \"NOPE\""),
        "{unknown:?}"
    );

    let standard = alliance(
        &db,
        &["merchant", "api-key", "create", "--merchant", "MART"],
    );
    assert_eq!(standard.status.code(), Some(1), "{standard:?}");
    assert!(
        stderr(&standard).contains("only strategic merchants may use the partner API"),
        "{standard:?}"
    );
    assert_eq!(printed(&standard, "secret: "), None);
    assert!(api_key::list(conn, mart).unwrap().is_empty());
}
