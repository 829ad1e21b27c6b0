//! Settlement through the portals (#8): finance runs settlement, batches and
//! resolves payouts with the bank files, collects what merchants owe, sets
//! terms and recipients; the merchant reads its statements and downloads them.

use alliance::{
    db::schema::{approvals, settlement_runs},
    domain::id::MerchantId,
    people::{merchant_user::MerchantRole, operator::OperatorRole},
    settlement::{
        collection,
        payout::{self, PayoutStatus},
        payout_file::CSV_COLUMNS,
        recipients::{self, RecipientInput},
        run::{self, RunRequest, Trigger},
        statement::{self, Outcome},
        terms,
    },
};
use diesel::{PgConnection, prelude::*, sql_query};

use crate::{
    exchange_support::{member_with_coffee, two_programs},
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, merchant_user, operator},
    settlement_support::{self as support, daily_terms, exchange, today},
};

struct Shops {
    coffee: MerchantId,
    cinema: MerchantId,
}

fn add_recipient(
    app: &TestApp,
    conn: &mut PgConnection,
    merchant: MerchantId,
    name: &str,
    share: &str,
) {
    let (share_kind, share_value) = share.split_once(':').unwrap_or((share, ""));
    recipients::add(
        conn,
        &support::operator(),
        &app.keys,
        merchant,
        &RecipientInput {
            kind: if share_kind == "rest" {
                "own_account"
            } else {
                "agent"
            }
            .into(),
            name: name.into(),
            bank_name: "招商银行上海分行".into(),
            bank_code: "CMBCCNBS".into(),
            account: "6225 8801 2345 6789".into(),
            share_kind: share_kind.into(),
            share_value: share_value.into(),
        },
    )
    .unwrap();
}

/// COFFEE and CINEMA settle daily and joined two days ago; yesterday Alice
/// exchanged 1,000 COFFEE points into CINEMA: the house owes CINEMA (paid to
/// two recipients, 30% to an agent) and COFFEE owes the house.
fn yesterdays_exchange(app: &TestApp) -> Shops {
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    for merchant in [shops.coffee, shops.cinema] {
        daily_terms(conn, merchant, 0, true);
    }
    add_recipient(app, conn, shops.coffee, "咖啡结算账户", "rest");
    add_recipient(app, conn, shops.cinema, "影院结算账户", "rest");
    add_recipient(app, conn, shops.cinema, "影院代理商", "percent:30");
    let alice = member_with_coffee(conn, shops.coffee, "+8613800000001", 5_000);
    exchange(conn, alice, "COFFEE", "CINEMA", 1_000);
    // Move the history back in time: the merchants joined two days ago and the
    // ledger's movements happened yesterday, so yesterday's period has ended.
    for sql in [
        "UPDATE merchants SET created_at = now() - interval '2 days'",
        "ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable",
        "UPDATE journal_entries SET effective_at = effective_at - interval '1 day'",
        "ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_immutable",
    ] {
        sql_query(sql).execute(conn).unwrap();
    }
    Shops {
        coffee: shops.coffee,
        cinema: shops.cinema,
    }
}

/// Settles through today as the domain does, for tests about what follows.
fn settle(app: &TestApp) {
    let summary = run::run(
        &mut app.db.conn(),
        &app.keys,
        &support::operator(),
        RunRequest {
            trigger: Trigger::Operator,
            merchant_id: None,
            through: today(),
        },
    )
    .unwrap();
    assert!(summary.exceptions.is_empty(), "{:?}", summary.exceptions);
    assert_eq!(summary.settled, 4);
}

async fn staff(app: &TestApp, email: &str, role: OperatorRole) -> Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    let signed = browser.sign_in("platform", email, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
}

/// Posts the form on `from` and follows the redirect.
async fn submit(browser: &Browser, from: &str, path: &str, form: &[(&str, &str)]) -> String {
    let sent = browser.submit(from, path, form).await;
    assert_eq!(sent.status, 303, "{path}: {}", sent.body);
    let next = browser.get(sent.location.as_deref().unwrap()).await;
    assert_eq!(next.status, 200);
    next.body
}

