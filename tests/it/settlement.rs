//! Periodic settlement (#8) in the domain: statements that reconcile to the
//! ledger, payouts split among recipients, collections, and settling each
//! (merchant, period) exactly once under retries, crashes and two schedulers.

use alliance::{
    deposit,
    domain::{
        id::{MemberId, MerchantId},
        money::Money,
    },
    risk,
    settlement::{
        collection,
        payout::{self, PayoutStatus},
        run::{self, RunRequest, Trigger},
        statement::{self, Direction, Line, Outcome},
    },
};
use chrono::Days;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use proptest::prelude::*;

use crate::{
    exchange_support::{keys, member_with_coffee, two_programs},
    harness::TestDb,
    ledger_support::assert_verified,
    settlement_support::{
        after_one_exchange, assert_reconciles, daily_terms, day, exchange, operator, position,
        recipient, settle_after_end, today,
    },
};

#[test]
fn the_receiving_merchant_is_paid_out_and_the_giving_one_owes_a_collection() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let owed_to_cinema = position(conn, shops.cinema);
    let owed_by_coffee = -position(conn, shops.coffee);
    assert!(owed_to_cinema > 0 && owed_by_coffee > owed_to_cinema);

    let cinema = settle_after_end(conn, shops.cinema, day(0)).unwrap();
    assert!(!cinema.replayed);
    let cinema = cinema.statement;
    assert_eq!(cinema.outcome, Outcome::Payout);
    assert_eq!(
        (cinema.opening.fen(), cinema.closing.fen()),
        (0, owed_to_cinema)
    );
    assert_eq!(cinema.carried.fen(), 0);
    assert_reconciles(conn, &cinema);
    assert_eq!(
        statement::lines(conn, cinema.id).unwrap(),
        vec![Line {
            kind: "exchange".into(),
            direction: Direction::In,
            correction: false,
            transfers: 1,
            amount: Money::from_fen(owed_to_cinema),
        }]
    );
    let payouts = payout::of_statement(conn, cinema.id).unwrap();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].amount.fen(), owed_to_cinema);
    assert_eq!(payouts[0].status, PayoutStatus::Pending);
    assert_eq!(
        position(conn, shops.cinema),
        0,
        "the payout booking empties the position"
    );

    let coffee = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    assert_eq!(coffee.outcome, Outcome::Collection);
    assert_eq!(coffee.closing.fen(), -owed_by_coffee);
    assert_eq!(
        coffee.carried.fen(),
        -owed_by_coffee,
        "a debt is carried until paid"
    );
    assert_reconciles(conn, &coffee);
    let owed = collection::of_statement(conn, coffee.id).unwrap().unwrap();
    assert_eq!(owed.amount.fen(), owed_by_coffee);
    assert_eq!(owed.due_on, day(0).end + Days::new(7));
    assert_eq!(owed.status.as_str(), "open");
    assert_verified(conn);
}

#[test]
fn settling_again_returns_the_first_statement_and_books_nothing() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let first = settle_after_end(conn, shops.cinema, day(0)).unwrap();
    let entries = count(conn, "SELECT count(*) AS n FROM journal_entries");
    for _ in 0..3 {
        let again = settle_after_end(conn, shops.cinema, day(0)).unwrap();
        assert!(again.replayed);
        assert_eq!(again.statement, first.statement);
    }
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM journal_entries"),
        entries
    );
    assert_eq!(count(conn, "SELECT count(*) AS n FROM payouts"), 1);
    // A run through the same day, once it has ended, finds nothing left to do.
    let _day_ended = alliance::clock::SimClock::starting_at(day(0).ends_at()).install();
    let summary = run::run(
        conn,
        &keys(),
        &operator(),
        RunRequest {
            trigger: Trigger::Operator,
            merchant_id: Some(shops.cinema),
            through: day(0).end,
        },
    )
    .unwrap();
    assert_eq!(summary.settled, 0);
}

