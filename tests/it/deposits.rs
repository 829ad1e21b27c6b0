//! Settlement deposits: the required amount, top-ups booked exactly once,
//! deductions through maker-checker, the hard minimum for issuing, shortfall
//! alerts and emails, and the refund on exit — through the services, and
//! through the portals where a page is involved.

use alliance::{
    approval::{self, ApprovalError, Policy},
    audit::{self, AuditFilter},
    chart::{self, HouseAccount},
    db,
    deposit::{self, DepositError, IssuingBlocked, NewTopup, Position, Topup},
    domain::{
        actor::{Actor, ActorKind},
        id::{MemberId, MerchantId},
        money::Money,
        points::ProgramCode,
    },
    email::Mailer,
    error::Classify,
    exit,
    i18n::Locale,
    ledger::{self, AccountSpec, EntryRequest, TransferRequest},
    merchant::{self, standing, tier::Tier},
    people::{merchant_user::MerchantRole, operator::OperatorRole},
    risk,
};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};

use crate::{
    harness::{TestDb, spawn_app},
    ledger_support::{assert_verified, submit_one},
    people_support::{PASSWORD, merchant_user, operator, shop},
};

/// CNY per point: six decimals, so that valuing points needs rounding.
const SETTLEMENT_VALUE: &str = "0.033333";
const PUBLIC_URL: &str = "http://alliance.test";

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn system() -> Actor {
    Actor::system("test")
}

/// Members earn `points` of the program: its issuance account is debited.
fn issue(conn: &mut PgConnection, code: &str, points: i64) {
    let code = ProgramCode::parse(code).unwrap();
    let issuance = chart::open(conn, &chart::program_issuance(&code)).unwrap();
    let wallet = chart::open(conn, &chart::member_wallet(MemberId(1), &code)).unwrap();
    let entry = EntryRequest::new(format!("test:earn:{}", rand::random::<u64>()), "earn").transfer(
        TransferRequest::move_(issuance, wallet, code.as_str(), points),
    );
    submit_one(conn, entry).unwrap();
}

/// A person as the services see them.
fn staff(conn: &mut PgConnection, email: &str, role: OperatorRole) -> Actor {
    Actor {
        kind: ActorKind::Operator,
        id: Some(operator(conn, email, role)),
        label: email.to_owned(),
        role: role.as_str().to_owned(),
        merchant_id: None,
        ip: None,
    }
}

/// A top-up reported by the merchant and confirmed by finance.
fn pay_in(
    conn: &mut PgConnection,
    finance: &Actor,
    merchant_id: MerchantId,
    amount: &str,
) -> Topup {
    let notice = deposit::submit_topup(
        conn,
        &system(),
        merchant_id,
        &NewTopup {
            amount: money(amount),
            bank_reference: format!("CMB-{}", rand::random::<u32>()),
        },
    )
    .unwrap();
    deposit::confirm_topup(conn, finance, notice.id)
        .unwrap()
        .topup
}

fn position(conn: &mut PgConnection, merchant_id: MerchantId) -> Position {
    let merchant = merchant::find(conn, merchant_id).unwrap().unwrap();
    deposit::position(conn, &merchant).unwrap()
}

