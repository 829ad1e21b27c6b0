//! The partner API's exchange endpoints: signed quotes and executions.
//!
//! COFFEE is the calling partner (strategic, ¥0.01 a point, so it sells at
//! ¥0.0099 while no rate is published); CINEMA is a standard merchant (¥0.02,
//! buying at ¥0.0202). The spread is the mean of the tiers' spreads, 1.5% and
//! 3%: 2.25%.

use alliance::{
    db::schema::{exchange_quotes, exchanges, journal_entries},
    domain::{actor::Actor, id::MemberId},
    error::Classify,
    exchange::{
        ExchangeError,
        rates::{self, Trigger},
    },
    i18n::Locale,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::{
    api_support::{ApiClient, ApiResponse, partner, partner_at},
    exchange_support::{keys, points},
    harness::{TestApp, spawn_app},
    ledger_support::{assert_lots_match_wallets, assert_verified},
    people_support::{funded_shop, member},
};

/// COFFEE's till and a member the till enrolled who
/// earned 2,000 COFFEE points there.
struct Setup {
    app: TestApp,
    till: ApiClient,
    member_id: MemberId,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let coffee = partner(&app, "COFFEE");
    funded_shop(&mut app.db.conn(), "CINEMA", "0.02");
    let till = ApiClient::new(&app, &coffee);
    let member_id = till.enrol("13800000001").await;
    let earned = till
        .post(
            "/api/v1/earn",
            "sale-1",
            &json!({"member_id": member_id, "order_id": "POS-1", "amount_cny": "2000.00"}),
        )
        .await;
    assert_eq!(earned.status, 201, "{earned:?}");
    Setup {
        app,
        till,
        member_id,
    }
}

fn quote_body(member_id: MemberId, from: &str, to: &str, points: &str) -> Value {
    json!({
        "member_id": member_id,
        "from_program": from,
        "to_program": to,
        "from_points": points,
    })
}

async fn quote(till: &ApiClient, key: &str, body: &Value) -> ApiResponse {
    till.post("/api/v1/exchange/quotes", key, body).await
}

async fn execute(till: &ApiClient, key: &str, quote_id: &str) -> ApiResponse {
    till.post("/api/v1/exchange", key, &json!({ "quote_id": quote_id }))
        .await
}

fn count_exchanges(app: &TestApp) -> i64 {
    exchanges::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap()
}

fn count_quotes(app: &TestApp) -> i64 {
    exchange_quotes::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap()
}

fn count_entries(app: &TestApp) -> i64 {
    journal_entries::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap()
}

fn assert_books_clean(app: &TestApp) {
    let conn = &mut app.db.conn();
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

#[tokio::test]
async fn a_partner_quotes_and_executes_an_exchange_and_the_points_move() {
    let Setup {
        app,
        till,
        member_id,
        ..
    } = setup().await;

    let quoted = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "COFFEE", "CINEMA", "1000"),
    )
    .await;
    assert_eq!(quoted.status, 201, "{quoted:?}");
    assert_eq!(quoted.content_type, "application/json");
    let terms = quoted.json();
    let quote_id = terms["quote_id"].as_str().unwrap().to_owned();
    assert_eq!(terms["member_id"], member_id.0);
    assert_eq!(terms["from_program"], "COFFEE");
    assert_eq!(terms["to_program"], "CINEMA");
    assert_eq!(terms["from_points"], "1000");
    // ¥9.90 out; 2.25% of it is 22.275 fen, rounded up to 23; ¥9.67 buys
    // 478.7 CINEMA points at ¥0.0202: 478.
    assert_eq!(terms["to_points"], "478");
    assert_eq!(terms["rate"], "0.478");
    assert_eq!(terms["fee_cny"], "0.23");
    let breakdown = &terms["breakdown"];
    assert_eq!(breakdown["sell_value"], "0.0099");
    assert_eq!(breakdown["buy_value"], "0.0202");
    assert_eq!(breakdown["value_out_cny"], "9.90");
    assert_eq!(breakdown["spread_bp"], 225);
    assert_eq!(breakdown["fee_before_discount_cny"], "0.23");
    assert_eq!(breakdown["member_tier"], "basic");
    assert_eq!(breakdown["tier_discount_bp"], 0);
    assert_eq!(breakdown["fee_cny"], "0.23");
    assert_eq!(terms["status"], "open");
    assert_eq!(terms["exchange_id"], Value::Null);
    let expires_at: chrono::DateTime<Utc> = terms["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires_at > Utc::now(), "{expires_at}");
    // A quote books nothing.
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 2_000);

    let executed = execute(&till, "exchange-1", &quote_id).await;
    assert_eq!(executed.status, 201, "{executed:?}");
    let exchange = executed.json();
    assert!(exchange["exchange_id"].as_i64().unwrap() > 0);
    assert_eq!(exchange["quote_id"], quote_id.as_str());
    assert_eq!(exchange["member_id"], member_id.0);
    assert_eq!(exchange["from_program"], "COFFEE");
    assert_eq!(exchange["to_program"], "CINEMA");
    assert_eq!(exchange["from_points"], "1000");
    assert_eq!(exchange["to_points"], "478");
    assert_eq!(exchange["value_out_cny"], "9.90");
    assert_eq!(exchange["fee_cny"], "0.23");
    assert!(exchange["executed_at"].as_str().is_some());
    let looked_up = till
        .get(&format!("/api/v1/exchange/quotes/{quote_id}"))
        .await;
    assert_eq!(looked_up.status, 200, "{looked_up:?}");
    assert_eq!(looked_up.json()["status"], "used");
    assert_eq!(looked_up.json()["exchange_id"], exchange["exchange_id"]);
    assert_eq!(looked_up.json()["to_points"], "478");

    let balances = till
        .get(&format!("/api/v1/members/{member_id}/balances"))
        .await
        .json();
    let available = |program: &str| {
        balances["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["program"] == program)
            .map(|b| b["available"].clone())
    };
    assert_eq!(available("COFFEE"), Some(json!("1000")));
    assert_eq!(available("CINEMA"), Some(json!("478")));
    assert_books_clean(&app);
}

#[tokio::test]
async fn a_quote_executes_once_and_its_idempotency_key_replays_the_exchange() {
    let Setup {
        app,
        mut till,
        member_id,
        ..
    } = setup().await;
    let quote_id = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "COFFEE", "CINEMA", "1000"),
    )
    .await
    .json()["quote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = execute(&till, "exchange-1", &quote_id).await;
    assert_eq!(first.status, 201, "{first:?}");
    let entries = count_entries(&app);

    // The same request under the same key is the first answer, replayed.
    let replayed = execute(&till, "exchange-1", &quote_id).await;
    assert_eq!(replayed.status, 201, "{replayed:?}");
    assert!(replayed.replayed);
    assert_eq!(replayed.text, first.text);

    // Under a new key it is a second execution of a used quote.
    till.language = Some("en");
    let again = execute(&till, "exchange-2", &quote_id).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem(), "quote_used");
    assert_eq!(
        again.json()["detail"],
        ExchangeError::QuoteUsed.message(Locale::En).unwrap()
    );

    assert_eq!(count_exchanges(&app), 1);
    assert_eq!(count_entries(&app), entries);
    let conn = &mut app.db.conn();
    assert_eq!(points(conn, member_id, "COFFEE"), 1_000);
    assert_eq!(points(conn, member_id, "CINEMA"), 478);
    assert_books_clean(&app);
}

