//! Merchant onboarding end to end, against a real server: the public application
//! form, the review with its thread and emails, and approval by two operators up
//! to the new owner's first sign-in.

use alliance::{
    crypto::Keys,
    ledger, merchant,
    onboarding::{self, BankAccountNumber, Filter},
    people::operator::OperatorRole,
    program,
};
use std::time::Duration;

use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
use thirtyfour::prelude::*;

use crate::{
    browser::{Browser as Chromium, screenshot_path, sign_in},
    harness::{Browser, Page, TestApp, spawn_app},
    people_support::{PASSWORD, operator},
    portal_flows::link,
};

/// Valid codes (their check characters match), one per company in these tests.
const WUTONG_CODE: &str = "91330100716105852F";
const JINGAN_CODE: &str = "9144030071526726XG";
/// `WUTONG_CODE` with two digits swapped: the check character catches it.
const MISTYPED_CODE: &str = "91330100716105825F";

const APPLICANT: &str = "li.wen@wutong.test";

/// The form as a browser sends it: every one of the five store rows, two filled.
fn application_form<'a>(
    company: &'a str,
    code: &'a str,
    email: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("company_name", company),
        ("credit_code", code),
        ("contact_name", "李雯"),
        ("contact_phone", "139 1234 5678"),
        ("contact_email", email),
        ("category", "petrol"),
        ("requested_tier", "standard"),
        ("bank_account_name", company),
        ("bank_name", "招商银行上海分行"),
        ("bank_account_number", "6222 0212 3456 7890"),
    ];
    let stores = [
        (
            "徐汇店",
            "上海市徐汇区漕溪北路 1 号",
            "31.188012",
            "121.436500",
        ),
        (
            "静安店",
            "上海市静安区南京西路 1601 号",
            "31.224361",
            "121.446810",
        ),
        ("", "", "", ""),
        ("", "", "", ""),
        ("", "", "", ""),
    ];
    for (name, address, latitude, longitude) in stores {
        fields.extend([
            ("store_name", name),
            ("store_address", address),
            ("store_latitude", latitude),
            ("store_longitude", longitude),
        ]);
    }
    fields
}

async fn apply(browser: &Browser, company: &str, code: &str, email: &str) -> Page {
    browser
        .submit("/apply", "/apply", &application_form(company, code, email))
        .await
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    sql_query(query).get_result::<Count>(conn).unwrap().n
}

/// The status link in the newest email to `address`.
fn status_link(app: &TestApp, address: &str) -> String {
    let mail = app.outbox.last_to(address).expect("an email");
    link(&mail.text, "/apply/status/")
}

fn only_application(app: &TestApp) -> i64 {
    let all = onboarding::list(&mut app.db.conn(), &Filter::default()).unwrap();
    assert_eq!(all.len(), 1);
    all[0].id
}

async fn signed_in_operator(app: &TestApp, email: &str, role: OperatorRole) -> Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    let signed = browser.sign_in("platform", email, PASSWORD).await;
    assert_eq!(signed.status, 303, "{email} signs in");
    browser
}

#[tokio::test]
async fn a_mistyped_credit_code_is_refused_with_the_reason_and_nothing_is_stored() {
    let app = spawn_app().await;
    let applicant = app.browser();
    assert!(
        applicant.get("/").await.body.contains(r#"href="/apply""#),
        "the home page invites merchants to apply"
    );

    let refused = apply(
        &applicant,
        "梧桐加油站连锁有限公司",
        MISTYPED_CODE,
        APPLICANT,
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("统一社会信用代码校验位不符"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("上海市静安区南京西路 1601 号"),
        "the form keeps what was typed"
    );
    let conn = &mut app.db.conn();
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM merchant_applications"),
        0
    );
    assert!(app.outbox.sent().is_empty());

    // The reason is translated.
    applicant
        .submit("/", "/lang", &[("lang", "en"), ("next", "/apply")])
        .await;
    let refused = apply(&applicant, "Wutong Petrol", MISTYPED_CODE, APPLICANT).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("check character does not match"),
        "{}",
        refused.body
    );

    // Sent once, a company's code cannot be sent again while it is reviewed.
    assert_eq!(
        apply(&applicant, "Wutong Petrol", WUTONG_CODE, APPLICANT)
            .await
            .status,
        303
    );
    let again = apply(
        &applicant,
        "Wutong Petrol",
        WUTONG_CODE,
        "other@wutong.test",
    )
    .await;
    assert_eq!(again.status, 422);
    assert!(
        again
            .body
            .contains("already has an application under review")
    );
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM merchant_applications"),
        1
    );
}

