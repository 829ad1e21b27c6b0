//! The platform's reports: each report's figures against the same figures
//! computed here from the ledger's transfers or the domain tables, filters
//! narrowing rows, bad filters refused, the CSV files, and the pages.

use alliance::{
    db::schema::{campaign_merchants, campaigns, report_exports, rewards, stores},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId, StoreId},
        money::Money,
    },
    earn::{expiry, lot},
    i18n::Locale,
    i18n::format,
    people::{merchant_user::MerchantRole, operator::OperatorRole},
    redemption::{self, RedeemRequest},
    report::{self, Cell, FilterQuery, Filters, ReportKind, Table},
};
use chrono::{Duration, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Text},
};
use rust_decimal::Decimal;

use crate::{
    exchange_support::{TwoPrograms, earn_points, keys},
    exports::{download, wait_for},
    harness::{Browser, TestApp, TestDb, spawn_app},
    people_support::{PASSWORD, member, merchant_user, operator},
    settlement_support::{after_one_exchange, day, settle_after_end, today},
};

use crate::redemption_support::leg;

/// The alliance after a little of everything: COFFEE and CINEMA (settling
/// daily) with an exchange between them, a store each, a lapsed lot, a
/// campaign at COFFEE, a voucher served and one called off at CINEMA, and
/// both merchants settled for today.
struct World {
    shops: TwoPrograms,
    /// COFFEE's store, its address in Xuhui.
    coffee_store: StoreId,
    /// CINEMA's store, no district in its address, at Pudong's seat.
    cinema_store: StoreId,
}

fn store(
    conn: &mut PgConnection,
    merchant: MerchantId,
    name: &str,
    address: &str,
    at: (&str, &str),
) -> StoreId {
    diesel::insert_into(stores::table)
        .values((
            stores::merchant_id.eq(merchant),
            stores::name.eq(name),
            stores::address.eq(address),
            stores::latitude.eq(at.0.parse::<Decimal>().unwrap()),
            stores::longitude.eq(at.1.parse::<Decimal>().unwrap()),
        ))
        .returning(stores::id)
        .get_result(conn)
        .unwrap()
}

fn world(conn: &mut PgConnection) -> World {
    let shops = after_one_exchange(conn);
    let coffee_store = store(
        conn,
        shops.coffee,
        "徐家汇店",
        "上海市徐汇区漕溪北路88号",
        ("31.1940", "121.4370"),
    );
    let cinema_store = store(
        conn,
        shops.cinema,
        "世纪影城",
        "世纪大道100号",
        ("31.2210", "121.5440"),
    );

    // Bob's 300 COFFEE, earned 20 days ago, lapse first.
    let bob = member(conn, &keys(), "+8613800000002", None);
    purchase(
        conn,
        shops.coffee,
        bob,
        30_000,
        Some(Utc::now() - Duration::days(20)),
    );
    let lapse = lot::upcoming(conn, bob).unwrap()[0].expires_at.unwrap();
    assert_eq!(expiry::expire_due(conn, lapse, 100).unwrap(), 1);
    let carol = campaign_at(conn, shops.coffee);
    tickets(conn, shops.cinema, cinema_store, carol);
    for merchant in [shops.coffee, shops.cinema] {
        settle_after_end(conn, merchant, day(0)).unwrap();
    }
    World {
        shops,
        coffee_store,
        cinema_store,
    }
}

/// A purchase of `fen` by the member at the merchant.
fn purchase(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
    fen: i64,
    occurred_at: Option<chrono::DateTime<Utc>>,
) {
    let request = alliance::earn::EarnRequest {
        merchant_id,
        order_id: alliance::earn::OrderId::parse(&format!("P-{member_id}-{fen}")).unwrap(),
        member_id,
        amount: Money::from_fen(fen),
        occurred_at,
        store_id: None,
        program: None,
        source: alliance::earn::Source::Api,
        device_id: None,
        ip: None,
    };
    alliance::earn::earn(conn, &request, &Actor::system("test-till")).unwrap();
}

