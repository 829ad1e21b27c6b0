//! The platform portal's exchange pages: rates, overrides, flows, verification.
//! An alliance of two programs to exchange between, and members with points,
//! built through the real services (earning issues the points, so every wallet
//! has its lots).

use alliance::{
    domain::actor::Actor,
    exchange::{
        self, Executor,
        overrides::{self, Listed},
        policy,
        rates::{self, Source, Trigger},
    },
    people::{member, operator::OperatorRole, verification},
    program,
};
use chrono::{Duration, FixedOffset, Utc};
use diesel::PgConnection;

use crate::{
    exchange_support::{member_with_coffee, quote, two_programs},
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, member as new_member, operator},
};

const RATES: &str = "/platform/exchange";
const COFFEE: &str = "/platform/exchange/programs/COFFEE";
const COFFEE_OVERRIDES: &str = "/platform/exchange/programs/COFFEE/overrides";

async fn signed_in(app: &TestApp, email: &str, role: OperatorRole) -> Browser {
    operator(&mut app.db.conn(), email, role);
    let browser = app.browser();
    let signed = browser.sign_in("platform", email, PASSWORD).await;
    assert_eq!(signed.status, 303, "{email} signs in");
    browser
}

/// `datetime-local` text in Shanghai, `hours` from now.
fn local(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours))
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn coffee_overrides(conn: &mut PgConnection) -> Vec<Listed> {
    overrides::list(conn, Some("COFFEE"), 100).unwrap()
}

fn coffee_source(conn: &mut PgConnection) -> Source {
    let coffee = program::by_code(conn, "COFFEE").unwrap().unwrap();
    rates::current(conn, &coffee).unwrap().source
}

async fn request_override(
    browser: &Browser,
    sell: &str,
    buy: &str,
    reason: &str,
) -> crate::harness::Page {
    browser
        .submit(
            COFFEE,
            COFFEE_OVERRIDES,
            &[
                ("sell", sell),
                ("buy", buy),
                ("starts_at", &local(-1)),
                ("ends_at", &local(24)),
                ("reason", reason),
            ],
        )
        .await
}

#[tokio::test]
async fn recompute_now_publishes_rates_with_their_inputs_and_the_overview_shows_them() {
    let app = spawn_app().await;
    two_programs(&mut app.db.conn());
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;
    let before = admin.get(RATES).await;
    assert_eq!(before.status, 200);
    assert!(before.body.contains("尚未发布"), "{}", before.body);
    assert!(
        before.body.contains("href=\"/platform/exchange\""),
        "the sidebar links here"
    );
    assert!(before.body.contains("href=\"/platform/verifications\""));

    let done = admin
        .submit(RATES, "/platform/exchange/recompute", &[])
        .await;
    assert_eq!(done.status, 303);

    let mut conn = app.db.conn();
    let publication = rates::recent_publications(&mut conn, 1).unwrap().remove(0);
    assert_eq!(publication.trigger.as_str(), "on_demand");
    assert_eq!(publication.policy["band_bp"], 1000);
    let coffee = program::by_code(&mut conn, "COFFEE").unwrap().unwrap();
    let current = rates::current(&mut conn, &coffee).unwrap();
    let row = current
        .published
        .clone()
        .expect("published with its inputs");
    assert_eq!(row.publication_id, publication.id);
    assert_eq!(row.settlement_value.to_string(), "0.010000");
    assert_eq!((row.inflow_fen, row.outflow_fen, row.shift_bp), (0, 0, 0));

    let after = admin.get(RATES).await.body;
    assert!(after.contains("已按最新流量重新计算"), "the flash says so");
    assert!(after.contains(&format!("模型发布 #{}", publication.id)));
    assert!(after.contains(&current.sell.to_string()) && after.contains(&current.buy.to_string()));
    assert!(after.contains("0.009 – 0.011"), "the band");
}

