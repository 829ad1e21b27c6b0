//! Mobile numbers proven by SMS code (issue #17), through the real server: the
//! pre-hijack an unproven sign-up allowed, the code's limits, sign-in, reset
//! and claim by code, the spending gate for unproven members, and what
//! `POST /api/v1/members` tells a partner.

use alliance::db::schema::{members, phone_codes};
use alliance::domain::id::MemberId;
use diesel::prelude::*;
use serde_json::json;

use crate::{
    api_support::{ApiClient, partner},
    exchange_support::{earn_points, two_programs},
    harness::{Browser, TestApp, spawn_app},
    people_support::{PASSWORD, member},
    phone_support::{finish_sign_up, forget_verification, last_code, past_cooldown, sign_up_code},
};

const OWNER: &str = "13700000001";

fn member_count(app: &TestApp) -> i64 {
    members::table
        .count()
        .get_result(&mut app.db.conn())
        .unwrap()
}

fn wrong(code: &str, offset: u32) -> String {
    let real: u32 = code.parse().unwrap();
    format!("{:06}", (real + 1 + offset) % 1_000_000)
}

#[tokio::test]
async fn a_stranger_cannot_join_with_the_owners_number_and_enrolled_points_reach_only_the_owner() {
    let app = spawn_app().await;
    let attacker = app.browser();
    // The code goes to the number's owner, not to whoever typed it.
    let sent = attacker
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", OWNER)],
        )
        .await;
    assert_eq!(sent.status, 200);
    let code = last_code(&app, OWNER);
    let refused = finish_sign_up(&attacker, OWNER, &wrong(&code, 0), "attacker-pass-1").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("验证码错误或已失效"),
        "{}",
        refused.body
    );
    assert_eq!(member_count(&app), 0, "no account without the code");

    // The owner's coffee shop enrols the number and credits points to it.
    let coffee = partner(&app, "COFFEE");
    let enrolled = ApiClient::new(&app, &coffee)
        .post("/api/v1/members", "enrol-1", &json!({"phone": OWNER}))
        .await;
    assert_eq!(enrolled.status, 201, "{enrolled:?}");
    let member_id = MemberId(enrolled.json()["member_id"].as_i64().unwrap());
    earn_points(&mut app.db.conn(), coffee.merchant_id, member_id, 800);

    // The attacker cannot claim it either.
    past_cooldown(&app);
    attacker
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", OWNER)],
        )
        .await;
    let claim_code = last_code(&app, OWNER);
    let refused = finish_sign_up(&attacker, OWNER, &wrong(&claim_code, 3), "attacker-pass-1").await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        attacker.get("/consumer").await.status,
        303,
        "the attacker has no session"
    );

    // The owner, holding the phone, claims the account with its points.
    let owner = app.browser();
    let joined = finish_sign_up(&owner, OWNER, &claim_code, "owner-pass-123").await;
    assert_eq!(
        (joined.status, joined.location.as_deref()),
        (303, Some("/consumer")),
        "{}",
        joined.body
    );
    assert_eq!(
        member_count(&app),
        1,
        "the claim completed the enrolled member"
    );
    let home = owner.get("/consumer").await;
    assert!(
        home.body.contains("800") && !home.body.contains("id=\"verify-banner\""),
        "{}",
        home.body
    );
    let verified: Option<chrono::DateTime<chrono::Utc>> = members::table
        .find(member_id)
        .select(members::phone_verified_at)
        .first(&mut app.db.conn())
        .unwrap();
    assert!(verified.is_some());
}

#[tokio::test]
async fn a_code_expires_after_five_minutes() {
    let app = spawn_app().await;
    let browser = app.browser();
    let code = sign_up_code(&app, &browser, OWNER).await;
    diesel::update(phone_codes::table)
        .set((
            phone_codes::created_at.eq(chrono::Utc::now() - chrono::Duration::seconds(301)),
            phone_codes::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)),
        ))
        .execute(&mut app.db.conn())
        .unwrap();
    let refused = finish_sign_up(&browser, OWNER, &code, "member-pass-1").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("验证码错误或已失效"),
        "{}",
        refused.body
    );
    assert_eq!(member_count(&app), 0);
}