/// A campaign doubling COFFEE's points; Carol's purchase earns a bonus.
/// Returns Carol.
fn campaign_at(conn: &mut PgConnection, coffee: MerchantId) -> MemberId {
    let campaign: i64 = diesel::insert_into(campaigns::table)
        .values((
            campaigns::name_zh.eq("双倍积分周"),
            campaigns::name_en.eq("Double points week"),
            campaigns::multiplier.eq(Decimal::from(2)),
            campaigns::starts_at.eq(Utc::now() - Duration::hours(1)),
            campaigns::ends_at.eq(Utc::now() + Duration::days(6)),
            campaigns::budget_fen.eq(100_000_i64),
            campaigns::house_share_bp.eq(5_000),
            campaigns::created_by.eq("test"),
        ))
        .returning(campaigns::id)
        .get_result(conn)
        .unwrap();
    diesel::insert_into(campaign_merchants::table)
        .values((
            campaign_merchants::campaign_id.eq(campaign),
            campaign_merchants::merchant_id.eq(coffee),
        ))
        .execute(conn)
        .unwrap();
    let carol = member(conn, &keys(), "+8613800000003", None);
    purchase(conn, coffee, carol, 80_000, None);
    carol
}

/// Carol's CINEMA points pay for two tickets: one served at the store (1,000
/// points and ¥10.00 cash), one called off.
fn tickets(conn: &mut PgConnection, cinema: MerchantId, cinema_store: StoreId, carol: MemberId) {
    earn_points(conn, cinema, carol, 3_000);
    let ticket: RewardId = diesel::insert_into(rewards::table)
        .values((
            rewards::merchant_id.eq(cinema),
            rewards::title_zh.eq("双人电影票"),
            rewards::title_en.eq("Movie tickets for two"),
            rewards::category.eq("entertainment"),
            rewards::value_fen.eq(3_000),
            rewards::points_price.eq(Some(1_500_i64)),
            rewards::other_points.eq(true),
            rewards::cash_topup.eq(true),
            rewards::stock.eq(10),
            rewards::valid_from.eq(Utc::now() - Duration::days(1)),
            rewards::valid_until.eq(Utc::now() + Duration::days(30)),
            rewards::status.eq("published"),
        ))
        .returning(rewards::id)
        .get_result(conn)
        .unwrap();
    let order = |pay: i64, cash: i64, key: &str| RedeemRequest {
        member_id: carol,
        reward_id: ticket,
        pay: vec![leg("CINEMA", pay)],
        cash: Money::from_fen(cash),
        request_key: key.to_owned(),
    };
    let member_actor = Actor::system("test-member");
    let served = redemption::redeem(conn, &order(1_000, 1_000, "t-1"), &member_actor).unwrap();
    redemption::fulfil(
        conn,
        cinema,
        &served.voucher_code,
        Some(cinema_store),
        &member_actor,
    )
    .unwrap();
    let called_off = redemption::redeem(conn, &order(1_500, 0, "t-2"), &member_actor).unwrap();
    redemption::cancel(conn, carol, called_off.id, &member_actor).unwrap();
}

fn filters(query: &str, kind: ReportKind) -> Filters {
    let query: FilterQuery = serde_urlencoded::from_str(query).unwrap();
    report::filter::parse(&query, kind.filters(), today()).unwrap()
}

fn build(conn: &mut PgConnection, kind: ReportKind, query: &str) -> Table {
    let mut calls = Vec::new();
    let table = report::build(
        conn,
        kind,
        &filters(query, kind),
        Locale::ZhCn,
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap();
    // Progress counts up to its total.
    if let Some(&(done, total)) = calls.last() {
        assert_eq!(done, total, "{kind:?}");
    }
    table
}

/// The row whose first cell is `first`.
fn row<'a>(table: &'a Table, first: &str) -> &'a [Cell] {
    table
        .rows
        .iter()
        .find(|r| r[0] == Cell::Text(first.to_owned()))
        .unwrap_or_else(|| panic!("no row {first} in {table:#?}"))
}

