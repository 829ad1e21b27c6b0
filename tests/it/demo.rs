//! The chart of accounts and the demo data set.

use std::collections::BTreeMap;

use alliance::{
    chart::{self, HouseAccount},
    crypto::Keys,
    demo::{self, DEMO_PASSWORD},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        password::NewPassword,
        phone::Phone,
        points::{PointCount, ProgramCode},
        portal::Portal,
        shanghai,
    },
    exchange,
    i18n::Locale,
    ledger::{self, AccountSpec},
    merchant::{self, NewMerchant},
    overview::{Overview, grain::Grain},
    people::member::{self, SignUp},
    redemption::recommend::{self, Reason},
};
use chrono::Utc;
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Text},
};

use crate::{
    harness::TestDb,
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support::check_sign_in,
};

/// One account's balance summed over its shards, by code.
#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct CodeBalance {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    debits_posted: i64,
    #[diesel(sql_type = BigInt)]
    credits_posted: i64,
    #[diesel(sql_type = BigInt)]
    debits_pending: i64,
    #[diesel(sql_type = BigInt)]
    credits_pending: i64,
}

fn balances_by_code(conn: &mut PgConnection) -> Vec<CodeBalance> {
    sql_query(
        "SELECT a.code, sum(b.debits_posted)::int8 AS debits_posted, \
                sum(b.credits_posted)::int8 AS credits_posted, \
                sum(b.debits_pending)::int8 AS debits_pending, \
                sum(b.credits_pending)::int8 AS credits_pending \
         FROM accounts a JOIN account_balances b ON b.account_id = a.id \
         GROUP BY a.code ORDER BY a.code",
    )
    .load(conn)
    .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    sql_query(query).get_result::<Count>(conn).unwrap().count
}

/// Any secret will do, as long as one test uses the same throughout.
fn keys() -> Keys {
    Keys::derive("demo test secret key, at least 32 characters")
}

/// How many rows each table the seed writes people to holds.
fn people_counts(conn: &mut PgConnection) -> Vec<i64> {
    [
        "merchants",
        "members",
        "privacy_consents",
        "operators",
        "merchant_users",
    ]
    .map(|table| count(conn, &format!("SELECT count(*) AS count FROM {table}")))
    .to_vec()
}

/// The summary line that starts with `prefix`.
fn line<'s>(summary: &'s str, prefix: &str) -> &'s str {
    summary
        .lines()
        .find(|line| line.contains(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {summary}"))
}

#[test]
fn seeding_twice_commits_nothing_the_second_time() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let first = demo::seed(conn, &keys()).unwrap();
    assert!(
        line(&first, "history:").starts_with("history: 13 weeks from "),
        "{first}"
    );
    assert!(
        line(&first, "history:").contains(" through the services: "),
        "{first}"
    );
    assert_eq!(
        line(&first, "sign-in accounts"),
        "29 sign-in accounts: 29 created now, 0 already present"
    );
    let people = people_counts(conn);
    assert_eq!(people, [8, 24, 24, 3, 2]);
    assert_eq!(
        line(&first, "stores:"),
        "25 stores: 25 opened now, 0 already present; 8 deposits confirmed now"
    );
    assert!(
        line(&first, "demo data:").starts_with("demo data: 8 merchants ("),
        "{first}"
    );
    let stores = count(conn, "SELECT count(*) AS count FROM stores");
    assert_eq!(stores, 25);
    let balances = balances_by_code(conn);
    let rows = |conn: &mut PgConnection| {
        DOMAIN_TABLES.map(|t| count(conn, &format!("SELECT count(*) AS count FROM {t}")))
    };
    let before = rows(conn);

    let second = demo::seed(conn, &keys()).unwrap();
    assert_eq!(line(&second, "history:"), "history: already present");
    assert_eq!(
        line(&second, "sign-in accounts"),
        "29 sign-in accounts: 0 created now, 29 already present"
    );
    assert_eq!(
        line(&second, "stores:"),
        "25 stores: 0 opened now, 25 already present; 0 deposits confirmed now"
    );
    assert_eq!(people_counts(conn), people);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM stores"), stores);
    assert_eq!(balances_by_code(conn), balances);
    assert_eq!(rows(conn), before, "{DOMAIN_TABLES:?}");
    assert_verified(conn);
}