/// An application, picked up by an operator: the applicant's browser, the
/// operator's, and the application's page.
async fn under_review(app: &TestApp) -> (Browser, Browser, String) {
    let applicant = app.browser();
    apply(&applicant, "梧桐加油站连锁有限公司", WUTONG_CODE, APPLICANT).await;
    let ops = signed_in_operator(app, "ops@alliance.test", OperatorRole::Operator).await;
    let detail = format!("/platform/applications/{}", only_application(app));
    let started = ops.submit(&detail, &format!("{detail}/review"), &[]).await;
    assert_eq!(started.status, 303);
    (applicant, ops, detail)
}

fn last_subject(app: &TestApp) -> String {
    app.outbox.last_to(APPLICANT).expect("an email").subject
}

#[tokio::test]
async fn an_application_is_received_and_picked_up_with_an_email_each_time() {
    let app = spawn_app().await;
    let applicant = app.browser();
    let sent = apply(&applicant, "梧桐加油站连锁有限公司", WUTONG_CODE, APPLICANT).await;
    let first_link = status_link(&app, APPLICANT);
    assert_eq!(sent.location.as_deref(), Some(first_link.as_str()));
    assert_eq!(last_subject(&app), "已收到梧桐加油站连锁有限公司的入驻申请");
    let status = applicant.get(&first_link).await.body;
    assert!(
        status.contains("id=\"application-status\">已提交"),
        "{status}"
    );
    assert!(status.contains("申请已提交"), "the flash confirms it");

    let ops = signed_in_operator(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let detail = format!("/platform/applications/{}", only_application(&app));
    let queue = ops.get("/platform/applications").await.body;
    assert!(queue.contains(&detail) && queue.contains("梧桐加油站连锁有限公司"));
    let page = ops.get(&detail).await.body;
    assert!(
        page.contains("****7890") && !page.contains("34567890"),
        "the account is masked"
    );

    ops.submit(&detail, &format!("{detail}/review"), &[]).await;
    assert_eq!(
        last_subject(&app),
        "梧桐加油站连锁有限公司的入驻申请正在审核"
    );
    // Every email carries a fresh link; the one before stops working.
    let gone = applicant.get(&first_link).await;
    assert_eq!(gone.status, 404);
    assert!(gone.body.contains("此链接已失效"));
    let status = applicant.get(&status_link(&app, APPLICANT)).await.body;
    assert!(status.contains(">审核中<"), "{status}");
    // Picked up once only.
    let again = ops.submit(&detail, &format!("{detail}/review"), &[]).await;
    assert_eq!(again.status, 303);
    assert!(
        ops.get(&detail)
            .await
            .body
            .contains("申请的当前状态不允许此操作")
    );
    assert_eq!(app.outbox.sent().len(), 2);
}

#[tokio::test]
async fn a_question_is_answered_in_the_thread_and_the_review_goes_on() {
    let app = spawn_app().await;
    let (applicant, ops, detail) = under_review(&app).await;
    let ask = format!("{detail}/more-info");
    let blank = ops.submit(&detail, &ask, &[("question", "  ")]).await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("请填写内容"));

    let question = "请补充加油站的危险化学品经营许可证。";
    ops.submit(&detail, &ask, &[("question", question)]).await;
    let asked = app.outbox.last_to(APPLICANT).unwrap();
    assert!(asked.subject.contains("需要补充信息"));
    assert!(asked.text.contains(question) && asked.html.contains(question));

    let link = status_link(&app, APPLICANT);
    let page = applicant.get(&link).await.body;
    assert!(
        page.contains(question) && page.contains("积分联盟审核团队"),
        "{page}"
    );
    assert!(
        !page.contains("ops@alliance.test"),
        "operators stay anonymous to applicants"
    );
    let reply = format!("{link}/reply");
    let empty = applicant.submit(&link, &reply, &[("message", "")]).await;
    assert_eq!(empty.status, 422);
    let answer = "许可证编号 沪危化经字〔2026〕000123。\n扫描件已发送至审核邮箱。";
    let replied = applicant
        .submit(&link, &reply, &[("message", answer)])
        .await;
    assert_eq!(replied.status, 303);
    let page = applicant.get(&link).await.body;
    assert!(
        page.contains(">审核中<") && page.contains("扫描件已发送至审核邮箱"),
        "{page}"
    );
    assert!(
        !page.contains("name=\"message\""),
        "answered, the form goes"
    );
    let operator_view = ops.get(&detail).await.body;
    assert!(operator_view.contains("<p>许可证编号 沪危化经字〔2026〕000123。</p>"));
    assert!(
        operator_view.contains("ops@alliance.test"),
        "operators see who asked"
    );
}