fn money(fen: i64) -> Cell {
    Cell::Money(Money::from_fen(fen))
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn one(conn: &mut PgConnection, sql: &str, program: &str) -> i64 {
    sql_query(sql)
        .bind::<Text, _>(program)
        .get_result::<N>(conn)
        .unwrap()
        .n
}

/// Points in members' wallets and in breakage, from the transfers: every point
/// issued and not retired is in one or the other.
const HELD: &str = "SELECT (coalesce(sum(t.amount) FILTER (WHERE c.purpose IN ('wallet', 'breakage')), 0)
        - coalesce(sum(t.amount) FILTER (WHERE d.purpose IN ('wallet', 'breakage')), 0))::int8 AS n
    FROM transfers t JOIN accounts c ON c.id = t.credit_account_id JOIN accounts d ON d.id = t.debit_account_id
    WHERE t.asset = $1 AND t.phase IN ('posted', 'post_pending')";
/// Points issued: earned, and received by exchange.
const ISSUED: &str =
    "SELECT ((SELECT coalesce(sum(points), 0) FROM earn_orders WHERE program_code = $1)
        + (SELECT coalesce(sum(to_points), 0) FROM exchanges WHERE to_program = $1))::int8 AS n";
/// Points expired, from the expire entries.
const EXPIRED: &str = "SELECT coalesce(sum(t.amount), 0)::int8 AS n FROM transfers t
    JOIN journal_entries j ON j.id = t.journal_entry_id WHERE j.kind = 'expire' AND t.asset = $1";

#[test]
fn liability_and_breakage_match_the_transfers_and_the_domain_tables() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    world(conn);

    // From before Bob's purchase, 20 days ago, to today.
    let period = format!("from={}", today() - Duration::days(40));
    let table = build(conn, ReportKind::Liability, &period);
    let codes: Vec<_> = table.rows.iter().map(|r| r[0].plain()).collect();
    assert_eq!(codes, ["CINEMA", "COFFEE", "ALP"]);
    let mut value_total = 0;
    for (code, value, exchanged_out, redeemed) in
        [("COFFEE", "0.01", 1_000, 0), ("CINEMA", "0.02", 0, 1_000)]
    {
        let held = one(conn, HELD, code);
        let issued = one(conn, ISSUED, code);
        let r = row(&table, code);
        assert_eq!(r[3], Cell::Points(held), "{code} outstanding");
        assert_eq!(r[4], Cell::Points(issued), "{code} issued");
        assert_eq!(
            r[5],
            Cell::Points(exchanged_out + redeemed),
            "{code} retired"
        );
        assert_eq!(held, issued - exchanged_out - redeemed);
        let fen = (Decimal::from(held) * value.parse::<Decimal>().unwrap() * Decimal::ONE_HUNDRED)
            .floor()
            .try_into()
            .unwrap();
        assert_eq!(r[6], money(fen), "{code} valued at its settlement value");
        value_total += fen;
    }
    assert_eq!(row(&table, "ALP")[3], Cell::Points(0));
    assert!(row(&table, "ALP")[7].plain().contains("发行价"));
    assert_eq!(table.totals.as_ref().unwrap()[6], money(value_total));

    let table = build(conn, ReportKind::Breakage, "");
    let expired = one(conn, EXPIRED, "COFFEE");
    assert_eq!(expired, 300, "Bob's lot");
    let coffee = row(&table, "COFFEE");
    assert_eq!(coffee[3], Cell::Points(expired));
    assert_eq!(coffee[4], Cell::Points(0));
    assert_eq!(coffee[5], money(300));
    assert_eq!(coffee[6].plain(), "100.00");
    let cinema = row(&table, "CINEMA");
    assert_eq!(
        (&cinema[3], &cinema[4]),
        (&Cell::Points(0), &Cell::Points(1_000))
    );
    assert_eq!(cinema[6].plain(), "0.00");
    assert_eq!(table.totals.as_ref().unwrap()[5], money(300));
}

#[derive(QueryableByName)]
struct Flow {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    points_out: i64,
    #[diesel(sql_type = BigInt)]
    points_in: i64,
    #[diesel(sql_type = BigInt)]
    value_out: i64,
    #[diesel(sql_type = BigInt)]
    house: i64,
}