#[tokio::test]
async fn twenty_parallel_wrong_codes_get_at_most_five_checks_and_then_the_code_is_spent() {
    let app = spawn_app().await;
    let browser = app.browser();
    let code = sign_up_code(&app, &browser, OWNER).await;
    let token = browser.get("/consumer/sign-up").await.csrf();
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = browser.client.clone();
        let (url, token, guess) = (app.url("/consumer/sign-up"), token.clone(), wrong(&code, i));
        guesses.spawn(async move {
            client
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("phone", OWNER),
                    ("code", guess.as_str()),
                    ("display_name", "猜测"),
                    ("email", ""),
                    ("password", "guess-pass-123"),
                    ("password_confirm", "guess-pass-123"),
                    ("consent", "yes"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(status) = guesses.join_next().await {
        assert_eq!(status.unwrap(), 422);
    }
    let attempts: i32 = phone_codes::table
        .select(phone_codes::attempts)
        .first(&mut app.db.conn())
        .unwrap();
    assert_eq!(attempts, 5, "no more than five guesses were compared");
    // Even the right code is refused now: only a new one helps.
    let refused = finish_sign_up(&browser, OWNER, &code, "member-pass-1").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("验证码错误次数过多"),
        "{}",
        refused.body
    );
    assert_eq!(member_count(&app), 0);
}

#[tokio::test]
async fn a_number_waits_a_minute_between_codes_and_gets_five_an_hour() {
    let app = spawn_app().await;
    let browser = app.browser();
    sign_up_code(&app, &browser, OWNER).await;
    let again = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", OWNER)],
        )
        .await;
    assert_eq!(again.status, 429);
    assert!(again.body.contains("秒后再获取验证码"), "{}", again.body);
    for _ in 1..5 {
        past_cooldown(&app);
        sign_up_code(&app, &browser, OWNER).await;
    }
    past_cooldown(&app);
    let sixth = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", OWNER)],
        )
        .await;
    assert_eq!(sixth.status, 429);
    assert!(sixth.body.contains("一小时后再试"), "{}", sixth.body);
    let texts = app.sms.sent().into_iter().filter(|s| s.to == OWNER).count();
    assert_eq!(texts, 5);
}

#[tokio::test]
async fn one_address_gets_twenty_codes_an_hour_across_numbers() {
    let app = spawn_app().await;
    let browser = app.browser();
    for i in 0..20 {
        sign_up_code(&app, &browser, &format!("1370000{i:04}")).await;
    }
    let refused = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", "13700009999")],
        )
        .await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("当前网络获取验证码次数过多"),
        "{}",
        refused.body
    );
    assert!(app.sms.last_to("13700009999").is_none());
}

/// Asks for a code on a signed-out code page and posts it back.
async fn by_code(
    app: &TestApp,
    browser: &Browser,
    start: &str,
    send_path: &str,
    finish: &str,
    extra: &[(&str, &str)],
) -> crate::harness::Page {
    let sent = browser.submit(start, send_path, &[("phone", OWNER)]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let code = last_code(app, OWNER);
    let mut form = vec![("phone", OWNER), ("code", code.as_str())];
    form.extend_from_slice(extra);
    browser.submit(start, finish, &form).await
}

#[tokio::test]
async fn a_member_signs_in_by_code_and_an_unknown_number_hears_it_has_no_account() {
    let app = spawn_app().await;
    let browser = app.browser();
    // Without an account: the same page, and a text that says so.
    let sent = browser
        .submit(
            "/consumer/sign-in/code",
            "/consumer/sign-in/code/send",
            &[("phone", OWNER)],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("id=\"code-sent\""));
    let text = app.sms.last_to(OWNER).unwrap();
    assert!(
        text.code().is_none() && text.text.contains("尚未注册"),
        "{text:?}"
    );

    member(&mut app.db.conn(), &app.keys, OWNER, None);
    past_cooldown(&app);
    let signed = by_code(
        &app,
        &browser,
        "/consumer/sign-in/code",
        "/consumer/sign-in/code/send",
        "/consumer/sign-in/code",
        &[],
    )
    .await;
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/consumer")),
        "{}",
        signed.body
    );
    assert_eq!(browser.get("/consumer").await.status, 200);
}

#[tokio::test]
async fn signing_in_by_code_on_a_never_proven_account_ends_whoever_chose_its_password() {
    let app = spawn_app().await;
    let id = member(&mut app.db.conn(), &app.keys, OWNER, None);
    forget_verification(&app, id);
    // Someone who opened the account with the owner's number, before codes.
    let squatter = app.browser();
    assert_eq!(
        squatter.sign_in("consumer", OWNER, PASSWORD).await.status,
        303
    );

    let owner = app.browser();
    let signed = by_code(
        &app,
        &owner,
        "/consumer/sign-in/code",
        "/consumer/sign-in/code/send",
        "/consumer/sign-in/code",
        &[],
    )
    .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(owner.get("/consumer").await.status, 200);
    assert_eq!(
        squatter.get("/consumer").await.status,
        303,
        "the other session ended"
    );
    assert_eq!(
        app.browser()
            .sign_in("consumer", OWNER, PASSWORD)
            .await
            .status,
        401,
        "the old password no longer works"
    );
}

