//! The two homes through a real server: the member's "all my points" (every
//! balance and the total against the ledger, what lapses in 30 days, rewards
//! they can pay for, rewards nearby, the latest movements with their signs) and
//! the merchant's home (distinct members who earned and redeemed this month and
//! last, what each store served, and who may see which figures). Expected
//! figures are computed here with raw SQL over `transfers` and `redemptions`.

use alliance::{
    db::schema::rewards,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId, StoreId},
    },
    earn,
    exchange::{self, execute::Executor},
    people::merchant_user::MerchantRole,
    redemption::{self, RedeemRequest, pay::Leg},
};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Nullable, Text, Timestamptz},
};

use crate::{
    exchange_support::{TwoPrograms, earn_points, quote, two_programs},
    harness::{Browser, TestApp, spawn_app},
    nearby::{PEOPLES_SQUARE, reward, store},
    people_support::{PASSWORD, funded_shop, member, merchant_user},
};

const PHONE: &str = "13800000001";

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn actor() -> Actor {
    Actor::system("test-home")
}

async fn member_browser(app: &TestApp, phone: &str) -> Browser {
    let browser = app.browser();
    let signed = browser.sign_in("consumer", phone, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
}

async fn merchant_browser(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let signed = browser.sign_in("merchant", email, PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
}

/// The page from the element with `id` to the first `end` after it.
fn section<'a>(body: &'a str, id: &str, end: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker}:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The text of the element with `id` (up to the next tag).
fn text_of(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker}:\n{body}"))
        + marker.len();
    body[start..].split('<').next().unwrap().trim().to_owned()
}

/// Every `<span class="{class}">` text in `html`, in order.
fn spans(html: &str, class: &str) -> Vec<String> {
    let marker = format!("<span class=\"{class}\">");
    html.split(&marker)
        .skip(1)
        .map(|s| s.split('<').next().unwrap().trim().to_owned())
        .collect()
}

/// `12,345` (no sign), as the pages write points.
fn points(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// ¥1,234.50 from fen, as the pages write money.
fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", points(fen / 100), fen % 100)
}

#[derive(QueryableByName)]
struct WalletRow {
    #[diesel(sql_type = Text)]
    asset: String,
    #[diesel(sql_type = BigInt)]
    points: i64,
    #[diesel(sql_type = BigInt)]
    value_fen: i64,
}

/// The member's posted points per program, straight from `transfers`, each
/// valued (rounded down) at its program's settlement value.
fn wallet_from_ledger(conn: &mut PgConnection, member_id: MemberId) -> Vec<WalletRow> {
    sql_query(
        "SELECT a.asset,
                sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END)::int8 AS points,
                floor(sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END)
                      * p.settlement_value * 100)::int8 AS value_fen
           FROM accounts a
           JOIN transfers t ON a.id IN (t.credit_account_id, t.debit_account_id)
                           AND t.phase IN ('posted', 'post_pending')
           JOIN programs p ON p.code = a.asset
          WHERE a.owner_kind = 'member' AND a.owner_id = $1
          GROUP BY a.asset, p.settlement_value
          ORDER BY a.asset",
    )
    .bind::<BigInt, _>(member_id)
    .load(conn)
    .unwrap()
}

#[derive(QueryableByName)]
struct MovementRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    points: i64,
}

/// The member's latest ten posted movements, newest first.
fn movements_from_ledger(conn: &mut PgConnection, member_id: MemberId) -> Vec<MovementRow> {
    sql_query(
        "SELECT j.kind,
                CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END AS points
           FROM transfers t
           JOIN journal_entries j ON j.id = t.journal_entry_id
           JOIN accounts a ON a.id IN (t.credit_account_id, t.debit_account_id)
          WHERE a.owner_kind = 'member' AND a.owner_id = $1
            AND t.phase IN ('posted', 'post_pending')
          ORDER BY t.id DESC
          LIMIT 10",
    )
    .bind::<BigInt, _>(member_id)
    .load(conn)
    .unwrap()
}

