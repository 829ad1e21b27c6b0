//! The merchant's program page: what each tier may change, refusals, and the
//! audit log.

use std::str::FromStr;

use alliance::{
    audit::{self, AuditFilter},
    domain::id::MerchantId,
    people::merchant_user::MerchantRole,
    program::{self, Program},
};
use diesel::PgConnection;
use rust_decimal::Decimal;

use crate::{
    harness::{Browser, TestApp, spawn_app},
    people_support::*,
};

const PAGE: &str = "/merchant/program";

async fn staff(app: &TestApp, merchant_id: MerchantId, email: &str, role: MerchantRole) -> Browser {
    merchant_user(&mut app.db.conn(), merchant_id, email, role);
    let browser = app.browser();
    assert_eq!(
        browser.sign_in("merchant", email, PASSWORD).await.status,
        303
    );
    browser
}

fn program_of(conn: &mut PgConnection, merchant_id: MerchantId) -> Program {
    program::of_merchant(conn, merchant_id).unwrap().unwrap()
}

fn audited(conn: &mut PgConnection, merchant_id: MerchantId) -> Vec<audit::AuditEvent> {
    let filter = AuditFilter {
        merchant_id: Some(merchant_id),
        action: Some("program".to_owned()),
        ..AuditFilter::default()
    };
    audit::search(conn, &filter, 100).unwrap()
}

#[tokio::test]
async fn a_strategic_merchant_changes_the_earn_rate_and_the_exchange_limits() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = shop(conn, "BREW", "strategic", "0.01");
    let manager = staff(&app, brew, "manager@brew.test", MerchantRole::Manager).await;

    let page = manager.get(PAGE).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("¥0.01"), "{}", page.body);
    assert!(page.body.contains("name=\"earn_points_per_cny\""));
    let before = program_of(conn, brew);

    let saved = manager
        .submit(
            PAGE,
            PAGE,
            &[
                ("earn_points_per_cny", "2.5"),
                ("expiry_months", "0"),
                ("exchange_in", "on"),
                ("min_exchange_points", "500"),
                ("max_exchange_points", "200000"),
            ],
        )
        .await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some(PAGE)));
    let after = program_of(conn, brew);
    assert_eq!(after.earn_points_per_cny, Decimal::from_str("2.5").unwrap());
    assert_eq!(after.expiry_months, 0);
    assert!(after.exchange_in && !after.exchange_out);
    assert_eq!(
        (after.min_exchange_points, after.max_exchange_points),
        (500, 200_000)
    );
    assert_eq!(after.settlement_value, before.settlement_value);
    assert!(after.updated_at > before.updated_at);
    assert!(manager.get(PAGE).await.body.contains("积分方案已保存"));

    let events = audited(conn, brew);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.action, "program.update");
    assert_eq!(event.actor_label, "manager@brew.test");
    assert_eq!(event.target_id.as_deref(), Some(&*after.id.to_string()));
    let (old, new) = (
        event.before.as_ref().unwrap(),
        event.after.as_ref().unwrap(),
    );
    assert_eq!(old["min_exchange_points"], 100);
    assert_eq!(new["min_exchange_points"], 500);
    assert_eq!(new["exchange_out"], false);
}