#[tokio::test]
async fn an_override_near_the_model_is_in_force_at_once_and_a_far_one_waits_for_a_second_operator()
{
    let app = spawn_app().await;
    let shops = two_programs(&mut app.db.conn());
    let alice = member_with_coffee(&mut app.db.conn(), shops.coffee, "13800000001", 5_000);
    let maker = signed_in(&app, "maker@alliance.test", OperatorRole::Operator).await;
    let checker = signed_in(&app, "checker@alliance.test", OperatorRole::Admin).await;

    // The model says 0.0099 / 0.0101; 0.0102 is 100 bp away, within 300.
    let near = request_override(&maker, "0.0099", "0.0102", "咖啡节促销").await;
    assert_eq!(near.status, 303, "{}", near.body);
    let page = maker.get(COFFEE).await.body;
    assert!(page.contains("人工干预已生效"), "{page}");
    let mut conn = app.db.conn();
    let first = coffee_overrides(&mut conn).remove(0);
    assert_eq!(first.state(Utc::now()), "active");
    assert!(
        matches!(coffee_source(&mut conn), Source::Override { override_id, .. } if override_id == first.pinned.id)
    );
    let quoted = quote(&mut conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    assert_eq!(quoted.sell_value.to_string(), "0.009900");
    assert!(page.contains("咖啡节促销") && page.contains("override-in-force"));

    // 0.0091 / 0.0109 is about 800 bp away: a second operator must approve it.
    let far = request_override(&maker, "0.0091", "0.0109", "清理库存").await;
    assert_eq!(far.status, 303, "{}", far.body);
    assert!(
        maker
            .get(COFFEE)
            .await
            .body
            .contains("待另一位运营人员批准")
    );
    let pending = coffee_overrides(&mut conn).remove(0);
    assert_eq!(pending.state(Utc::now()), "pending");
    assert!(
        matches!(coffee_source(&mut conn), Source::Override { override_id, .. } if override_id == first.pinned.id)
    );
    let approval = pending.pinned.approval_id.expect("an approval request");

    let queue = checker.get("/platform/approvals").await.body;
    assert!(queue.contains("汇率人工干预"), "the kind is named: {queue}");
    let detail = format!("/platform/approvals/{approval}");
    assert!(
        !maker.get(&detail).await.body.contains("name=\"decision\""),
        "not the maker's own"
    );
    let decided = checker
        .submit(
            &detail,
            &format!("{detail}/decision"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(decided.status, 303);
    assert!(
        matches!(coffee_source(&mut conn), Source::Override { override_id, .. } if override_id == pending.pinned.id)
    );
    let requoted = quote(&mut conn, alice, "COFFEE", "CINEMA", 1_000).unwrap();
    assert_eq!(requoted.sell_value.to_string(), "0.009100");

    // Cancelling the newest puts the older one back in force.
    let cancel = format!("{COFFEE_OVERRIDES}/{}/cancel", pending.pinned.id);
    assert_eq!(maker.submit(COFFEE, &cancel, &[]).await.status, 303);
    assert!(
        matches!(coffee_source(&mut conn), Source::Override { override_id, .. } if override_id == first.pinned.id)
    );
}

#[tokio::test]
async fn an_override_outside_the_band_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    two_programs(&mut app.db.conn());
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;
    let refused = request_override(&admin, "0.0085", "0.0101", "太低了").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("价格必须在波动区间 0.009 – 0.011 之内"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("太低了"),
        "the form keeps what was typed"
    );
    let no_reason = request_override(&admin, "0.0099", "0.0101", " ").await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains("请填写原因"));
    let garbled = request_override(&admin, "cheap", "0.0101", "原因").await;
    assert_eq!(garbled.status, 422);
    assert!(garbled.body.contains("最多 6 位小数"));
    assert!(coffee_overrides(&mut app.db.conn()).is_empty());
}

#[tokio::test]
async fn the_program_page_charts_the_history_and_explains_the_rate() {
    let app = spawn_app().await;
    let shops = two_programs(&mut app.db.conn());
    let mut conn = app.db.conn();
    let system = Actor::system("test-scheduler");
    rates::publish(&mut conn, Trigger::Schedule, &system).unwrap();
    let alice = member_with_coffee(&mut conn, shops.coffee, "13800000001", 50_000);
    let quoted = quote(&mut conn, alice, "COFFEE", "CINEMA", 40_000).unwrap();
    exchange::execute(&mut conn, &quoted.id, Executor::Member(alice), &system).unwrap();
    let second = rates::publish(&mut conn, Trigger::Schedule, &system).unwrap();
    let coffee = program::by_code(&mut conn, "COFFEE").unwrap().unwrap();
    let current = rates::current(&mut conn, &coffee).unwrap();
    let row = current.published.clone().unwrap();
    assert!(
        row.outflow_fen > 0 && row.shift_bp < 0,
        "members leaving lower the value"
    );

    let viewer = signed_in(&app, "finance@alliance.test", OperatorRole::Finance).await;
    let page = viewer.get(COFFEE).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<svg id=\"rate-chart\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"line-sell\"") && page.body.contains("class=\"line-buy\""));
    assert!(page.body.contains(&format!("发布 #{}", second.id)));
    assert!(page.body.contains(&format!(
        "{:.2}% ({} bp)",
        f64::from(row.shift_bp) / 100.0,
        row.shift_bp
    )));
    assert!(page.body.contains(&current.model.mid.to_string()));
    assert!(page.body.contains("¥10,000.00"), "the flow floor");
    assert!(
        page.body
            .contains(&format!("¥{}.00", row.outflow_fen / 100)),
        "the outflow"
    );
    assert!(!page.body.contains("override-form"), "finance only looks");
    assert_eq!(viewer.get(&format!("{COFFEE}?days=30")).await.status, 200);
    assert_eq!(
        viewer.get("/platform/exchange/programs/NOPE").await.status,
        404
    );
}

