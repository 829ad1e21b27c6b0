//! Journal entries, holds, idempotency and statements, one request at a time.

use alliance::{
    earn,
    ledger::{self, EntryError, EntryRequest, TransferRequest},
};
use diesel::{RunQueryDsl, sql_query};

use crate::{harness::TestDb, ledger_support::*};

#[test]
fn a_posted_entry_moves_value_and_verifies() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let committed = submit_one(conn, move_entry("earn-1", issuer, wallet, 120)).unwrap();
    assert!(!committed.replayed);
    assert_eq!(committed.transfer_ids.len(), 1);
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 120);
    assert_eq!(ledger::balance(conn, issuer).unwrap().posted(), -120);
    assert_verified(conn);
}

#[test]
fn the_same_key_and_request_returns_the_first_result() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let first = submit_one(conn, move_entry("k", issuer, wallet, 10)).unwrap();
    let again = submit_one(conn, move_entry("k", issuer, wallet, 10)).unwrap();
    assert!(again.replayed);
    assert_eq!(
        (again.entry_id, &again.transfer_ids),
        (first.entry_id, &first.transfer_ids)
    );
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 10);
}

#[test]
fn the_same_key_with_a_different_request_is_a_conflict() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let first = submit_one(conn, move_entry("k", issuer, wallet, 10)).unwrap();
    let conflict = submit_one(conn, move_entry("k", issuer, wallet, 11)).unwrap_err();
    assert_eq!(
        conflict,
        EntryError::IdempotencyConflict {
            entry_id: first.entry_id
        }
    );
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 10);
}

#[test]
fn metadata_key_order_does_not_change_the_request() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let a =
        move_entry("k", issuer, wallet, 5).metadata(serde_json::json!({"order": "A1", "store": 3}));
    let mut b = move_entry("k", issuer, wallet, 5);
    let mut map = serde_json::Map::new();
    map.insert("store".into(), 3.into());
    map.insert("order".into(), "A1".into());
    b.metadata = serde_json::Value::Object(map);
    submit_one(conn, a).unwrap();
    assert!(submit_one(conn, b).unwrap().replayed);
}

#[test]
fn an_overdraft_is_refused_and_changes_nothing() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 50)).unwrap();
    let err = submit_one(conn, move_entry("out", wallet, issuer, 51)).unwrap_err();
    assert_eq!(err, EntryError::Overdraft { account: wallet });
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 50);
    // A refused request leaves its key free for a corrected retry.
    submit_one(conn, move_entry("out", wallet, issuer, 50)).unwrap();
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 0);
    assert_verified(conn);
}

#[test]
fn a_batch_commits_good_entries_and_refuses_bad_ones_alone() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let other = open(conn, "other", "CNY", false, 1);
    let results = ledger::submit(
        conn,
        &[
            move_entry("a", issuer, wallet, 30),
            move_entry("b", wallet, issuer, 31), // overdraft
            move_entry("c", issuer, other, 1),   // wrong asset
            move_entry("", issuer, wallet, 1),   // bad key
            move_entry("d", wallet, issuer, 30), // spends what "a" added
            move_entry("a", issuer, wallet, 30), // replay within the batch
            move_entry("a", issuer, wallet, 99), // conflict within the batch
            EntryRequest::new("e", "test"),      // no transfers
        ],
    )
    .unwrap();
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(EntryError::Overdraft { account: wallet }));
    assert!(
        matches!(results[2], Err(EntryError::AssetMismatch { .. })),
        "{:?}",
        results[2]
    );
    assert_eq!(results[3], Err(EntryError::InvalidIdempotencyKey));
    assert!(results[4].is_ok());
    let first = results[0].as_ref().unwrap();
    let replay = results[5].as_ref().unwrap();
    assert!(
        replay.replayed
            && replay.entry_id == first.entry_id
            && replay.transfer_ids == first.transfer_ids
    );
    assert_eq!(
        results[6],
        Err(EntryError::IdempotencyConflict {
            entry_id: first.entry_id
        })
    );
    assert_eq!(results[7], Err(EntryError::NoTransfers));
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 0);
    assert_verified(conn);
}