#[test]
fn a_settlement_cut_off_midway_leaves_nothing_and_the_retry_settles_once() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let before = position(conn, shops.cinema);
    // The process dies after every step of the settlement ran but before the
    // commit: PostgreSQL rolls the transaction back.
    let crashed: Result<(), diesel::result::Error> = conn.transaction(|conn| {
        settle_after_end(conn, shops.cinema, day(0)).unwrap();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(crashed.is_err());
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'settle'"
        ),
        0
    );
    assert_eq!(position(conn, shops.cinema), before);

    let settled = settle_after_end(conn, shops.cinema, day(0)).unwrap();
    assert!(!settled.replayed);
    assert_eq!(settled.statement.closing.fen(), before);
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM journal_entries WHERE kind = 'settle'"
        ),
        1
    );
}

#[test]
fn two_schedulers_at_once_settle_each_period_once() {
    let db = TestDb::new();
    let shops = after_one_exchange(&mut db.conn());
    // The merchants joined three days ago: three daily periods have ended.
    sql_query("UPDATE merchants SET created_at = now() - interval '3 days'")
        .execute(&mut db.conn())
        .unwrap();
    let handles: Vec<_> = ["process-a", "process-b", "process-c"]
        .into_iter()
        .map(|holder| {
            let mut conn = db.conn();
            std::thread::spawn(move || run::scheduled(&mut conn, &keys(), holder).unwrap())
        })
        .collect();
    let settled: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let conn = &mut db.conn();
    assert_eq!(settled, 6, "three periods for each of the two merchants");
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        6
    );
    for merchant in [shops.coffee, shops.cinema] {
        let statements = statement::of_merchant(conn, merchant, None, None, 10).unwrap();
        let mut ends: Vec<_> = statements.iter().map(statement::Statement::days).collect();
        ends.dedup();
        assert_eq!(ends.len(), 3);
        assert_eq!(statements[0].days().1, today().pred_opt().unwrap());
    }
    // Without the lease, two runs at once still settle each period once: the
    // merchant's lock and the statement's uniqueness see to it.
    sql_query("UPDATE merchants SET created_at = now() - interval '6 days'")
        .execute(conn)
        .unwrap();
    let both: Vec<_> = (0..2)
        .map(|_| {
            let mut conn = db.conn();
            std::thread::spawn(move || {
                run::run(
                    &mut conn,
                    &keys(),
                    &operator(),
                    RunRequest {
                        trigger: Trigger::Operator,
                        merchant_id: None,
                        through: today(),
                    },
                )
                .unwrap()
                .settled
            })
        })
        .collect();
    let more: usize = both.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        more, 0,
        "the earlier periods start before the first statement"
    );
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        6
    );
}

#[test]
fn a_payout_is_split_between_the_platform_an_agent_a_fixed_amount_and_the_rest() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = two_programs(conn);
    daily_terms(conn, shops.cinema, 250, true);
    let own = recipient(conn, shops.cinema, "本店结算账户", "rest");
    let agent = recipient(conn, shops.cinema, "华东代理商", "percent:10");
    let referrer = recipient(conn, shops.cinema, "推荐人", "fixed:0.50");
    let alice = member_with_coffee(conn, shops.coffee, "+8613800000001", 20_000);
    exchange(conn, alice, "COFFEE", "CINEMA", 10_000);
    let net = position(conn, shops.cinema);

    let s = settle_after_end(conn, shops.cinema, day(0))
        .unwrap()
        .statement;
    let fee = net * 250 / 10_000;
    assert_eq!(s.platform_fee.fen(), fee, "2.5%, rounded down");
    let after_fixed = net - fee - 50;
    let agent_share = after_fixed * 1_000 / 10_000;
    let by_recipient: Vec<(i64, i64)> = payout::of_statement(conn, s.id)
        .unwrap()
        .into_iter()
        .rev()
        .map(|p| (p.recipient_id, p.amount.fen()))
        .collect();
    assert_eq!(
        by_recipient,
        vec![
            (own, after_fixed - agent_share),
            (agent, agent_share),
            (referrer, 50)
        ]
    );
    assert_eq!(
        by_recipient.iter().map(|(_, f)| f).sum::<i64>() + fee,
        net,
        "no fen lost or invented"
    );
    assert_reconciles(conn, &s);
    assert_verified(conn);
}