/// The batch's CSV has the bank's columns and adds up to the batch; its
/// pain.001 carries the batch reference and total, paid from the house.
async fn assert_bank_files(finance: &Browser, batch_page: &str, batch: &payout::Batch) {
    let csv_file = finance.get(&format!("{batch_page}.csv")).await;
    assert_eq!(csv_file.status, 200);
    let text = csv_file.body.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, CSV_COLUMNS);
    let mut sum = 0i64;
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(&record[2], "6225880123456789");
        sum += alliance::domain::money::Money::parse(&record[5])
            .unwrap()
            .fen();
        rows += 1;
    }
    assert_eq!((rows, sum), (2, batch.total_fen));

    let xml = finance.get(&format!("{batch_page}.xml")).await;
    assert_eq!(xml.status, 200);
    assert!(
        xml.body
            .contains(&format!("<MsgId>{}</MsgId>", batch.reference))
    );
    assert!(
        xml.body
            .contains(&format!("<CtrlSum>{}</CtrlSum>", batch.total()))
    );
    assert!(xml.body.contains("121900000000001"), "the house pays");
}

#[tokio::test]
async fn finance_runs_settlement_and_pays_a_batch_through_the_bank_files() {
    let app = spawn_app().await;
    let shops = yesterdays_exchange(&app);
    let finance = staff(&app, "finance@alliance.test", OperatorRole::Finance).await;

    let runs = finance.get("/platform/settlement").await;
    assert_eq!(runs.status, 200);
    assert!(runs.body.contains("立即结算"), "{}", runs.body);
    let ran = finance
        .submit("/platform/settlement", "/platform/settlement/run", &[])
        .await;
    assert_eq!(ran.status, 303, "{}", ran.body);
    let run_page = ran.location.unwrap();
    assert!(run_page.starts_with("/platform/settlement/runs/"));
    let detail = finance.get(&run_page).await;
    assert_eq!(detail.status, 200);
    for text in ["COFFEE", "CINEMA", "付款给商户", "向商户收款", "结算已完成"] {
        assert!(detail.body.contains(text), "{text}: {}", detail.body);
    }
    let conn = &mut app.db.conn();
    let cinema = statement::last(conn, shops.cinema).unwrap().unwrap();
    assert_eq!(cinema.outcome, Outcome::Payout);
    let coffee = statement::last(conn, shops.coffee).unwrap().unwrap();
    assert_eq!(coffee.outcome, Outcome::Collection);

    let payouts = finance.get("/platform/settlement/payouts").await;
    assert!(
        payouts.body.contains("id=\"pending-count\">2<"),
        "{}",
        payouts.body
    );
    let created = finance
        .submit(
            "/platform/settlement/payouts",
            "/platform/settlement/payouts/batches",
            &[("execution_date", "")],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let batch_page = created.location.unwrap();
    let batch_id: i64 = batch_page.rsplit('/').next().unwrap().parse().unwrap();
    let batch = payout::batch(conn, batch_id).unwrap().unwrap();
    assert_eq!(batch.payouts, 2);
    assert_eq!(batch.total().fen(), cinema.paid_out().fen());
    let page = finance.get(&batch_page).await;
    for text in ["影院结算账户", "影院代理商", "****6789", &batch.reference] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }

    assert_bank_files(&finance, &batch_page, &batch).await;

    let sent = submit(&finance, &batch_page, &format!("{batch_page}/sent"), &[]).await;
    assert!(sent.contains("批次已标记为提交银行"), "{sent}");
    let mut in_batch = payout::of_batch(conn, batch_id).unwrap();
    in_batch.sort_by_key(|p| p.id);
    assert!(in_batch.iter().all(|p| p.status == PayoutStatus::Sent));
    let batch_field = batch_id.to_string();
    let (failing, confirming) = (in_batch[0].id, in_batch[1].id);

    // A failure needs a reason: refused, nothing changes.
    let refused = submit(
        &finance,
        &batch_page,
        &format!("/platform/settlement/payouts/{failing}/fail"),
        &[("reason", " "), ("batch", &batch_field)],
    )
    .await;
    assert!(
        refused.contains("请填写 1 至 200 个字符的失败原因"),
        "{refused}"
    );
    assert_eq!(
        payout::of_batch(conn, batch_id)
            .unwrap()
            .iter()
            .find(|p| p.id == failing)
            .unwrap()
            .status,
        PayoutStatus::Sent
    );
    submit(
        &finance,
        &batch_page,
        &format!("/platform/settlement/payouts/{failing}/fail"),
        &[("reason", "账户已销户"), ("batch", &batch_field)],
    )
    .await;
    let confirmed = submit(
        &finance,
        &batch_page,
        &format!("/platform/settlement/payouts/{confirming}/confirm"),
        &[("batch", &batch_field)],
    )
    .await;
    assert!(confirmed.contains("账户已销户"), "{confirmed}");
    let resolved = payout::of_batch(conn, batch_id).unwrap();
    let status = |id: i64| resolved.iter().find(|p| p.id == id).unwrap().status;
    assert_eq!(status(failing), PayoutStatus::Failed);
    assert_eq!(status(confirming), PayoutStatus::Confirmed);
    assert_eq!(
        payout::batch(conn, batch_id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "closed"
    );
}

#[tokio::test]
async fn finance_records_a_receipt_and_a_second_operator_approves_a_deposit_deduction() {
    let app = spawn_app().await;
    let shops = yesterdays_exchange(&app);
    settle(&app);
    let conn = &mut app.db.conn();
    let coffee = statement::last(conn, shops.coffee).unwrap().unwrap();
    let owed = collection::of_statement(conn, coffee.id).unwrap().unwrap();
    assert!(owed.amount.fen() > 100);
    let finance = staff(&app, "finance@alliance.test", OperatorRole::Finance).await;
    let page = "/platform/settlement/collections";
    let list = finance.get(page).await;
    assert!(
        list.body
            .contains(&format!("id=\"collection-{}\"", owed.id)),
        "{}",
        list.body
    );
    assert!(list.body.contains("待收款"));

    let receipt = format!("{page}/{}/receipt", owed.id);
    for bad in ["abc", "-1.00", "999999.00"] {
        let body = submit(
            &finance,
            page,
            &receipt,
            &[("amount", bad), ("bank_reference", "CMB-1")],
        )
        .await;
        assert!(
            body.contains("金额须大于零且不超过未收金额"),
            "{bad}: {body}"
        );
    }
    assert_eq!(
        collection::find(conn, owed.id)
            .unwrap()
            .unwrap()
            .collected
            .fen(),
        0
    );
    let body = submit(
        &finance,
        page,
        &receipt,
        &[("amount", "1.00"), ("bank_reference", "CMB-1")],
    )
    .await;
    assert!(body.contains("已登记银行到账"), "{body}");
    assert_eq!(
        collection::find(conn, owed.id)
            .unwrap()
            .unwrap()
            .collected
            .fen(),
        100
    );

    let body = submit(&finance, page, &format!("{page}/{}/deduct", owed.id), &[]).await;
    assert!(body.contains("等待另一位财务人员审批"), "{body}");
    let approval: i64 = approvals::table
        .filter(approvals::kind.eq(collection::APPROVAL_KIND))
        .select(approvals::id)
        .first(conn)
        .unwrap();
    // Its maker cannot approve it.
    let own = submit(
        &finance,
        "/platform/approvals",
        &format!("/platform/approvals/{approval}/decision"),
        &[("decision", "approve")],
    )
    .await;
    assert!(
        collection::find(conn, owed.id).unwrap().unwrap().is_open(),
        "{own}"
    );
    let checker = staff(&app, "finance2@alliance.test", OperatorRole::Finance).await;
    assert!(
        checker
            .get("/platform/approvals")
            .await
            .body
            .contains(&format!("/platform/approvals/{approval}"))
    );
    submit(
        &checker,
        &format!("/platform/approvals/{approval}"),
        &format!("/platform/approvals/{approval}/decision"),
        &[("decision", "approve")],
    )
    .await;
    let after = collection::find(conn, owed.id).unwrap().unwrap();
    assert_eq!(after.status.as_str(), "paid");
    assert_eq!(after.collected, after.amount);
    assert!(finance.get(page).await.body.contains("已结清"));
}

#[tokio::test]
async fn finance_sets_terms_and_recipients_through_the_forms() {
    let app = spawn_app().await;
    let shops = {
        let conn = &mut app.db.conn();
        two_programs(conn)
    };
    let finance = staff(&app, "finance@alliance.test", OperatorRole::Finance).await;
    let merchant_page = format!("/platform/merchants/{}", shops.cinema);
    assert!(
        finance
            .get(&merchant_page)
            .await
            .body
            .contains(&format!("{merchant_page}/settlement"))
    );
    let page = format!("{merchant_page}/settlement");
    assert_eq!(finance.get(&page).await.status, 200);
    let conn = &mut app.db.conn();
    let terms_form = |fee: &'static str| {
        [
            ("cycle", "weekly"),
            ("weekday", "3"),
            ("month_day", ""),
            ("platform_fee", fee),
            ("collection_days", "10"),
            ("deduct_from_deposit", "on"),
            ("finance_email", "ap@cinema.test"),
        ]
    };
    let body = submit(
        &finance,
        &page,
        &format!("{page}/terms"),
        &terms_form("2.5"),
    )
    .await;
    assert!(body.contains("结算协议已保存"), "{body}");
    assert!(body.contains("按周 · 周三"), "{body}");
    let saved = terms::of(conn, shops.cinema).unwrap();
    assert_eq!((saved.platform_fee_bp, saved.collection_days), (250, 10));
    let body = submit(&finance, &page, &format!("{page}/terms"), &terms_form("80")).await;
    assert!(body.contains("平台分润比例须为 0% 至 50%"), "{body}");
    assert_eq!(terms::of(conn, shops.cinema).unwrap(), saved);
}

