//! Random sequences of entries, holds, posts and voids keep every invariant that
//! `ledger verify` checks, and balances match a model computed in the test.

use std::collections::HashMap;

use alliance::{
    domain::id::{AccountId, TransferId},
    ledger::{self, EntryError, EntryRequest, TransferRequest},
};
use proptest::prelude::*;

use crate::{harness::TestDb, ledger_support::*};

const WALLETS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Move { from: usize, to: usize, amount: i64 },
    Hold { from: usize, to: usize, amount: i64 },
    Post { hold: usize, part: Option<i64> },
    Void { hold: usize },
    Batch(Vec<(usize, usize, i64)>),
}

/// Account 0 is the issuer (no floor); the rest are wallets.
fn op() -> impl Strategy<Value = Op> {
    let account = 0..=WALLETS;
    prop_oneof![
        4 => (account.clone(), account.clone(), 1..60_i64).prop_map(|(from, to, amount)| Op::Move { from, to, amount }),
        2 => (account.clone(), account.clone(), 1..60_i64).prop_map(|(from, to, amount)| Op::Hold { from, to, amount }),
        1 => (0..8_usize, proptest::option::of(1..60_i64)).prop_map(|(hold, part)| Op::Post { hold, part }),
        1 => (0..8_usize).prop_map(|hold| Op::Void { hold }),
        1 => proptest::collection::vec((account.clone(), account, 1..60_i64), 1..6).prop_map(Op::Batch),
    ]
}

/// What the test expects: posted and held per account, as credits minus debits.
#[derive(Default)]
struct Model {
    posted: HashMap<AccountId, i64>,
    held_out: HashMap<AccountId, i64>,
}

fn transfer(accounts: &[AccountId], from: usize, to: usize, amount: i64) -> TransferRequest {
    TransferRequest::move_(accounts[from], accounts[to], POINTS, amount)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_activity_keeps_the_books_provable(ops in proptest::collection::vec(op(), 1..40)) {
        let db = TestDb::new();
        let conn = &mut db.conn();
        assets(conn);
        let mut accounts = vec![open(conn, "issuer", POINTS, false, 4)];
        accounts.extend((0..WALLETS).map(|i| open(conn, &format!("w{i}"), POINTS, true, 1)));
        let mut holds: Vec<(TransferId, usize, usize, i64)> = Vec::new();
        let mut model = Model::default();
        let mut key = 0;
        let mut next_key = || { key += 1; format!("op{key}") };

        for op in ops {
            match op {
                Op::Move { from, to, amount } => {
                    let result = submit_one(conn, EntryRequest::new(next_key(), "test").transfer(transfer(&accounts, from, to, amount)));
                    expect_move(&mut model, &accounts, result.map(drop), from, to, amount);
                }
                Op::Hold { from, to, amount } => {
                    let request = TransferRequest::hold(accounts[from], accounts[to], POINTS, amount, 3600);
                    match submit_one(conn, EntryRequest::new(next_key(), "test").transfer(request)) {
                        Ok(c) => {
                            *model.held_out.entry(accounts[from]).or_default() += amount;
                            holds.push((c.transfer_ids[0], from, to, amount));
                        }
                        Err(e) => prop_assert!(from == to || matches!(e, EntryError::Overdraft { .. }), "{e}"),
                    }
                }
                Op::Post { hold, .. } | Op::Void { hold } if hold < holds.len() => {
                    let (id, from, to, amount) = holds[hold];
                    let (request, posted) = match op {
                        Op::Post { part, .. } => (TransferRequest::Post { pending: id, amount: part }, part.unwrap_or(amount)),
                        _ => (TransferRequest::Void { pending: id }, 0),
                    };
                    match submit_one(conn, EntryRequest::new(next_key(), "test").transfer(request)) {
                        Ok(_) => {
                            *model.held_out.entry(accounts[from]).or_default() -= amount;
                            *model.posted.entry(accounts[from]).or_default() -= posted;
                            *model.posted.entry(accounts[to]).or_default() += posted;
                        }
                        Err(e) => prop_assert!(matches!(
                            e,
                            EntryError::PendingAlreadyResolved { .. } | EntryError::PostExceedsPending { .. }
                        ), "{e}"),
                    }
                }
                Op::Post { .. } | Op::Void { .. } => {}
                Op::Batch(moves) => {
                    let entries: Vec<_> = moves
                        .iter()
                        .map(|&(from, to, amount)| EntryRequest::new(next_key(), "test").transfer(transfer(&accounts, from, to, amount)))
                        .collect();
                    let results = ledger::submit(conn, &entries).unwrap();
                    for (&(from, to, amount), result) in moves.iter().zip(results) {
                        expect_move(&mut model, &accounts, result.map(drop), from, to, amount);
                    }
                }
            }
        }

        let report = ledger::verify(conn).unwrap();
        prop_assert!(report.is_clean(), "{:#?}", report.findings);
        for account in &accounts {
            let balance = ledger::balance(conn, *account).unwrap();
            prop_assert_eq!(balance.posted(), model.posted.get(account).copied().unwrap_or(0));
            prop_assert_eq!(balance.debits_pending, model.held_out.get(account).copied().unwrap_or(0));
        }
    }
}

fn expect_move(
    model: &mut Model,
    accounts: &[AccountId],
    result: Result<(), EntryError>,
    from: usize,
    to: usize,
    amount: i64,
) {
    match result {
        Ok(()) => {
            *model.posted.entry(accounts[from]).or_default() -= amount;
            *model.posted.entry(accounts[to]).or_default() += amount;
        }
        Err(EntryError::SameAccount { .. }) => assert_eq!(from, to),
        Err(EntryError::Overdraft { account }) => {
            // Refused only when the wallet really could not pay.
            let available = model.posted.get(&account).copied().unwrap_or(0)
                - model.held_out.get(&account).copied().unwrap_or(0);
            assert!(
                from != 0 && available < amount,
                "refused with {available} available for {amount}"
            );
        }
        Err(e) => panic!("unexpected refusal: {e}"),
    }
}
