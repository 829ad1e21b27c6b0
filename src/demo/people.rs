//! The demo's people: the eight merchants as rows, 24 members, two admins and a
//! finance operator, and BREW's owner and cashier, all signing in with
//! [`DEMO_PASSWORD`]. People are found before they are created — merchants by
//! code, members by mobile number, operators and staff by email — so a second
//! run creates no one. Members are numbered from 1 in [`MEMBER_NAMES`] order;
//! member n's mobile number is [`member_phone`]`(n)`.

use anyhow::Context;
use diesel::{PgConnection, dsl::exists, prelude::*};

use super::merchants::MERCHANTS;
use crate::{
    crypto::Keys,
    db::schema::{merchant_users, operators},
    domain::{
        actor::Actor,
        email_address::EmailAddress,
        id::{MemberId, MerchantId},
        password::NewPassword,
        phone::Phone,
        portal::Portal,
    },
    i18n::Locale,
    merchant,
    people::{
        member::{self, PRIVACY_POLICY_VERSION, SignUp},
        merchant_user::{self, MerchantRole, NewMerchantUser},
        operator::{self, NewOperator, OperatorRole},
    },
};

/// The password of every demo sign-in account. DEMO ONLY: it is published here and
/// in the README, so anyone can sign in to a database seeded with it — never run
/// `seed-demo` against one that real people or real money use.
pub const DEMO_PASSWORD: &str = "Alliance2026!demo";

/// A demo sign-in account of the platform portal.
struct DemoOperator {
    email: &'static str,
    name: &'static str,
    role: OperatorRole,
}

/// Two admins (granting the admin role needs a second admin to approve) and a
/// finance operator.
const OPERATORS: [DemoOperator; 3] = [
    DemoOperator {
        email: "admin@alliance.example.cn",
        name: "张立",
        role: OperatorRole::Admin,
    },
    DemoOperator {
        email: "admin2@alliance.example.cn",
        name: "周敏",
        role: OperatorRole::Admin,
    },
    DemoOperator {
        email: "finance@alliance.example.cn",
        name: "钱佳",
        role: OperatorRole::Finance,
    },
];

/// A demo sign-in account of the merchant portal.
struct DemoStaff {
    /// Its index in `MERCHANTS`.
    merchant: usize,
    email: &'static str,
    name: &'static str,
    role: MerchantRole,
}

/// The owner manages the staff; the cashier sees what a till sees.
const STAFF: [DemoStaff; 2] = [
    DemoStaff {
        merchant: 0,
        email: "owner@brew.example.cn",
        name: "陈志远",
        role: MerchantRole::Owner,
    },
    DemoStaff {
        merchant: 0,
        email: "cashier@brew.example.cn",
        name: "刘小雨",
        role: MerchantRole::Cashier,
    },
];

/// The members by number from 1; member n's mobile number is `member_phone(n)`.
/// Each has a wallet in every demo program and in ALP, and `DEMO_PASSWORD`.
pub const MEMBER_NAMES: [&str; 24] = [
    "王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周明", "吴敏", "徐强", "孙悦",
    "马超", "朱婷", "胡军", "郭燕", "何勇", "高翔", "林晓", "罗佳", "郑凯", "梁雪", "谢鹏", "宋雨",
];

/// 13800000001, 13800000002, ...
pub fn member_phone(number: usize) -> String {
    format!("138{number:08}")
}

/// The demo's people as rows: their ids own the demo's accounts.
pub struct People {
    /// In `MERCHANTS` order, so indexed by `BREW`, `MART`, ...
    pub merchant_ids: Vec<MerchantId>,
    /// In `MEMBER_NAMES` order.
    pub member_ids: Vec<MemberId>,
    /// Sign-in accounts (members, operators, staff) this run created, and found.
    created: usize,
    present: usize,
}

impl People {
    pub fn ensure(conn: &mut PgConnection, keys: &Keys) -> anyhow::Result<People> {
        let merchant_ids = MERCHANTS
            .iter()
            .map(|demo| Ok(merchant::ensure(conn, &demo.row)?.id))
            .collect::<anyhow::Result<_>>()?;
        let mut people = People {
            merchant_ids,
            member_ids: Vec::with_capacity(MEMBER_NAMES.len()),
            created: 0,
            present: 0,
        };
        for number in 1..=MEMBER_NAMES.len() {
            let (id, created) = ensure_member(conn, keys, number)?;
            people.member_ids.push(id);
            people.count(created);
        }
        let actor = Actor::system("seed-demo");
        for demo in &OPERATORS {
            let created = ensure_operator(conn, &actor, demo)?;
            people.count(created);
        }
        for demo in &STAFF {
            let merchant_id = people.merchant_ids[demo.merchant];
            let created = ensure_staff(conn, &actor, merchant_id, demo)?;
            people.count(created);
        }
        Ok(people)
    }