/// The tables the seed's services write to, besides people and stores.
const DOMAIN_TABLES: [&str; 14] = [
    "journal_entries",
    "transfers",
    "earn_orders",
    "earn_refunds",
    "point_lots",
    "exchange_quotes",
    "exchanges",
    "rate_publications",
    "rewards",
    "redemptions",
    "deposit_topups",
    "settlement_statements",
    "payouts",
    "settlement_collections",
];

#[test]
fn the_seeded_books_verify_and_hold_the_ledger_rules() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    assert_verified(conn);

    let clearing = chart::open(conn, &HouseAccount::Clearing.spec()).unwrap();
    let balance = ledger::balance(conn, clearing).unwrap();
    // Held demo redemptions hold both sides of their cash legs: they net to zero too.
    assert_eq!(balance.posted(), 0);
    assert_eq!(balance.debits_pending, balance.credits_pending);
    // And not just in total: in every exchange entry on its own.
    let unbalanced_exchanges = count(
        conn,
        "SELECT count(*) AS count FROM ( \
             SELECT e.id FROM journal_entries e JOIN transfers t ON t.journal_entry_id = e.id \
             JOIN accounts a ON a.code = 'house:clearing' \
             WHERE e.kind = 'exchange' \
             GROUP BY e.id \
             HAVING sum(CASE WHEN t.credit_account_id = a.id THEN t.amount \
                             WHEN t.debit_account_id = a.id THEN -t.amount ELSE 0 END) <> 0 \
                 OR bool_and(t.credit_account_id <> a.id AND t.debit_account_id <> a.id)) x",
    );
    assert_eq!(unbalanced_exchanges, 0);

    let wallets: BTreeMap<String, CodeBalance> = balances_by_code(conn)
        .into_iter()
        .filter(|b| b.code.starts_with("member:"))
        .map(|b| (b.code.clone(), b))
        .collect();
    // Wallets are opened by the services, where members earned or exchanged.
    assert!(wallets.len() > 24 * 3, "only {} wallets", wallets.len());
    for (code, b) in &wallets {
        let available = b.credits_posted - b.debits_posted - b.debits_pending;
        assert!(available >= 0, "{code} holds {available}");
    }
    // Some members hold points of both programs, and the history reached them.
    let holders = wallets
        .values()
        .filter(|b| b.credits_posted > b.debits_posted)
        .count();
    assert!(holders > 24, "only {holders} wallets hold points");
}

#[test]
fn the_demo_history_holds_every_kind_of_entry_and_each_has_its_domain_row() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    let waiting = count(
        conn,
        "SELECT count(*) AS count FROM redemptions WHERE status = 'held'",
    );
    assert!(waiting > 0, "some demo vouchers wait at the counter");
    for kind in [
        "deposit",
        "earn",
        "reverse",
        "exchange",
        "expire",
        "redeem_hold",
        "redeem",
        "redeem_void",
        "settle",
        "settlement_receipt",
        "payout",
    ] {
        let entries = count(
            conn,
            &format!("SELECT count(*) AS count FROM journal_entries WHERE kind = '{kind}'"),
        );
        assert!(entries > 0, "no {kind} entries");
    }

    // No entry was booked beside the services: each has the row that explains it.
    let agree = [
        (
            "earn",
            "SELECT count(*) AS count FROM earn_orders WHERE journal_entry_id IS NOT NULL",
        ),
        (
            "reverse",
            "SELECT count(*) AS count FROM earn_refunds WHERE journal_entry_id IS NOT NULL",
        ),
        ("exchange", "SELECT count(*) AS count FROM exchanges"),
        ("redeem_hold", "SELECT count(*) AS count FROM redemptions"),
        (
            "deposit",
            "SELECT count(*) AS count FROM deposit_topups WHERE status = 'confirmed'",
        ),
    ];
    for (kind, rows) in agree {
        let entries = count(
            conn,
            &format!("SELECT count(*) AS count FROM journal_entries WHERE kind = '{kind}'"),
        );
        assert_eq!(entries, count(conn, rows), "{kind} entries against {rows}");
    }
    let by_hand = count(
        conn,
        "SELECT count(*) AS count FROM journal_entries WHERE idempotency_key LIKE 'demo:%'",
    );
    assert_eq!(by_hand, 0);
}