#[derive(QueryableByName)]
struct LotRow {
    #[diesel(sql_type = BigInt)]
    remaining: i64,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

/// Orders the reward with the mix the reward page proposes, and serves it at
/// `store` (None: no store named).
fn redeem_and_serve(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
    reward_id: RewardId,
    store: Option<StoreId>,
    key: &str,
) -> i64 {
    let held = redeem(conn, member_id, reward_id, key);
    redemption::fulfil(conn, merchant_id, &held.voucher_code, store, &actor()).unwrap();
    held.id
}

fn redeem(
    conn: &mut PgConnection,
    member_id: MemberId,
    reward_id: RewardId,
    key: &str,
) -> redemption::Redemption {
    let proposal = redemption::propose(conn, member_id, reward_id)
        .unwrap()
        .expect("the member can pay for it");
    redemption::redeem(
        conn,
        &RedeemRequest {
            member_id,
            reward_id,
            pay: proposal.legs.iter().filter_map(Leg::as_pay).collect(),
            cash: proposal.cash,
            request_key: key.to_owned(),
        },
        &actor(),
    )
    .unwrap()
}

fn unaffordable_suite(conn: &mut PgConnection, cinema: MerchantId) -> RewardId {
    // ¥100,000 in CINEMA points, no cash: nobody here has that much.
    reward(conn, cinema, "豪华套房", 10_000_000, 5_000_000)
}

/// Alice's history: 5,000 COFFEE and some CINEMA earned, 1,000 COFFEE
/// exchanged to CINEMA, a cookie redeemed at the counter, the earned CINEMA
/// lapsed, what is left of the first COFFEE lot due in ten days and 200 more
/// COFFEE earned (due in twelve months); a latte she can pay with points, ¥300
/// of tickets she can pay with points and cash, a suite she cannot pay for.
struct History {
    alice: MemberId,
    soon: LotRow,
    lapsed: i64,
    /// The cash the proposed mix adds for the ¥300 tickets, fen.
    tickets_cash: i64,
}

fn alice_with_history(app: &TestApp, conn: &mut PgConnection) -> History {
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.coffee, alice, 5_000);
    earn_points(conn, shops.cinema, alice, 400);
    let exchanged = quote(conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    exchange::execute(conn, &exchanged.id, Executor::Member(alice), &actor()).unwrap();
    let counter = store(conn, shops.coffee, "人民广场店", PEOPLES_SQUARE);
    let cookie = reward(conn, shops.coffee, "黄油曲奇", 500, 500);
    redeem_and_serve(conn, shops.coffee, alice, cookie, Some(counter), "cookie-1");
    // The CINEMA Alice earned lapse now: the expiry run books them to breakage.
    let lapsed: i64 = sql_query(
        "UPDATE point_lots SET expires_at = now() - interval '1 minute'
          WHERE member_id = $1 AND program_code = 'CINEMA'
            AND journal_entry_id IN (SELECT id FROM journal_entries WHERE kind = 'earn')
          RETURNING remaining AS n",
    )
    .bind::<BigInt, _>(alice)
    .get_result::<Count>(conn)
    .unwrap()
    .n;
    assert_eq!(earn::expiry::expire_due(conn, Utc::now(), 100).unwrap(), 1);
    let soon: LotRow = sql_query(
        "UPDATE point_lots SET expires_at = date_trunc('minute', now()) + interval '10 days'
          WHERE member_id = $1 AND program_code = 'COFFEE' AND points = 5000
          RETURNING remaining, expires_at",
    )
    .bind::<BigInt, _>(alice)
    .get_result(conn)
    .unwrap();
    earn_points(conn, shops.coffee, alice, 200);
    reward(conn, shops.coffee, "大杯拿铁", 1_500, 1_500);
    unaffordable_suite(conn, shops.cinema);
    // ¥300 of cinema tickets: all Alice's points and cash for the rest.
    let tickets = reward(conn, shops.cinema, "电影年卡", 30_000, 15_000);
    diesel::update(rewards::table.find(tickets))
        .set(rewards::cash_topup.eq(true))
        .execute(conn)
        .unwrap();
    let tickets_cash = redemption::propose(conn, alice, tickets)
        .unwrap()
        .unwrap()
        .cash
        .fen();
    History {
        alice,
        soon,
        lapsed,
        tickets_cash,
    }
}

/// Every balance on the page, and the total equal to the ledger's.
fn assert_wallet_matches_the_ledger(conn: &mut PgConnection, alice: MemberId, body: &str) {
    let wallet = wallet_from_ledger(conn, alice);
    assert_eq!(wallet.len(), 2);
    let balances = section(body, "balances", "</ul>");
    let shown = spans(balances, "points");
    for row in &wallet {
        assert!(balances.contains(&row.asset), "{}:\n{balances}", row.asset);
        assert!(
            shown.contains(&points(row.points)),
            "{}: {shown:?}",
            row.points
        );
        assert!(balances.contains(&format!("≈ {}", yuan(row.value_fen))));
    }
    let total: i64 = wallet.iter().map(|row| row.value_fen).sum();
    assert_eq!(text_of(body, "total-value"), yuan(total));
}

/// The latest movements, newest first, as the ledger has them, with signs.
fn assert_movements_match_the_ledger(conn: &mut PgConnection, history: &History, body: &str) {
    let expected: Vec<(String, String)> = movements_from_ledger(conn, history.alice)
        .into_iter()
        .map(|m| {
            let label = match m.kind.as_str() {
                "earn" => "消费获得",
                "redeem" => "兑换权益",
                "exchange" => "积分通兑",
                "expire" => "积分过期",
                other => panic!("unexpected kind {other}"),
            };
            let sign = if m.points < 0 { '-' } else { '+' };
            (label.to_owned(), format!("{sign}{}", points(m.points)))
        })
        .collect();
    let activity = section(body, "recent-activity", "</ul>");
    let labels = spans(activity, "list-title");
    let signed: Vec<String> = activity
        .split("<span class=\"points movement ")
        .skip(1)
        .map(|s| {
            s.split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let shown: Vec<(String, String)> = labels.into_iter().zip(signed).collect();
    assert_eq!(shown, expected);
    for movement in [
        ("积分过期", format!("-{}", points(history.lapsed))),
        ("兑换权益", "-500".to_owned()),
        ("积分通兑", "-1,000".to_owned()),
        ("消费获得", "+5,000".to_owned()),
    ] {
        assert!(
            shown.contains(&(movement.0.to_owned(), movement.1.clone())),
            "{movement:?}: {shown:?}"
        );
    }
}

#[tokio::test]
async fn the_member_home_shows_balances_the_ledger_total_expiring_points_rewards_and_movements() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let history = alice_with_history(&app, conn);
    let browser = member_browser(&app, PHONE).await;

    let home = browser.get("/consumer").await;

    assert_eq!(home.status, 200, "{}", home.body);
    let body = &home.body;
    assert_wallet_matches_the_ledger(conn, history.alice, body);
    // The lot lapsing in ten days, with its date, points and value; not the
    // one lapsing in twelve months.
    let expiring = section(body, "expiring-soon", "</ul>");
    assert_eq!(expiring.matches("expiring-lot").count(), 1, "{expiring}");
    let on = history
        .soon
        .expires_at
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let lot = format!("{} 分于 {on} 到期", points(history.soon.remaining));
    assert!(expiring.contains(&lot), "{lot}:\n{expiring}");
    // COFFEE is ¥0.01 a point.
    assert!(expiring.contains(&format!("≈ {}", yuan(history.soon.remaining))));
    assert!(expiring.contains("data-program=\"COFFEE\""));
    assert!(!expiring.contains("CINEMA"));
    // Rewards Alice can pay for, with how, linked to the filtered catalog;
    // not the suite.
    let affordable = section(body, "affordable", "</ul>");
    let card = |title: &str| {
        let at = affordable
            .find(title)
            .unwrap_or_else(|| panic!("{title}:\n{affordable}"));
        &affordable[at..at + affordable[at..].find("</li>").unwrap()]
    };
    assert!(card("大杯拿铁").contains("积分即可兑换"));
    let cash = history.tickets_cash;
    assert!(cash > 0 && cash < 30_000, "{cash}");
    assert!(
        card("电影年卡").contains(&format!("积分 + 现金 {}", yuan(cash))),
        "{}",
        card("电影年卡")
    );
    assert!(!body.contains("豪华套房"));
    assert!(body.contains("href=\"/consumer/rewards?mine=1\""));
    assert_movements_match_the_ledger(conn, &history, body);
}

#[tokio::test]
async fn the_member_home_shows_rewards_nearby_once_a_place_is_given() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    let alice = member(conn, &app.keys, PHONE, None);
    earn_points(conn, shops.coffee, alice, 2_000);
    store(conn, shops.coffee, "人民广场店", PEOPLES_SQUARE);
    reward(conn, shops.coffee, "大杯拿铁", 1_500, 1_500);
    unaffordable_suite(conn, shops.cinema);
    let browser = member_browser(&app, PHONE).await;

    // No place given: a prompt to the nearby page.
    let home = browser.get("/consumer").await;
    assert!(home.body.contains("id=\"nearby-prompt\""));
    assert!(!home.body.contains("id=\"nearby\""));

    // A district: the rewards collected at stores in reach, and the way on.
    let near = browser.get("/consumer?district=huangpu").await;
    assert_eq!(near.status, 200);
    let nearby = section(&near.body, "nearby", "</ul>");
    assert!(nearby.contains("大杯拿铁"), "{nearby}");
    assert!(nearby.contains("1.0 公里"), "{nearby}");
    assert!(!nearby.contains("豪华套房"));
    assert!(
        near.body
            .contains("href=\"/consumer/nearby?district=huangpu\"")
    );

    // No such place: said so, and the rest of the page stands.
    let nowhere = browser.get("/consumer?district=atlantis").await;
    assert_eq!(nowhere.status, 200);
    assert!(nowhere.body.contains("id=\"location-error\""));
    assert!(nowhere.body.contains("id=\"nearby-prompt\""));
    assert_eq!(text_of(&nowhere.body, "total-value"), "¥20.00");
}

#[tokio::test]
async fn a_member_with_nothing_yet_gets_empty_states_on_the_home() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    member(conn, &app.keys, PHONE, None);
    unaffordable_suite(conn, shops.cinema);
    let browser = member_browser(&app, PHONE).await;