#[derive(QueryableByName)]
struct Served {
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = BigInt)]
    cash: i64,
}

#[test]
fn exchange_flows_and_redemptions_match_their_tables() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    world(conn);

    let flows = build(conn, ReportKind::ExchangeFlows, "");
    let f: Flow = sql_query(
        "SELECT count(*)::int8 AS count, sum(from_points)::int8 AS points_out,
                sum(to_points)::int8 AS points_in, sum(value_out_fen)::int8 AS value_out,
                sum(house_fen)::int8 AS house FROM exchanges",
    )
    .get_result(conn)
    .unwrap();
    assert_eq!(
        flows.rows,
        vec![vec![
            Cell::Text("COFFEE".into()),
            Cell::Text("CINEMA".into()),
            Cell::Count(f.count),
            Cell::Points(f.points_out),
            Cell::Points(f.points_in),
            money(f.value_out),
            money(f.house),
        ]]
    );
    assert!(f.house > 0);

    let redemptions = build(conn, ReportKind::Redemptions, "");
    let served: Served = sql_query(
        "SELECT sum(value_fen)::int8 AS value, sum(cash_fen)::int8 AS cash
         FROM redemptions WHERE status = 'fulfilled'",
    )
    .get_result(conn)
    .unwrap();
    assert_eq!((served.value, served.cash), (3_000, 1_000));
    let at_store = row(&redemptions, "CINEMA 商户");
    assert_eq!(at_store[1], Cell::Text("世纪影城".into()));
    assert_eq!(at_store[2], Cell::Text("浦东新区".into()), "nearest seat");
    assert_eq!(
        (&at_store[3], &at_store[4]),
        (&Cell::Count(1), &Cell::Count(0))
    );
    assert_eq!(
        (&at_store[5], &at_store[6]),
        (&money(served.value), &money(served.cash))
    );
    let off = &redemptions.rows[1];
    assert_eq!(off[1], Cell::Text("无门店 / 线上".into()));
    assert_eq!((&off[3], &off[4]), (&Cell::Count(0), &Cell::Count(1)));
    let totals = redemptions.totals.as_ref().unwrap();
    assert_eq!(
        (&totals[3], &totals[4], &totals[5]),
        (&Cell::Count(1), &Cell::Count(1), &money(3_000))
    );
}

#[test]
fn campaign_deposit_and_settlement_reports_match_their_tables() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let w = world(conn);
    let campaigns = build(conn, ReportKind::Campaigns, "");
    let (spent, bonus, cost, house): (i64, i64, i64, i64) = campaigns::table
        .inner_join(alliance::db::schema::campaign_awards::table)
        .select((
            campaigns::spent_fen,
            alliance::db::schema::campaign_awards::bonus_points,
            alliance::db::schema::campaign_awards::cost_fen,
            alliance::db::schema::campaign_awards::house_fen,
        ))
        .first(conn)
        .unwrap();
    assert!(bonus > 0 && spent == cost);
    let c = row(&campaigns, "双倍积分周");
    assert_eq!(c[1], Cell::Text("COFFEE 商户".into()));
    assert_eq!(
        (&c[3], &c[4], &c[5]),
        (&money(100_000), &money(spent), &money(100_000 - spent))
    );
    assert_eq!(c[6], Cell::percent(spent, 100_000));
    assert_eq!(
        (&c[7], &c[8], &c[9], &c[10]),
        (
            &Cell::Count(1),
            &Cell::Points(bonus),
            &money(cost),
            &money(house)
        )
    );

    let coverage = build(conn, ReportKind::DepositCoverage, "");
    assert_eq!(coverage.rows.len(), 2);
    for id in [w.shops.coffee, w.shops.cinema] {
        let merchant = alliance::merchant::find(conn, id).unwrap().unwrap();
        let position = alliance::deposit::position(conn, &merchant).unwrap();
        let r = row(&coverage, &merchant.name_zh);
        assert_eq!(r[2], money(5_000_000), "the opening deposit");
        assert_eq!(r[2], Cell::Money(position.balance));
        assert_eq!(r[5], Cell::Money(position.requirement.required));
    }

    let settlement = build(conn, ReportKind::SettlementStatus, "");
    assert_eq!(settlement.rows.len(), 2);
    let pending: N = sql_query(
        "SELECT coalesce(sum(amount_fen), 0)::int8 AS n FROM payouts WHERE merchant_id = $1 AND status = 'pending'",
    )
    .bind::<BigInt, _>(w.shops.cinema)
    .get_result(conn)
    .unwrap();
    let open: N = sql_query(
        "SELECT coalesce(sum(amount_fen - collected_fen), 0)::int8 AS n FROM settlement_collections
         WHERE merchant_id = $1 AND status = 'open'",
    )
    .bind::<BigInt, _>(w.shops.coffee)
    .get_result(conn)
    .unwrap();
    assert!(pending.n > 0 && open.n > 0);
    assert_eq!(row(&settlement, "CINEMA 商户")[4], money(pending.n));
    assert_eq!(row(&settlement, "COFFEE 商户")[8], money(open.n));
    let day = today().to_string();
    assert_eq!(
        row(&settlement, "COFFEE 商户")[1],
        Cell::Text(format!("{day} – {day}"))
    );
}