#[tokio::test]
async fn the_flow_matrix_and_fee_revenue_show_an_executed_exchange() {
    let app = spawn_app().await;
    let shops = two_programs(&mut app.db.conn());
    let mut conn = app.db.conn();
    let alice = member_with_coffee(&mut conn, shops.coffee, "13800000001", 5_000);
    let quoted = quote(&mut conn, alice, "COFFEE", "CINEMA", 3_000).unwrap();
    let done = exchange::execute(
        &mut conn,
        &quoted.id,
        Executor::Member(alice),
        &Actor::system("test-member"),
    )
    .unwrap();
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;
    let body = admin.get(RATES).await.body;
    let matrix = &body[body.find("id=\"flow-matrix\"").unwrap()..];
    let value = format!(
        "¥{}.{:02}",
        done.exchange.value_out_fen / 100,
        done.exchange.value_out_fen % 100
    );
    assert!(matrix.contains(&value), "{matrix}");
    assert!(matrix.contains("1 笔"));
    assert!(
        matrix.contains(&format!(
            "3,000 → {},{:03} 积分",
            done.exchange.to_points / 1000,
            done.exchange.to_points % 1000
        )),
        "{matrix}"
    );
    let fee = format!("¥0.{:02}", done.exchange.house_fen);
    assert!(done.exchange.house_fen > 0 && done.exchange.house_fen < 100);
    assert!(body.contains(&format!("id=\"stat-fees\">{fee}")), "{body}");
    assert!(body[body.find("id=\"fee-revenue\"").unwrap()..].contains(&fee));

    let long_ago = admin
        .get("/platform/exchange?from=2020-01-01&to=2020-01-07")
        .await
        .body;
    assert!(long_ago.contains("该期间没有兑换"));
}

