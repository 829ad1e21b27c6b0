//! The people who use Alliance and how they prove who they are: operators,
//! merchant users and members; signing in, throttling, password resets.

pub mod code_sms;
pub mod credentials;
pub mod hashing;
pub mod member;
pub mod merchant_user;
pub mod operator;
pub mod password_reset;
pub mod phone_code;
pub mod second_factor;
pub mod throttle;
pub mod verification;

use diesel::{
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
};

use crate::{
    crypto,
    db::schema::{members, merchant_users, operators},
    domain::{password::NewPassword, portal::Portal},
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
};

/// Stored for invited users until they choose a password: no password verifies
/// against it, because it is not a hash.
const UNUSABLE_PASSWORD: &str = "!invited";
const MAX_DISPLAY_NAME_CHARS: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("this email address is already in use")]
    EmailTaken,
    #[error("this mobile number is already registered")]
    PhoneTaken,
    #[error("not found")]
    NotFound,
    #[error("the alliance must keep at least one active admin")]
    LastAdmin,
    #[error("you cannot change your own account this way")]
    OwnAccount,
    #[error("this role cannot be given or taken this way")]
    RoleNotAssignable,
    #[error("this change needs approval")]
    NeedsApproval,
    #[error("a name is needed (at most 60 characters)")]
    InvalidName,
    #[error(transparent)]
    Database(#[from] DieselError),
}

impl Classify for PeopleError {
    /// A taken address or number, the last admin, a change of one's own
    /// account: refusals the person reads beside the form.
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::EmailTaken => (Conflict, "people.error.email_taken"),
            Self::PhoneTaken => (Conflict, "people.error.phone_taken"),
            Self::NotFound => (NotFound, "people.error.not_found"),
            Self::LastAdmin => (Conflict, "people.error.last_admin"),
            Self::OwnAccount => (Forbidden, "people.error.own_account"),
            Self::RoleNotAssignable => (Forbidden, "people.error.role_not_assignable"),
            Self::NeedsApproval => (Forbidden, "people.error.needs_approval"),
            Self::InvalidName => (Unprocessable, "people.error.invalid_name"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "people_refused", Message::new(key)))
    }
}

/// What a new operator or staff account stores as its password: the hash of
/// the one it was given, or, for an invitation, a value no password verifies
/// against.
fn initial_password_hash(password: Option<&NewPassword>) -> String {
    password.map_or_else(
        || UNUSABLE_PASSWORD.to_owned(),
        |p| crypto::hash_password(p.expose()),
    )
}

/// Inserting an operator or staff account: an address already in use is
/// refused, anything else is the database's failure.
fn email_taken_or_database(e: DieselError) -> PeopleError {
    if is_unique_violation(&e) {
        PeopleError::EmailTaken
    } else {
        e.into()
    }
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A person's name as they are called: trimmed, 1 to 40 characters.
pub fn display_name(input: &str) -> Result<&str, PeopleError> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        Err(PeopleError::InvalidName)
    } else {
        Ok(name)
    }
}

/// The language a person chose, used for their pages and emails.
pub fn locale(conn: &mut PgConnection, portal: Portal, id: i64) -> QueryResult<Option<Locale>> {
    let tag: Option<String> = match portal {
        Portal::Platform => operators::table
            .find(id)
            .select(operators::locale)
            .first(conn)
            .optional()?,
        Portal::Merchant => merchant_users::table
            .find(id)
            .select(merchant_users::locale)
            .first(conn)
            .optional()?,
        Portal::Consumer => members::table
            .find(id)
            .select(members::locale)
            .first(conn)
            .optional()?,
    };
    Ok(tag.and_then(|t| t.parse().ok()))
}

#[tracing::instrument(skip_all, fields(id = id))]
pub fn set_locale(
    conn: &mut PgConnection,
    portal: Portal,
    id: i64,
    locale: Locale,
) -> QueryResult<()> {
    match portal {
        Portal::Platform => diesel::update(operators::table.find(id))
            .set(operators::locale.eq(locale.tag()))
            .execute(conn)?,
        Portal::Merchant => diesel::update(merchant_users::table.find(id))
            .set(merchant_users::locale.eq(locale.tag()))
            .execute(conn)?,
        Portal::Consumer => diesel::update(members::table.find(id))
            .set(members::locale.eq(locale.tag()))
            .execute(conn)?,
    };
    Ok(())
}
