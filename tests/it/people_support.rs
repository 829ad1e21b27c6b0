//! People for portal tests, created through the real services.

use alliance::{
    crypto::Keys,
    domain::{actor::Actor, email_address::EmailAddress, password::NewPassword, phone::Phone},
    i18n::Locale,
    merchant::{self, NewMerchant},
    people::{
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
        merchant_user::{self, MerchantRole, NewMerchantUser},
        operator::{self, NewOperator, OperatorRole},
    },
};
use diesel::PgConnection;

pub const PASSWORD: &str = "correct-horse-42";

pub fn operator(conn: &mut PgConnection, email: &str, role: OperatorRole) -> i64 {
    let new = NewOperator {
        email: EmailAddress::parse(email).unwrap(),
        display_name: email.split('@').next().unwrap().to_owned(),
        role,
        password: Some(NewPassword::parse(PASSWORD).unwrap()),
    };
    operator::create(conn, &Actor::system("test"), &new)
        .unwrap()
        .id
}

pub fn merchant(conn: &mut PgConnection, code: &str) -> i64 {
    let name = format!("{code} 商户");
    merchant::ensure(
        conn,
        &NewMerchant {
            code,
            name_zh: &name,
            name_en: code,
            category: "coffee",
            tier: "standard",
        },
    )
    .unwrap()
    .id
}

pub fn merchant_user(
    conn: &mut PgConnection,
    merchant_id: i64,
    email: &str,
    role: MerchantRole,
) -> i64 {
    let new = NewMerchantUser {
        email: EmailAddress::parse(email).unwrap(),
        display_name: email.split('@').next().unwrap().to_owned(),
        role,
        password: Some(NewPassword::parse(PASSWORD).unwrap()),
    };
    merchant_user::create(conn, &Actor::system("test"), merchant_id, &new)
        .unwrap()
        .id
}

pub fn member(conn: &mut PgConnection, keys: &Keys, phone: &str, email: Option<&str>) -> i64 {
    let new = SignUp {
        phone: Phone::parse(phone).unwrap(),
        password: NewPassword::parse(PASSWORD).unwrap(),
        display_name: "王小明".to_owned(),
        email: email.map(|e| EmailAddress::parse(e).unwrap()),
        locale: Locale::ZhCn,
        consent_version: PRIVACY_POLICY_VERSION.to_owned(),
    };
    member::sign_up(conn, keys, &new, None).unwrap().id
}