#[test]
fn the_demo_accounts_belong_to_the_demo_people_rows() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    // Someone came first, so the demo's rows cannot have ids 1 and 1–24.
    let other = merchant::ensure(
        conn,
        &NewMerchant {
            code: "EARLY",
            name_zh: "早到商户",
            name_en: "Early Merchant",
            category: "other",
            tier: "standard",
        },
    )
    .unwrap();
    let early = SignUp {
        phone: Phone::parse("13900000000").unwrap(),
        password: NewPassword::parse("early-bird-2026").unwrap(),
        display_name: "早到会员".to_owned(),
        email: None,
        locale: Locale::ZhCn,
        consent_version: member::PRIVACY_POLICY_VERSION.to_owned(),
    };
    let early = member::sign_up(conn, &keys(), &early, None).unwrap();
    demo::seed(conn, &keys()).unwrap();

    let orphans = count(
        conn,
        "SELECT count(*) AS count FROM accounts a WHERE \
             (a.owner_kind = 'member' AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = a.owner_id)) \
          OR (a.owner_kind = 'merchant' AND NOT EXISTS (SELECT 1 FROM merchants m WHERE m.id = a.owner_id))",
    );
    assert_eq!(orphans, 0);
    let owned_by_early = count(
        conn,
        &format!(
            "SELECT count(*) AS count FROM accounts WHERE \
                 (owner_kind = 'member' AND owner_id = {}) OR (owner_kind = 'merchant' AND owner_id = {})",
            early.id, other.id
        ),
    );
    assert_eq!(
        owned_by_early, 0,
        "the demo booked to people it did not create"
    );
    let brew = count(
        conn,
        "SELECT count(*) AS count FROM accounts a JOIN merchants m ON m.id = a.owner_id \
         WHERE a.owner_kind = 'merchant' AND m.code = 'BREW'",
    );
    assert_eq!(brew, 2, "BREW's deposit and settlement accounts");
    assert_verified(conn);
}

#[test]
fn the_listed_demo_sign_ins_work() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let keys = keys();
    let summary = demo::seed(conn, &keys).unwrap();
    assert!(summary.contains(DEMO_PASSWORD), "{summary}");
    let sign_ins = [
        (Portal::Platform, "admin@alliance.example.cn"),
        (Portal::Platform, "finance@alliance.example.cn"),
        (Portal::Merchant, "owner@brew.example.cn"),
        (Portal::Merchant, "cashier@brew.example.cn"),
        (Portal::Consumer, "13800000001"),
    ];
    for (portal, name) in sign_ins {
        let listed = line(&summary, &format!("/{}/sign-in", portal.slug()));
        assert!(listed.contains(name), "{name} is not listed: {summary}");
        let signed_in = check_sign_in(&db, &keys, portal, name, DEMO_PASSWORD);
        assert!(signed_in.is_ok(), "{name}: {signed_in:?}");
    }
}

fn shape(spec: &AccountSpec) -> (&str, &str, Option<i64>, bool, i16) {
    (
        spec.code.as_str(),
        spec.asset.as_str(),
        spec.owner_id,
        spec.no_overdraft,
        spec.shards,
    )
}

