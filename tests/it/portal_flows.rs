//! Whole flows through the portals: password reset by email, invitations,
//! maker-checker approvals, member sign-up and what is stored about members.

use alliance::{
    approval::{self, NewApproval, Policy, Registry, Scope},
    domain::{actor::Actor, money::Money},
    people::{
        merchant_user::MerchantRole,
        operator::{self, OperatorRole},
    },
};
use diesel::{RunQueryDsl, sql_query, sql_types::Text};

use crate::{harness::spawn_app, people_support::*};

/// The path of the first link in an email under this prefix (the host part
/// depends on the configured public URL).
pub(crate) fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link_once() {
    let app = spawn_app().await;
    let m = merchant(&mut app.db.conn(), "BREW");
    merchant_user(
        &mut app.db.conn(),
        m,
        "owner@brew.test",
        MerchantRole::Owner,
    );
    let browser = app.browser();
    let asked = browser
        .submit(
            "/merchant/password-reset",
            "/merchant/password-reset",
            &[("identifier", "Owner@Brew.test")],
        )
        .await;
    assert_eq!(asked.status, 200);
    let mail = app
        .outbox
        .last_to("owner@brew.test")
        .expect("a reset email");
    assert!(mail.subject.contains("重置密码"), "{}", mail.subject);
    let path = link(&mail.text, "/merchant/password-reset/");

    // Someone already signed in elsewhere is signed out by the reset.
    let elsewhere = app.browser();
    elsewhere
        .sign_in("merchant", "owner@brew.test", PASSWORD)
        .await;
    let new_password = "a-new-secret-2026";
    let set = browser
        .submit(
            &path,
            &path,
            &[
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(
        (set.status, set.location.as_deref()),
        (303, Some("/merchant/sign-in"))
    );
    assert_eq!(
        elsewhere.get("/merchant").await.status,
        303,
        "old sessions end"
    );
    assert_eq!(
        browser
            .sign_in("merchant", "owner@brew.test", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        browser
            .sign_in("merchant", "owner@brew.test", new_password)
            .await
            .status,
        303
    );

    let again = app.browser();
    let reused = again
        .submit(
            &path,
            &path,
            &[
                ("password", "another-one-99"),
                ("password_confirm", "another-one-99"),
            ],
        )
        .await;
    assert_eq!(reused.status, 422);
    assert!(reused.body.contains("此链接无效"));
}

#[tokio::test]
async fn a_reset_request_for_an_unknown_account_looks_the_same_and_sends_nothing() {
    let app = spawn_app().await;
    let page = app
        .browser()
        .submit(
            "/platform/password-reset",
            "/platform/password-reset",
            &[("identifier", "nobody@alliance.test")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("如果该账户存在"));
    assert!(app.outbox.sent().is_empty());
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "ops@alliance.test",
        OperatorRole::Operator,
    );
    app.browser()
        .submit(
            "/platform/password-reset",
            "/platform/password-reset",
            &[("identifier", "ops@alliance.test")],
        )
        .await;
    let path = link(
        &app.outbox.last_to("ops@alliance.test").unwrap().text,
        "/platform/password-reset/",
    );
    sql_query("UPDATE password_resets SET expires_at = now() - interval '1 minute'")
        .execute(&mut app.db.conn())
        .unwrap();
    let page = app.browser().get(&path).await;
    assert!(page.body.contains("此链接无效"), "{}", page.body);
}

#[tokio::test]
async fn an_invited_operator_chooses_a_password_and_signs_in() {
    let app = spawn_app().await;
    operator(
        &mut app.db.conn(),
        "admin@alliance.test",
        OperatorRole::Admin,
    );
    let admin = app.browser();
    admin
        .sign_in("platform", "admin@alliance.test", PASSWORD)
        .await;
    let invited = admin
        .submit(
            "/platform/operators",
            "/platform/operators",
            &[
                ("email", "new@alliance.test"),
                ("display_name", "李娜"),
                ("role", "finance"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303);
    let mail = app
        .outbox
        .last_to("new@alliance.test")
        .expect("an invitation");
    let path = link(&mail.text, "/platform/password-reset/");
    let newcomer = app.browser();
    assert_eq!(
        newcomer
            .sign_in("platform", "new@alliance.test", "anything-12345")
            .await
            .status,
        401,
        "no password before the invitation is used"
    );
    newcomer
        .submit(
            &path,
            &path,
            &[
                ("password", "finance-pass-1"),
                ("password_confirm", "finance-pass-1"),
            ],
        )
        .await;
    assert_eq!(
        newcomer
            .sign_in("platform", "new@alliance.test", "finance-pass-1")
            .await
            .status,
        303
    );
    // The invitation is in the audit log, with who did it.
    let audit = admin.get("/platform/audit?action=operator").await.body;
    assert!(
        audit.contains("operator.create") && audit.contains("admin@alliance.test"),
        "{audit}"
    );
}

#[tokio::test]
async fn making_an_admin_needs_another_admin_and_never_the_maker() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "maker@alliance.test", OperatorRole::Admin);
    operator(conn, "checker@alliance.test", OperatorRole::Admin);
    let target = operator(conn, "ops@alliance.test", OperatorRole::Operator);
    operator(conn, "finance@alliance.test", OperatorRole::Finance);

    let maker = app.browser();
    maker
        .sign_in("platform", "maker@alliance.test", PASSWORD)
        .await;
    maker
        .submit(
            "/platform/operators",
            &format!("/platform/operators/{target}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(
        operator::find(&mut app.db.conn(), target)
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "operator",
        "not yet"
    );
    let list = maker.get("/platform/approvals").await.body;
    let start = list.find("/platform/approvals/").unwrap() + "/platform/approvals/".len();
    let id: i64 = list[start..].split('"').next().unwrap().parse().unwrap();
    let detail = format!("/platform/approvals/{id}");
    let decision = format!("{detail}/decision");

    // The maker may not approve their own request (the form is not even shown).
    assert!(!maker.get(&detail).await.body.contains("name=\"decision\""));
    maker
        .submit(&detail, &decision, &[("decision", "approve")])
        .await;
    assert!(
        maker
            .get(&detail)
            .await
            .body
            .contains("不能审批自己发起的申请")
    );
    // A finance operator's role may not decide it.
    let finance = app.browser();
    finance
        .sign_in("platform", "finance@alliance.test", PASSWORD)
        .await;
    finance
        .submit(&detail, &decision, &[("decision", "approve")])
        .await;
    assert_eq!(
        operator::find(&mut app.db.conn(), target)
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "operator"
    );

    let checker = app.browser();
    checker
        .sign_in("platform", "checker@alliance.test", PASSWORD)
        .await;
    checker
        .submit(&detail, &decision, &[("decision", "approve")])
        .await;
    assert_eq!(
        operator::find(&mut app.db.conn(), target)
            .unwrap()
            .unwrap()
            .role
            .as_str(),
        "admin"
    );
    assert!(
        checker
            .get(&detail)
            .await
            .body
            .contains("id=\"approval-status\">已批准")
    );
}

#[tokio::test]
async fn above_the_threshold_two_different_approvers_are_needed() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let ids: Vec<i64> = ["maker", "a", "b"]
        .iter()
        .map(|n| operator(conn, &format!("{n}@alliance.test"), OperatorRole::Finance))
        .collect();
    let actor = |id: i64| Actor {
        kind: alliance::domain::actor::ActorKind::Operator,
        id: Some(id),
        label: format!("op{id}"),
        role: "finance".to_owned(),
        merchant_id: None,
        ip: None,
    };
    // A real action: it records that it ran, in the same transaction.
    let registry = Registry::default().with("test.deduct", |conn, approval, _| {
        sql_query("INSERT INTO ledger_verifications (started_at, finished_at, clean) VALUES (now(), now(), true)").execute(conn)?;
        Ok(format!("ran {}", approval.id))
    });
    let policy = Policy {
        dual_approval_from: Money::parse("10000.00").unwrap(),
    };
    let request = |amount: &str| NewApproval {
        kind: "test.deduct",
        scope: Scope::Platform,
        payload: serde_json::json!({}),
        summary: "deduction".to_owned(),
        amount: Some(Money::parse(amount).unwrap()),
        approver_roles: &["finance"],
    };
    let small =
        approval::request(conn, &actor(ids[0]), &request("9999.99"), policy, &registry).unwrap();
    assert_eq!(small.required_approvals, 1);
    let large = approval::request(
        conn,
        &actor(ids[0]),
        &request("10000.00"),
        policy,
        &registry,
    )
    .unwrap();
    assert_eq!(large.required_approvals, 2);

    assert!(matches!(
        approval::decide(conn, large.id, &actor(ids[0]), true, None, &registry),
        Err(approval::ApprovalError::OwnRequest)
    ));
    let after_one =
        approval::decide(conn, large.id, &actor(ids[1]), true, None, &registry).unwrap();
    assert_eq!(
        after_one.status.as_str(),
        "pending",
        "one approver is not enough"
    );
    assert!(matches!(
        approval::decide(conn, large.id, &actor(ids[1]), true, None, &registry),
        Err(approval::ApprovalError::AlreadyDecided)
    ));
    let after_two =
        approval::decide(conn, large.id, &actor(ids[2]), true, None, &registry).unwrap();
    assert_eq!(
        (after_two.status.as_str(), after_two.outcome.as_deref()),
        ("approved", Some(format!("ran {}", large.id).as_str()))
    );

    assert!(matches!(
        approval::decide(conn, small.id, &actor(ids[1]), false, Some("  "), &registry),
        Err(approval::ApprovalError::ReasonRequired)
    ));
    let rejected = approval::decide(
        conn,
        small.id,
        &actor(ids[1]),
        false,
        Some("wrong amount"),
        &registry,
    )
    .unwrap();
    assert_eq!(rejected.status.as_str(), "rejected");
    let ran: i64 = sql_query("SELECT count(*) AS n FROM ledger_verifications")
        .get_result::<Count>(conn)
        .unwrap()
        .n;
    assert_eq!(ran, 1, "only the approved request ran");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    dump: String,
}

#[tokio::test]
async fn a_member_signs_up_and_the_database_holds_no_plaintext_mobile_number() {
    let app = spawn_app().await;
    let browser = app.browser();
    let refused = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", "12345")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("请输入有效的 11 位大陆手机号"));
    let code = crate::phone_support::sign_up_code(&app, &browser, "139 1234 5678").await;
    let refused = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up",
            &[
                ("phone", "139 1234 5678"),
                ("code", &code),
                ("display_name", "张三"),
                ("email", ""),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("注册需同意隐私政策"));

    let joined = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up",
            &[
                ("phone", "139 1234 5678"),
                ("code", &code),
                ("display_name", "张三"),
                ("email", "zhang@example.cn"),
                ("password", "member-pass-1"),
                ("password_confirm", "member-pass-1"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(
        (joined.status, joined.location.as_deref()),
        (303, Some("/consumer"))
    );
    let profile = browser.get("/consumer/profile").await.body;
    assert!(
        profile.contains("139****5678") && profile.contains("已同意"),
        "{profile}"
    );
    // Signing in with the number in another spelling finds the same member.
    assert_eq!(
        app.browser()
            .sign_in("consumer", "+86 13912345678", "member-pass-1")
            .await
            .status,
        303
    );
    // A wrong attempt too, so the throttle table has seen the number.
    app.browser()
        .sign_in("consumer", "13912345678", "wrong-pass-1")
        .await;

    // Not in any table, in any column, in any spelling.
    let dump = sql_query(
        "SELECT string_agg(t, ' ') AS dump FROM (
            SELECT row_to_json(m)::text AS t FROM members m
            UNION ALL SELECT row_to_json(a)::text FROM audit_events a
            UNION ALL SELECT row_to_json(s)::text FROM sign_in_attempts s
            UNION ALL SELECT row_to_json(w)::text FROM web_sessions w
            UNION ALL SELECT row_to_json(c)::text FROM privacy_consents c
            UNION ALL SELECT row_to_json(p)::text FROM phone_codes p) rows",
    )
    .get_result::<Dump>(&mut app.db.conn())
    .unwrap()
    .dump;
    assert!(
        dump.contains("139****5678"),
        "the masked number is recorded in the audit log"
    );
    for spelling in ["13912345678", "1391234", "2345678", &code] {
        assert!(!dump.contains(spelling), "found {spelling} in the database");
    }
    // Joining again with the number: the page says what it says for any
    // number; the text to the number says it already has an account.
    crate::phone_support::past_cooldown(&app);
    let again = app.browser();
    let sent = again
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", "13912345678")],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("id=\"code-sent\""), "{}", sent.body);
    let text = app.sms.last_to("13912345678").unwrap();
    assert!(
        text.text.contains("已注册") && text.code().is_none(),
        "{text:?}"
    );
}

#[tokio::test]
async fn a_members_home_values_each_balance_and_the_total_rounded_down() {
    use alliance::{chart, domain::points::ProgramCode, ledger};

    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    for code in ["BREW", "MART"] {
        shop(conn, code, "standard", "0.033333");
    }
    let member_id = member(conn, &app.keys, "13800000009", None);
    for (code, points) in [("BREW", 1_000), ("MART", 333)] {
        let program = ProgramCode::parse(code).unwrap();
        let issuance = chart::open(conn, &chart::program_issuance(&program)).unwrap();
        let wallet = chart::open(conn, &chart::member_wallet(member_id, &program)).unwrap();
        let earn = ledger::EntryRequest::new(format!("earn:{code}"), "earn").transfer(
            ledger::TransferRequest::move_(issuance, wallet, code, points),
        );
        ledger::submit(conn, &[earn])
            .unwrap()
            .pop()
            .unwrap()
            .unwrap();
    }

    let browser = app.browser();
    browser.sign_in("consumer", "13800000009", PASSWORD).await;
    let home = browser.get("/consumer").await.body;
    // 1,000 × 0.033333 = 33.333 → ¥33.33; 333 × 0.033333 = 11.099889 → ¥11.09.
    assert!(
        home.contains("≈ ¥33.33") && home.contains("≈ ¥11.09"),
        "{home}"
    );
    assert!(home.contains("id=\"total-value\">¥44.42<"), "{home}");
}
