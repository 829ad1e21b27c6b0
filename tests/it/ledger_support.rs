//! Small helpers for building books in tests.

use alliance::{
    domain::id::AccountId,
    ledger::{self, AccountSpec, EntryRequest, EntryResult, TransferRequest},
};
use diesel::{PgConnection, RunQueryDsl};

pub const POINTS: &str = "PTS";

pub fn assets(conn: &mut PgConnection) {
    ledger::ensure_asset(conn, "CNY", 2, "人民币").unwrap();
    ledger::ensure_asset(conn, POINTS, 0, "Test points").unwrap();
}

pub fn open(
    conn: &mut PgConnection,
    code: &str,
    asset: &str,
    no_overdraft: bool,
    shards: i16,
) -> AccountId {
    ledger::open_account(
        conn,
        &AccountSpec {
            code: code.to_owned(),
            asset: asset.to_owned(),
            owner_kind: "test".to_owned(),
            owner_id: None,
            purpose: "test".to_owned(),
            no_overdraft,
            shards,
        },
    )
    .unwrap()
    .id
}

/// A points issuance account (no floor) and a member wallet (no overdraft).
pub fn issuer_and_wallet(conn: &mut PgConnection, prefix: &str) -> (AccountId, AccountId) {
    assets(conn);
    (
        open(conn, &format!("{prefix}:issuance"), POINTS, false, 1),
        open(conn, &format!("{prefix}:wallet"), POINTS, true, 1),
    )
}

pub fn move_entry(key: &str, debit: AccountId, credit: AccountId, amount: i64) -> EntryRequest {
    EntryRequest::new(key, "test").transfer(TransferRequest::move_(debit, credit, POINTS, amount))
}

pub fn submit_one(conn: &mut PgConnection, entry: EntryRequest) -> EntryResult {
    ledger::submit(conn, &[entry]).unwrap().pop().unwrap()
}

pub fn assert_verified(conn: &mut PgConnection) {
    let report = ledger::verify(conn).unwrap();
    assert!(
        report.is_clean(),
        "ledger verify found: {:#?}",
        report.findings
    );
}

#[derive(diesel::QueryableByName)]
struct Mismatch {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}

/// Every member wallet's lots (when its points lapse) sum to its posted balance.
pub fn assert_lots_match_wallets(conn: &mut PgConnection) {
    let mismatched: Vec<Mismatch> = diesel::sql_query(
        "SELECT a.code FROM accounts a \
           JOIN (SELECT account_id, sum(credits_posted - debits_posted) AS posted \
                   FROM account_balances GROUP BY account_id) b ON b.account_id = a.id \
           LEFT JOIN (SELECT member_id, program_code, sum(remaining) AS remaining \
                        FROM point_lots GROUP BY member_id, program_code) l \
                  ON l.member_id = a.owner_id AND l.program_code = a.asset \
          WHERE a.purpose = 'wallet' AND b.posted <> coalesce(l.remaining, 0)",
    )
    .load(conn)
    .unwrap();
    let codes: Vec<String> = mismatched.into_iter().map(|m| m.code).collect();
    assert!(codes.is_empty(), "wallets whose lots disagree: {codes:?}");
}
