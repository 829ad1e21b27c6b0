//! Small helpers for building books in tests.

use alliance::{
    domain::id::AccountId,
    ledger::{self, AccountSpec, EntryRequest, EntryResult, TransferRequest},
};
use diesel::PgConnection;

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