#[test]
fn a_failed_payout_returns_to_the_next_statement_as_a_correction_and_the_paid_one_stays() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let first = settle_after_end(conn, shops.cinema, day(0))
        .unwrap()
        .statement;
    let batch = payout::create_batch(conn, &operator(), today())
        .unwrap()
        .unwrap();
    payout::mark_sent(conn, &operator(), batch.id).unwrap();
    let paid = payout::of_batch(conn, batch.id).unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM webhook_deliveries \
                 WHERE event = 'payout.sent' AND subject = 'payout:{}'",
                paid[0].id
            )
        ),
        1,
        "the merchant is told the payout left"
    );
    payout::fail(conn, &operator(), paid[0].id, "账户已冻结").unwrap();
    // Again: nothing more moves.
    payout::fail(conn, &operator(), paid[0].id, "账户已冻结").unwrap();
    assert_eq!(position(conn, shops.cinema), first.closing.fen());

    let second = settle_after_end(conn, shops.cinema, day(1))
        .unwrap()
        .statement;
    assert_eq!(second.opening.fen(), 0);
    assert_eq!(
        statement::lines(conn, second.id).unwrap(),
        vec![Line {
            kind: payout::RETURN_KIND.into(),
            direction: Direction::In,
            correction: true,
            transfers: 1,
            amount: first.closing,
        }]
    );
    assert_eq!(
        second.outcome,
        Outcome::Payout,
        "paid again with the next settlement"
    );
    assert_reconciles(conn, &second);
    assert_eq!(statement::find(conn, first.id).unwrap().unwrap(), first);
    let rewrite = sql_query(format!(
        "UPDATE settlement_statements SET closing_fen = 0, opening_fen = 0, activity_fen = 0 WHERE id = {}",
        first.id
    ))
    .execute(conn);
    assert!(rewrite.is_err(), "a paid statement is never rewritten");
    // Confirming a failed payout is refused.
    assert!(payout::confirm(conn, &operator(), paid[0].id).is_err());
    assert_verified(conn);
}

#[test]
fn an_overdue_collection_is_taken_from_the_deposit_where_the_terms_allow() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let coffee = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    let owed = collection::of_statement(conn, coffee.id).unwrap().unwrap();
    let deposit_before = deposit_balance(conn, shops.coffee);
    // Not yet due: nothing happens.
    assert_eq!(
        collection::review_due(conn, &operator(), owed.due_on).unwrap(),
        0
    );
    assert_eq!(
        collection::review_due(conn, &operator(), owed.due_on + Days::new(1)).unwrap(),
        1
    );
    let after = collection::find(conn, owed.id).unwrap().unwrap();
    assert_eq!(after.status.as_str(), "paid");
    assert_eq!(
        deposit_balance(conn, shops.coffee),
        deposit_before - owed.amount.fen()
    );
    assert_eq!(
        position(conn, shops.coffee),
        0,
        "the deduction paid the debt"
    );
    deposit::ensure_issuing_allowed(conn, shops.coffee).unwrap();
    // The next statement shows the deduction and closes at zero.
    let next = settle_after_end(conn, shops.coffee, day(1))
        .unwrap()
        .statement;
    assert_eq!(
        (next.opening.fen(), next.closing.fen()),
        (-owed.amount.fen(), 0)
    );
    assert_eq!(next.outcome, Outcome::Nil);
    assert_reconciles(conn, &next);
    assert_verified(conn);
}

