//! The operators' home: every figure equals the same figure computed straight
//! from the ledger (or the table that owns it) in the test, for each grain.

use alliance::{
    crypto::Keys,
    db::schema::point_lots,
    domain::{actor::Actor, money::Money},
    earn::expiry,
    i18n::format,
    people::operator::OperatorRole,
    redemption,
    settlement::statement,
};
use chrono::Utc;
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Text},
};

use crate::{
    exchange_support::{TwoPrograms, earn_points},
    harness::spawn_app,
    people_support::{PASSWORD, member, operator},
    redemption_support::{movie_ticket, order},
    settlement_support::{after_one_exchange, day},
};

#[derive(QueryableByName, Debug)]
struct AssetPoints {
    #[diesel(sql_type = Text)]
    asset: String,
    #[diesel(sql_type = BigInt)]
    points: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// Per program, the points members' wallets hold now, from the transfers.
fn wallets(conn: &mut PgConnection) -> Vec<AssetPoints> {
    sql_query(
        "SELECT a.asset, sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END)::int8 AS points
         FROM accounts a JOIN transfers t ON a.id IN (t.debit_account_id, t.credit_account_id)
         WHERE a.owner_kind = 'member' AND t.phase IN ('posted', 'post_pending')
         GROUP BY a.asset ORDER BY a.asset",
    )
    .load(conn)
    .unwrap()
}

/// CNY per point, as a fraction of fen: (fen, per points).
fn fen_value(asset: &str, points: i64) -> i64 {
    match asset {
        "COFFEE" => points, // ¥0.01
        "CINEMA" => points * 2,
        other => panic!("no value for {other}"),
    }
}

/// The text of the element with this id, up to its first child tag.
fn text_of(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let from = body
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} not on the page"));
    let rest = &body[from..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    rest[..rest.find('<').unwrap()].trim().to_owned()
}

fn yuan(fen: i64) -> String {
    format::money(Money::from_fen(fen))
}

/// Alice earned 5,000 COFFEE and exchanged 1,000 into CINEMA; Bob earns 2,000
/// CINEMA and redeems a ticket with 1,500 of them; Carol earns 300 COFFEE that
/// lapse; Dave only signs up. CINEMA is then settled (a payout in flight) and
/// COFFEE too (it owes the house).
/// Members are signed up with `keys`, so they can sign in to a server using them.
pub(crate) fn scenario(conn: &mut PgConnection, keys: &Keys) -> TwoPrograms {
    let actor = Actor::system("test");
    let shops = after_one_exchange(conn);
    let bob = member(conn, keys, "+8613800000002", None);
    earn_points(conn, shops.cinema, bob, 2_000);
    let ticket = movie_ticket(conn, shops.cinema, 5);
    let held = redemption::redeem(
        conn,
        &order(bob, ticket, &[("CINEMA", 1_500)], 0, "t-1"),
        &actor,
    )
    .unwrap();
    redemption::fulfil(conn, shops.cinema, &held.voucher_code, None, &actor).unwrap();
    let carol = member(conn, keys, "+8613800000003", None);
    earn_points(conn, shops.coffee, carol, 300);
    diesel::update(point_lots::table.filter(point_lots::member_id.eq(carol)))
        .set(point_lots::expires_at.eq(Some(Utc::now() - chrono::Duration::seconds(1))))
        .execute(conn)
        .unwrap();
    assert_eq!(expiry::expire_due(conn, Utc::now(), 100).unwrap(), 1);
    member(conn, keys, "+8613800000004", None);
    // Settled as the scheduler does once the day has ended.
    let at_its_end = alliance::clock::SimClock::starting_at(day(0).ends_at()).install();
    for merchant in [shops.cinema, shops.coffee] {
        statement::settle(conn, keys, merchant, day(0), None).unwrap();
    }
    drop(at_its_end);

    shops
}

/// The figures of the scenario, each computed here from the ledger or the
/// table that owns it.
struct Expected {
    issued: i64,
    redeemed: i64,
    exchanged: i64,
    expired: i64,
    fees: i64,
    members: i64,
    in_flight: i64,
    owed: i64,
    liability: Vec<AssetPoints>,
    approvals: i64,
    alerts: i64,
}

impl Expected {
    fn of(conn: &mut PgConnection) -> Self {
        // The flows by what the scenario did …
        let issued = fen_value("COFFEE", 5_000 + 300) + fen_value("CINEMA", 2_000);
        let redeemed = fen_value("CINEMA", 1_500);
        let exchanged = fen_value("COFFEE", 1_000);
        let expired = fen_value("COFFEE", 300);
        // … and the wallets agree: what members hold is what was issued and
        // exchanged in, less what left them.
        let cinema_in = count(
            conn,
            "SELECT coalesce(sum(to_points), 0)::int8 AS n FROM exchanges",
        );
        let held_now: i64 = wallets(conn)
            .iter()
            .map(|w| fen_value(&w.asset, w.points))
            .sum();
        assert_eq!(
            held_now,
            issued + fen_value("CINEMA", cinema_in) - redeemed - exchanged - expired
        );
        let fees = count(
            conn,
            "SELECT (coalesce(sum(b.credits_posted), 0) - coalesce(sum(b.debits_posted), 0))::int8 AS n
             FROM accounts a JOIN account_balances b ON b.account_id = a.id WHERE a.code = 'house:fees'",
        );
        assert!(fees > 0, "the exchange earned a fee");
        let members = count(conn, "SELECT count(*)::int8 AS n FROM members");
        let in_flight = count(
            conn,
            "SELECT coalesce(sum(amount_fen), 0)::int8 AS n FROM payouts
             WHERE status IN ('pending', 'batched', 'sent')",
        );
        assert!(in_flight > 0, "CINEMA is owed a payout");
        let owed = count(
            conn,
            "SELECT coalesce(sum(amount_fen - collected_fen), 0)::int8 AS n FROM settlement_collections
             WHERE status IN ('open', 'overdue')",
        );
        assert!(owed > 0, "COFFEE owes the house");
        let liability: Vec<AssetPoints> = sql_query(
            "SELECT a.asset, sum(CASE WHEN t.debit_account_id = a.id THEN t.amount ELSE -t.amount END)::int8 AS points
             FROM accounts a JOIN transfers t ON a.id IN (t.debit_account_id, t.credit_account_id)
             WHERE a.purpose = 'issuance' AND t.phase IN ('posted', 'post_pending')
             GROUP BY a.asset ORDER BY a.asset",
        )
        .load(conn)
        .unwrap();
        let approvals = count(
            conn,
            "SELECT count(*)::int8 AS n FROM approvals WHERE status = 'pending' AND scope = 'platform'",
        );
        let alerts = count(
            conn,
            "SELECT count(*)::int8 AS n FROM risk_alerts WHERE status <> 'resolved'",
        );
        Self {
            issued,
            redeemed,
            exchanged,
            expired,
            fees,
            members,
            in_flight,
            owed,
            liability,
            approvals,
            alerts,
        }
    }
}

#[tokio::test]
async fn every_figure_on_the_platform_home_equals_the_ledger() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let shops = scenario(conn, &app.keys);
    let Expected {
        issued,
        redeemed,
        exchanged,
        expired,
        fees,
        members,
        in_flight,
        owed,
        liability,
        approvals,
        alerts,
    } = Expected::of(conn);

