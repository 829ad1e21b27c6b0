//! Earning risk alerts: each fires at its threshold and not below, a risk that
//! lasts is raised once, the earning service raises them as it books and
//! refuses earns, and operators work member alerts on the platform risk queue.
//!
//! The threshold tests record earn orders directly, at chosen purchase and
//! arrival times, and run the review the earning service runs after each earn.

use alliance::{
    audit::{self, AuditFilter},
    crypto::Keys,
    db::schema::{earn_orders, programs},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
    },
    earn::{self, EarnError, EarnRequest, OrderId, Source},
    people::operator::OperatorRole,
    risk::{
        self, AlertFilter, RiskAlert, StatusFilter,
        earning::{
            DAILY_LIMIT_KIND, OUTLIER_KIND, SHARED_DEVICE_KIND, SHARED_IP_KIND, VELOCITY_KIND,
            review_earn,
        },
    },
};
use chrono::{DateTime, Duration, Utc};
use diesel::{PgConnection, prelude::*};

use crate::{
    harness::{TestDb, spawn_app},
    people_support::{PASSWORD, funded_shop, member, operator, shop},
};

fn keys() -> Keys {
    Keys::derive("risk-earning-tests")
}

/// Every alert, resolved or not, oldest first.
fn alerts(conn: &mut PgConnection) -> Vec<RiskAlert> {
    let everything = AlertFilter {
        status: StatusFilter::All,
        family: None,
    };
    let mut all = risk::list(conn, &everything, 1000).unwrap();
    all.reverse();
    all
}

fn alerts_of(conn: &mut PgConnection, kind: &str) -> Vec<RiskAlert> {
    alerts(conn)
        .into_iter()
        .filter(|a| a.kind == kind)
        .collect()
}

/// An earn order as the earning service leaves it, then the review it runs.
struct Purchase<'a> {
    merchant_id: MerchantId,
    member_id: MemberId,
    amount_fen: i64,
    occurred_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    device: Option<&'a str>,
    ip: Option<&'a str>,
}

impl<'a> Purchase<'a> {
    fn new(merchant_id: MerchantId, member_id: MemberId) -> Self {
        let now = Utc::now();
        Self {
            merchant_id,
            member_id,
            amount_fen: 10_000,
            occurred_at: now,
            created_at: now,
            device: None,
            ip: None,
        }
    }

    fn amount(self, amount_fen: i64) -> Self {
        Self { amount_fen, ..self }
    }

    fn at(self, occurred_at: DateTime<Utc>) -> Self {
        Self {
            occurred_at,
            ..self
        }
    }

    fn arrived(self, created_at: DateTime<Utc>) -> Self {
        Self { created_at, ..self }
    }

    fn device(self, device: &'a str) -> Self {
        Self {
            device: Some(device),
            ..self
        }
    }

    fn ip(self, ip: &'a str) -> Self {
        Self {
            ip: Some(ip),
            ..self
        }
    }

    fn earn(self, conn: &mut PgConnection) {
        conn.transaction(|conn| {
            let id: i64 = diesel::insert_into(earn_orders::table)
                .values((
                    earn_orders::merchant_id.eq(self.merchant_id),
                    earn_orders::order_id.eq(format!("T{}", rand::random::<u64>())),
                    earn_orders::member_id.eq(self.member_id),
                    earn_orders::program_code.eq("BREW"),
                    earn_orders::amount_fen.eq(self.amount_fen),
                    earn_orders::points.eq(0),
                    earn_orders::breakdown.eq(serde_json::json!({})),
                    earn_orders::source.eq("api"),
                    earn_orders::created_by.eq("test"),
                    earn_orders::device_id.eq(self.device),
                    earn_orders::ip.eq(self.ip),
                    earn_orders::occurred_at.eq(self.occurred_at),
                    earn_orders::created_at.eq(self.created_at),
                ))
                .returning(earn_orders::id)
                .get_result(conn)?;
            review_earn(conn, id)
        })
        .unwrap();
    }
}