#[test]
fn an_unpaid_collection_goes_overdue_blocks_issuing_until_the_bank_transfer_arrives() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    daily_terms(conn, shops.coffee, 0, false);
    let coffee = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    let owed = collection::of_statement(conn, coffee.id).unwrap().unwrap();
    let deposit_before = deposit_balance(conn, shops.coffee);
    collection::review_due(conn, &operator(), owed.due_on + Days::new(1)).unwrap();
    assert_eq!(
        collection::find(conn, owed.id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "overdue"
    );
    assert_eq!(
        deposit_balance(conn, shops.coffee),
        deposit_before,
        "not allowed: untouched"
    );
    assert!(
        risk::unresolved(conn, collection::OVERDUE_ALERT, shops.coffee)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        deposit::ensure_issuing_allowed(conn, shops.coffee),
        Err(deposit::IssuingBlocked::SettlementOverdue)
    ));

    // Too much, or no reference: refused, nothing moves.
    let too_much = Money::from_fen(owed.amount.fen() + 1);
    assert!(collection::record_receipt(conn, &operator(), owed.id, too_much, "CMB-1").is_err());
    assert!(collection::record_receipt(conn, &operator(), owed.id, owed.amount, " ").is_err());
    assert_eq!(position(conn, shops.coffee), -owed.amount.fen());

    let half = Money::from_fen(owed.amount.fen() / 2);
    let rest = Money::from_fen(owed.amount.fen() - half.fen());
    collection::record_receipt(conn, &operator(), owed.id, half, "CMB-1").unwrap();
    // The same bank reference again is the same receipt.
    collection::record_receipt(conn, &operator(), owed.id, half, "CMB-1").unwrap();
    assert_eq!(
        collection::find(conn, owed.id).unwrap().unwrap().collected,
        half
    );
    collection::record_receipt(conn, &operator(), owed.id, rest, "CMB-2").unwrap();
    assert_eq!(
        collection::find(conn, owed.id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "paid"
    );
    assert!(
        risk::unresolved(conn, collection::OVERDUE_ALERT, shops.coffee)
            .unwrap()
            .is_none()
    );
    deposit::ensure_issuing_allowed(conn, shops.coffee).unwrap();
    assert_eq!(position(conn, shops.coffee), 0);
    assert_verified(conn);
}

#[test]
fn a_debt_rolled_into_the_next_statement_keeps_its_due_date() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let first = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    let first_owed = collection::of_statement(conn, first.id).unwrap().unwrap();
    let bob = member_with_coffee(conn, shops.coffee, "+8613800000002", 3_000);
    exchange(conn, bob, "COFFEE", "CINEMA", 500);
    let second = settle_after_end(conn, shops.coffee, day(1))
        .unwrap()
        .statement;
    let second_owed = collection::of_statement(conn, second.id).unwrap().unwrap();
    assert_eq!(
        collection::find(conn, first_owed.id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "superseded"
    );
    assert_eq!(second_owed.amount.fen(), -second.closing.fen());
    assert!(second_owed.amount > first_owed.amount);
    assert_eq!(second_owed.due_on, first_owed.due_on);
}

fn deposit_balance(conn: &mut PgConnection, merchant_id: MerchantId) -> i64 {
    let account =
        alliance::chart::open(conn, &alliance::chart::merchant_deposit(merchant_id)).unwrap();
    alliance::ledger::balance(conn, account).unwrap().posted()
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// One step of random activity between settlements.
#[derive(Debug, Clone)]
enum Step {
    Exchange { coffee_to_cinema: bool, points: i64 },
    Settle,
    FailFirstSentPayout,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<bool>(), 300i64..3_000).prop_map(|(coffee_to_cinema, points)| Step::Exchange { coffee_to_cinema, points }),
        2 => Just(Step::Settle),
        1 => Just(Step::FailFirstSentPayout),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Whatever happens between settlements, every statement closes at exactly
    /// the ledger position of the merchant's settlement account when it ran, its
    /// lines add up, and what it carried is the position after it.
    #[test]
    fn random_activity_settles_to_statements_that_reconcile_to_the_ledger(steps in prop::collection::vec(step(), 1..12)) {
        let db = TestDb::new();
        let conn = &mut db.conn();
        let shops = after_one_exchange(conn);
        let alice = member_with_coffee(conn, shops.coffee, "+8613800000009", 40_000);
        crate::exchange_support::earn_points(conn, shops.cinema, alice, 40_000);
        let mut period = 0;
        for step in steps.into_iter().chain([Step::Settle]) {
            match step {
                Step::Exchange { coffee_to_cinema, points } => {
                    let (from, to) = if coffee_to_cinema { ("COFFEE", "CINEMA") } else { ("CINEMA", "COFFEE") };
                    exchange(conn, alice, from, to, points);
                }
                Step::FailFirstSentPayout => {
                    if let Some(batch) = payout::create_batch(conn, &operator(), today()).unwrap() {
                        payout::mark_sent(conn, &operator(), batch.id).unwrap();
                        let first = payout::of_batch(conn, batch.id).unwrap().pop().unwrap();
                        payout::fail(conn, &operator(), first.id, "退票").unwrap();
                    }
                }
                Step::Settle => {
                    for merchant in [shops.coffee, shops.cinema] {
                        let before = position(conn, merchant);
                        let s = settle_after_end(conn, merchant, day(period)).unwrap().statement;
                        prop_assert_eq!(s.closing.fen(), before);
                        assert_reconciles(conn, &s);
                        prop_assert_eq!(position(conn, merchant), s.carried.fen());
                    }
                    period += 1;
                }
            }
        }
        assert_verified(conn);
    }
}