    let home = browser.get("/consumer").await;

    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(text_of(&home.body, "total-value"), "¥0.00");
    for empty in [
        "nothing-expiring",
        "nothing-affordable",
        "nearby-prompt",
        "no-activity",
    ] {
        assert!(
            home.body.contains(&format!("id=\"{empty}\"")),
            "{empty}:\n{}",
            home.body
        );
    }
    assert!(!home.body.contains("豪华套房"));
}

/// The first day of the month `at` falls in, in Shanghai, and of the month
/// before, as instants.
fn month_starts(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = at.with_timezone(&shanghai()).date_naive();
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap();
    let previous = if first.month() == 1 {
        NaiveDate::from_ymd_opt(first.year() - 1, 12, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() - 1, 1).unwrap()
    };
    let instant = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_local_timezone(shanghai())
            .unwrap()
            .with_timezone(&Utc)
    };
    (instant(first), instant(previous))
}

/// History from last month: the member's latest COFFEE earn is moved to
/// `at`, its effective time. The ledger refuses updates, so the guard is
/// lifted for this one statement of the test's own database.
fn backdate_latest_earn(conn: &mut PgConnection, member_id: MemberId, at: DateTime<Utc>) {
    conn.transaction(|conn| {
        sql_query("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_immutable")
            .execute(conn)?;
        sql_query(
            "UPDATE journal_entries SET effective_at = $2
              WHERE id = (SELECT max(j.id) FROM journal_entries j
                           WHERE j.kind = 'earn' AND (j.metadata->>'member_id')::int8 = $1)",
        )
        .bind::<BigInt, _>(member_id)
        .bind::<Timestamptz, _>(at)
        .execute(conn)?;
        sql_query("ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_immutable")
            .execute(conn)?;
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn distinct_earners(
    conn: &mut PgConnection,
    program: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> i64 {
    sql_query(
        "SELECT count(DISTINCT w.owner_id)::int8 AS n
           FROM transfers t
           JOIN journal_entries j ON j.id = t.journal_entry_id
           JOIN accounts i ON i.id = t.debit_account_id
           JOIN accounts w ON w.id = t.credit_account_id
          WHERE j.kind = 'earn' AND i.code = 'program:' || $1 || ':issuance'
            AND w.owner_kind = 'member' AND j.effective_at >= $2 AND j.effective_at < $3",
    )
    .bind::<Text, _>(program)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

fn distinct_redeemers(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> i64 {
    sql_query(
        "SELECT count(DISTINCT member_id)::int8 AS n FROM redemptions
          WHERE merchant_id = $1 AND status = 'fulfilled'
            AND resolved_at >= $2 AND resolved_at < $3",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

#[derive(QueryableByName, Debug, PartialEq)]
struct StoreRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    store_id: Option<StoreId>,
    #[diesel(sql_type = BigInt)]
    served: i64,
    #[diesel(sql_type = BigInt)]
    value_fen: i64,
}

fn served_by_store(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    from: DateTime<Utc>,
) -> Vec<StoreRow> {
    sql_query(
        "SELECT store_id, count(*)::int8 AS served, sum(value_fen)::int8 AS value_fen
           FROM redemptions
          WHERE merchant_id = $1 AND status = 'fulfilled' AND resolved_at >= $2
          GROUP BY store_id",
    )
    .bind::<BigInt, _>(merchant_id)
    .bind::<Timestamptz, _>(from)
    .load(conn)
    .unwrap()
}

/// COFFEE's stores.
struct Stores {
    square: StoreId,
    bund: StoreId,
    quiet: StoreId,
}

/// COFFEE's last two months: Ann earned in both, Dan only last month, Ben and
/// Cai this month, Eve only CINEMA (not this merchant's). This month Ann had
/// two cookies served at the square, Ben one at the Bund, Cai one with no
/// store; Dan's was served last month; Ben's second is still open.
fn coffee_history(app: &TestApp, conn: &mut PgConnection, shops: &TwoPrograms) -> Stores {
    let (_, last_month) = month_starts(Utc::now());
    let in_last_month = last_month + Duration::days(3);
    let people: Vec<MemberId> = (1..=5)
        .map(|i| member(conn, &app.keys, &format!("1380000001{i}"), None))
        .collect();
    let (ann, ben, cai, dan, eve) = (people[0], people[1], people[2], people[3], people[4]);
    for who in [ann, dan] {
        earn_points(conn, shops.coffee, who, 800);
        backdate_latest_earn(conn, who, in_last_month);
    }
    for who in [ann, ben, cai] {
        earn_points(conn, shops.coffee, who, 2_000);
    }
    earn_points(conn, shops.cinema, eve, 2_000);

    let stores = Stores {
        square: store(conn, shops.coffee, "人民广场店", PEOPLES_SQUARE),
        bund: store(conn, shops.coffee, "外滩店", (31.2400, 121.4900)),
        quiet: store(conn, shops.coffee, "静安店", (31.2495, 121.4555)),
    };
    let cookie = reward(conn, shops.coffee, "黄油曲奇", 500, 500);
    let served = [
        (ann, Some(stores.square), "a-1"),
        (ann, Some(stores.square), "a-2"),
        (ben, Some(stores.bund), "b-1"),
        (cai, None, "c-1"),
    ];
    for (who, at, key) in served {
        redeem_and_serve(conn, shops.coffee, who, cookie, at, key);
    }
    let dans = redeem_and_serve(conn, shops.coffee, dan, cookie, Some(stores.square), "d-1");
    sql_query("UPDATE redemptions SET resolved_at = $2 WHERE id = $1")
        .bind::<BigInt, _>(dans)
        .bind::<Timestamptz, _>(in_last_month)
        .execute(conn)
        .unwrap();
    redeem(conn, ben, cookie, "b-2");
    stores
}

/// The served count and value of the store table's row `key`.
fn store_row(table: &str, key: &str) -> (String, String) {
    let marker = format!("data-store=\"{key}\"");
    let start = table
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {key}:\n{table}"));
    let rest = &table[start..];
    let tr = &rest[..rest.find("</tr>").unwrap()];
    let cell = |class: &str| {
        let at = tr.find(&format!("{class}\">")).unwrap() + class.len() + 2;
        tr[at..].split('<').next().unwrap().to_owned()
    };
    (cell("store-served"), cell("store-value"))
}

#[tokio::test]
async fn the_merchant_home_counts_members_who_earned_and_redeemed_and_what_each_store_served() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    merchant_user(conn, shops.coffee, "owner@coffee.test", MerchantRole::Owner);
    let stores = coffee_history(&app, conn, &shops);
    let (this_month, last_month) = month_starts(Utc::now());
    let now = Utc::now();
    let earned = (
        distinct_earners(conn, "COFFEE", this_month, now),
        distinct_earners(conn, "COFFEE", last_month, this_month),
    );
    let redeemed = (
        distinct_redeemers(conn, shops.coffee, this_month, now),
        distinct_redeemers(conn, shops.coffee, last_month, this_month),
    );
    assert_eq!((earned, redeemed), ((3, 2), (3, 1)));
    let by_store = served_by_store(conn, shops.coffee, this_month);
    assert_eq!(by_store.len(), 3);
    let owner = merchant_browser(&app, "owner@coffee.test").await;

    let home = owner.get("/merchant").await;

    assert_eq!(home.status, 200, "{}", home.body);
    let body = &home.body;
    assert_eq!(text_of(body, "earned-this-month"), earned.0.to_string());
    assert_eq!(text_of(body, "earned-last-month"), earned.1.to_string());
    assert_eq!(text_of(body, "earned-change"), "+1");
    assert_eq!(text_of(body, "redeemed-this-month"), redeemed.0.to_string());
    assert_eq!(text_of(body, "redeemed-last-month"), redeemed.1.to_string());
    assert_eq!(text_of(body, "redeemed-change"), "+2");

    let table = section(body, "store-redemptions", "</table>");
    for expected in &by_store {
        let key = expected
            .store_id
            .map_or_else(|| "none".to_owned(), |id| id.to_string());
        assert_eq!(
            store_row(table, &key),
            (expected.served.to_string(), yuan(expected.value_fen)),
            "{key}"
        );
    }
    assert_eq!(
        store_row(table, &stores.square.to_string()),
        ("2".to_owned(), "¥10.00".to_owned())
    );
    assert_eq!(
        store_row(table, &stores.quiet.to_string()),
        ("0".to_owned(), "¥0.00".to_owned())
    );
    assert!(table.contains("未指定门店"));
    // The busiest store first, "no store" last; its bar is the full length.
    let at = |key: String| table.find(&format!("data-store=\"{key}\"")).unwrap();
    assert!(at(stores.square.to_string()) < at(stores.bund.to_string()));
    assert!(at(stores.bund.to_string()) < at("none".to_owned()));
    assert!(table.contains("<rect width=\"100.0\""));
    let served: i64 = by_store.iter().map(|s| s.served).sum();
    assert_eq!(text_of(table, "stores-served-total"), served.to_string());
}

#[tokio::test]
async fn only_the_owner_and_managers_see_members_stores_and_the_deposit_on_the_merchant_home() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = two_programs(conn);
    for (email, role) in [
        ("owner@coffee.test", MerchantRole::Owner),
        ("manager@coffee.test", MerchantRole::Manager),
        ("till@coffee.test", MerchantRole::Cashier),
    ] {
        merchant_user(conn, shops.coffee, email, role);
    }
    store(conn, shops.coffee, "人民广场店", PEOPLES_SQUARE);
    let figures = ["member-counts", "store-redemptions", "deposit-coverage"];

    for email in ["owner@coffee.test", "manager@coffee.test"] {
        let home = merchant_browser(&app, email).await.get("/merchant").await;
        assert_eq!(home.status, 200, "{}", home.body);
        for shown in figures {
            assert!(
                home.body.contains(&format!("id=\"{shown}\"")),
                "{email}: {shown}"
            );
        }
    }
    // A cashier serves members; the figures are not theirs to see.
    let till = merchant_browser(&app, "till@coffee.test").await;
    let counter = till.get("/merchant").await;
    assert_eq!(counter.status, 200, "{}", counter.body);
    for hidden in figures
        .into_iter()
        .chain(["deposit-figures", "next-settlement"])
    {
        assert!(
            !counter.body.contains(&format!("id=\"{hidden}\"")),
            "{hidden}"
        );
    }
    assert!(counter.body.contains("id=\"points-outstanding\""));
}

#[tokio::test]
async fn a_merchant_with_no_members_or_stores_gets_empty_states_on_the_home() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let quiet = funded_shop(conn, "QUIET", "0.01");
    merchant_user(conn, quiet, "owner@quiet.test", MerchantRole::Owner);
    let owner = merchant_browser(&app, "owner@quiet.test").await;

    let home = owner.get("/merchant").await;

    assert_eq!(home.status, 200, "{}", home.body);
    for id in [
        "earned-this-month",
        "earned-last-month",
        "redeemed-this-month",
        "redeemed-last-month",
    ] {
        assert_eq!(text_of(&home.body, id), "0", "{id}");
    }
    assert!(home.body.contains("id=\"no-store-redemptions\""));
    assert_eq!(text_of(&home.body, "deposit-balance"), yuan(5_000_000));
}
