//! Every route that takes an id, walked as every kind of visitor who must not use
//! it: nobody, another portal's session, another merchant, a weaker role. Each is
//! refused and the target is unchanged.

use alliance::people::{
    merchant_user::{self, MerchantRole},
    operator::{self, OperatorRole},
};

use crate::{
    harness::{Browser, spawn_app},
    people_support::*,
};

/// A form's fields.
type Form = Vec<(&'static str, &'static str)>;

/// (route, form) — every id-taking POST route.
fn id_routes(operator_id: i64, staff_id: i64, approval_id: i64) -> Vec<(String, Form)> {
    vec![
        (
            format!("/platform/operators/{operator_id}/role"),
            vec![("role", "finance")],
        ),
        (
            format!("/platform/operators/{operator_id}/active"),
            vec![("active", "false")],
        ),
        (
            format!("/platform/approvals/{approval_id}/decision"),
            vec![("decision", "approve")],
        ),
        (
            format!("/merchant/staff/{staff_id}/role"),
            vec![("role", "manager")],
        ),
        (
            format!("/merchant/staff/{staff_id}/active"),
            vec![("active", "false")],
        ),
    ]
}

/// Posts with a valid CSRF token of the browser's own session, if it has one.
async fn attempt(browser: &Browser, route: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
    let token = browser.get("/").await.csrf();
    let mut fields = vec![("csrf_token", token.as_str())];
    fields.extend_from_slice(form);
    let page = browser.post(route, &fields).await;
    (page.status, page.location)
}

#[tokio::test]
async fn id_routes_refuse_everyone_who_may_not_use_them() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "admin@alliance.test", OperatorRole::Admin);
    operator(conn, "admin2@alliance.test", OperatorRole::Admin);
    let target_operator = operator(conn, "finance@alliance.test", OperatorRole::Operator);
    operator(conn, "risk@alliance.test", OperatorRole::Risk);
    let brew = merchant(conn, "BREW");
    let mart = merchant(conn, "MART");
    merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
    merchant_user(conn, brew, "cashier@brew.test", MerchantRole::Cashier);
    merchant_user(conn, mart, "owner@mart.test", MerchantRole::Owner);
    let mart_staff = merchant_user(conn, mart, "staff@mart.test", MerchantRole::Cashier);
    member(conn, &app.keys, "13800000001", None);

    // A pending approval (an admin asked to make the target an admin).
    let admin = app.browser();
    admin
        .sign_in("platform", "admin@alliance.test", PASSWORD)
        .await;
    admin
        .submit(
            "/platform/operators",
            &format!("/platform/operators/{target_operator}/role"),
            &[("role", "admin")],
        )
        .await;
    let approval_id: i64 = {
        let list = admin.get("/platform/approvals").await.body;
        let start = list.find("/platform/approvals/").unwrap() + "/platform/approvals/".len();
        list[start..].split('"').next().unwrap().parse().unwrap()
    };

    let visitors: Vec<(&str, Option<(&str, &str)>)> = vec![
        ("nobody", None),
        ("member", Some(("consumer", "13800000001"))),
        ("risk operator", Some(("platform", "risk@alliance.test"))),
        (
            "other merchant's owner",
            Some(("merchant", "owner@brew.test")),
        ),
        ("cashier", Some(("merchant", "cashier@brew.test"))),
    ];
    for (who, sign_in) in visitors {
        let browser = app.browser();
        if let Some((portal, identifier)) = sign_in {
            assert_eq!(
                browser.sign_in(portal, identifier, PASSWORD).await.status,
                303,
                "{who} signs in"
            );
        }
        for (route, form) in id_routes(target_operator, mart_staff, approval_id) {
            let (status, location) = attempt(&browser, &route, &form).await;
            let on_own_portal =
                sign_in.is_some_and(|(portal, _)| route.starts_with(&format!("/{portal}/")));
            if on_own_portal {
                // 403 for a role, 404 for another merchant's id; a decision the
                // role may not take goes back to the request with the reason.
                let refused_decision = status == 303
                    && location.as_deref() == Some(&route[..route.len() - "/decision".len()]);
                assert!(
                    status == 403 || status == 404 || refused_decision,
                    "{who} → {route}: {status} {location:?}"
                );
            } else {
                let portal = route.split('/').nth(1).unwrap();
                let to_sign_in = location
                    .as_deref()
                    .is_some_and(|l| l.starts_with(&format!("/{portal}/sign-in")));
                assert_eq!((status, to_sign_in), (303, true), "{who} → {route}");
            }
            if on_own_portal && route.starts_with("/merchant/") && who == "other merchant's owner" {
                assert_eq!(status, 404, "another merchant's staff is not found");
            }
        }
    }

    // Nothing changed.
    let conn = &mut app.db.conn();
    let target = operator::find(conn, target_operator).unwrap().unwrap();
    assert_eq!((target.role.as_str(), target.active), ("operator", true));
    let staff = merchant_user::find(conn, mart_staff).unwrap().unwrap();
    assert_eq!((staff.role.as_str(), staff.active), ("cashier", true));
    let (approval, decisions) =
        alliance::approval::get(conn, alliance::approval::Scope::Platform, approval_id)
            .unwrap()
            .unwrap();
    assert_eq!((approval.status.as_str(), decisions.len()), ("pending", 0));
}

#[tokio::test]
async fn id_pages_of_another_portal_or_scope_are_not_shown() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    let brew = merchant(conn, "BREW");
    merchant_user(conn, brew, "owner@brew.test", MerchantRole::Owner);
    let ops = app.browser();
    ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    assert_eq!(ops.get("/platform/approvals/999999").await.status, 404);
    assert_eq!(
        ops.get("/platform/operators").await.status,
        403,
        "operators are for admins"
    );
    assert_eq!(
        ops.get("/platform/audit").await.status,
        403,
        "the audit log is for admins and risk"
    );
    assert_eq!(
        ops.get("/merchant").await.status,
        303,
        "a platform session is not a merchant session"
    );
    assert_eq!(ops.get("/consumer").await.status, 303);
    let owner = app.browser();
    owner.sign_in("merchant", "owner@brew.test", PASSWORD).await;
    assert_eq!(owner.get("/platform/approvals/1").await.status, 303);
    assert_eq!(owner.get("/merchant/staff").await.status, 200);
}