#[test]
fn chart_specs_have_the_documented_floors_and_shards() {
    let house: Vec<_> = HouseAccount::ALL
        .iter()
        .map(|account| {
            let spec = account.spec();
            assert_eq!(spec.owner_kind, "house");
            (spec.code, spec.asset, spec.no_overdraft, spec.shards)
        })
        .collect();
    let cny = "CNY".to_owned();
    assert_eq!(
        house,
        [
            ("house:bank".to_owned(), cny.clone(), false, 4),
            ("house:clearing".to_owned(), cny.clone(), false, 16),
            ("house:alp".to_owned(), cny.clone(), false, 16),
            ("house:fees".to_owned(), cny.clone(), false, 16),
            ("house:campaigns".to_owned(), cny.clone(), false, 16),
            ("house:payouts".to_owned(), cny, false, 4),
        ]
    );

    let brew = ProgramCode::parse("BREW").unwrap();
    let alp = ProgramCode::alp();
    assert_eq!(
        shape(&chart::program_issuance(&brew)),
        ("program:BREW:issuance", "BREW", None, false, 16)
    );
    assert_eq!(
        shape(&chart::program_breakage(&brew)),
        ("program:BREW:breakage", "BREW", None, false, 4)
    );
    assert_eq!(
        shape(&chart::program_issuance(&alp)),
        ("program:ALP:issuance", "ALP", None, false, 16)
    );
    assert_eq!(
        shape(&chart::member_wallet(MemberId(7), &brew)),
        ("member:7:BREW", "BREW", Some(7), true, 1)
    );
    assert_eq!(
        shape(&chart::member_wallet(MemberId(7), &alp)),
        ("member:7:ALP", "ALP", Some(7), true, 1)
    );
    assert_eq!(
        shape(&chart::merchant_deposit(MerchantId(3))),
        ("merchant:3:deposit", "CNY", Some(3), true, 1)
    );
    assert_eq!(
        shape(&chart::merchant_settlement(MerchantId(3))),
        ("merchant:3:settlement", "CNY", Some(3), false, 8)
    );
}

#[test]
fn ensuring_the_house_twice_opens_the_same_accounts() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let first = chart::ensure_house_accounts(conn).unwrap();
    let again = chart::ensure_house_accounts(conn).unwrap();
    assert_eq!(first, again);
    assert_eq!(count(conn, "SELECT count(*) AS count FROM accounts"), 8);
    let fees = ledger::account(conn, first.id(HouseAccount::Fees))
        .unwrap()
        .unwrap();
    assert_eq!((fees.code.as_str(), fees.shards), ("house:fees", 16));
}

#[test]
fn every_demo_merchant_has_its_program_and_may_issue_points() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    let merchants = alliance::merchant::list_active(conn).unwrap();
    let mut codes: Vec<&str> = merchants.iter().map(|m| m.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "BANKCARD", "BOOKS", "BREW", "CINEMA", "FUEL", "HOTEL", "MART", "MILES"
        ]
    );
    for merchant in &merchants {
        let program = alliance::program::of_merchant(conn, merchant.id).unwrap();
        assert_eq!(program.map(|p| p.code), Some(merchant.code.clone()));
        let stores = alliance::merchant::store::list(conn, merchant.id).unwrap();
        assert!(
            stores.len() >= 2,
            "{} has {} stores",
            merchant.code,
            stores.len()
        );
        for store in &stores {
            assert!(store.active, "{}", store.name);
            assert!((31.1..=31.35).contains(&f64::try_from(store.latitude).unwrap()));
            assert!((121.3..=121.6).contains(&f64::try_from(store.longitude).unwrap()));
        }
        let tier = merchant.tier;
        let deposit = chart::open(conn, &chart::merchant_deposit(merchant.id)).unwrap();
        let balance = ledger::balance(conn, deposit).unwrap().posted();
        assert!(
            balance >= tier.policy().minimum_deposit.fen(),
            "{}'s deposit {balance} is below its tier's minimum",
            merchant.code
        );
        assert!(
            alliance::deposit::ensure_issuing_allowed(conn, merchant.id).is_ok(),
            "{} is blocked from issuing",
            merchant.code
        );
    }
}

#[test]
fn every_demo_wallet_has_lots_that_sum_to_its_posted_balance() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    demo::seed(conn, &keys()).unwrap();
    assert_lots_match_wallets(conn);
    // Today's purchases went through the earn service: orders with lots.
    assert!(count(conn, "SELECT count(*) AS count FROM earn_orders") > 0);
}

