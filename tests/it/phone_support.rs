//! Members' mobile numbers proven by SMS code, through the real pages: the
//! code is read back from the server's in-memory SMS outbox.

use diesel::{RunQueryDsl, sql_query};

use crate::harness::{Browser, Page, TestApp};

use alliance::domain::id::MemberId;

/// Asks for a sign-up code for `phone` and returns it.
pub async fn sign_up_code(app: &TestApp, browser: &Browser, phone: &str) -> String {
    let sent = browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up/code",
            &[("phone", phone)],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    last_code(app, phone)
}

/// The code in the latest text to `phone`.
pub fn last_code(app: &TestApp, phone: &str) -> String {
    let sms = app.sms.last_to(phone).expect("a text to the number");
    sms.code()
        .unwrap_or_else(|| panic!("no code in the text: {}", sms.text))
}

/// Step two of sign-up with `code`, a name, a password and consent.
pub async fn finish_sign_up(browser: &Browser, phone: &str, code: &str, password: &str) -> Page {
    browser
        .submit(
            "/consumer/sign-up",
            "/consumer/sign-up",
            &[
                ("phone", phone),
                ("code", code),
                ("display_name", "李雷"),
                ("email", ""),
                ("password", password),
                ("password_confirm", password),
                ("consent", "yes"),
            ],
        )
        .await
}

/// Moves every code sent so far 61 seconds into the past: past the resend
/// cooldown, not out of the hour the sending limits count.
pub fn past_cooldown(app: &TestApp) {
    sql_query(
        "UPDATE phone_codes SET created_at = created_at - interval '61 seconds', \
         expires_at = expires_at - interval '61 seconds'",
    )
    .execute(&mut app.db.conn())
    .unwrap();
}

/// Makes the member one who signed up before codes existed: never proven.
pub fn forget_verification(app: &TestApp, member_id: MemberId) {
    sql_query("UPDATE members SET phone_verified_at = NULL WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(member_id)
        .execute(&mut app.db.conn())
        .unwrap();
}