/// A merchant account's posted balance (credits − debits), in fen.
fn posted(conn: &mut PgConnection, spec: &AccountSpec) -> i64 {
    let account = chart::open(conn, spec).unwrap();
    ledger::balance(conn, account).unwrap().posted()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn entries_with_key(conn: &mut PgConnection, key: &str) -> i64 {
    sql_query("SELECT count(*) AS n FROM journal_entries WHERE idempotency_key = $1")
        .bind::<diesel::sql_types::Text, _>(key)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// The merchant owes the house `fen` on its settlement account.
fn owe(conn: &mut PgConnection, merchant_id: MerchantId, fen: i64) {
    let settlement = chart::open(conn, &chart::merchant_settlement(merchant_id)).unwrap();
    let house = chart::ensure_house_accounts(conn).unwrap();
    let entry =
        EntryRequest::new(format!("test:owe:{}", rand::random::<u64>()), "settle").transfer(
            TransferRequest::move_(settlement, house.id(HouseAccount::Fees), "CNY", fen),
        );
    submit_one(conn, entry).unwrap();
}

fn dual_from_10000() -> Policy {
    Policy {
        dual_approval_from: money("10000.00"),
    }
}

#[test]
fn the_required_deposit_is_the_tier_minimum_or_the_covered_liability_rounded_up() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    let empty = position(conn, m);
    assert_eq!(empty.outstanding_points, 0);
    assert_eq!(empty.requirement.required, money("50000.00"));

    issue(conn, "BREW", 5_000_100);
    let p = position(conn, m);
    assert_eq!(p.outstanding_points, 5_000_100);
    // 5,000,100 × ¥0.033333 = ¥166,668.3333, rounded up to the fen.
    assert_eq!(p.liability, money("166668.34"));
    // 30% of that is ¥50,000.502: above the ¥50,000 minimum, rounded up. (Without
    // rounding the liability first it would be ¥50,000.50.)
    assert_eq!(p.requirement.exposure, money("50000.51"));
    assert_eq!(p.requirement.required, money("50000.51"));
    assert_eq!(p.requirement.hard_minimum, money("25000.26"));
    assert_eq!(p.coverage().to_string(), "0.0%");

    // A strategic merchant's minimum (¥200,000) outweighs 20% of the liability.
    standing::change_tier(conn, &system(), m, Tier::Strategic).unwrap();
    let p = position(conn, m);
    assert_eq!(p.requirement.exposure, money("33333.67"));
    assert_eq!(p.requirement.required, money("200000.00"));
}

#[tokio::test]
async fn a_top_up_finance_confirms_twice_lands_in_the_ledger_once() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    merchant_user(conn, m, "owner@brew.test", MerchantRole::Owner);
    operator(conn, "finance@alliance.test", OperatorRole::Finance);

    let owner = app.browser();
    owner.sign_in("merchant", "owner@brew.test", PASSWORD).await;
    let refused = owner
        .submit(
            "/merchant/deposit",
            "/merchant/deposit/topups",
            &[("amount", "60,000"), ("bank_reference", "CMB-001")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("最多两位小数"), "{}", refused.body);
    assert!(deposit::list_topups(conn, m).unwrap().is_empty());

    let reported = owner
        .submit(
            "/merchant/deposit",
            "/merchant/deposit/topups",
            &[("amount", "60000.00"), ("bank_reference", "CMB-001")],
        )
        .await;
    assert_eq!(reported.status, 303);
    let notice = deposit::list_topups(conn, m).unwrap().pop().unwrap();
    assert_eq!(
        (notice.status.as_str(), notice.amount()),
        ("submitted", money("60000.00"))
    );

    let finance = app.browser();
    finance
        .sign_in("platform", "finance@alliance.test", PASSWORD)
        .await;
    let queue = finance.get("/platform/deposits").await;
    assert!(queue.body.contains("CMB-001"), "{}", queue.body);
    let confirm = format!("/platform/deposits/topups/{}/confirm", notice.id);
    for _ in 0..2 {
        let page = finance.submit("/platform/deposits", &confirm, &[]).await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (303, Some("/platform/deposits"))
        );
    }
    assert!(
        finance
            .get("/platform/deposits")
            .await
            .body
            .contains("本次未重复入账")
    );

    let key = format!("deposit:topup:{}", notice.id);
    assert_eq!(entries_with_key(conn, &key), 1);
    let confirmed = deposit::list_topups(conn, m).unwrap().pop().unwrap();
    assert_eq!(confirmed.status.as_str(), "confirmed");
    assert!(confirmed.journal_entry_id.is_some());
    assert_eq!(position(conn, m).balance, money("60000.00"));
    assert_eq!(
        posted(conn, &HouseAccount::Bank.spec()),
        -6_000_000,
        "the house's bank is debited"
    );
    assert_verified(conn);

    let page = owner.get("/merchant/deposit").await;
    assert!(page.body.contains("¥60,000.00"), "{}", page.body);
    assert!(page.body.contains("已入账"));
}

#[test]
fn a_large_deduction_needs_two_approvers_other_than_its_maker_and_then_books_it() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    let maker = staff(conn, "finance@alliance.test", OperatorRole::Finance);
    let second = staff(conn, "finance2@alliance.test", OperatorRole::Finance);
    let admin = staff(conn, "admin@alliance.test", OperatorRole::Admin);
    let risk_officer = staff(conn, "risk@alliance.test", OperatorRole::Risk);
    pay_in(conn, &maker, m, "60000.00");
    owe(conn, m, 2_000_000);
    let registry = crate::harness::approval_registry();

    let request = deposit::request_deduction(
        conn,
        &maker,
        m,
        money("20000.00"),
        "十月结算欠款",
        dual_from_10000(),
        &registry,
    )
    .unwrap();
    assert_eq!(request.required_approvals, 2);
    assert!(matches!(
        approval::decide(conn, request.id, &maker, true, None, &registry),
        Err(ApprovalError::OwnRequest)
    ));
    assert!(matches!(
        approval::decide(conn, request.id, &risk_officer, true, None, &registry),
        Err(ApprovalError::RoleNotAllowed)
    ));
    let halfway = approval::decide(conn, request.id, &second, true, None, &registry).unwrap();
    assert_eq!(halfway.status.as_str(), "pending");
    assert_eq!(position(conn, m).balance, money("60000.00"));

    let done = approval::decide(conn, request.id, &admin, true, None, &registry).unwrap();
    assert_eq!(done.status.as_str(), "approved", "{:?}", done.outcome);
    assert_eq!(position(conn, m).balance, money("40000.00"));
    assert_eq!(
        posted(conn, &chart::merchant_settlement(m)),
        0,
        "the deduction paid the debt, no more"
    );
    assert_eq!(
        entries_with_key(conn, &format!("deposit:deduct:{}", request.id)),
        1
    );
    assert_verified(conn);
}

