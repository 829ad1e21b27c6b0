//! The books in the platform portal: the trial balance, verify now, the ledger
//! explorer and journal entries, and who may see them.

use alliance::{domain::money::Money, i18n::format, ledger, people::operator::OperatorRole};
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Text},
};

use crate::{
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, operator},
    settlement_support::after_one_exchange,
};

#[derive(QueryableByName)]
struct AssetSums {
    #[diesel(sql_type = Text)]
    asset: String,
    #[diesel(sql_type = BigInt)]
    debits: i64,
    #[diesel(sql_type = BigInt)]
    credits: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Per asset, posted debits and credits summed over every account, straight from
/// the transfers.
fn sums_from_transfers(conn: &mut PgConnection) -> Vec<AssetSums> {
    sql_query(
        "SELECT asset, sum(debits)::int8 AS debits, sum(credits)::int8 AS credits FROM (
             SELECT asset, amount AS debits, 0::int8 AS credits FROM transfers
             WHERE phase IN ('posted', 'post_pending')
             UNION ALL
             SELECT asset, 0, amount FROM transfers WHERE phase IN ('posted', 'post_pending')
         ) legs GROUP BY asset ORDER BY asset",
    )
    .load(conn)
    .unwrap()
}

fn verifications(conn: &mut PgConnection) -> i64 {
    sql_query("SELECT count(*)::int8 AS n FROM ledger_verifications")
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

/// The text of the first cell marked `marker` after `anchor` on the page.
fn cell_after(body: &str, anchor: &str, marker: &str) -> String {
    let from = body
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor} not on the page:\n{body}"));
    let rest = &body[from..];
    let start = rest.find(marker).unwrap() + marker.len();
    let rest = &rest[start..];
    let text = &rest[..rest.find("</td>").unwrap()];
    text.split('<').next().unwrap().trim().to_owned()
}

fn yuan(fen: i64) -> String {
    format::money(Money::from_fen(fen))
}

async fn signed_in(app: &TestApp, email: &str, role: OperatorRole) -> Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    let page = browser.sign_in("platform", email, PASSWORD).await;
    assert_eq!(page.status, 303, "sign-in of {email}");
    browser
}

#[tokio::test]
async fn books_trial_balance_is_balanced_per_asset_and_matches_the_ledger() {
    let app = spawn_app().await;
    let mut conn = app.db.conn();
    after_one_exchange(&mut conn);
    let finance = signed_in(&app, "finance@alliance.test", OperatorRole::Finance).await;

    let page = finance.get("/platform/books").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("href=\"/platform/books\""),
        "nav has Books"
    );

    let sums = sums_from_transfers(&mut conn);
    assert!(sums.iter().any(|s| s.asset == "CNY"));
    assert!(sums.iter().any(|s| s.asset == "COFFEE"));
    assert!(sums.iter().any(|s| s.asset == "CINEMA"));
    for s in &sums {
        assert_eq!(
            s.credits - s.debits,
            0,
            "{} balances in the transfers",
            s.asset
        );
        assert!(
            page.body.contains(&format!("id=\"asset-{}\"", s.asset)),
            "{} on the page",
            s.asset
        );
        let total = cell_after(
            &page.body,
            &format!("data-total=\"{}\"", s.asset),
            "<td class=\"num\">",
        );
        let expected = if s.asset == "CNY" {
            yuan(s.debits)
        } else {
            format::count(s.debits)
        };
        assert_eq!(total, expected, "{} total debits", s.asset);
        let balance = cell_after(
            &page.body,
            &format!("data-total=\"{}\"", s.asset),
            "data-balance>",
        );
        let zero = if s.asset == "CNY" {
            yuan(0)
        } else {
            "0".to_owned()
        };
        assert_eq!(balance, zero, "{} total balance", s.asset);
    }
    assert!(page.body.contains("已平衡 ✓"));
    assert!(!page.body.contains("alert-error"));

    for code in ["house:fees", "house:clearing"] {
        let account = ledger::find_account(&mut conn, code).unwrap().unwrap();
        let balance = ledger::balance(&mut conn, account.id).unwrap().posted();
        let shown = cell_after(
            &page.body,
            &format!("data-code=\"{code}\""),
            "data-balance>",
        );
        assert_eq!(shown, yuan(balance), "{code} on the trial balance");
        assert!(
            page.body
                .contains(&format!("href=\"/platform/books/accounts?code={code}\""))
        );
    }
    // Member wallets are grouped, with how many there are.
    assert!(page.body.contains("会员积分钱包 ("));
}