#[tokio::test]
async fn verification_approve_marks_the_member_verified_and_reject_needs_a_reason() {
    let app = spawn_app().await;
    let mut conn = app.db.conn();
    let alice = new_member(&mut conn, &app.keys, "13800000001", None);
    let bob = new_member(&mut conn, &app.keys, "13900000002", None);
    let me = Actor::system("test-member");
    verification::submit(
        &mut conn,
        &app.keys,
        &me,
        alice,
        "王小明",
        "11010519491231002X",
    )
    .unwrap();
    let bobs =
        verification::submit(&mut conn, &app.keys, &me, bob, "李四", "11010519491231002X").unwrap();

    let risk = signed_in(&app, "risk@alliance.test", OperatorRole::Risk).await;
    let queue = risk.get("/platform/verifications").await.body;
    assert!(
        queue.contains("王小明") && queue.contains("****002X"),
        "{queue}"
    );
    assert!(queue.contains("138****0001"));
    assert!(
        !queue.contains("11010519491231002X"),
        "never the whole ID number"
    );
    assert!(queue.find("13800000001").is_none());

    let path = format!("/platform/verifications/{}", bobs.id);
    let no_reason = risk
        .submit(
            "/platform/verifications",
            &path,
            &[("decision", "reject"), ("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, 303);
    assert!(
        risk.get("/platform/verifications")
            .await
            .body
            .contains("驳回时请填写原因")
    );
    assert!(
        verification::pending_of(&mut conn, bob).unwrap().is_some(),
        "still waiting"
    );
    risk.submit(
        "/platform/verifications",
        &path,
        &[("decision", "reject"), ("reason", "照片不清晰")],
    )
    .await;
    assert!(verification::pending_of(&mut conn, bob).unwrap().is_none());

    let operator_role = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let pending = verification::pending_of(&mut conn, alice).unwrap().unwrap();
    let alices = format!("/platform/verifications/{}", pending.id);
    let forbidden = operator_role
        .submit(
            "/platform/verifications",
            &alices,
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(forbidden.status, 403);
    assert!(!member::identity_verified(&mut conn, alice).unwrap());

    let approved = risk
        .submit(
            "/platform/verifications",
            &alices,
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(approved.status, 303);
    assert!(member::identity_verified(&mut conn, alice).unwrap());
    let after = risk.get("/platform/verifications").await.body;
    assert!(after.contains("没有待审核"));
    assert!(after.contains("照片不清晰") && after.contains("已通过"));
}

#[tokio::test]
async fn a_policy_update_with_an_out_of_range_value_changes_nothing() {
    let app = spawn_app().await;
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;
    let before = policy::current(&mut app.db.conn()).unwrap();
    let form = |band: &'static str, floor: &'static str| {
        vec![
            ("band_bp", band),
            ("flow_sensitivity_bp", "5000"),
            ("value_margin_bp", "300"),
            ("flow_window_hours", "72"),
            ("flow_floor", floor),
            ("quote_ttl_seconds", "90"),
            ("override_review_bp", "300"),
            ("real_name_threshold", "5000.00"),
        ]
    };
    let refused = admin
        .submit(RATES, "/platform/exchange/policy", &form("6000", "10000"))
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("波动区间须为 0 至 5000 之间的整数"),
        "{}",
        refused.body
    );
    let garbled = admin
        .submit(RATES, "/platform/exchange/policy", &form("1000", "lots"))
        .await;
    assert_eq!(garbled.status, 422);
    assert!(garbled.body.contains("流量下限须为大于 0 的金额"));
    assert_eq!(policy::current(&mut app.db.conn()).unwrap(), before);

    let saved = admin
        .submit(RATES, "/platform/exchange/policy", &form("800", "2500.50"))
        .await;
    assert_eq!(saved.status, 303);
    let after = policy::current(&mut app.db.conn()).unwrap();
    assert_eq!(
        (after.band_bp, after.flow_floor_fen, after.quote_ttl_seconds),
        (800, 250_050, 90)
    );
}

#[tokio::test]
async fn a_risk_operator_may_look_but_not_change_rates() {
    let app = spawn_app().await;
    two_programs(&mut app.db.conn());
    let risk = signed_in(&app, "risk@alliance.test", OperatorRole::Risk).await;
    let overview = risk.get(RATES).await;
    assert_eq!(overview.status, 200);
    assert!(!overview.body.contains("id=\"recompute\""));
    let page = risk.get(COFFEE).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("override-form"));
    let posted = risk
        .post(
            COFFEE_OVERRIDES,
            &[
                ("csrf_token", page.csrf().as_str()),
                ("sell", "0.0099"),
                ("buy", "0.0101"),
                ("starts_at", &local(-1)),
                ("ends_at", &local(24)),
                ("reason", "不该生效"),
            ],
        )
        .await;
    assert_eq!(posted.status, 403);
    let limit = risk
        .post(
            "/platform/exchange/programs/COFFEE/limit",
            &[("csrf_token", page.csrf().as_str()), ("limit", "10")],
        )
        .await;
    assert_eq!(limit.status, 403);
    let recompute = risk
        .post(
            "/platform/exchange/recompute",
            &[("csrf_token", page.csrf().as_str())],
        )
        .await;
    assert_eq!(recompute.status, 403);
    let mut conn = app.db.conn();
    assert!(coffee_overrides(&mut conn).is_empty());
    assert!(rates::recent_publications(&mut conn, 1).unwrap().is_empty());

    let operator_role = signed_in(&app, "ops@alliance.test", OperatorRole::Operator).await;
    let set = operator_role
        .submit(
            COFFEE,
            "/platform/exchange/programs/COFFEE/limit",
            &[("limit", "2500")],
        )
        .await;
    assert_eq!(set.status, 303);
    let bad = operator_role
        .submit(
            COFFEE,
            "/platform/exchange/programs/COFFEE/limit",
            &[("limit", "0")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("每人每日转出上限须为"));
    let coffee = program::by_code(&mut conn, "COFFEE").unwrap().unwrap();
    assert_eq!(coffee.member_daily_exchange_limit, 2_500);
}

#[tokio::test]
async fn an_override_across_the_settlement_value_is_refused_in_the_operators_language() {
    let app = spawn_app().await;
    two_programs(&mut app.db.conn());
    let admin = signed_in(&app, "admin@alliance.test", OperatorRole::Admin).await;
    // COFFEE is worth ¥0.01: selling at ¥0.0102 would pay members more than that.
    let refused = request_override(&admin, "0.0102", "0.0104", "抢客流").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("卖出价不得高于、买入价不得低于结算价值 0.01"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("抢客流"),
        "the form keeps what was typed"
    );
    assert!(coffee_overrides(&mut app.db.conn()).is_empty());
    assert!(matches!(
        coffee_source(&mut app.db.conn()),
        Source::Unpublished
    ));
}