#[test]
fn filters_narrow_the_rows() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let w = world(conn);
    let (coffee, cinema) = (w.shops.coffee, w.shops.cinema);

    let only_coffee = build(conn, ReportKind::Liability, &format!("merchant={coffee}"));
    assert_eq!(only_coffee.rows.len(), 1);
    assert_eq!(only_coffee.rows[0][0], Cell::Text("COFFEE".into()));
    let only_alp = build(conn, ReportKind::Breakage, "program=ALP");
    assert_eq!(only_alp.rows.len(), 1);
    assert_eq!(only_alp.rows[0][0], Cell::Text("ALP".into()));
    // Exchange flows touching a program on either side.
    assert_eq!(
        build(conn, ReportKind::ExchangeFlows, "program=CINEMA")
            .rows
            .len(),
        1
    );
    assert_eq!(
        build(conn, ReportKind::ExchangeFlows, "program=ALP")
            .rows
            .len(),
        0
    );
    assert_eq!(
        build(conn, ReportKind::Campaigns, &format!("merchant={cinema}"))
            .rows
            .len(),
        0
    );
    assert_eq!(
        build(
            conn,
            ReportKind::DepositCoverage,
            &format!("merchant={cinema}")
        )
        .rows
        .len(),
        1
    );
    assert_eq!(
        build(
            conn,
            ReportKind::SettlementStatus,
            &format!("merchant={coffee}")
        )
        .rows
        .len(),
        1
    );

    // District and store: the CINEMA store is in Pudong; nothing was served in Xuhui.
    let pudong = build(conn, ReportKind::Redemptions, "district=pudong");
    assert_eq!(pudong.rows.len(), 1);
    assert_eq!(pudong.rows[0][1], Cell::Text("世纪影城".into()));
    assert!(
        build(conn, ReportKind::Redemptions, "district=xuhui")
            .rows
            .is_empty()
    );
    let store = build(
        conn,
        ReportKind::Redemptions,
        &format!("store={}", w.cinema_store),
    );
    assert_eq!(store.rows.len(), 1);
    assert!(
        build(
            conn,
            ReportKind::Redemptions,
            &format!("store={}", w.coffee_store)
        )
        .rows
        .is_empty()
    );
    assert!(
        build(conn, ReportKind::Redemptions, &format!("merchant={coffee}"))
            .rows
            .is_empty()
    );
}

#[test]
fn a_period_without_activity_shows_none() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    world(conn);
    // Last year: nothing happened, though the points are outstanding today.
    let year_ago = today() - Duration::days(365);
    let period = format!("from={}&to={}", year_ago - Duration::days(10), year_ago);
    let then = build(conn, ReportKind::Liability, &period);
    assert!(
        then.rows
            .iter()
            .all(|r| r[3] == Cell::Points(0) && r[4] == Cell::Points(0))
    );
    assert!(
        build(conn, ReportKind::ExchangeFlows, &period)
            .rows
            .is_empty()
    );
    assert!(
        build(conn, ReportKind::Redemptions, &period)
            .rows
            .is_empty()
    );
    assert!(build(conn, ReportKind::Campaigns, &period).rows.is_empty());
    assert!(
        build(conn, ReportKind::SettlementStatus, &period)
            .rows
            .is_empty()
    );
    let breakage = build(conn, ReportKind::Breakage, &period);
    assert!(breakage.rows.iter().all(|r| r[3] == Cell::Points(0)));
}