#[tokio::test]
async fn a_rejection_tells_the_applicant_why_and_they_may_apply_again() {
    let app = spawn_app().await;
    let (applicant, ops, detail) = under_review(&app).await;
    let reject = format!("{detail}/reject");
    let no_reason = ops.submit(&detail, &reject, &[("reason", "")]).await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains("请填写内容"));

    let reason = "经营范围暂不在联盟当前招募的行业内。";
    ops.submit(&detail, &reject, &[("reason", reason)]).await;
    let rejected = app.outbox.last_to(APPLICANT).unwrap();
    assert!(rejected.subject.contains("未通过"));
    assert!(rejected.text.contains(reason) && rejected.html.contains(reason));
    let page = applicant.get(&status_link(&app, APPLICANT)).await.body;
    assert!(page.contains(">未通过<") && page.contains(reason), "{page}");

    // Received, under review, rejected; each change is in the audit log.
    assert_eq!(app.outbox.sent().len(), 3);
    let audited = count(
        &mut app.db.conn(),
        "SELECT count(*) AS n FROM audit_events WHERE target_kind = 'merchant_application'",
    );
    assert_eq!(audited, 3);
    let again = apply(&applicant, "梧桐加油站连锁有限公司", WUTONG_CODE, APPLICANT).await;
    assert_eq!(again.status, 303);
}

#[tokio::test]
async fn the_review_queue_filters_by_status_tier_category_and_text() {
    let app = spawn_app().await;
    let applicant = app.browser();
    apply(&applicant, "梧桐加油站连锁有限公司", WUTONG_CODE, APPLICANT).await;
    let mut bookstore = application_form("静安书局有限公司", JINGAN_CODE, "shop@jingan.test");
    for field in &mut bookstore {
        match field.0 {
            "category" => field.1 = "bookstore",
            "requested_tier" => field.1 = "strategic",
            _ => {}
        }
    }
    assert_eq!(
        applicant
            .submit("/apply", "/apply", &bookstore)
            .await
            .status,
        303
    );

    let ops = signed_in_operator(&app, "ops@alliance.test", OperatorRole::Admin).await;
    let both = ops.get("/platform/applications").await.body;
    assert!(both.contains("梧桐加油站") && both.contains("静安书局"));
    for (query, wutong, jingan) in [
        ("?tier=strategic", false, true),
        ("?category=petrol", true, false),
        ("?q=%E4%B9%A6%E5%B1%80", false, true), // 书局
        ("?q=716105852f", true, false),         // part of the code, any case
        ("?status=under_review", false, false),
        (
            "?status=submitted&tier=standard&category=petrol",
            true,
            false,
        ),
        ("?status=nonsense", true, true),
    ] {
        let page = ops
            .get(&format!("/platform/applications{query}"))
            .await
            .body;
        assert_eq!(
            (page.contains("梧桐加油站"), page.contains("静安书局")),
            (wutong, jingan),
            "{query}"
        );
    }
    // Finance and risk operators do not review merchants.
    let finance = signed_in_operator(&app, "finance@alliance.test", OperatorRole::Finance).await;
    assert_eq!(finance.get("/platform/applications").await.status, 403);
    assert!(
        !finance
            .get("/platform")
            .await
            .body
            .contains("/platform/applications")
    );
}