    fn count(&mut self, created: bool) {
        if created {
            self.created += 1;
        } else {
            self.present += 1;
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} sign-in accounts: {} created now, {} already present",
            self.created + self.present,
            self.created,
            self.present
        )
    }
}

/// Finds member `number` by mobile number, or signs them up (consenting to the
/// current privacy policy). Returns their id and whether they are new.
fn ensure_member(
    conn: &mut PgConnection,
    keys: &Keys,
    number: usize,
) -> anyhow::Result<(MemberId, bool)> {
    let phone = Phone::parse(&member_phone(number)).context("a demo mobile number")?;
    if let Some(found) = member::find_by_phone(conn, keys, &phone)? {
        return Ok((found.id, false));
    }
    let new = SignUp {
        phone,
        password: demo_password()?,
        display_name: MEMBER_NAMES[number - 1].to_owned(),
        email: None,
        locale: Locale::ZhCn,
        consent_version: PRIVACY_POLICY_VERSION.to_owned(),
    };
    Ok((member::sign_up(conn, keys, &new, None)?.id, true))
}

/// Creates the operator unless their email is taken; true if created. Checked
/// first, because creating hashes the password, which is slow on purpose.
fn ensure_operator(
    conn: &mut PgConnection,
    actor: &Actor,
    demo: &DemoOperator,
) -> anyhow::Result<bool> {
    let email = EmailAddress::parse(demo.email)?;
    let taken = operators::table.filter(operators::email.eq(email.as_str()));
    if diesel::select(exists(taken)).get_result(conn)? {
        return Ok(false);
    }
    let new = NewOperator {
        email,
        display_name: demo.name.to_owned(),
        role: demo.role,
        password: Some(demo_password()?),
    };
    operator::create(conn, actor, &new)?;
    Ok(true)
}

/// As `ensure_operator`, for a merchant's staff.
fn ensure_staff(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    demo: &DemoStaff,
) -> anyhow::Result<bool> {
    let email = EmailAddress::parse(demo.email)?;
    let taken = merchant_users::table.filter(merchant_users::email.eq(email.as_str()));
    if diesel::select(exists(taken)).get_result(conn)? {
        return Ok(false);
    }
    let new = NewMerchantUser {
        email,
        display_name: demo.name.to_owned(),
        role: demo.role,
        password: Some(demo_password()?),
    };
    merchant_user::create(conn, actor, merchant_id, &new)?;
    Ok(true)
}

fn demo_password() -> anyhow::Result<NewPassword> {
    NewPassword::parse(DEMO_PASSWORD).context("the demo password breaks the password rules")
}

/// Where to try each portal, and as whom.
pub fn sign_ins() -> String {
    let operators: Vec<String> = OPERATORS
        .iter()
        .map(|o| format!("{} ({})", o.email, o.role.as_str()))
        .collect();
    let staff: Vec<String> = STAFF
        .iter()
        .map(|s| {
            let merchant = MERCHANTS[s.merchant].row.name_zh;
            format!("{} ({}, {merchant})", s.email, s.role.as_str())
        })
        .collect();
    let member = format!(
        "{} ({}; members {}–{} too)",
        member_phone(1),
        MEMBER_NAMES[0],
        member_phone(2),
        member_phone(MEMBER_NAMES.len())
    );
    let lines = [
        (Portal::Platform, operators.join(", ")),
        (Portal::Merchant, staff.join(", ")),
        (Portal::Consumer, member),
    ]
    .map(|(portal, accounts)| format!("  /{}/sign-in  {accounts}", portal.slug()));
    format!(
        "demo sign-ins, all with the password {DEMO_PASSWORD} (demo only: it is public):\n{}\n\
         admins and finance set up an authenticator app (TOTP) at their first sign-in",
        lines.join("\n")
    )
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_people_have_valid_distinct_sign_ins() {
        assert!(demo_password().is_ok());
        let phones: std::collections::BTreeSet<String> = (1..=MEMBER_NAMES.len())
            .map(|number| {
                Phone::parse(&member_phone(number))
                    .unwrap()
                    .as_str()
                    .to_owned()
            })
            .collect();
        assert_eq!(phones.len(), MEMBER_NAMES.len());
        assert_eq!(member_phone(1), "13800000001");
        let emails = OPERATORS
            .iter()
            .map(|o| o.email)
            .chain(STAFF.iter().map(|s| s.email));
        for email in emails {
            assert_eq!(EmailAddress::parse(email).unwrap().as_str(), email);
        }
    }
}
