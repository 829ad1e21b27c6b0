//! Merchants with settlement terms and recipients, activity that moves their
//! settlement positions (exchanges through the real service), and the checks
//! that a statement reconciles to the ledger.

use alliance::{
    chart,
    clock::SimClock,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        shanghai,
    },
    exchange::{self, Executor},
    ledger,
    settlement::{
        cycle::Period,
        recipients::{self, RecipientInput},
        statement::{self, SettleError, Settled, Statement},
        terms::{self, Terms},
    },
};
use chrono::{Days, NaiveDate, Utc};
use diesel::{ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl};

use crate::exchange_support::{TwoPrograms, keys, member_with_coffee, quote, two_programs};

pub fn operator() -> Actor {
    Actor::system("test-finance")
}

/// Daily settlement, the given platform share, a week to pay, deposit deductible
/// when `deduct`.
pub fn daily_terms(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    platform_fee_bp: u32,
    deduct: bool,
) {
    let terms = Terms {
        cycle: alliance::settlement::cycle::Cycle::Daily,
        platform_fee_bp,
        collection_days: 7,
        deduct_from_deposit: deduct,
        finance_email: None,
    };
    terms::set(conn, &operator(), merchant_id, &terms).unwrap();
}

/// A recipient for the merchant: `share` is `rest`, `percent:5.5` or `fixed:10.00`.
pub fn recipient(conn: &mut PgConnection, merchant_id: MerchantId, name: &str, share: &str) -> i64 {
    let (share_kind, share_value) = share.split_once(':').unwrap_or((share, ""));
    recipients::add(
        conn,
        &operator(),
        &keys(),
        merchant_id,
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
    .unwrap()
    .id
}

/// Exchanges `points` of `from` into `to` for the member, at the current rates.
pub fn exchange(conn: &mut PgConnection, member_id: MemberId, from: &str, to: &str, points: i64) {
    let quote = quote(conn, member_id, from, to, points).unwrap();
    exchange::execute(
        conn,
        &quote.id,
        Executor::Member(member_id),
        &Actor::system("test-member"),
    )
    .unwrap();
}

pub fn today() -> NaiveDate {
    shanghai::date_of(Utc::now())
}

/// The `n`th daily period from today: every transfer made now falls before its
/// end, so each settles whatever is unclaimed when it runs.
pub fn day(n: u64) -> Period {
    let start = today() + Days::new(n);
    Period {
        start,
        end: start + Days::new(1),
    }
}

/// [`after_one_exchange`], done yesterday (Shanghai) by merchants that joined
/// yesterday: yesterday's period has ended, so a run through today settles it.
pub fn after_one_exchange_yesterday(conn: &mut PgConnection) -> TwoPrograms {
    let yesterday = day_before(today());
    let at_noon = shanghai::midnight(yesterday) + chrono::Duration::hours(12);
    let clock = SimClock::starting_at(at_noon);
    let shops = {
        let _yesterday = clock.install();
        after_one_exchange(conn)
    };
    diesel::update(
        alliance::db::schema::merchants::table
            .filter(alliance::db::schema::merchants::id.eq_any([shops.coffee, shops.cinema])),
    )
    .set(alliance::db::schema::merchants::created_at.eq(at_noon))
    .execute(conn)
    .unwrap();
    shops
}

fn day_before(date: NaiveDate) -> NaiveDate {
    date.pred_opt().expect("a day before")
}

/// Settles the merchant's `period` as the scheduler does once it has ended:
/// with the clock at the period's end (a period is never settled before).
pub fn settle_after_end(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    period: Period,
) -> Result<Settled, SettleError> {
    let _at_its_end = SimClock::starting_at(period.ends_at()).install();
    statement::settle(conn, &keys(), merchant_id, period, None)
}

/// Credits minus debits, posted, of the merchant's settlement account.
pub fn position(conn: &mut PgConnection, merchant_id: MerchantId) -> i64 {
    let account = chart::open(conn, &chart::merchant_settlement(merchant_id)).unwrap();
    ledger::balance(conn, account).unwrap().posted()
}

/// The statement adds up: its lines make its activity, opening plus activity is
/// its closing, and what it carried is the closing less what it paid out.
pub fn assert_reconciles(conn: &mut PgConnection, statement: &Statement) {
    let lines = statement::lines(conn, statement.id).unwrap();
    let sum: i64 = lines.iter().map(|l| l.signed().fen()).sum();
    assert_eq!(sum, statement.activity.fen(), "lines make the activity");
    assert_eq!(
        statement.opening.fen() + statement.activity.fen(),
        statement.closing.fen()
    );
    let paid: i64 = alliance::settlement::payout::of_statement(conn, statement.id)
        .unwrap()
        .iter()
        .map(|p| p.amount.fen())
        .sum();
    assert_eq!(
        statement.closing.fen() - paid - statement.platform_fee.fen(),
        statement.carried.fen(),
        "carried = closing − payouts − platform share"
    );
}

/// COFFEE and CINEMA settle daily to their own account; Alice has 5,000 COFFEE
/// points and has exchanged 1,000 of them into CINEMA: COFFEE owes the house,
/// the house owes CINEMA.
pub fn after_one_exchange(conn: &mut PgConnection) -> TwoPrograms {
    let shops = two_programs(conn);
    for merchant in [shops.coffee, shops.cinema] {
        daily_terms(conn, merchant, 0, true);
        recipient(conn, merchant, "本店结算账户", "rest");
    }
    let alice = member_with_coffee(conn, shops.coffee, "+8613800000001", 5_000);
    exchange(conn, alice, "COFFEE", "CINEMA", 1_000);
    shops
}