/// The program terms as the maker's form sends them (the switches ticked).
fn terms(code: &'static str, settlement_value: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("code", code),
        ("name_zh", "梧桐积分"),
        ("name_en", "Wutong Points"),
        ("settlement_value", settlement_value),
        ("earn_points_per_cny", "1"),
        ("expiry_months", "24"),
        ("exchange_in", "true"),
        ("exchange_out", "true"),
        ("min_exchange_points", "100"),
        ("max_exchange_points", "100000"),
    ]
}

/// Files the terms from the application's page; returns the approval's page.
async fn file_terms(maker: &Browser, detail: &str, fields: &[(&str, &str)]) -> String {
    let form = format!("{detail}/approve");
    let filed = maker.submit(&form, &form, fields).await;
    assert_eq!(filed.status, 303, "{}", filed.body);
    let page = maker.get(detail).await.body;
    let start = page
        .find("/platform/approvals/")
        .expect("a link to the approval");
    page[start..].split('"').next().unwrap().to_owned()
}

/// A second operator's approval.
async fn approve(checker: &Browser, approval: &str) {
    let decided = checker
        .submit(
            approval,
            &format!("{approval}/decision"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(decided.status, 303);
    let page = checker.get(approval).await.body;
    assert!(page.contains("id=\"approval-status\">已批准"), "{page}");
}

#[tokio::test]
async fn program_terms_are_checked_and_wait_for_a_second_operator() {
    let app = spawn_app().await;
    let applicant = app.browser();
    apply(&applicant, "梧桐加油站连锁有限公司", WUTONG_CODE, APPLICANT).await;
    let maker = signed_in_operator(&app, "maker@alliance.test", OperatorRole::Operator).await;
    let detail = format!("/platform/applications/{}", only_application(&app));
    let form = format!("{detail}/approve");
    assert!(
        !maker.get(&detail).await.body.contains(&form),
        "review comes first"
    );
    maker
        .submit(&detail, &format!("{detail}/review"), &[])
        .await;

    let taken = maker.submit(&form, &form, &terms("ALP", "0.01")).await;
    assert_eq!(taken.status, 422);
    assert!(
        taken.body.contains("该积分项目代码已被使用"),
        "ALP is the house's"
    );
    let zero = maker.submit(&form, &form, &terms("WUTONG", "0")).await;
    assert_eq!(zero.status, 422);
    assert!(zero.body.contains("结算价值应为大于 0 的数字"));

    let approval = file_terms(&maker, &detail, &terms("WUTONG", "0.01")).await;
    let page = maker.get(&detail).await.body;
    assert!(
        !page.contains("id=\"reject\"") && !page.contains(&form),
        "the application waits"
    );
    let refused = maker
        .submit(&detail, &format!("{detail}/reject"), &[("reason", "算了")])
        .await;
    assert_eq!(refused.status, 303);
    assert!(
        maker
            .get(&detail)
            .await
            .body
            .contains("此申请的审批正在等待决定")
    );
    // The maker may not approve their own request.
    maker
        .submit(
            &approval,
            &format!("{approval}/decision"),
            &[("decision", "approve")],
        )
        .await;
    let conn = &mut app.db.conn();
    assert!(
        merchant_wutong(conn).is_none(),
        "nothing opens before approval"
    );
    assert_eq!(
        last_subject(&app),
        "梧桐加油站连锁有限公司的入驻申请正在审核"
    );
    let summary = maker.get("/platform/approvals").await.body;
    assert!(summary.contains("商户入驻") && summary.contains("梧桐加油站连锁有限公司 · WUTONG"));
}

#[tokio::test]
async fn an_approved_application_becomes_a_merchant_whose_owner_signs_in() {
    let app = spawn_app().await;
    let (applicant, maker, detail) = under_review(&app).await;
    let approval = file_terms(&maker, &detail, &terms("WUTONG", "0.01")).await;
    let checker = signed_in_operator(&app, "checker@alliance.test", OperatorRole::Admin).await;
    approve(&checker, &approval).await;

    let conn = &mut app.db.conn();
    let merchant = assert_merchant_opened(conn, &app.keys);
    let application = onboarding::find(conn, only_application(&app))
        .unwrap()
        .unwrap();
    assert_eq!(
        (application.status.as_str(), application.merchant_id),
        ("approved", Some(merchant.id))
    );
    assert!(ledger::verify(conn).unwrap().is_clean());

    // The applicant hears of it, and the owner is invited.
    let mails = app.outbox.sent();
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "已收到梧桐加油站连锁有限公司的入驻申请",
            "梧桐加油站连锁有限公司的入驻申请正在审核",
            "梧桐加油站连锁有限公司的入驻申请已通过",
            "您已受邀加入积分联盟商户后台",
        ]
    );
    assert!(mails.iter().all(|m| m.to == APPLICANT));
    let status = applicant
        .get(&link(&mails[2].text, "/apply/status/"))
        .await
        .body;
    assert!(status.contains(">已通过<"), "{status}");

    let owner = app.browser();
    let set_password = link(&mails[3].text, "/merchant/password-reset/");
    let password = "wutong-owner-2026";
    let chosen = owner
        .submit(
            &set_password,
            &set_password,
            &[("password", password), ("password_confirm", password)],
        )
        .await;
    assert_eq!(chosen.location.as_deref(), Some("/merchant/sign-in"));
    let signed = owner.sign_in("merchant", APPLICANT, password).await;
    assert_eq!(signed.location.as_deref(), Some("/merchant"));
    let home = owner.get("/merchant").await.body;
    assert!(
        home.contains("梧桐加油站连锁有限公司") && home.contains("WUTONG"),
        "{home}"
    );
    let page = checker.get(&detail).await.body;
    assert!(page.contains("id=\"merchant-code\">WUTONG"));
    assert!(
        !page.contains("invite-owner"),
        "the owner is in: no invitation to resend"
    );
}