#[test]
fn a_deduction_by_hand_is_refused_where_the_terms_forbid_it() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    daily_terms(conn, shops.coffee, 0, false);
    let coffee = settle_after_end(conn, shops.coffee, day(0))
        .unwrap()
        .statement;
    let owed = collection::of_statement(conn, coffee.id).unwrap().unwrap();
    let refused = collection::request_deposit_collection(
        conn,
        &operator(),
        owed.id,
        alliance::approval::Policy {
            dual_approval_from: Money::parse("100000.00").unwrap(),
        },
        &crate::harness::approval_registry(),
    );
    assert!(matches!(
        refused,
        Err(collection::CollectionError::NotAllowed)
    ));
    assert_eq!(count(conn, "SELECT count(*) AS n FROM approvals"), 0);
}

/// CINEMA pays a 3% platform share, a referrer a fixed ¥12.34, an agent 10%
/// of the rest and its own account what is left; Alice has exchanged 10,000
/// COFFEE into CINEMA. Its first statement is settled and batched, the batch
/// sent, and the bank fails the agent's payout. Returns the first statement,
/// the failed payout and the recipients (own, agent, referrer).
fn agent_payout_failed(
    conn: &mut PgConnection,
) -> (TwoShops, statement::Statement, payout::Payout) {
    let shops = two_programs(conn);
    daily_terms(conn, shops.cinema, 300, true);
    let own = recipient(conn, shops.cinema, "本店结算账户", "rest");
    let agent = recipient(conn, shops.cinema, "新代理商", "percent:10");
    let referrer = recipient(conn, shops.cinema, "推荐人", "fixed:12.34");
    let alice = member_with_coffee(conn, shops.coffee, "+8613800000001", 20_000);
    exchange(conn, alice, "COFFEE", "CINEMA", 10_000);
    let first = settle_after_end(conn, shops.cinema, day(0))
        .unwrap()
        .statement;
    let batch = payout::create_batch(conn, &operator(), today())
        .unwrap()
        .unwrap();
    payout::mark_sent(conn, &operator(), batch.id).unwrap();
    let failed = payout::of_batch(conn, batch.id)
        .unwrap()
        .into_iter()
        .find(|p| p.recipient_id == agent)
        .unwrap();
    for p in payout::of_batch(conn, batch.id).unwrap() {
        if p.id != failed.id {
            payout::confirm(conn, &operator(), p.id).unwrap();
        }
    }
    let failed = payout::fail(conn, &operator(), failed.id, "账户不存在").unwrap();
    (
        TwoShops {
            shops,
            alice,
            own,
            agent,
            referrer,
        },
        first,
        failed,
    )
}

struct TwoShops {
    shops: crate::exchange_support::TwoPrograms,
    alice: MemberId,
    own: i64,
    agent: i64,
    referrer: i64,
}