#[tokio::test]
async fn an_expired_quote_is_refused_with_409_and_moves_nothing() {
    let Setup {
        app,
        till,
        member_id,
        ..
    } = setup().await;
    let quote_id = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "COFFEE", "CINEMA", "1000"),
    )
    .await
    .json()["quote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    diesel::update(exchange_quotes::table.find(&quote_id))
        .set(exchange_quotes::expires_at.eq(Utc::now() - Duration::seconds(1)))
        .execute(&mut app.db.conn())
        .unwrap();
    let entries = count_entries(&app);

    let expired = execute(&till, "exchange-1", &quote_id).await;
    assert_eq!(expired.status, 409, "{expired:?}");
    assert_eq!(expired.problem(), "quote_expired");
    let looked_up = till
        .get(&format!("/api/v1/exchange/quotes/{quote_id}"))
        .await;
    assert_eq!(looked_up.json()["status"], "expired", "{looked_up:?}");

    assert_eq!(count_exchanges(&app), 0);
    assert_eq!(count_entries(&app), entries);
    let conn = &mut app.db.conn();
    assert_eq!(points(conn, member_id, "COFFEE"), 2_000);
    assert_eq!(points(conn, member_id, "CINEMA"), 0);
    assert_books_clean(&app);
}

#[tokio::test]
async fn a_quote_is_only_for_members_the_merchant_knows() {
    let Setup { app, till, .. } = setup().await;
    // A member of the alliance COFFEE never met.
    let stranger = member(&mut app.db.conn(), &keys(), "13800000002", None);

    let refused = quote(
        &till,
        "quote-1",
        &quote_body(stranger, "COFFEE", "CINEMA", "1000"),
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem(), "member_not_known");
    assert_eq!(count_quotes(&app), 0);
    assert_books_clean(&app);
}