#[test]
fn filters_naming_what_does_not_exist_are_refused() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let w = world(conn);
    let check = |conn: &mut PgConnection, query: &str| -> Vec<&'static str> {
        let filters = filters(query, ReportKind::Redemptions);
        report::filter::check_known(conn, &filters)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert!(
        check(
            conn,
            &format!("merchant={}&store={}", w.shops.cinema, w.cinema_store)
        )
        .is_empty()
    );
    assert_eq!(check(conn, "merchant=999999"), ["reports.error.merchant"]);
    assert_eq!(check(conn, "store=999999"), ["reports.error.store"]);
    assert_eq!(
        check(
            conn,
            &format!("merchant={}&store={}", w.shops.coffee, w.cinema_store)
        ),
        ["reports.error.store_merchant"]
    );
    let liability = filters("program=NOSUCH", ReportKind::Liability);
    assert_eq!(
        report::filter::check_known(conn, &liability).unwrap()[0].key,
        "reports.error.program"
    );
}

/// The CSV's records (after the byte-order mark), headers first.
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn headers(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes)
        .unwrap()
        .trim_start_matches('\u{feff}');
    csv::Reader::from_reader(text.as_bytes())
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect()
}

/// Sums a column of yuan ("12.50") in fen.
fn fen(cells: impl Iterator<Item = String>) -> i64 {
    cells.map(|c| Money::parse(&c).unwrap().fen()).sum()
}

#[test]
fn csv_files_have_translated_headers_a_row_per_row_and_totals_that_add_up() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    world(conn);
    let kind = ReportKind::Redemptions;
    let filters = filters("", kind);
    for (locale, first, total) in [
        (Locale::ZhCn, "商户", "合计"),
        (Locale::En, "Merchant", "Total"),
    ] {
        let table = report::build(conn, kind, &filters, locale, &mut |_, _| {}).unwrap();
        let bytes = report::csv::to_csv(&table);
        let header = headers(&bytes);
        assert_eq!(header.len(), 7);
        assert_eq!(header[0], first);
        let rows = records(&bytes);
        assert_eq!(rows.len(), table.rows.len() + 1, "rows and the totals");
        let (totals, body) = rows.split_last().unwrap();
        assert_eq!(totals[0], total);
        for column in 3..=4 {
            let sum: i64 = body.iter().map(|r| r[column].parse::<i64>().unwrap()).sum();
            assert_eq!(totals[column].parse::<i64>().unwrap(), sum);
        }
        for column in 5..=6 {
            assert_eq!(
                fen(std::iter::once(totals[column].clone())),
                fen(body.iter().map(|r| r[column].clone()))
            );
        }
        assert_eq!(totals[5], "30.00", "plain yuan, two decimals");
    }

    let liability = report::build(
        conn,
        ReportKind::Liability,
        &Filters::month_to_date(today()),
        Locale::En,
        &mut |_, _| {},
    )
    .unwrap();
    let bytes = report::csv::to_csv(&liability);
    assert_eq!(
        headers(&bytes),
        [
            "Program",
            "Program name",
            "Owner",
            "Points outstanding",
            "Points issued",
            "Points retired",
            "Liability (CNY)",
            "Valuation basis"
        ]
    );
    let rows = records(&bytes);
    let (totals, body) = rows.split_last().unwrap();
    assert_eq!(body.len(), 3);
    assert_eq!(
        fen(std::iter::once(totals[6].clone())),
        fen(body.iter().map(|r| r[6].clone()))
    );
    assert!(
        body.iter().all(|r| !r[3].contains(',')),
        "no thousands separators"
    );
}

