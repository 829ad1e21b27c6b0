//! Many writers at once: the floor holds, nothing deadlocks in a caller's face,
//! and a key posts once.

use std::{
    sync::{Arc, Barrier},
    thread,
};

use alliance::ledger::{self, EntryError, EntryRequest, TransferRequest};

use crate::{harness::TestDb, ledger_support::*};

#[test]
fn thirty_two_writers_drain_a_wallet_funded_for_exactly_fifty_transfers() {
    const THREADS: usize = 32;
    const PER_THREAD: usize = 200;
    let db = Arc::new(TestDb::new());
    let conn = &mut db.conn();
    assets(conn);
    let source = open(conn, "member:scarce", POINTS, true, 1);
    let issuer = open(conn, "issuance", POINTS, false, 1);
    let house = open(conn, "house:hot", POINTS, false, 16);
    let others: Vec<_> = (0..4)
        .map(|i| open(conn, &format!("member:{i}"), POINTS, true, 1))
        .collect();
    submit_one(conn, move_entry("fund", issuer, source, 50 * 7)).unwrap();
    for (i, other) in others.iter().enumerate() {
        submit_one(
            conn,
            move_entry(&format!("fund-{i}"), issuer, *other, 1_000_000),
        )
        .unwrap();
    }

    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, barrier, others) = (Arc::clone(&db), Arc::clone(&barrier), others.clone());
            thread::spawn(move || {
                let conn = &mut db.conn();
                barrier.wait();
                let mut drained = 0;
                for n in 0..PER_THREAD {
                    // Every fourth transfer drains the scarce wallet; the rest
                    // shuffle among the others and the hot house account, in
                    // both directions, so lock orders cross.
                    let (debit, credit, amount) = match n % 4 {
                        0 => (source, house, 7),
                        1 => (others[t % 4], others[(t + 1) % 4], 3),
                        2 => (others[(t + 2) % 4], house, 2),
                        _ => (house, others[t % 4], 1),
                    };
                    let entry = EntryRequest::new(format!("t{t}-{n}"), "test")
                        .transfer(TransferRequest::move_(debit, credit, POINTS, amount));
                    match ledger::submit(conn, &[entry])
                        .expect("no error reaches the caller")
                        .pop()
                        .unwrap()
                    {
                        Ok(_) if debit == source => drained += 1,
                        Ok(_) => {}
                        Err(EntryError::Overdraft { account }) if account == source => {}
                        Err(e) => panic!("unexpected refusal: {e}"),
                    }
                }
                drained
            })
        })
        .collect();
    let drained: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();

    assert_eq!(drained, 50);
    let balance = ledger::balance(conn, source).unwrap();
    assert_eq!((balance.posted(), balance.available()), (0, 0));
    assert_verified(conn);
}

#[test]
fn the_same_entry_submitted_twenty_times_at_once_posts_once() {
    const COPIES: usize = 20;
    let db = Arc::new(TestDb::new());
    let conn = &mut db.conn();
    let (issuer, wallet) = issuer_and_wallet(conn, "p");
    let barrier = Arc::new(Barrier::new(COPIES));
    let handles: Vec<_> = (0..COPIES)
        .map(|_| {
            let (db, barrier) = (Arc::clone(&db), Arc::clone(&barrier));
            thread::spawn(move || {
                let conn = &mut db.conn();
                barrier.wait();
                submit_one(conn, move_entry("once", issuer, wallet, 42))
                    .expect("same key, same request")
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1);
    assert!(results.iter().all(|r| r.entry_id == results[0].entry_id && r.transfer_ids == results[0].transfer_ids));
    assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 42);
    let conflict = submit_one(conn, move_entry("once", issuer, wallet, 43)).unwrap_err();
    assert_eq!(
        conflict,
        EntryError::IdempotencyConflict {
            entry_id: results[0].entry_id
        }
    );
    assert_verified(conn);
}

#[test]
fn concurrent_batches_with_crossing_keys_and_accounts_all_commit() {
    let db = Arc::new(TestDb::new());
    let conn = &mut db.conn();
    assets(conn);
    let issuer = open(conn, "issuance", POINTS, false, 4);
    let wallets: Vec<_> = (0..6)
        .map(|i| open(conn, &format!("w{i}"), POINTS, true, 1))
        .collect();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (db, wallets) = (Arc::clone(&db), wallets.clone());
            thread::spawn(move || {
                let conn = &mut db.conn();
                for round in 0..20 {
                    // The same 12 keys in a different order in every thread.
                    let mut batch: Vec<_> = (0..12)
                        .map(|k| move_entry(&format!("r{round}-k{k}"), issuer, wallets[k % 6], 1))
                        .collect();
                    batch.rotate_left(t);
                    if t % 2 == 1 {
                        batch.reverse();
                    }
                    for result in ledger::submit(conn, &batch).unwrap() {
                        result.unwrap();
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    for wallet in wallets {
        assert_eq!(ledger::balance(conn, wallet).unwrap().posted(), 40);
    }
    assert_verified(conn);
}