/// A merchant with its program, and `n` members.
fn shop_and_members(conn: &mut PgConnection, n: usize) -> (MerchantId, Vec<MemberId>) {
    let m = shop(conn, "BREW", "standard", "0.010000");
    let keys = keys();
    let members = (0..n)
        .map(|i| member(conn, &keys, &format!("1391234{i:04}"), None))
        .collect();
    (m, members)
}

#[test]
fn velocity_fires_on_the_eleventh_earn_within_an_hour_and_only_once() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (m, members) = shop_and_members(conn, 1);
    let c = members[0];
    let now = Utc::now();

    // An earn an hour and a second ago is outside the window.
    Purchase::new(m, c)
        .at(now - Duration::seconds(3601))
        .earn(conn);
    for minute in (0..10).rev() {
        Purchase::new(m, c)
            .at(now - Duration::minutes(minute * 5))
            .earn(conn);
    }
    assert!(alerts_of(conn, VELOCITY_KIND).is_empty(), "ten in an hour");

    Purchase::new(m, c).at(now).earn(conn);
    let raised = alerts_of(conn, VELOCITY_KIND);
    assert_eq!(raised.len(), 1, "eleven in an hour");
    let alert = &raised[0];
    assert_eq!(
        (alert.member_id, alert.merchant_id, alert.status.as_str()),
        (Some(c), Some(m), "open")
    );
    assert_eq!(alert.details["earns"], 11);
    assert!(
        alert.summary.contains("1 小时内获得积分 11 次"),
        "{}",
        alert.summary
    );

    // The burst goes on: still one alert, until an operator resolves it.
    Purchase::new(m, c).at(now).earn(conn);
    assert_eq!(alerts_of(conn, VELOCITY_KIND).len(), 1);
    risk::resolve(conn, &Actor::system("test"), alert.id).unwrap();
    Purchase::new(m, c).at(now).earn(conn);
    let again = alerts_of(conn, VELOCITY_KIND);
    assert_eq!(again.len(), 2, "a new alert once the old one is resolved");
    assert_eq!(again[1].details["earns"], 13);

    let audited = audit::search(
        conn,
        &AuditFilter {
            action: Some("risk.raise".to_owned()),
            ..AuditFilter::default()
        },
        10,
    )
    .unwrap();
    assert_eq!(audited.len(), 2, "each raise is audited");
    assert_eq!(audited[0].actor_label, "system:risk");
}

#[test]
fn purchases_reported_late_and_out_of_order_count_towards_velocity() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (m, members) = shop_and_members(conn, 1);
    let now = Utc::now();

    // A till back online sends its last hour newest first.
    for minute in 0..10 {
        Purchase::new(m, members[0])
            .at(now - Duration::minutes(minute * 5))
            .earn(conn);
    }
    assert!(alerts_of(conn, VELOCITY_KIND).is_empty());
    Purchase::new(m, members[0])
        .at(now - Duration::minutes(59))
        .earn(conn);
    assert_eq!(alerts_of(conn, VELOCITY_KIND).len(), 1);
}

#[test]
fn an_outlier_is_ten_times_the_ninety_day_average_once_there_are_five_earlier_orders() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (m, members) = shop_and_members(conn, 4);
    let now = Utc::now();
    let history = |conn: &mut PgConnection, member: MemberId, orders: i64| {
        for day in 1..=orders {
            Purchase::new(m, member)
                .amount(10_000)
                .at(now - Duration::days(day))
                .earn(conn);
        }
    };

    // Four earlier orders are too few to know the member's norm.
    history(conn, members[0], 4);
    Purchase::new(m, members[0]).amount(1_000_000).earn(conn);
    // Five orders of ¥100: ¥999.99 is just under ten times the average.
    history(conn, members[1], 5);
    Purchase::new(m, members[1]).amount(99_999).earn(conn);
    // An order from 91 days ago is not part of the norm.
    history(conn, members[2], 4);
    Purchase::new(m, members[2])
        .at(now - Duration::days(91))
        .earn(conn);
    Purchase::new(m, members[2]).amount(100_000).earn(conn);
    assert!(alerts_of(conn, OUTLIER_KIND).is_empty());

    // ¥1,000 after five orders of ¥100 is ten times the norm.
    history(conn, members[3], 5);
    Purchase::new(m, members[3]).amount(100_000).earn(conn);
    Purchase::new(m, members[3]).amount(500_000).earn(conn);
    let raised = alerts_of(conn, OUTLIER_KIND);
    assert_eq!(raised.len(), 1);
    let alert = &raised[0];
    assert_eq!(alert.member_id, Some(members[3]));
    assert_eq!(alert.details["average_fen"], 10_000);
    assert_eq!(alert.details["times"], "10");
    assert!(
        alert
            .summary
            .contains("消费 ¥1000.00，为近 90 天平均 ¥100.00 的 10 倍"),
        "{}",
        alert.summary
    );
}