async fn signed_in(app: &TestApp, email: &str, role: OperatorRole) -> crate::harness::Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    assert_eq!(
        browser.sign_in("platform", email, PASSWORD).await.status,
        303
    );
    browser
}

#[tokio::test]
async fn the_report_pages_show_the_figures_and_the_csv_and_refuse_bad_filters() {
    let app = spawn_app().await;
    let (coffee, outstanding) = {
        let conn = &mut app.db.conn();
        let w = world(conn);
        (w.shops.coffee, one(conn, HELD, "COFFEE"))
    };
    let finance = signed_in(&app, "finance@alliance.test", OperatorRole::Finance).await;

    let index = finance.get("/platform/reports").await;
    assert_eq!(index.status, 200);
    for kind in ReportKind::ALL {
        assert!(
            index
                .body
                .contains(&format!("/platform/reports/{}", kind.slug())),
            "{kind:?}"
        );
    }
    assert!(index.body.contains("积分负债（按项目）"));

    let page = finance
        .get(&format!("/platform/reports/liability?merchant={coffee}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format::count(outstanding)),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format::money(Money::from_fen(outstanding)))
    );
    assert!(!page.body.contains("CINEMA 积分"), "narrowed to COFFEE");
    let from = format!("{}", today().format("%Y-%m-01"));
    let marker = "<form method=\"post\" action=\"";
    let start = page.body.find(marker).expect("an export form") + marker.len();
    let export_href = page.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert_eq!(
        export_href,
        format!(
            "/platform/reports/liability/export?from={from}&to={}&merchant={coffee}",
            today()
        )
    );

    let (disposition, bytes) =
        exported(&app, &finance, "/platform/reports/liability", &export_href).await;
    assert_eq!(
        disposition,
        format!("attachment; filename=\"liability-{from}-{}.csv\"", today())
    );
    let rows = records(&bytes);
    assert_eq!(rows.len(), 2, "COFFEE and the totals");
    assert_eq!(rows[0][3], outstanding.to_string());
    assert_eq!(rows[1][6], Money::from_fen(outstanding).to_string());

    let bad = finance
        .get("/platform/reports/breakage?from=2026-02-30&to=2026-01-01")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("日期格式应为 YYYY-MM-DD。"),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains("id=\"report\""), "no table");
    let reversed = finance
        .submit(
            "/platform/reports/campaigns",
            "/platform/reports/campaigns/export?from=2026-03-02&to=2026-03-01",
            &[],
        )
        .await;
    assert_eq!(reversed.status, 400);
    assert!(reversed.body.contains("开始日期不能晚于结束日期。"));
    assert_eq!(finance.get("/platform/reports/nonsense").await.status, 404);
}

#[tokio::test]
async fn only_finance_admins_and_risk_read_the_platform_reports() {
    let app = spawn_app().await;
    let coffee = crate::people_support::merchant(&mut app.db.conn(), "COFFEE");
    let risk = signed_in(&app, "risk@alliance.test", OperatorRole::Risk).await;
    assert_eq!(
        risk.get("/platform/reports/deposit-coverage").await.status,
        200
    );
    let ops = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    assert_eq!(ops.get("/platform/reports").await.status, 403);
    assert_eq!(
        ops.submit("/platform", "/platform/reports/liability/export", &[])
            .await
            .status,
        403
    );

    merchant_user(
        &mut app.db.conn(),
        coffee,
        "owner@coffee.test",
        MerchantRole::Owner,
    );
    let owner = app.browser();
    assert_eq!(
        owner
            .sign_in("merchant", "owner@coffee.test", PASSWORD)
            .await
            .status,
        303
    );
    let refused = owner.get("/platform/reports/liability").await;
    assert_eq!(
        refused.status, 303,
        "a merchant is sent to the platform's sign-in"
    );
    assert!(refused.location.unwrap().starts_with("/platform/sign-in"));

    member(&mut app.db.conn(), &app.keys, "13800000009", None);
    let consumer = app.browser();
    assert_eq!(
        consumer
            .sign_in("consumer", "13800000009", PASSWORD)
            .await
            .status,
        303
    );
    for path in ["/platform/reports", "/merchant/reports/liability"] {
        let refused = consumer.get(path).await;
        assert_eq!(refused.status, 303, "{path}: a member is sent to sign in");
        assert!(!refused.location.unwrap().starts_with("/consumer"));
    }
}