#[test]
fn the_demo_settles_every_ended_period_and_leaves_one_payout_with_the_bank() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let summary = demo::seed(conn, &keys()).unwrap();
    assert!(summary.contains("payout batch ALB"), "{summary}");
    // Thirteen weeks of weekly and monthly periods, settled as they ended.
    let statements = count(conn, "SELECT count(*) AS count FROM settlement_statements");
    assert!(statements >= 8 * 3, "{statements} statements");
    let merchant_ids: Vec<MerchantId> = {
        use alliance::db::schema::merchants;
        use diesel::prelude::*;
        merchants::table.select(merchants::id).load(conn).unwrap()
    };
    for merchant in merchant_ids {
        let statement = alliance::settlement::statement::last(conn, merchant)
            .unwrap()
            .unwrap();
        crate::settlement_support::assert_reconciles(conn, &statement);
    }
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM payouts WHERE status = 'sent'"
        ),
        1
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS count FROM payouts WHERE status = 'pending'"
        ),
        0
    );
    demo::seed(conn, &keys()).unwrap();
    assert_eq!(
        count(conn, "SELECT count(*) AS count FROM settlement_statements"),
        statements,
        "a second seed settles nothing more"
    );
    assert_verified(conn);
}

#[test]
fn the_first_demo_member_is_recommended_what_similar_members_redeemed_once_however_often_seeded() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    let redemptions = count(conn, "SELECT count(*) AS count FROM redemptions");
    demo::seed(conn, &keys()).unwrap();
    assert_eq!(
        count(conn, "SELECT count(*) AS count FROM redemptions"),
        redemptions
    );
    // Members are created by number: the first is 13800000001 (王芳).
    let first = MemberId(count(conn, "SELECT min(id) AS count FROM members"));

    let recommended = recommend::for_member(conn, first, None, Utc::now()).unwrap();

    assert!(
        recommended
            .iter()
            .any(|r| r.scored.reasons.contains(&Reason::SimilarMembers)),
        "{recommended:?}"
    );
}

#[test]
fn the_platform_home_shows_thirteen_weeks_of_history() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    let today = shanghai::date_of(Utc::now());
    let home = Overview::compute(conn, Grain::Week, today).unwrap();
    assert_eq!(home.starts.len(), 13);
    for (name, trend) in [
        ("issued", &home.issued),
        ("redeemed", &home.redeemed),
        ("exchanged", &home.exchanged),
        ("fees", &home.fees),
        ("active members", &home.active_members),
    ] {
        assert_eq!(trend.values.len(), 13, "{name}");
        assert!(
            trend.values.iter().all(|&value| value > 0),
            "{name} has an empty week: {:?} from {:?}",
            trend.values,
            home.starts
        );
    }
    // Points lapse in the history's later weeks (the cinema's live a month).
    assert!(home.expired.values.iter().any(|&value| value > 0));
}

#[test]
fn the_first_demo_member_holds_three_programmes_and_can_exchange_and_redeem() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    demo::seed(conn, &keys()).unwrap();
    let first = MemberId(count(conn, "SELECT min(id) AS count FROM members"));
    let codes = [
        "BANKCARD", "BOOKS", "BREW", "CINEMA", "FUEL", "HOTEL", "MART", "MILES",
    ];
    let held: Vec<(&str, i64)> = codes
        .iter()
        .map(|&code| (code, exchange::quote::available(conn, first, code).unwrap()))
        .filter(|&(_, points)| points > 0)
        .collect();
    assert!(held.len() >= 3, "王芳 holds {held:?}");

    let (from, points) = *held.iter().max_by_key(|(_, points)| *points).unwrap();
    let to = codes.iter().find(|&&code| code != from).unwrap();
    let request = exchange::QuoteRequest {
        member_id: first,
        from_program: ProgramCode::parse(from).unwrap(),
        to_program: ProgramCode::parse(to).unwrap(),
        from_points: PointCount::new(points / 2).unwrap(),
        merchant_id: None,
    };
    let quote = exchange::quote(conn, &request, &Actor::system("test"));
    assert!(quote.is_ok(), "王芳 cannot exchange {request:?}: {quote:?}");

    let rewards = alliance::catalog::published(conn, Utc::now()).unwrap();
    let payable = rewards
        .iter()
        .filter(|r| {
            alliance::redemption::propose(conn, first, r.id)
                .unwrap()
                .is_some()
        })
        .count();
    assert!(
        payable > 0,
        "王芳 can pay for none of {} rewards",
        rewards.len()
    );
}