#[tokio::test]
async fn books_verify_now_records_a_clean_verification() {
    let app = spawn_app().await;
    let mut conn = app.db.conn();
    after_one_exchange(&mut conn);
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;

    let before = verifications(&mut conn);
    let page = admin.get("/platform/books").await;
    assert!(page.body.contains("尚未核验") || before > 0);
    let done = admin
        .submit("/platform/books", "/platform/books/verify", &[])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/platform/books"));
    assert_eq!(verifications(&mut conn), before + 1);

    let page = admin.get("/platform/books").await;
    assert!(
        page.body.contains("核验完成：账实相符。"),
        "flash of the result"
    );
    assert!(page.body.contains("id=\"verify-result\">账实相符"));
    assert!(ledger::last_verification(&mut conn).unwrap().unwrap().clean);

    // Risk may read the books but not run verify.
    let risk = signed_in(&app, "risk@alliance.test", OperatorRole::Risk).await;
    let page = risk.get("/platform/books").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("/platform/books/verify"));
    let token = page.csrf();
    let refused = risk
        .post("/platform/books/verify", &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(verifications(&mut conn), before + 1);
}

#[tokio::test]
async fn books_explorer_shows_statements_and_entries() {
    let app = spawn_app().await;
    let mut conn = app.db.conn();
    after_one_exchange(&mut conn);
    let finance = signed_in(&app, "finance@alliance.test", OperatorRole::Finance).await;

    let code = "house:fees";
    let account = ledger::find_account(&mut conn, code).unwrap().unwrap();
    let balance = ledger::balance(&mut conn, account.id).unwrap().posted();
    let statement = ledger::statement(&mut conn, account.id, None, 50).unwrap();
    assert!(!statement.lines.is_empty(), "the exchange posted to {code}");

    let page = finance
        .get("/platform/books/accounts?code=house%3Afees")
        .await;
    assert_eq!(page.status, 200);
    let lines = page.body.matches("class=\"statement-line\"").count();
    assert_eq!(lines, statement.lines.len());
    let first = cell_after(
        &page.body,
        "class=\"statement-line\"",
        "data-balance-after>",
    );
    assert_eq!(first, yuan(balance), "running balance of the newest line");
    let entry_id = statement.lines[0].entry_id.0;
    assert!(
        page.body
            .contains(&format!("href=\"/platform/books/entries/{entry_id}\""))
    );

    let entry = finance
        .get(&format!("/platform/books/entries/{entry_id}"))
        .await;
    assert_eq!(entry.status, 200);
    assert!(entry.body.contains(&statement.lines[0].kind));
    let transfers: i64 = sql_query(format!(
        "SELECT count(*)::int8 AS n FROM transfers WHERE journal_entry_id = {entry_id}"
    ))
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n;
    assert_eq!(
        i64::try_from(entry.body.matches("class=\"transfer\"").count()).unwrap(),
        transfers
    );
    assert!(entry.body.contains(code));
    assert_eq!(
        finance
            .get("/platform/books/entries/999999999")
            .await
            .status,
        404
    );

    let unknown = finance
        .get("/platform/books/accounts?code=house%3Anope")
        .await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("没有这个账户代码。"));
}

#[tokio::test]
async fn books_are_forbidden_to_the_operator_role() {
    let app = spawn_app().await;
    let ops = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    for path in [
        "/platform/books",
        "/platform/books/accounts?code=house%3Afees",
        "/platform/books/entries/1",
    ] {
        assert_eq!(ops.get(path).await.status, 403, "{path}");
    }
    let home = ops.get("/platform").await;
    assert!(
        !home.body.contains("href=\"/platform/books\""),
        "no Books in the nav"
    );
}

#[tokio::test]
async fn books_list_what_a_failed_verification_found() {
    let app = spawn_app().await;
    let mut conn = app.db.conn();
    after_one_exchange(&mut conn);
    // A balance row that no longer matches its transfers, as a bad hand edit
    // of the database would leave it.
    // The exchange's fee went to a random shard of house:fees, so the row
    // reads what it held plus 7.
    let stored: Count = sql_query(
        "UPDATE account_balances SET credits_posted = credits_posted + 7
         WHERE account_id = (SELECT id FROM accounts WHERE code = 'house:fees') AND shard = 0
         RETURNING credits_posted AS n",
    )
    .get_result(&mut conn)
    .unwrap();
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;

    let done = admin
        .submit("/platform/books", "/platform/books/verify", &[])
        .await;
    assert_eq!(done.status, 303);
    let page = admin.get("/platform/books").await;
    assert!(page.body.contains("id=\"verify-result\">发现问题"));
    let findings = &page.body[page
        .body
        .find("id=\"verify-findings\"")
        .expect("the findings are listed")..];
    assert!(findings.contains("余额行与转账明细不符"), "{findings}");
    assert!(findings.contains("house:fees / 0"), "{findings}");
    let stored_row = format!("D 0 / C {}", stored.n);
    assert!(findings.contains(&stored_row), "the stored row, {findings}");
    let last = ledger::last_verification(&mut conn).unwrap().unwrap();
    assert!(!last.clean);
    assert_eq!(last.findings.len(), 1, "{:?}", last.findings);
}