#[test]
fn five_members_on_one_device_or_ip_within_a_day_raise_one_alert_about_the_merchant() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let (m, members) = shop_and_members(conn, 7);
    let now = Utc::now();

    // A member of the day before, and one member many times, do not count.
    Purchase::new(m, members[0])
        .arrived(now - Duration::hours(25))
        .device("POS-7")
        .ip("203.0.113.9")
        .earn(conn);
    for member in &members[1..5] {
        for _ in 0..3 {
            Purchase::new(m, *member)
                .device("POS-7")
                .ip("203.0.113.9")
                .earn(conn);
        }
    }
    // Another device and network entirely.
    Purchase::new(m, members[6])
        .device("POS-8")
        .ip("198.51.100.1")
        .earn(conn);
    assert!(
        alerts_of(conn, SHARED_DEVICE_KIND).is_empty(),
        "four members"
    );
    assert!(alerts_of(conn, SHARED_IP_KIND).is_empty(), "four members");

    Purchase::new(m, members[5]).device("POS-7").earn(conn);
    let device = alerts_of(conn, SHARED_DEVICE_KIND);
    assert_eq!(device.len(), 1, "five members on one device");
    assert_eq!(
        (device[0].merchant_id, device[0].member_id),
        (Some(m), None)
    );
    assert_eq!(device[0].detail("device"), Some("POS-7"));
    assert_eq!(device[0].details["members"], 5);
    assert!(alerts_of(conn, SHARED_IP_KIND).is_empty(), "it had no IP");

    Purchase::new(m, members[5]).ip("203.0.113.9").earn(conn);
    Purchase::new(m, members[6])
        .device("POS-7")
        .ip("203.0.113.9")
        .earn(conn);
    assert_eq!(alerts_of(conn, SHARED_DEVICE_KIND).len(), 1, "raised once");
    let ip = alerts_of(conn, SHARED_IP_KIND);
    assert_eq!(ip.len(), 1);
    assert_eq!(ip[0].detail("ip"), Some("203.0.113.9"));
    assert!(
        ip[0]
            .summary
            .contains("IP 203.0.113.9 在 24 小时内有 5 位会员获得积分"),
        "{}",
        ip[0].summary
    );
}

fn purchase(merchant_id: MerchantId, member_id: MemberId, order: &str, yuan: &str) -> EarnRequest {
    EarnRequest {
        merchant_id,
        order_id: OrderId::parse(order).unwrap(),
        member_id,
        amount: Money::parse(yuan).unwrap(),
        occurred_at: None,
        store_id: None,
        program: None,
        source: Source::Api,
        device_id: Some("POS-1".to_owned()),
        ip: None,
    }
}