#[test]
fn an_entry_with_several_transfers_is_all_or_nothing() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let breakage = open(conn, "p:breakage", POINTS, false, 1);
    submit_one(conn, move_entry("in", issuer, wallet, 10)).unwrap();
    let entry = EntryRequest::new("two-legs", "test")
        .transfer(TransferRequest::move_(wallet, breakage, POINTS, 6))
        .transfer(TransferRequest::move_(wallet, issuer, POINTS, 6));
    assert_eq!(
        submit_one(conn, entry).unwrap_err(),
        EntryError::Overdraft { account: wallet }
    );
    assert_eq!(ledger::balance(conn, breakage).unwrap().posted(), 0);
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 10);
}

#[test]
fn a_hold_counts_against_available_balance_until_posted() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 100)).unwrap();
    let hold = EntryRequest::new("hold", "redeem")
        .transfer(TransferRequest::hold(wallet, issuer, POINTS, 70, 600));
    let hold_id = submit_one(conn, hold).unwrap().transfer_ids[0];
    let balance = ledger::balance(conn, wallet).unwrap();
    assert_eq!(
        (
            balance.posted(),
            balance.available(),
            balance.debits_pending
        ),
        (100, 30, 70)
    );
    // Only 30 are available while 70 are held.
    assert_eq!(
        submit_one(conn, move_entry("spend", wallet, issuer, 31)).unwrap_err(),
        EntryError::Overdraft { account: wallet }
    );
    let post = EntryRequest::new("post", "redeem").transfer(TransferRequest::Post {
        pending: hold_id,
        amount: None,
    });
    submit_one(conn, post).unwrap();
    let balance = ledger::balance(conn, wallet).unwrap();
    assert_eq!(
        (
            balance.posted(),
            balance.available(),
            balance.debits_pending
        ),
        (30, 30, 0)
    );
    let again =
        EntryRequest::new("post-2", "redeem").transfer(TransferRequest::Void { pending: hold_id });
    assert_eq!(
        submit_one(conn, again).unwrap_err(),
        EntryError::PendingAlreadyResolved { pending: hold_id }
    );
    assert_verified(conn);
}

#[test]
fn a_partial_post_releases_the_rest_and_a_void_releases_all() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 100)).unwrap();
    let h1 = submit_one(
        conn,
        EntryRequest::new("h1", "redeem")
            .transfer(TransferRequest::hold(wallet, issuer, POINTS, 40, 600)),
    )
    .unwrap()
    .transfer_ids[0];
    let h2 = submit_one(
        conn,
        EntryRequest::new("h2", "redeem")
            .transfer(TransferRequest::hold(wallet, issuer, POINTS, 50, 600)),
    )
    .unwrap()
    .transfer_ids[0];
    let too_much = EntryRequest::new("p0", "redeem").transfer(TransferRequest::Post {
        pending: h1,
        amount: Some(41),
    });
    assert_eq!(
        submit_one(conn, too_much).unwrap_err(),
        EntryError::PostExceedsPending { pending: h1 }
    );
    submit_one(
        conn,
        EntryRequest::new("p1", "redeem").transfer(TransferRequest::Post {
            pending: h1,
            amount: Some(25),
        }),
    )
    .unwrap();
    submit_one(
        conn,
        EntryRequest::new("v2", "cancel").transfer(TransferRequest::Void { pending: h2 }),
    )
    .unwrap();
    let balance = ledger::balance(conn, wallet).unwrap();
    assert_eq!((balance.posted(), balance.available()), (75, 75));
    assert_verified(conn);
}

#[test]
fn an_expired_hold_cannot_be_posted_and_the_timeout_job_voids_it() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 100)).unwrap();
    let hold = submit_one(
        conn,
        EntryRequest::new("h", "redeem")
            .transfer(TransferRequest::hold(wallet, issuer, POINTS, 60, 1)),
    )
    .unwrap()
    .transfer_ids[0];
    assert_eq!(
        earn::held::void_expired_holds(conn, 100).unwrap(),
        0,
        "not expired yet"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let post = EntryRequest::new("p", "redeem").transfer(TransferRequest::Post {
        pending: hold,
        amount: None,
    });
    assert_eq!(
        submit_one(conn, post).unwrap_err(),
        EntryError::PendingExpired { pending: hold }
    );
    assert_eq!(earn::held::void_expired_holds(conn, 100).unwrap(), 1);
    assert_eq!(
        earn::held::void_expired_holds(conn, 100).unwrap(),
        0,
        "voided once"
    );
    assert_eq!(ledger::balance(conn, wallet).unwrap().available(), 100);
    assert_verified(conn);
}