fn merchant_wutong(conn: &mut PgConnection) -> Option<merchant::Merchant> {
    merchant::list_active(conn)
        .unwrap()
        .into_iter()
        .find(|m| m.code == "WUTONG")
}

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    sealed: Vec<u8>,
}

/// One transaction made the merchant, its stores, its program with its ledger
/// asset and accounts, and copied the bank account still sealed.
fn assert_merchant_opened(conn: &mut PgConnection, keys: &Keys) -> merchant::Merchant {
    let merchant = merchant_wutong(conn).expect("the merchant");
    assert_eq!(
        (merchant.name_zh.as_str(), merchant.name_en.as_str()),
        ("梧桐加油站连锁有限公司", "Wutong Points")
    );
    assert_eq!(
        (merchant.category.as_str(), merchant.tier.as_str()),
        ("petrol", "standard")
    );
    let program = program::by_code(conn, "WUTONG")
        .unwrap()
        .expect("the program");
    assert_eq!(program.merchant_id, merchant.id);
    assert_eq!(program.settlement_value.to_string(), "0.010000");
    let id = merchant.id;
    let stores = format!("SELECT count(*) AS n FROM stores WHERE merchant_id = {id}");
    assert_eq!(count(conn, &stores), 2);
    let accounts = format!(
        "SELECT count(*) AS n FROM accounts WHERE code IN ('program:WUTONG:issuance', \
         'program:WUTONG:breakage', 'merchant:{id}:deposit', 'merchant:{id}:settlement')"
    );
    assert_eq!(count(conn, &accounts), 4);
    let owners = format!(
        "SELECT count(*) AS n FROM merchant_users WHERE merchant_id = {id} AND role = 'owner'"
    );
    assert_eq!(count(conn, &owners), 1);

    let Sealed { sealed } = sql_query(format!(
        "SELECT bank_account_ciphertext AS sealed FROM merchants WHERE id = {id}"
    ))
    .get_result(conn)
    .unwrap();
    assert_eq!(
        BankAccountNumber::open(keys, &sealed).unwrap(),
        BankAccountNumber::parse("6222021234567890").unwrap()
    );
    merchant
}