#[tokio::test]
async fn finance_adds_and_removes_recipients_through_the_form() {
    let app = spawn_app().await;
    let shops = two_programs(&mut app.db.conn());
    let finance = staff(&app, "finance@alliance.test", OperatorRole::Finance).await;
    let page = format!("/platform/merchants/{}/settlement", shops.cinema);
    let conn = &mut app.db.conn();
    let recipient = |name: &'static str, kind: &'static str, value: &'static str| {
        [
            (
                "kind",
                if kind == "rest" {
                    "own_account"
                } else {
                    "agent"
                },
            ),
            ("name", name),
            ("bank_name", "招商银行上海分行"),
            ("bank_code", "CMBCCNBS"),
            ("account", "6225880123456789"),
            ("share_kind", kind),
            ("share_value", value),
        ]
    };
    let add = format!("{page}/recipients");
    let body = submit(
        &finance,
        &page,
        &add,
        &recipient("影院结算账户", "rest", ""),
    )
    .await;
    assert!(
        body.contains("收款方已添加") && body.contains("****6789"),
        "{body}"
    );
    let body = submit(
        &finance,
        &page,
        &add,
        &recipient("代理商", "percent", "150"),
    )
    .await;
    assert!(
        body.contains("按比例分账的比例须在 0.01% 至 100% 之间"),
        "{body}"
    );
    let body = submit(
        &finance,
        &page,
        &add,
        &recipient("代理商", "percent", "abc"),
    )
    .await;
    assert!(body.contains("分账方式须为比例"), "{body}");
    assert_eq!(recipients::active(conn, shops.cinema).unwrap().len(), 1);
    let body = submit(
        &finance,
        &page,
        &add,
        &recipient("代理商", "percent", "12.5"),
    )
    .await;
    assert!(body.contains("12.50%"), "{body}");
    let added = recipients::active(conn, shops.cinema).unwrap();
    assert_eq!(added.len(), 2);
    let agent = added.iter().find(|r| r.name == "代理商").unwrap().id;
    let body = submit(
        &finance,
        &page,
        &format!("{page}/recipients/{agent}/remove"),
        &[],
    )
    .await;
    assert!(body.contains("收款方已移除"), "{body}");
    assert_eq!(recipients::active(conn, shops.cinema).unwrap().len(), 1);
}