#[tokio::test]
async fn a_partner_may_only_quote_exchanges_touching_its_own_program() {
    let Setup {
        app,
        till,
        member_id,
        ..
    } = setup().await;
    funded_shop(&mut app.db.conn(), "TEA", "0.01");

    let refused = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "CINEMA", "TEA", "1000"),
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem(), "not_partner_program");
    assert_eq!(count_quotes(&app), 0);
    assert_books_clean(&app);
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_quote() {
    let Setup {
        app,
        till,
        member_id,
        ..
    } = setup().await;
    let body = quote_body(member_id, "COFFEE", "CINEMA", "1000");
    let first = quote(&till, "quote-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");

    let replayed = quote(&till, "quote-1", &body).await;
    assert_eq!(replayed.status, 201, "{replayed:?}");
    assert!(replayed.replayed);
    assert_eq!(replayed.text, first.text);
    assert_eq!(count_quotes(&app), 1);

    // The key for a different request is refused.
    let other = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "COFFEE", "CINEMA", "500"),
    )
    .await;
    assert_eq!(other.status, 409, "{other:?}");
    assert_eq!(other.problem(), "idempotency_key_reused");
    assert_eq!(count_quotes(&app), 1);
    assert_books_clean(&app);
}

#[tokio::test]
async fn another_partners_quote_or_an_unknown_one_is_not_found() {
    let Setup {
        app,
        till,
        member_id,
        ..
    } = setup().await;
    let quote_id = quote(
        &till,
        "quote-1",
        &quote_body(member_id, "COFFEE", "CINEMA", "1000"),
    )
    .await
    .json()["quote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tea = ApiClient::new(&app, &partner(&app, "TEA"));

    let theirs = execute(&tea, "exchange-1", &quote_id).await;
    assert_eq!(theirs.status, 404, "{theirs:?}");
    assert_eq!(theirs.problem(), "unknown_quote");
    let their_look = tea
        .get(&format!("/api/v1/exchange/quotes/{quote_id}"))
        .await;
    assert_eq!(their_look.status, 404, "{their_look:?}");
    assert_eq!(their_look.problem(), "not_found");
    let unknown = execute(&till, "exchange-1", "q_0000").await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.problem(), "unknown_quote");

    assert_eq!(count_exchanges(&app), 0);
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 2_000);
    assert_books_clean(&app);
}

#[tokio::test]
async fn business_refusals_and_invalid_fields_are_problems_that_change_nothing() {
    let Setup {
        app,
        mut till,
        member_id,
    } = setup().await;
    till.language = Some("en");

    let invalid = quote(
        &till,
        "quote-1",
        &json!({"member_id": 0, "from_program": "coffee points", "from_points": "-5"}),
    )
    .await;
    assert_eq!(invalid.status, 422, "{invalid:?}");
    assert_eq!(invalid.problem(), "validation_failed");
    let errors = invalid.json()["errors"].as_array().unwrap().clone();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["to_program", "member_id", "from_program", "from_points"]
    );
    assert!(
        errors
            .iter()
            .all(|e| !e["message"].as_str().unwrap().starts_with("api.")),
        "{errors:?}"
    );
    let no_quote = till
        .post("/api/v1/exchange", "exchange-1", &json!({}))
        .await;
    assert_eq!(no_quote.status, 422, "{no_quote:?}");
    assert_eq!(no_quote.json()["errors"][0]["field"], "quote_id");

    // More points than the member has.
    let too_many = quote(
        &till,
        "quote-2",
        &quote_body(member_id, "COFFEE", "CINEMA", "5000"),
    )
    .await;
    assert_eq!(too_many.status, 409, "{too_many:?}");
    assert_eq!(too_many.problem(), "insufficient_points");
    assert_eq!(
        too_many.json()["detail"],
        ExchangeError::InsufficientPoints { available: 2_000 }
            .message(Locale::En)
            .unwrap()
    );
    // Below the program's minimum.
    let too_few = quote(
        &till,
        "quote-3",
        &quote_body(member_id, "COFFEE", "CINEMA", "50"),
    )
    .await;
    assert_eq!(too_few.status, 422, "{too_few:?}");
    assert_eq!(too_few.problem(), "below_minimum");
    // A program into itself.
    let same = quote(
        &till,
        "quote-4",
        &quote_body(member_id, "COFFEE", "COFFEE", "1000"),
    )
    .await;
    assert_eq!(same.status, 422, "{same:?}");
    assert_eq!(same.problem(), "same_program");

    assert_eq!(count_quotes(&app), 0);
    assert_eq!(count_exchanges(&app), 0);
    assert_eq!(points(&mut app.db.conn(), member_id, "COFFEE"), 2_000);
    assert_books_clean(&app);
}