#[test]
fn a_deduction_that_would_overdraw_the_deposit_fails_cleanly() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    let maker = staff(conn, "finance@alliance.test", OperatorRole::Finance);
    let checker = staff(conn, "finance2@alliance.test", OperatorRole::Finance);
    pay_in(conn, &maker, m, "5000.00");
    owe(conn, m, 600_000);
    let registry = crate::harness::approval_registry();
    let request = |conn: &mut PgConnection, amount: &str| {
        deposit::request_deduction(
            conn,
            &maker,
            m,
            money(amount),
            "欠款",
            dual_from_10000(),
            &registry,
        )
    };

    // Refused when filed: nothing to approve.
    assert!(matches!(
        request(conn, "6000.00"),
        Err(DepositError::WouldOverdraw { balance }) if balance == money("5000.00")
    ));
    assert!(
        approval::list(conn, approval::Scope::Platform, false, 10)
            .unwrap()
            .is_empty()
    );

    // Refused when run: the balance moved after the request was filed.
    let first = request(conn, "3000.00").unwrap();
    let second = request(conn, "3000.00").unwrap();
    let approved = approval::decide(conn, first.id, &checker, true, None, &registry).unwrap();
    assert_eq!(approved.status.as_str(), "approved");
    let failed = approval::decide(conn, second.id, &checker, true, None, &registry).unwrap();
    assert_eq!(failed.status.as_str(), "failed");
    assert!(
        failed.outcome.as_deref().unwrap().contains("不足以扣除"),
        "{:?}",
        failed.outcome
    );
    assert_eq!(position(conn, m).balance, money("2000.00"));
    assert_eq!(
        entries_with_key(conn, &format!("deposit:deduct:{}", second.id)),
        0
    );
    assert_verified(conn);
}

#[test]
fn issuing_is_refused_below_the_hard_minimum_and_for_suspended_or_exited_merchants() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    let finance = staff(conn, "finance@alliance.test", OperatorRole::Finance);

    let blocked = deposit::ensure_issuing_allowed(conn, m).unwrap_err();
    assert!(matches!(
        blocked,
        IssuingBlocked::DepositBelowMinimum { balance, hard_minimum }
            if balance == Money::ZERO && hard_minimum == money("25000.00")
    ));
    assert!(
        blocked
            .message(Locale::ZhCn)
            .unwrap()
            .contains("请先补缴保证金"),
        "{}",
        blocked.message(Locale::ZhCn).unwrap()
    );
    assert!(blocked.message(Locale::En).unwrap().contains("top it up"));

    pay_in(conn, &finance, m, "24999.99");
    assert!(deposit::ensure_issuing_allowed(conn, m).is_err());
    pay_in(conn, &finance, m, "0.01");
    deposit::ensure_issuing_allowed(conn, m).expect("at the hard minimum, issuing goes on");

    standing::suspend(conn, &finance, m, "资质复核").unwrap();
    assert!(matches!(
        deposit::ensure_issuing_allowed(conn, m),
        Err(IssuingBlocked::Suspended)
    ));
    standing::reinstate(conn, &finance, m).unwrap();
    deposit::ensure_issuing_allowed(conn, m).unwrap();
    exit::start(conn, &finance, m, "合同到期", exit::DEFAULT_NOTICE_DAYS).unwrap();
    let blocked = deposit::ensure_issuing_allowed(conn, m).unwrap_err();
    assert!(matches!(blocked, IssuingBlocked::Exiting));
    assert!(
        blocked
            .message(Locale::ZhCn)
            .unwrap()
            .contains("正在退出联盟")
    );
}