#[test]
fn a_failed_payout_is_repaid_to_its_recipient_with_no_second_platform_share() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (world, first, failed) = agent_payout_failed(conn);
    let returned = failed.amount.fen();
    assert!(returned > 0);
    // The next day brings more business: 5,000 COFFEE more into CINEMA.
    exchange(conn, world.alice, "COFFEE", "CINEMA", 5_000);
    let closing = position(conn, world.shops.cinema);
    let fresh = closing - returned;

    let second = settle_after_end(conn, world.shops.cinema, day(1))
        .unwrap()
        .statement;
    assert_eq!((second.opening.fen(), second.closing.fen()), (0, closing));
    // Only the new business is split: 3% of it, rounded down, to the platform.
    assert_eq!(second.platform_fee.fen(), fresh * 300 / 10_000);
    let after_fixed = fresh - second.platform_fee.fen() - 1_234;
    let payouts: Vec<_> = payout::of_statement(conn, second.id)
        .unwrap()
        .into_iter()
        .rev()
        .collect();
    let parts: Vec<(i64, i64, Option<i64>)> = payouts
        .iter()
        .map(|p| (p.recipient_id, p.amount.fen(), p.repays_payout_id))
        .collect();
    assert_eq!(
        parts,
        vec![
            (world.agent, returned, Some(failed.id)),
            (world.own, after_fixed - after_fixed / 10, None),
            (world.agent, after_fixed / 10, None),
            (world.referrer, 1_234, None),
        ]
    );
    assert_eq!(second.carried.fen(), 0);
    assert_reconciles(conn, &second);
    assert_eq!(position(conn, world.shops.cinema), 0);
    // The repayment goes to the bank like any payout, and is repaid once.
    let batch = payout::create_batch(conn, &operator(), today())
        .unwrap()
        .unwrap();
    payout::mark_sent(conn, &operator(), batch.id).unwrap();
    payout::confirm(conn, &operator(), payouts[0].id).unwrap();
    let third = settle_after_end(conn, world.shops.cinema, day(2))
        .unwrap()
        .statement;
    assert_eq!(third.outcome, Outcome::Nil);
    assert_eq!(
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM payouts WHERE repays_payout_id = {}",
                failed.id
            )
        ),
        1
    );
    assert_eq!(first.outcome, Outcome::Payout);
    assert_verified(conn);
}

#[test]
fn a_failed_payout_is_repaid_even_when_the_merchant_now_owes_and_the_debt_is_collected() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (world, _, failed) = agent_payout_failed(conn);
    let returned = failed.amount.fen();
    // The next day Alice exchanges most of her CINEMA points away: CINEMA
    // owes the house far more than the agent's returned payout.
    exchange(conn, world.alice, "CINEMA", "COFFEE", 4_000);
    let closing = position(conn, world.shops.cinema);
    assert!(closing < 0);

    let second = settle_after_end(conn, world.shops.cinema, day(1))
        .unwrap()
        .statement;
    assert_eq!(second.closing.fen(), closing);
    assert_eq!(second.outcome, Outcome::Payout, "the repayment is paid");
    assert_eq!(second.platform_fee.fen(), 0);
    let payouts = payout::of_statement(conn, second.id).unwrap();
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        (
            payouts[0].recipient_id,
            payouts[0].amount.fen(),
            payouts[0].repays_payout_id
        ),
        (world.agent, returned, Some(failed.id))
    );
    assert_eq!(second.carried.fen(), closing - returned);
    assert_reconciles(conn, &second);
    let owed = collection::of_statement(conn, second.id).unwrap().unwrap();
    assert_eq!(
        owed.amount.fen(),
        returned - closing,
        "the merchant's whole debt"
    );
    assert_eq!(position(conn, world.shops.cinema), second.carried.fen());
    assert_verified(conn);
}

#[test]
fn a_period_that_has_not_ended_is_not_settled_and_nothing_is_written() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let shops = after_one_exchange(conn);
    let owed = position(conn, shops.cinema);
    let refused = statement::settle(conn, &keys(), shops.cinema, day(0), None).unwrap_err();
    assert!(
        matches!(refused, statement::SettleError::NotEnded { end, .. } if end == day(0).end),
        "{refused}"
    );
    let ahead = run::run(
        conn,
        &keys(),
        &operator(),
        RunRequest {
            trigger: Trigger::Operator,
            merchant_id: None,
            through: day(0).end,
        },
    )
    .unwrap_err();
    assert!(matches!(ahead, run::RunError::NotEnded { today: t, .. } if t == today()));
    // The day's own run settles nothing: the merchants joined today.
    let summary = run::run(
        conn,
        &keys(),
        &operator(),
        RunRequest {
            trigger: Trigger::Operator,
            merchant_id: None,
            through: today(),
        },
    )
    .unwrap();
    assert_eq!((summary.run, summary.settled), (None, 0));
    assert_eq!(
        count(conn, "SELECT count(*) AS n FROM settlement_statements"),
        0
    );
    assert_eq!(count(conn, "SELECT count(*) AS n FROM settlement_runs"), 0);
    assert_eq!(position(conn, shops.cinema), owed);
}