#[test]
fn unknown_accounts_and_holds_are_refused() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, _) = issuer_and_wallet(conn, "p");
    let ghost = alliance::domain::id::AccountId(987_654);
    assert_eq!(
        submit_one(conn, move_entry("x", issuer, ghost, 1)).unwrap_err(),
        EntryError::AccountNotFound { account: ghost }
    );
    let ghost_hold = alliance::domain::id::TransferId(987_654);
    let void = EntryRequest::new("v", "test").transfer(TransferRequest::Void {
        pending: ghost_hold,
    });
    assert_eq!(
        submit_one(conn, void).unwrap_err(),
        EntryError::PendingNotFound {
            pending: ghost_hold
        }
    );
}

#[test]
fn opening_an_account_twice_returns_it_and_a_different_spec_is_refused() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    assets(conn);
    let a = open(conn, "house:fees", "CNY", false, 16);
    assert_eq!(open(conn, "house:fees", "CNY", false, 16), a);
    let mut spec = ledger::find_account(conn, "house:fees").unwrap().unwrap();
    spec.shards = 1;
    let clash = ledger::open_account(
        conn,
        &ledger::AccountSpec {
            code: spec.code,
            asset: spec.asset,
            owner_kind: spec.owner_kind,
            owner_id: spec.owner_id,
            purpose: spec.purpose,
            no_overdraft: spec.no_overdraft,
            shards: 1,
        },
    );
    assert!(matches!(
        clash,
        Err(ledger::LedgerError::AccountCodeTaken(_))
    ));
}

#[test]
fn a_sharded_house_account_sums_its_shards() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let house = open(conn, "house:pool", POINTS, false, 8);
    for i in 0..40 {
        submit_one(conn, move_entry(&format!("e{i}"), issuer, house, 5)).unwrap();
    }
    submit_one(conn, move_entry("w", house, wallet, 150)).unwrap();
    assert_eq!(ledger::balance(conn, house).unwrap().posted(), 50);
    let used: i64 = diesel::QueryDsl::select(
        diesel::QueryDsl::filter(
            alliance::db::schema::account_balances::table,
            diesel::ExpressionMethods::eq(
                alliance::db::schema::account_balances::account_id,
                house,
            ),
        ),
        diesel::dsl::count_star(),
    )
    .get_result(conn)
    .unwrap();
    assert_eq!(used, 8);
    assert_verified(conn);
}

#[test]
fn the_statement_pages_newest_first_with_a_running_balance() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    for i in 1..=7 {
        submit_one(conn, move_entry(&format!("in{i}"), issuer, wallet, i * 10)).unwrap();
    }
    submit_one(conn, move_entry("out", wallet, issuer, 25)).unwrap();
    // A hold is not a posted movement and does not appear.
    submit_one(
        conn,
        EntryRequest::new("h", "redeem")
            .transfer(TransferRequest::hold(wallet, issuer, POINTS, 5, 600)),
    )
    .unwrap();

    let first = ledger::statement(conn, wallet, None, 3).unwrap();
    let amounts: Vec<i64> = first.lines.iter().map(|l| l.amount).collect();
    let balances: Vec<i64> = first.lines.iter().map(|l| l.balance_after).collect();
    assert_eq!(amounts, vec![-25, 70, 60]);
    assert_eq!(balances, vec![255, 280, 210]);
    let second = ledger::statement(conn, wallet, first.next_before, 3).unwrap();
    assert_eq!(
        second
            .lines
            .iter()
            .map(|l| l.balance_after)
            .collect::<Vec<_>>(),
        vec![150, 100, 60]
    );
    let last = ledger::statement(conn, wallet, second.next_before, 3).unwrap();
    assert_eq!(
        last.lines
            .iter()
            .map(|l| l.balance_after)
            .collect::<Vec<_>>(),
        vec![30, 10]
    );
    assert_eq!(last.next_before, None);
    assert_eq!(last.lines[1].counterparty, issuer);
}

#[test]
fn verify_names_an_account_whose_balance_row_was_tampered_with() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    submit_one(conn, move_entry("in", issuer, wallet, 10)).unwrap();
    sql_query(format!(
        "UPDATE account_balances SET credits_posted = 11 WHERE account_id = {wallet}"
    ))
    .execute(conn)
    .unwrap();
    let report = ledger::verify(conn).unwrap();
    assert!(report.findings.iter().any(|f| matches!(
        f,
        ledger::Finding::BalanceMismatch { account_id, code: Some(code), .. } if *account_id == wallet.0 && code == "p:wallet"
    )), "{:?}", report.findings);
}