#[tokio::test]
async fn a_merchant_reads_and_downloads_its_own_statements_only() {
    let app = spawn_app().await;
    let shops = yesterdays_exchange(&app);
    settle(&app);
    let conn = &mut app.db.conn();
    merchant_user(conn, shops.cinema, "owner@cinema.test", MerchantRole::Owner);
    let cinema = statement::last(conn, shops.cinema).unwrap().unwrap();
    let coffee = statement::last(conn, shops.coffee).unwrap().unwrap();
    let owner = app.browser();
    owner
        .sign_in("merchant", "owner@cinema.test", PASSWORD)
        .await;

    let list = owner.get("/merchant/settlement").await;
    assert_eq!(list.status, 200);
    let detail_path = format!("/merchant/settlement/statements/{}", cinema.id);
    for text in [detail_path.as_str(), "付款给商户", "影院代理商", "按日"] {
        assert!(list.body.contains(text), "{text}: {}", list.body);
    }
    let detail = owner.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    for text in ["积分兑入结算款", "影院结算账户", "****6789", "待付款"] {
        assert!(detail.body.contains(text), "{text}: {}", detail.body);
    }

    let csv_file = owner.get(&format!("{detail_path}.csv")).await;
    assert_eq!(csv_file.status, 200);
    let text = csv_file.body.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let (mut activity, mut closing) = (0i64, None);
    for record in reader.records() {
        let record = record.unwrap();
        let amount = || {
            alliance::domain::money::Money::parse(&record[3])
                .unwrap()
                .fen()
        };
        match (&record[0], &record[1]) {
            ("本期发生", _) => activity += amount(),
            ("汇总", "期末余额") => closing = Some(amount()),
            _ => {}
        }
    }
    assert_eq!(activity, cinema.activity.fen());
    assert_eq!(closing, Some(cinema.closing.fen()));

    for other in [
        format!("/merchant/settlement/statements/{}", coffee.id),
        format!("/merchant/settlement/statements/{}.csv", coffee.id),
    ] {
        assert_eq!(owner.get(&other).await.status, 404, "{other}");
    }
}