#[tokio::test]
async fn a_standard_merchants_crafted_earn_rate_change_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shop_id = shop(conn, "SHOP", "standard", "0.01");
    let owner = staff(&app, shop_id, "owner@shop.test", MerchantRole::Owner).await;

    let page = owner.get(PAGE).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("name=\"earn_points_per_cny\""));
    assert!(page.body.contains("战略级"), "{}", page.body);
    let before = program_of(conn, shop_id);

    for crafted in [("earn_points_per_cny", "5"), ("expiry_months", "24")] {
        let refused = owner
            .submit(
                PAGE,
                PAGE,
                &[
                    crafted,
                    ("exchange_in", "on"),
                    ("exchange_out", "on"),
                    ("min_exchange_points", "100"),
                    ("max_exchange_points", "100000"),
                ],
            )
            .await;
        assert!([403, 422].contains(&refused.status), "{}", refused.status);
    }
    let after = program_of(conn, shop_id);
    assert_eq!(after.earn_points_per_cny, before.earn_points_per_cny);
    assert_eq!(after.expiry_months, before.expiry_months);
    assert_eq!(after.updated_at, before.updated_at);
    assert!(audited(conn, shop_id).is_empty());

    // What a standard merchant may change, it changes.
    let saved = owner
        .submit(
            PAGE,
            PAGE,
            &[
                ("exchange_out", "on"),
                ("min_exchange_points", "1"),
                ("max_exchange_points", "10000000"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let after = program_of(conn, shop_id);
    assert!(!after.exchange_in && after.exchange_out);
    assert_eq!(
        (after.min_exchange_points, after.max_exchange_points),
        (1, 10_000_000)
    );
    assert_eq!(after.earn_points_per_cny, before.earn_points_per_cny);
}

#[tokio::test]
async fn invalid_exchange_limits_are_refused_with_the_reason_and_nothing_is_stored() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = shop(conn, "BREW", "strategic", "0.01");
    let owner = staff(&app, brew, "owner@brew.test", MerchantRole::Owner).await;
    let before = program_of(conn, brew);

    for (min, max, message) in [
        (
            "0",
            "1000",
            "每笔最少兑换积分须为 1 至 10,000,000 之间的整数",
        ),
        ("500", "100", "每笔最多兑换积分须为整数，不少于最少积分"),
        (
            "100",
            "10000001",
            "每笔最多兑换积分须为整数，不少于最少积分",
        ),
        (
            "abc",
            "1000",
            "每笔最少兑换积分须为 1 至 10,000,000 之间的整数",
        ),
    ] {
        let refused = owner
            .submit(
                PAGE,
                PAGE,
                &[
                    ("earn_points_per_cny", "3"),
                    ("expiry_months", "12"),
                    ("exchange_in", "on"),
                    ("min_exchange_points", min),
                    ("max_exchange_points", max),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{min}–{max}");
        assert!(refused.body.contains(message), "{}", refused.body);
        assert!(refused.body.contains(&format!("value=\"{max}\"")));
    }
    let refused = owner
        .submit(
            PAGE,
            PAGE,
            &[
                ("earn_points_per_cny", "1.23456"),
                ("expiry_months", "121"),
                ("min_exchange_points", "100"),
                ("max_exchange_points", "1000"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("积分比例须为 0 至 100"));
    assert!(refused.body.contains("有效期须为 0 至 120"));

    let after = program_of(conn, brew);
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(after.earn_points_per_cny, before.earn_points_per_cny);
    assert_eq!(after.min_exchange_points, 100);
    assert!(after.exchange_out);
    assert!(audited(conn, brew).is_empty());
}

#[tokio::test]
async fn a_cashier_may_not_see_or_change_the_program_and_a_merchant_without_one_is_told() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let brew = shop(conn, "BREW", "strategic", "0.01");
    let cashier = staff(&app, brew, "cashier@brew.test", MerchantRole::Cashier).await;
    assert_eq!(cashier.get(PAGE).await.status, 403);
    let refused = cashier
        .submit(
            "/merchant",
            PAGE,
            &[
                ("earn_points_per_cny", "9"),
                ("min_exchange_points", "1"),
                ("max_exchange_points", "2"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(program_of(conn, brew).min_exchange_points, 100);
    assert!(audited(conn, brew).is_empty());

    let bare = merchant(conn, "BARE");
    let owner = staff(&app, bare, "owner@bare.test", MerchantRole::Owner).await;
    let page = owner.get(PAGE).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("还没有积分方案"), "{}", page.body);
    assert!(!page.body.contains("action=\"/merchant/program\""));
}