#[tokio::test]
async fn a_merchant_sees_its_own_reports_only_and_a_cashier_none() {
    let app = spawn_app().await;
    let (w, outstanding) = {
        let conn = &mut app.db.conn();
        let w = world(conn);
        let outstanding = one(conn, HELD, "CINEMA");
        (w, outstanding)
    };
    let conn = &mut app.db.conn();
    merchant_user(
        conn,
        w.shops.cinema,
        "owner@cinema.test",
        MerchantRole::Owner,
    );
    merchant_user(
        conn,
        w.shops.cinema,
        "till@cinema.test",
        MerchantRole::Cashier,
    );
    let owner = app.browser();
    let signed = owner
        .sign_in("merchant", "owner@cinema.test", PASSWORD)
        .await;
    assert_eq!(signed.status, 303);

    let index = owner.get("/merchant/reports").await;
    assert_eq!(index.status, 200);
    assert!(index.body.contains("/merchant/reports/settlement-status"));
    assert!(!index.body.contains("/merchant/reports/exchange-flows"));
    assert_eq!(
        owner.get("/merchant/reports/exchange-flows").await.status,
        404
    );

    // Another merchant in the query changes nothing: the report is CINEMA's.
    let page = owner
        .get(&format!(
            "/merchant/reports/liability?merchant={}",
            w.shops.coffee
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("CINEMA 积分"));
    assert!(!page.body.contains("COFFEE 积分"));
    assert!(page.body.contains(&format::count(outstanding)));
    assert!(
        !page.body.contains("name=\"merchant\""),
        "no merchant select"
    );

    let redemptions = owner.get("/merchant/reports/redemptions").await;
    assert!(redemptions.body.contains("世纪影城"));
    assert!(
        !redemptions.body.contains("徐家汇店"),
        "only its own stores"
    );
    let foreign = owner
        .get(&format!(
            "/merchant/reports/redemptions?store={}",
            w.coffee_store
        ))
        .await;
    assert_eq!(foreign.status, 400);
    assert!(foreign.body.contains("该门店不属于所选商户。"));

    let (_, bytes) = exported(
        &app,
        &owner,
        "/merchant/reports/settlement-status",
        "/merchant/reports/settlement-status/export",
    )
    .await;
    let rows = records(&bytes);
    assert_eq!(rows.len(), 2, "CINEMA's statement and the totals");
    assert_eq!(rows[0][0], "CINEMA 商户");
    assert_eq!(rows[0][4], rows[1][4], "totals of one row");

    let till = app.browser();
    assert_eq!(
        till.sign_in("merchant", "till@cinema.test", PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(till.get("/merchant/reports").await.status, 403);
    assert_eq!(
        till.submit("/merchant", "/merchant/reports/liability/export", &[])
            .await
            .status,
        403
    );
    // Nor can it read the report the owner exported (issue #17).
    let owners: i64 = report_exports::table
        .select(diesel::dsl::max(report_exports::id))
        .first::<Option<i64>>(conn)
        .unwrap()
        .unwrap();
    crate::exports::assert_hidden(&app, &till, owners).await;
}

/// Starts the CSV export of the report at `page` (posting to `export`),
/// waits on the export's page until it is done, and downloads it: the
/// Content-Disposition and the bytes.
async fn exported(app: &TestApp, browser: &Browser, page: &str, export: &str) -> (String, Vec<u8>) {
    let started = browser.submit(page, export, &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let progress = started.location.unwrap();
    assert!(progress.contains("/exports/"), "{progress}");
    let done = format!("{progress}/download");
    wait_for(browser, &progress, &format!("href=\"{done}\"")).await;
    let (status, disposition, bytes) = download(browser, app, &done).await;
    assert_eq!(status, 200);
    (disposition, bytes)
}