#[tokio::test]
async fn a_lost_invitation_is_sent_again_until_the_owner_signs_in() {
    let app = spawn_app().await;
    let (_, maker, detail) = under_review(&app).await;
    let mut unticked = terms("wutong", "0.02");
    unticked.retain(|(name, _)| !name.starts_with("exchange_"));
    let approval = file_terms(&maker, &detail, &unticked).await;
    let checker = signed_in_operator(&app, "checker@alliance.test", OperatorRole::Operator).await;
    approve(&checker, &approval).await;
    let program = program::by_code(&mut app.db.conn(), "WUTONG")
        .unwrap()
        .unwrap();
    assert!(
        !program.exchange_in && !program.exchange_out,
        "unticked switches are off"
    );

    let sent_before = app.outbox.sent().len();
    assert!(checker.get(&detail).await.body.contains("invite-owner"));
    let resent = checker
        .submit(&detail, &format!("{detail}/invitation"), &[])
        .await;
    assert_eq!(resent.status, 303);
    assert_eq!(app.outbox.sent().len(), sent_before + 1);
    let invitation = app.outbox.last_to(APPLICANT).unwrap();
    assert!(
        invitation.text.contains("/merchant/password-reset/"),
        "{}",
        invitation.text
    );
}

/// The whole path in a real Chromium: a company applies from the home page,
/// one operator reviews it and proposes the program, another approves it, and
/// the owner chooses a password from the invitation and signs in.
#[tokio::test(flavor = "multi_thread")]
async fn a_company_applies_is_approved_and_its_owner_signs_in_in_a_real_browser() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    operator(conn, "maker@alliance.test", OperatorRole::Operator);
    operator(conn, "checker@alliance.test", OperatorRole::Admin);
    let chromium = Chromium::launch().await;
    let driver = chromium.driver();

    driver.goto(app.url("/")).await.unwrap();
    click(driver, "a[href='/apply']").await;
    wait_for(driver, "the application form", |url| {
        url.ends_with("/apply")
    })
    .await;
    let fields = [
        ("company_name", "梧桐加油站连锁有限公司"),
        ("credit_code", WUTONG_CODE),
        ("contact_name", "李雯"),
        ("contact_phone", "13912345678"),
        ("contact_email", APPLICANT),
        ("store_name_0", "徐汇店"),
        ("store_address_0", "上海市徐汇区漕溪北路 1 号"),
        ("store_latitude_0", "31.188012"),
        ("store_longitude_0", "121.4365"),
        ("bank_account_name", "梧桐加油站连锁有限公司"),
        ("bank_name", "招商银行上海分行"),
        ("bank_account_number", "6222 0212 3456 7890"),
    ];
    for (id, value) in fields {
        fill(driver, id, value).await;
    }
    click(driver, "#category option[value='petrol']").await;
    click(driver, "form[action='/apply'] button[type=submit]").await;
    wait_for(driver, "the status page", |url| {
        url.contains("/apply/status/")
    })
    .await;
    assert_eq!(text(driver, "application-status").await, "已提交");
    screenshot(driver, "apply-submitted").await;

    // The maker picks it up and proposes the program.
    driver.delete_all_cookies().await.unwrap();
    sign_in(&app, driver, "platform", "maker@alliance.test").await;
    driver
        .goto(app.url("/platform/applications"))
        .await
        .unwrap();
    click(
        driver,
        "#applications td a[href^='/platform/applications/']",
    )
    .await;
    click(driver, "#start-review").await;
    wait_for_text(driver, "application-status", "审核中").await;
    click(driver, "#approve").await;
    wait_for(driver, "the terms form", |url| url.ends_with("/approve")).await;
    for (id, value) in [
        ("code", "WUTONG"),
        ("name_zh", "梧桐积分"),
        ("name_en", "Wutong Points"),
    ] {
        fill(driver, id, value).await;
    }
    click(driver, "form[action$='/approve'] button[type=submit]").await;
    wait_for_text(driver, "approval", "待审批").await;
    screenshot(driver, "apply-approval-filed").await;

    // Another operator approves it in the approvals queue.
    driver.delete_all_cookies().await.unwrap();
    sign_in(&app, driver, "platform", "checker@alliance.test").await;
    driver.goto(app.url("/platform/approvals")).await.unwrap();
    click(driver, "#approvals a[href^='/platform/approvals/']").await;
    click(driver, "button[name=decision][value=approve]").await;
    wait_for_text(driver, "approval-status", "已批准").await;

    // The owner follows the invitation, chooses a password and signs in.
    driver.delete_all_cookies().await.unwrap();
    let invitation = app
        .outbox
        .sent()
        .into_iter()
        .find(|m| m.to == APPLICANT && m.subject.contains("商户后台"))
        .expect("the owner's invitation");
    let set_password = link(&invitation.text, "/merchant/password-reset/");
    driver.goto(app.url(&set_password)).await.unwrap();
    fill(driver, "password", PASSWORD).await;
    fill(driver, "password_confirm", PASSWORD).await;
    click(driver, "form.form button[type=submit]").await;
    wait_for(driver, "the sign-in page", |url| {
        url.ends_with("/merchant/sign-in")
    })
    .await;
    sign_in(&app, driver, "merchant", APPLICANT).await;
    assert_eq!(
        text(driver, "merchant-name").await,
        "梧桐加油站连锁有限公司"
    );
    screenshot(driver, "apply-owner-first-sign-in").await;
    chromium.quit().await;
}