#[tokio::test]
async fn a_shortfall_raises_one_alert_and_one_email_until_it_is_resolved() {
    let db = TestDb::new();
    let pool = db::pool(db.url(), 2).unwrap();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    merchant_user(conn, m, "owner@brew.test", MerchantRole::Owner);
    let finance = staff(conn, "finance@alliance.test", OperatorRole::Finance);
    let (mailer, outbox) = Mailer::memory();
    let alerts = |conn: &mut PgConnection| {
        risk::list(
            conn,
            &risk::AlertFilter {
                status: risk::StatusFilter::All,
                family: None,
            },
            100,
        )
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == deposit::SHORTFALL_KIND && a.merchant_id == Some(m))
        .collect::<Vec<_>>()
    };

    // The movement itself raises the alert; the periodic check emails it once.
    pay_in(conn, &finance, m, "30000.00");
    assert_eq!(alerts(conn).len(), 1);
    assert_eq!(alerts(conn)[0].severity, "warning");
    for _ in 0..2 {
        deposit::periodic_check(&pool, &mailer, PUBLIC_URL)
            .await
            .unwrap();
    }
    assert_eq!(alerts(conn).len(), 1);
    assert_eq!(outbox.sent().len(), 1);
    let email = outbox
        .last_to("owner@brew.test")
        .expect("an email to the owner");
    assert!(
        email.subject.contains("保证金不足提醒"),
        "{}",
        email.subject
    );
    assert!(email.text.contains("¥30,000.00"), "{}", email.text);
    assert!(email.text.contains("http://alliance.test/merchant/deposit"));

    // Covered again: the alert resolves itself.
    pay_in(conn, &finance, m, "20000.00");
    assert!(alerts(conn).iter().all(risk::RiskAlert::is_resolved));

    // Short again: a new alert, and a new email.
    owe(conn, m, 1);
    let registry = crate::harness::approval_registry();
    let checker = staff(conn, "admin@alliance.test", OperatorRole::Admin);
    let request = deposit::request_deduction(
        conn,
        &finance,
        m,
        money("0.01"),
        "手续费欠款",
        dual_from_10000(),
        &registry,
    )
    .unwrap();
    approval::decide(conn, request.id, &checker, true, None, &registry).unwrap();
    assert_eq!(alerts(conn).len(), 2);
    deposit::periodic_check(&pool, &mailer, PUBLIC_URL)
        .await
        .unwrap();
    assert_eq!(outbox.sent().len(), 2);
}

#[test]
fn an_exited_merchant_that_owes_nothing_gets_its_deposit_back_once() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    let finance = staff(conn, "finance@alliance.test", OperatorRole::Finance);
    pay_in(conn, &finance, m, "50000.00");

    assert!(matches!(
        deposit::refund(conn, &finance, m),
        Err(DepositError::NotExiting)
    ));
    let started = exit::start(conn, &finance, m, "合同到期", 30).unwrap();

    // The merchant owes the house ¥100.00 on its settlement account.
    owe(conn, m, 10_000);
    let refused = deposit::refund(conn, &finance, m).unwrap_err();
    assert!(
        matches!(refused, DepositError::StillCovers(c) if c.owed == money("100.00")),
        "{refused:?}"
    );
    assert!(
        refused
            .message(Locale::ZhCn)
            .unwrap()
            .contains("欠款 ¥100.00"),
        "{:?}",
        refused.message(Locale::ZhCn).unwrap()
    );

    // Paid; but the exit is not complete until the notice has run.
    let settlement = chart::open(conn, &chart::merchant_settlement(m)).unwrap();
    let house = chart::ensure_house_accounts(conn).unwrap();
    let pay = EntryRequest::new("test:pay", "settle").transfer(TransferRequest::move_(
        house.id(HouseAccount::Bank),
        settlement,
        "CNY",
        10_000,
    ));
    submit_one(conn, pay).unwrap();
    assert!(matches!(
        deposit::refund(conn, &finance, m),
        Err(DepositError::ConversionPending)
    ));
    let pass = exit::conversion::run_due(
        conn,
        &system(),
        started.notice_ends_at + chrono::Duration::seconds(1),
        100,
    )
    .unwrap();
    assert_eq!(pass.completed, 1);
    assert_eq!(
        merchant::find(conn, m).unwrap().unwrap().status.as_str(),
        "exited"
    );

    // Now the whole deposit goes back, once.
    assert_eq!(
        deposit::refund(conn, &finance, m).unwrap(),
        money("50000.00")
    );
    assert!(matches!(
        deposit::refund(conn, &finance, m),
        Err(DepositError::NothingToRefund)
    ));
    assert_eq!(position(conn, m).balance, Money::ZERO);
    let refunds = audit::search(
        conn,
        &AuditFilter {
            action: Some("deposit.refund".to_owned()),
            target_id: Some(m.to_string()),
            ..AuditFilter::default()
        },
        10,
    )
    .unwrap();
    assert_eq!(refunds.len(), 1);
    assert_verified(conn);
}