#[test]
fn the_earning_service_raises_alerts_as_it_books_and_refuses_earns() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let m = funded_shop(conn, "BREW", "0.010000");
    let c = member(conn, &keys(), "13912345678", None);
    let till = Actor::system("till");

    for i in 0..11 {
        let request = purchase(m, c, &format!("A{i}"), "10.00");
        earn::earn(conn, &request, &till).unwrap();
    }
    // A replay is not another earn.
    let replayed = earn::earn(conn, &purchase(m, c, "A10", "10.00"), &till).unwrap();
    assert!(replayed.replayed);
    let velocity = alerts_of(conn, VELOCITY_KIND);
    assert_eq!(velocity.len(), 1);
    assert_eq!(velocity[0].details["earns"], 11);

    // 1 point per CNY: ¥2,000 is 2,000 points, over a limit of 1,000 a day.
    diesel::update(programs::table.filter(programs::code.eq("BREW")))
        .set(programs::member_daily_earn_limit.eq(1_000))
        .execute(conn)
        .unwrap();
    for order in ["B1", "B2"] {
        let refused = earn::earn(conn, &purchase(m, c, order, "2000.00"), &till);
        assert!(
            matches!(refused, Err(EarnError::DailyLimit { limit: 1_000, .. })),
            "{refused:?}"
        );
    }
    let limit = alerts_of(conn, DAILY_LIMIT_KIND);
    assert_eq!(limit.len(), 1, "one alert while the member keeps trying");
    assert_eq!(
        (limit[0].member_id, limit[0].merchant_id),
        (Some(c), Some(m))
    );
    assert_eq!(limit[0].detail("program"), Some("BREW"));
    assert_eq!(
        (&limit[0].details["limit"], &limit[0].details["attempted"]),
        (&serde_json::json!(1_000), &serde_json::json!(2_000))
    );
}

#[tokio::test]
async fn an_operator_acknowledges_and_resolves_a_member_alert_on_the_risk_queue() {
    let app = spawn_app().await;
    let conn = &mut app.db.conn();
    let m = shop(conn, "BREW", "standard", "0.010000");
    let c = member(conn, &app.keys, "13912345678", None);
    operator(conn, "risk@alliance.test", OperatorRole::Risk);
    let now = Utc::now();
    for minute in 0..11 {
        Purchase::new(m, c)
            .at(now - Duration::minutes(minute))
            .earn(conn);
    }
    let alert = risk::unresolved_for_member(conn, VELOCITY_KIND, c)
        .unwrap()
        .expect("a velocity alert");

    let officer = app.browser();
    officer
        .sign_in("platform", "risk@alliance.test", PASSWORD)
        .await;
    let queue = officer.get("/platform/risk?family=earn").await;
    assert_eq!(queue.status, 200);
    for shown in [
        "高频积分",
        &format!("#{c}"),
        "139****5678",
        "1 小时内获得积分 11 次",
        "BREW 商户",
    ] {
        assert!(queue.body.contains(shown), "{shown}:\n{}", queue.body);
    }
    assert!(!queue.body.contains("13912345678"), "the number is masked");
    let deposits_only = officer.get("/platform/risk?family=deposit").await;
    assert!(!deposits_only.body.contains("139****5678"));

    let path = format!("/platform/risk/{}", alert.id);
    let acknowledged = officer
        .submit(
            "/platform/risk",
            &path,
            &[
                ("action", "acknowledge"),
                ("status", "unresolved"),
                ("family", "earn"),
            ],
        )
        .await;
    assert_eq!(
        (acknowledged.status, acknowledged.location.as_deref()),
        (303, Some("/platform/risk?status=unresolved&family=earn"))
    );
    let acknowledged_only = officer.get("/platform/risk?status=acknowledged").await;
    assert!(acknowledged_only.body.contains("139****5678"));
    assert!(acknowledged_only.body.contains("risk@alliance.test"));

    let resolved = officer
        .submit("/platform/risk", &path, &[("action", "resolve")])
        .await;
    assert_eq!(resolved.status, 303);
    assert!(
        risk::unresolved_for_member(conn, VELOCITY_KIND, c)
            .unwrap()
            .is_none()
    );
    let unresolved = officer.get("/platform/risk").await;
    assert!(!unresolved.body.contains("139****5678"));
    let history = officer
        .get("/platform/risk?status=resolved&family=earn")
        .await;
    assert!(history.body.contains("139****5678"), "{}", history.body);
    assert!(history.body.contains("已解除"));

    let again = officer
        .submit("/platform/risk", &path, &[("action", "resolve")])
        .await;
    assert_eq!(again.status, 303);
    assert!(
        officer
            .get("/platform/risk")
            .await
            .body
            .contains("该预警已解除")
    );
}