#[tokio::test]
async fn a_member_resets_the_password_by_code() {
    let app = spawn_app().await;
    member(&mut app.db.conn(), &app.keys, OWNER, None);
    let browser = app.browser();
    let page = browser.get("/consumer/password-reset").await;
    assert!(
        page.body.contains("name=\"phone\""),
        "the member app resets by SMS: {}",
        page.body
    );
    let mismatched = by_code(
        &app,
        &browser,
        "/consumer/password-reset",
        "/consumer/password-reset",
        "/consumer/password-reset/sms",
        &[
            ("password", "new-pass-4567"),
            ("password_confirm", "other-pass-4567"),
        ],
    )
    .await;
    assert_eq!(mismatched.status, 422);
    past_cooldown(&app);
    let reset = by_code(
        &app,
        &browser,
        "/consumer/password-reset",
        "/consumer/password-reset",
        "/consumer/password-reset/sms",
        &[
            ("password", "new-pass-4567"),
            ("password_confirm", "new-pass-4567"),
        ],
    )
    .await;
    assert_eq!(
        (reset.status, reset.location.as_deref()),
        (303, Some("/consumer/sign-in")),
        "{}",
        reset.body
    );
    assert_eq!(
        app.browser()
            .sign_in("consumer", OWNER, PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        app.browser()
            .sign_in("consumer", OWNER, "new-pass-4567")
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn an_unproven_member_may_not_spend_until_they_verify_the_number() {
    let app = spawn_app().await;
    let id = {
        let conn = &mut app.db.conn();
        let shops = two_programs(conn);
        let id = member(conn, &app.keys, OWNER, None);
        earn_points(conn, shops.coffee, id, 4_000);
        id
    };
    forget_verification(&app, id);
    let browser = app.browser();
    assert_eq!(
        browser.sign_in("consumer", OWNER, PASSWORD).await.status,
        303
    );
    let home = browser.get("/consumer").await.body;
    assert!(
        home.contains("id=\"verify-banner\"") && home.contains("href=\"/consumer/phone/verify\""),
        "{home}"
    );
    let exchange = [("from", "COFFEE"), ("to", "CINEMA"), ("points", "1000")];
    let refused = browser
        .submit("/consumer/exchange", "/consumer/exchange/quote", &exchange)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("请先验证手机号") && refused.body.contains("/consumer/phone/verify"),
        "{}",
        refused.body
    );
    let reward = browser
        .submit("/consumer/rewards", "/consumer/rewards/1/redeem", &[])
        .await;
    assert_eq!(reward.status, 403);
    let confirm = browser
        .submit(
            "/consumer/exchange",
            "/consumer/exchange/confirm",
            &[("quote_id", "x")],
        )
        .await;
    assert_eq!(confirm.status, 403);

    // Verifying by code opens spending.
    let sent = browser
        .submit("/consumer/phone/verify", "/consumer/phone/verify/send", &[])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let code = last_code(&app, OWNER);
    let wrong_code = browser
        .submit(
            "/consumer/phone/verify",
            "/consumer/phone/verify",
            &[("code", &wrong(&code, 0))],
        )
        .await;
    assert_eq!(wrong_code.status, 422);
    let verified = browser
        .submit(
            "/consumer/phone/verify",
            "/consumer/phone/verify",
            &[("code", &code)],
        )
        .await;
    assert_eq!(
        (verified.status, verified.location.as_deref()),
        (303, Some("/consumer"))
    );
    let home = browser.get("/consumer").await.body;
    assert!(
        !home.contains("id=\"verify-banner\"") && home.contains("手机号已验证"),
        "{home}"
    );
    let quoted = browser
        .submit("/consumer/exchange", "/consumer/exchange/quote", &exchange)
        .await;
    assert_eq!(quoted.status, 303, "{}", quoted.body);
    assert_eq!(
        app.browser()
            .sign_in("consumer", OWNER, PASSWORD)
            .await
            .status,
        303,
        "verifying keeps the password"
    );
}

#[tokio::test]
async fn a_partner_hears_201_for_its_first_enrolment_of_a_number_whoever_knew_it_before() {
    let app = spawn_app().await;
    let coffee = ApiClient::new(&app, &partner(&app, "COFFEE"));
    let cinema = ApiClient::new(&app, &partner(&app, "CINEMA"));
    let body = json!({"phone": OWNER});
    assert_eq!(
        coffee.post("/api/v1/members", "c-1", &body).await.status,
        201
    );
    assert_eq!(
        coffee.post("/api/v1/members", "c-2", &body).await.status,
        200
    );
    // Another merchant learns nothing of COFFEE's member.
    let first = cinema.post("/api/v1/members", "k-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(
        cinema.post("/api/v1/members", "k-2", &body).await.status,
        200
    );
    assert_eq!(member_count(&app), 1);
}