#[tokio::test]
async fn an_owner_asks_to_become_strategic_and_an_operator_approves_it() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    merchant_user(conn, m, "owner@brew.test", MerchantRole::Owner);
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    operator(conn, "risk@alliance.test", OperatorRole::Risk);
    let finance = staff(conn, "finance@alliance.test", OperatorRole::Finance);
    pay_in(conn, &finance, m, "50000.00");

    let owner = app.browser();
    owner.sign_in("merchant", "owner@brew.test", PASSWORD).await;
    let reason = [("reason", "计划接入 API，月交易额超过五百万")];
    let asked = owner
        .submit("/merchant", "/merchant/tier-request", &reason)
        .await;
    assert_eq!(asked.status, 303);
    assert!(owner.get("/merchant").await.body.contains("正在审核中"));
    owner
        .submit("/merchant", "/merchant/tier-request", &reason)
        .await;
    assert!(
        owner
            .get("/merchant")
            .await
            .body
            .contains("已有一份升级申请")
    );

    let ops = app.browser();
    ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    assert!(
        ops.get("/platform/merchants")
            .await
            .body
            .contains("BREW 商户")
    );
    let page_path = format!("/platform/merchants/{m}");
    let page = ops.get(&page_path).await;
    assert!(page.body.contains("计划接入 API"), "{}", page.body);
    let request = merchant::tier_request::latest(conn, m).unwrap().unwrap();
    let decided = ops
        .submit(
            &page_path,
            &format!("{page_path}/tier-request"),
            &[
                ("request_id", &request.id.to_string()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(decided.location.as_deref(), Some(page_path.as_str()));
    assert_eq!(
        merchant::find(conn, m).unwrap().unwrap().tier.as_str(),
        "strategic"
    );

    // A strategic merchant must keep ¥200,000: the shortfall is on the risk queue.
    let risk_officer = app.browser();
    risk_officer
        .sign_in("platform", "risk@alliance.test", PASSWORD)
        .await;
    let queue = risk_officer.get("/platform/risk").await;
    assert!(
        queue
            .body
            .contains("保证金 ¥50,000.00，低于应缴 ¥200,000.00（覆盖率 25.0%）"),
        "{}",
        queue.body
    );
    let alert = risk::unresolved(conn, deposit::SHORTFALL_KIND, m)
        .unwrap()
        .expect("a shortfall alert");
    for action in ["acknowledge", "resolve"] {
        let done = risk_officer
            .submit(
                "/platform/risk",
                &format!("/platform/risk/{}", alert.id),
                &[("action", action)],
            )
            .await;
        assert_eq!(done.status, 303);
    }
    assert!(
        risk::unresolved(conn, deposit::SHORTFALL_KIND, m)
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn operators_suspend_with_a_reason_and_only_finance_moves_deposit_money() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let m = shop(conn, "BREW", "standard", SETTLEMENT_VALUE);
    operator(conn, "ops@alliance.test", OperatorRole::Operator);
    let ops = app.browser();
    ops.sign_in("platform", "ops@alliance.test", PASSWORD).await;
    let page_path = format!("/platform/merchants/{m}");
    let status_path = format!("{page_path}/status");

    ops.submit(
        &page_path,
        &status_path,
        &[("change", "suspend"), ("reason", " ")],
    )
    .await;
    assert!(ops.get(&page_path).await.body.contains("请填写原因"));
    assert_eq!(
        merchant::find(conn, m).unwrap().unwrap().status.as_str(),
        "active"
    );

    ops.submit(
        &page_path,
        &status_path,
        &[("change", "suspend"), ("reason", "资质复核中")],
    )
    .await;
    let standing = standing::of(conn, m).unwrap().unwrap();
    assert_eq!(standing.status.as_str(), "suspended");
    assert_eq!(standing.status_reason.as_deref(), Some("资质复核中"));
    assert!(standing.status_changed_at.is_some());
    assert!(matches!(
        deposit::ensure_issuing_allowed(conn, m),
        Err(IssuingBlocked::Suspended)
    ));

    // An operator is not finance: no deductions, no refunds, no confirmations.
    for (path, form) in [
        (
            format!("{page_path}/deduction"),
            vec![("amount", "1.00"), ("reason", "x")],
        ),
        (format!("{page_path}/refund"), vec![]),
    ] {
        assert_eq!(ops.submit(&page_path, &path, &form).await.status, 403);
    }
}
