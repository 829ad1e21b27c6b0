//! People for portal tests, created through the real services.

use alliance::{
    chart,
    crypto::Keys,
    domain::{
        actor::Actor,
        email_address::EmailAddress,
        id::{MemberId, MerchantId},
        password::NewPassword,
        phone::Phone,
        points::ProgramCode,
        portal::Portal,
        rate::Rate,
    },
    i18n::Locale,
    merchant::{self, NewMerchant},
    people::{
        credentials::{self, Deps, Identifier, SignInError},
        hashing::PasswordHasher,
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
        merchant_user::{self, MerchantRole, NewMerchantUser},
        operator::{self, NewOperator, OperatorRole},
    },
    program::{self, NewProgram},
};
use diesel::PgConnection;
use rust_decimal::Decimal;

use crate::harness::TestDb;

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

/// A standard-tier merchant without a program.
pub fn merchant(conn: &mut PgConnection, code: &str) -> MerchantId {
    merchant_of_tier(conn, code, "standard")
}

/// A merchant of `tier` ("strategic" or "standard") without a program.
pub fn merchant_of_tier(conn: &mut PgConnection, code: &str, tier: &str) -> MerchantId {
    let name = format!("{code} 商户");
    merchant::ensure(
        conn,
        &NewMerchant {
            code,
            name_zh: &name,
            name_en: code,
            category: "coffee",
            tier,
        },
    )
    .unwrap()
    .id
}

/// A merchant of `tier` with its program as onboarding leaves it: the code is
/// the merchant's, 1 point per CNY, 12 months, limits 100–100,000.
pub fn shop(conn: &mut PgConnection, code: &str, tier: &str, settlement_value: &str) -> MerchantId {
    chart::ensure_house_accounts(conn).unwrap();
    let id = merchant_of_tier(conn, code, tier);
    program::create(
        conn,
        &Actor::system("test"),
        &NewProgram {
            merchant_id: id,
            code: &ProgramCode::parse(code).unwrap(),
            name_zh: &format!("{code} 积分"),
            name_en: &format!("{code} points"),
            settlement_value: Rate::parse(settlement_value).unwrap(),
            earn_points_per_cny: Decimal::ONE,
            expiry_months: 12,
            exchange_in: true,
            exchange_out: true,
            min_exchange_points: 100,
            max_exchange_points: 100_000,
        },
    )
    .unwrap();
    id
}

pub fn merchant_user(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
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

pub fn member(conn: &mut PgConnection, keys: &Keys, phone: &str, email: Option<&str>) -> MemberId {
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

/// A standard merchant with its program and the tier's minimum deposit paid in
/// and confirmed, so it may issue points.
pub fn funded_shop(conn: &mut PgConnection, code: &str, settlement_value: &str) -> MerchantId {
    let id = shop(conn, code, "standard", settlement_value);
    let notice = alliance::deposit::submit_topup(
        conn,
        &Actor::system("test"),
        id,
        &alliance::deposit::NewTopup {
            amount: alliance::domain::money::Money::parse("50000.00").unwrap(),
            bank_reference: format!("CMB-{code}-OPENING"),
        },
    )
    .unwrap();
    alliance::deposit::confirm_topup(conn, &Actor::system("test"), notice.id).unwrap();
    id
}

/// Checks a password the way the sign-in form does, outside a server; returns
/// the account's id.
pub fn check_sign_in(
    db: &TestDb,
    keys: &Keys,
    portal: Portal,
    identifier: &str,
    password: &str,
) -> Result<i64, SignInError> {
    let (_pool, gate) =
        alliance::db::serving_pool(db.url(), 1, alliance::db::Limits::default()).unwrap();
    let deps = Deps {
        gate: &gate,
        hasher: &PasswordHasher::new(1),
        keys,
    };
    let identifier = Identifier::parse(portal, identifier).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(credentials::sign_in(
            deps,
            portal,
            &identifier,
            password,
            "127.0.0.1",
        ))
}