/// Issue #16, hole 1, through the partner API: ten members each earn ¥100,000
/// at HOTEL (¥0.01 a point), exchange 100,000 HOTEL into MILES (¥0.018), the
/// scheduler publishes rates that have seen those flows, and each exchanges
/// the MILES back in two halves. Before the rule the publication sold MILES
/// above and bought HOTEL below their settlement values, and each member came
/// back with 104,446 HOTEL; now no member ends with more settlement value than
/// it started with (96,552 HOTEL: the fees and the spread).
#[tokio::test]
async fn members_trading_across_a_rate_publication_end_with_no_more_settlement_value() {
    let app = spawn_app().await;
    let hotel = ApiClient::new(&app, &partner(&app, "HOTEL"));
    let _miles = partner_at(&app, "MILES", "0.018");
    let worth = |hotel_points: i64, miles_points: i64| {
        rust_decimal::Decimal::new(hotel_points, 2)
            + rust_decimal::Decimal::new(miles_points * 18, 3)
    };
    let mut members = Vec::new();
    for n in 0..10 {
        let member_id = hotel.enrol(&format!("139000000{n:02}")).await;
        let earned = hotel
            .post(
                "/api/v1/earn",
                &format!("earn-{n}"),
                &json!({"member_id": member_id, "order_id": format!("SUITE-{n}"), "amount_cny": "100000.00"}),
            )
            .await;
        assert_eq!(earned.status, 201, "{earned:?}");
        let quoted = quote(
            &hotel,
            &format!("out-{n}"),
            &quote_body(member_id, "HOTEL", "MILES", "100000"),
        )
        .await;
        assert_eq!(quoted.status, 201, "{quoted:?}");
        assert_eq!(quoted.json()["breakdown"]["value_out_cny"], "990.00");
        let executed = execute(
            &hotel,
            &format!("x-out-{n}"),
            quoted.json()["quote_id"].as_str().unwrap(),
        )
        .await;
        assert_eq!(executed.status, 201, "{executed:?}");
        members.push(member_id);
    }
    let start = worth(100_000, 0);

    rates::publish(
        &mut app.db.conn(),
        Trigger::Schedule,
        &Actor::system("rate scheduler"),
    )
    .unwrap();

    for (n, &member_id) in members.iter().enumerate() {
        let miles = points(&mut app.db.conn(), member_id, "MILES");
        assert_eq!(miles, 54_046);
        for (half, amount) in [(1, miles / 2), (2, miles - miles / 2)] {
            let quoted = quote(
                &hotel,
                &format!("back-{n}-{half}"),
                &quote_body(member_id, "MILES", "HOTEL", &amount.to_string()),
            )
            .await;
            assert_eq!(quoted.status, 201, "{quoted:?}");
            let terms = quoted.json();
            // Demand lifted MILES' sell value to its settlement value, not past
            // it; exchanges out of HOTEL left its buy value at ¥0.01, not below.
            assert_eq!(terms["breakdown"]["sell_value"], "0.018");
            assert_eq!(terms["breakdown"]["buy_value"], "0.01");
            let executed = execute(
                &hotel,
                &format!("x-back-{n}-{half}"),
                terms["quote_id"].as_str().unwrap(),
            )
            .await;
            assert_eq!(executed.status, 201, "{executed:?}");
        }
        let conn = &mut app.db.conn();
        let (hotel_points, miles_points) = (
            points(conn, member_id, "HOTEL"),
            points(conn, member_id, "MILES"),
        );
        assert_eq!((hotel_points, miles_points), (96_552, 0));
        assert!(
            worth(hotel_points, miles_points) <= start,
            "member {member_id} ends with {hotel_points} HOTEL and {miles_points} MILES"
        );
    }
    assert_books_clean(&app);
}