    operator(conn, "finance@alliance.test", OperatorRole::Finance);
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in("platform", "finance@alliance.test", PASSWORD)
            .await
            .status,
        303
    );
    for grain in ["day", "week", "month"] {
        let page = browser.get(&format!("/platform?grain={grain}")).await;
        assert_eq!(page.status, 200);
        let body = &page.body;
        let figure = |key: &str| text_of(body, &format!("figure-{key}"));
        assert_eq!(figure("members"), members.to_string(), "{grain}");
        assert_eq!(figure("new_members"), members.to_string(), "{grain}");
        assert_eq!(figure("active_members"), "3", "{grain}: Dave did nothing");
        assert_eq!(figure("issued"), yuan(issued), "{grain}");
        assert_eq!(figure("redeemed"), yuan(redeemed), "{grain}");
        assert_eq!(figure("exchanged"), yuan(exchanged), "{grain}");
        assert_eq!(figure("expired"), yuan(expired), "{grain}");
        assert_eq!(figure("fees"), yuan(fees), "{grain}");
        assert_eq!(text_of(body, "previous-issued"), yuan(0), "{grain}");
        assert_eq!(text_of(body, "stat-payouts"), yuan(in_flight));
        assert_eq!(text_of(body, "stat-collections"), yuan(owed));
        assert_eq!(text_of(body, "stat-approvals"), approvals.to_string());
        assert_eq!(text_of(body, "stat-alerts"), alerts.to_string());
        let mut total = 0;
        for program in &liability {
            let row = format!("id=\"liability-{}\"", program.asset);
            let from = body.find(&row).expect("a row per program");
            let value = fen_value(&program.asset, program.points);
            total += value;
            assert!(
                body[from..].contains(&yuan(value)),
                "{} is worth {}",
                program.asset,
                yuan(value)
            );
        }
        assert_eq!(text_of(body, "liability-total"), yuan(total));
        for merchant in [shops.coffee, shops.cinema] {
            assert!(body.contains(&format!("id=\"coverage-{merchant}\"")));
        }
        assert_eq!(
            body.matches("<rect ").count(),
            8 * [30, 13, 12][["day", "week", "month"]
                .iter()
                .position(|g| *g == grain)
                .unwrap()],
            "a bar per period in each of the 8 charts"
        );
    }
    // A hand-edited grain shows the default (weekly) page rather than failing.
    let page = browser.get("/platform?grain=fortnight").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("aria-current=\"page\">按周"));
}
