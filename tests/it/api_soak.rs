//! Every money-moving call of the partner API at once, from many clients on the
//! same few members, for a while: no answer may be a 5xx, and the books must
//! verify afterwards. `ALLIANCE_SOAK_CLIENTS` (default 32) and
//! `ALLIANCE_SOAK_SECONDS` (default 20; the measurement is 300) set the
//! load.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;

use crate::{
    api_support::{ApiClient, partner, spawn_app_with},
    ledger_support::{assert_lots_match_wallets, assert_verified},
    redemption_support::movie_ticket,
};

use alliance::domain::id::MemberId;
use alliance::domain::id::RewardId;

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the clients share: members, orders and vouchers to act on, and a tally
/// of the answers by status.
#[derive(Debug, Default)]
struct Shared {
    /// (partner index, order id)
    orders: Mutex<Vec<(usize, String)>>,
    /// Held redemption ids, all at CINEMA.
    vouchers: Mutex<Vec<i64>>,
    statuses: Mutex<BTreeMap<u16, u64>>,
    /// Refusals by what and problem type, to see what the load really exercised.
    refusals: Mutex<BTreeMap<String, u64>>,
    server_errors: Mutex<Vec<String>>,
    counter: AtomicU64,
}

impl Shared {
    fn record(&self, what: &str, status: u16, text: &str) {
        *self.statuses.lock().unwrap().entry(status).or_default() += 1;
        if (400..500).contains(&status) {
            let problem = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|body| body["type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let kind = format!(
                "{what} {status} {}",
                problem.trim_start_matches("urn:alliance:problem:")
            );
            *self.refusals.lock().unwrap().entry(kind).or_default() += 1;
        }
        if status >= 500 {
            self.server_errors
                .lock()
                .unwrap()
                .push(format!("{what}: {status} {text}"));
        }
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_money_moving_call_at_once_from_many_clients_never_answers_5xx() {
    let clients = from_env("ALLIANCE_SOAK_CLIENTS", 32);
    let seconds = from_env("ALLIANCE_SOAK_SECONDS", 20);
    let app = spawn_app_with(|config| {
        config.api_rate_per_minute = std::num::NonZeroU32::new(1_000_000).unwrap();
    })
    .await;
    let partners = [partner(&app, "COFFEE"), partner(&app, "CINEMA")];
    let tills: Vec<ApiClient> = partners.iter().map(|p| ApiClient::new(&app, p)).collect();
    let reward_id = movie_ticket(&mut app.db.conn(), partners[1].merchant_id, 1_000_000);
    let mut members = Vec::new();
    // Enough members that daily earn and exchange limits are not what the
    // load ends up exercising; few enough that clients meet on the same wallets.
    for i in 0..48 {
        let phone = format!("139000000{i:02}");
        let member_id = tills[0].enrol(&phone).await;
        assert_eq!(tills[1].enrol(&phone).await, member_id);
        members.push(member_id);
    }
    let members = Arc::new(members);
    let shared = Arc::new(Shared::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);

    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (tills, members, shared) =
                (tills.clone(), Arc::clone(&members), Arc::clone(&shared));
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(client);
                while Instant::now() < deadline {
                    let member = members[rng.random_range(0..members.len())];
                    act(&tills, &shared, &mut rng, member, reward_id).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client panicked");
    }

    let statuses = shared.statuses.lock().unwrap().clone();
    let total: u64 = statuses.values().sum();
    eprintln!("{clients} clients for {seconds} s: {total} requests, by status {statuses:?}");
    eprintln!("refusals: {:#?}", shared.refusals.lock().unwrap());
    let errors = shared.server_errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "{} answers were 5xx: {:#?}",
        errors.len(),
        &errors[..errors.len().min(20)]
    );
    assert!(
        statuses.get(&201).copied().unwrap_or_default()
            + statuses.get(&200).copied().unwrap_or_default()
            > total / 4,
        "most calls should do something: {statuses:?}"
    );
    let conn = &mut app.db.conn();
    assert_verified(conn);
    assert_lots_match_wallets(conn);
}

/// One call of a random kind, weighted as a busy day's traffic.
async fn act(
    tills: &[ApiClient],
    shared: &Shared,
    rng: &mut StdRng,
    member: MemberId,
    reward_id: RewardId,
) {
    let n = shared.next();
    match rng.random_range(0..100) {
        0..30 => earn(tills, shared, rng, member, n).await,
        30..42 => refund(tills, shared, rng, n).await,
        42..70 => exchange(tills, shared, rng, member, n).await,
        70..85 => redeem(tills, shared, rng, member, reward_id, n).await,
        _ => resolve(tills, shared, rng, n).await,
    }
}

/// A purchase at either partner; the order is kept for refunds.
async fn earn(tills: &[ApiClient], shared: &Shared, rng: &mut StdRng, member: MemberId, n: u64) {
    let which = rng.random_range(0..tills.len());
    let order_id = format!("SOAK-{n}");
    let amount = format!(
        "{}.{:02}",
        rng.random_range(1..300),
        rng.random_range(0..100)
    );
    let r = tills[which]
        .post(
            "/api/v1/earn",
            &format!("earn-{n}"),
            &json!({"member_id": member, "order_id": order_id, "amount_cny": amount}),
        )
        .await;
    shared.record("earn", r.status, &r.text);
    if r.status == 201 {
        shared.orders.lock().unwrap().push((which, order_id));
    }
}

/// A full or partial refund of an order some client made.
async fn refund(tills: &[ApiClient], shared: &Shared, rng: &mut StdRng, n: u64) {
    let picked = {
        let orders = shared.orders.lock().unwrap();
        (!orders.is_empty()).then(|| orders[rng.random_range(0..orders.len())].clone())
    };
    let Some((which, order_id)) = picked else {
        return;
    };
    let body = if rng.random_bool(0.5) {
        json!({})
    } else {
        json!({"amount_cny": format!("{}.00", rng.random_range(1..500))})
    };
    let r = tills[which]
        .post(
            &format!("/api/v1/earn/{order_id}/refund"),
            &format!("refund-{n}"),
            &body,
        )
        .await;
    shared.record("refund", r.status, &r.text);
}

/// A quote in either direction, executed at once.
async fn exchange(
    tills: &[ApiClient],
    shared: &Shared,
    rng: &mut StdRng,
    member: MemberId,
    n: u64,
) {
    let (from, to) = if rng.random_bool(0.5) {
        ("COFFEE", "CINEMA")
    } else {
        ("CINEMA", "COFFEE")
    };
    let till = &tills[rng.random_range(0..tills.len())];
    let q = till
        .post(
            "/api/v1/exchange/quotes",
            &format!("quote-{n}"),
            &json!({"member_id": member, "from_program": from, "to_program": to,
                        "from_points": rng.random_range(100..1_000).to_string()}),
        )
        .await;
    shared.record("quote", q.status, &q.text);
    if q.status == 201 {
        let quote_id = q.json()["quote_id"].as_str().unwrap().to_owned();
        let x = till
            .post(
                "/api/v1/exchange",
                &format!("exchange-{n}"),
                &json!({"quote_id": quote_id}),
            )
            .await;
        shared.record("exchange", x.status, &x.text);
    }
}

/// The movie ticket, paid with CINEMA points and cash.
async fn redeem(
    tills: &[ApiClient],
    shared: &Shared,
    rng: &mut StdRng,
    member: MemberId,
    reward_id: RewardId,
    n: u64,
) {
    // The ticket is ¥30.00 or 1,500 CINEMA points: 2 fen a point.
    let points: i64 = rng.random_range(1..=1_500);
    let cash_fen = (1_500 - points) * 2;
    let r = tills[1]
        .post(
            "/api/v1/redemptions",
            &format!("redeem-{n}"),
            &json!({"member_id": member, "reward_id": reward_id,
                        "pay": [{"program": "CINEMA", "points": points.to_string()}],
                        "cash_cny": format!("{}.{:02}", cash_fen / 100, cash_fen % 100)}),
        )
        .await;
    shared.record("redeem", r.status, &r.text);
    if r.status == 201 {
        shared
            .vouchers
            .lock()
            .unwrap()
            .push(r.json()["redemption_id"].as_i64().unwrap());
    }
}

/// A held voucher served or called off.
async fn resolve(tills: &[ApiClient], shared: &Shared, rng: &mut StdRng, n: u64) {
    let picked = {
        let mut vouchers = shared.vouchers.lock().unwrap();
        (!vouchers.is_empty()).then(|| {
            let i = rng.random_range(0..vouchers.len());
            vouchers.swap_remove(i)
        })
    };
    let Some(id) = picked else { return };
    let action = if rng.random_bool(0.5) {
        "fulfil"
    } else {
        "cancel"
    };
    let r = tills[1]
        .post(
            &format!("/api/v1/redemptions/{id}/{action}"),
            &format!("{action}-{n}"),
            &json!({}),
        )
        .await;
    shared.record(action, r.status, &r.text);
}
