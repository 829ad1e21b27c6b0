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

/// Holds and lots agree: every wallet's reserved lot points equal its pending
/// debits, every open hold on a member wallet has reserved exactly its amount,
/// resolved holds reserve nothing, every lot's `reserved` is the sum of its
/// reservations, and refund claims are open only on open holds, never more
/// than a hold holds, and add up to what each order counts claimed.
pub fn assert_holds_match_lots(conn: &mut PgConnection) {
    let checks = [
        (
            "wallets whose reserved lots differ from their pending debits",
            "SELECT a.code FROM accounts a \
               JOIN (SELECT account_id, sum(debits_pending) AS held \
                       FROM account_balances GROUP BY account_id) b ON b.account_id = a.id \
               LEFT JOIN (SELECT member_id, program_code, sum(reserved) AS reserved \
                            FROM point_lots GROUP BY member_id, program_code) l \
                      ON l.member_id = a.owner_id AND l.program_code = a.asset \
              WHERE a.purpose = 'wallet' AND a.owner_kind = 'member' \
                AND b.held <> coalesce(l.reserved, 0)",
        ),
        (
            "open holds whose reservations differ from their amount",
            "SELECT t.id::text AS code FROM transfers t \
               JOIN accounts a ON a.id = t.debit_account_id \
               LEFT JOIN (SELECT hold_id, sum(points) AS points \
                            FROM lot_reservations GROUP BY hold_id) r ON r.hold_id = t.id \
              WHERE a.purpose = 'wallet' AND a.owner_kind = 'member' AND t.phase = 'pending' \
                AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = t.id) \
                AND coalesce(r.points, 0) <> t.amount",
        ),
        (
            "resolved holds still reserving lots",
            "SELECT DISTINCT r.hold_id::text AS code FROM lot_reservations r \
              WHERE EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = r.hold_id)",
        ),
        (
            "lots whose reserved points differ from their reservations",
            "SELECT l.id::text AS code FROM point_lots l \
               LEFT JOIN (SELECT lot_id, sum(points) AS points \
                            FROM lot_reservations GROUP BY lot_id) r ON r.lot_id = l.id \
              WHERE l.reserved <> coalesce(r.points, 0)",
        ),
        (
            "open claims on resolved holds or above what a hold holds",
            "SELECT c.hold_id::text AS code FROM refund_claims c \
               JOIN transfers t ON t.id = c.hold_id \
              WHERE c.outcome IS NULL \
              GROUP BY c.hold_id, t.amount \
             HAVING sum(c.points) > t.amount \
                 OR bool_or(EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = c.hold_id))",
        ),
        (
            "orders whose claimed points differ from their open claims",
            "SELECT o.id::text AS code FROM earn_orders o \
               LEFT JOIN (SELECT f.earn_order_id, sum(c.points) AS points \
                            FROM refund_claims c JOIN earn_refunds f ON f.id = c.earn_refund_id \
                           WHERE c.outcome IS NULL GROUP BY f.earn_order_id) c \
                      ON c.earn_order_id = o.id \
              WHERE o.points_claimed <> coalesce(c.points, 0)",
        ),
    ];
    for (what, sql) in checks {
        let found: Vec<Mismatch> = diesel::sql_query(sql).load(conn).unwrap();
        let codes: Vec<String> = found.into_iter().map(|m| m.code).collect();
        assert!(codes.is_empty(), "{what}: {codes:?}");
    }
}