async fn fill(driver: &WebDriver, id: &str, value: &str) {
    let input = driver.find(By::Id(id)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn click(driver: &WebDriver, css: &str) {
    driver
        .find(By::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text(driver: &WebDriver, id: &str) -> String {
    driver.find(By::Id(id)).await.unwrap().text().await.unwrap()
}

async fn screenshot(driver: &WebDriver, name: &str) {
    driver.screenshot(&screenshot_path(name)).await.unwrap();
}

/// Waits (up to 5 s) for the browser to reach a page.
async fn wait_for(driver: &WebDriver, what: &str, arrived: impl Fn(&str) -> bool) {
    for _ in 0..50 {
        if arrived(driver.current_url().await.unwrap().as_str()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not at {what}:\n{}", driver.source().await.unwrap());
}

/// Waits (up to 5 s) for an element to say something, after a form posts.
async fn wait_for_text(driver: &WebDriver, id: &str, expected: &str) {
    for _ in 0..50 {
        if let Ok(element) = driver.find(By::Id(id)).await
            && element.text().await.is_ok_and(|t| t.contains(expected))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "#{id} never said {expected}:\n{}",
        driver.source().await.unwrap()
    );
}

/// Rows of `merchant_applications` or `merchants` with a contact in plaintext,
/// or any row, audit entry included, that spells the applicant's contact.
fn plaintext_contacts(conn: &mut PgConnection) -> i64 {
    count(
        conn,
        "SELECT (SELECT count(*) FROM merchant_applications \
                 WHERE contact_phone IS NOT NULL OR contact_email IS NOT NULL) \
              + (SELECT count(*) FROM merchants WHERE contact_phone IS NOT NULL) \
              + (SELECT count(*) FROM merchant_applications a \
                 WHERE row_to_json(a)::text LIKE '%li.wen%' \
                    OR row_to_json(a)::text LIKE '%13912345678%') \
              + (SELECT count(*) FROM audit_events e \
                 WHERE row_to_json(e)::text LIKE '%li.wen%' \
                    OR row_to_json(e)::text LIKE '%13912345678%') AS n",
    )
}

#[tokio::test]
async fn an_applicants_contact_is_stored_only_encrypted_and_the_reviewer_still_reads_it() {
    let app = spawn_app().await;
    apply(
        &app.browser(),
        "梧桐加油站连锁有限公司",
        WUTONG_CODE,
        APPLICANT,
    )
    .await;
    assert!(
        app.outbox.last_to(APPLICANT).is_some(),
        "the applicant hears"
    );
    assert_eq!(plaintext_contacts(&mut app.db.conn()), 0);

    let ops = signed_in_operator(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let detail = format!("/platform/applications/{}", only_application(&app));
    let page = ops.get(&detail).await.body;
    assert!(
        page.contains(APPLICANT) && page.contains("13912345678"),
        "{page}"
    );
    let queue = ops.get("/platform/applications").await.body;
    assert!(queue.contains(APPLICANT), "{queue}");
}

#[tokio::test]
async fn contacts_written_before_encryption_are_sealed_when_a_server_starts() {
    let app = spawn_app().await;
    apply(
        &app.browser(),
        "梧桐加油站连锁有限公司",
        WUTONG_CODE,
        APPLICANT,
    )
    .await;
    let merchant_id = crate::people_support::merchant(&mut app.db.conn(), "OLDCO");
    // As a server before encryption wrote them.
    sql_query(format!(
        "UPDATE merchant_applications SET contact_phone = '13912345678', \
         contact_email = '{APPLICANT}', contact_phone_ciphertext = NULL, \
         contact_email_ciphertext = NULL"
    ))
    .execute(&mut app.db.conn())
    .unwrap();
    sql_query(format!(
        "UPDATE merchants SET contact_phone = '13912345678' WHERE id = {merchant_id}"
    ))
    .execute(&mut app.db.conn())
    .unwrap();
    assert!(plaintext_contacts(&mut app.db.conn()) > 0);

    // A server starting on this database seals them among its start-up chores.
    let url = app.db.url().to_owned();
    let restarted = crate::harness::spawn_app_with(|config| config.database_url = url.into()).await;
    let mut left = i64::MAX;
    for _ in 0..100 {
        left = plaintext_contacts(&mut app.db.conn());
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "every contact is sealed");

    let conn = &mut app.db.conn();
    let contact = merchant::standing::contact(conn, merchant_id)
        .unwrap()
        .unwrap();
    assert_eq!(contact.phone(&app.keys).as_deref(), Some("13912345678"));
    // The restarted server works on `app`'s database.
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    let ops = restarted.browser();
    let signed = ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    assert_eq!(signed.status, 303);
    let page = ops
        .get(&format!(
            "/platform/applications/{}",
            only_application(&app)
        ))
        .await
        .body;
    assert!(
        page.contains(APPLICANT) && page.contains("13912345678"),
        "{page}"
    );
}