#[tokio::test]
async fn only_finance_and_admins_run_settlement() {
    let app = spawn_app().await;
    yesterdays_exchange(&app);
    let ops = staff(&app, "ops@alliance.test", OperatorRole::Operator).await;
    assert_eq!(ops.get("/platform/settlement").await.status, 403);
    assert!(
        !ops.get("/platform")
            .await
            .body
            .contains("/platform/settlement\"")
    );
    let refused = ops
        .submit("/platform", "/platform/settlement/run", &[])
        .await;
    assert_eq!(refused.status, 403);
    let runs: i64 = settlement_runs::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap();
    assert_eq!(runs, 0);
}

#[tokio::test]
async fn the_merchant_home_estimates_the_next_settlement_from_the_ledger() {
    let app = spawn_app().await;
    let shops = yesterdays_exchange(&app);
    let conn = &mut app.db.conn();
    merchant_user(conn, shops.cinema, "owner@cinema.test", MerchantRole::Owner);
    merchant_user(conn, shops.coffee, "owner@coffee.test", MerchantRole::Owner);
    merchant_user(
        conn,
        shops.cinema,
        "till@cinema.test",
        MerchantRole::Cashier,
    );
    let owed_to_cinema = crate::settlement_support::position(conn, shops.cinema);
    let owed_by_coffee = -crate::settlement_support::position(conn, shops.coffee);

    let cinema = app.browser();
    cinema
        .sign_in("merchant", "owner@cinema.test", PASSWORD)
        .await;
    let home = cinema.get("/merchant").await;
    let payout = alliance::domain::money::Money::from_fen(owed_to_cinema).to_string();
    for text in ["下一次结算", "平台向您付款", payout.as_str()] {
        assert!(home.body.contains(text), "{text}: {}", home.body);
    }
    let coffee = app.browser();
    coffee
        .sign_in("merchant", "owner@coffee.test", PASSWORD)
        .await;
    let home = coffee.get("/merchant").await;
    let owed = alliance::domain::money::Money::from_fen(owed_by_coffee).to_string();
    for text in ["您需向平台付款", owed.as_str()] {
        assert!(home.body.contains(text), "{text}: {}", home.body);
    }
    let till = app.browser();
    till.sign_in("merchant", "till@cinema.test", PASSWORD).await;
    assert!(!till.get("/merchant").await.body.contains("下一次结算"));

    // Once settled, the next period starts and nothing is owed either way.
    settle(&app);
    let home = cinema.get("/merchant").await;
    assert!(home.body.contains("无需结算"), "{}", home.body);
}
