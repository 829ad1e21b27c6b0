//! One-time links that set a password: "forgot my password", and the invitation
//! that lets a new operator or merchant user choose their first one. Only the
//! token's hash is stored; a link works once and expires.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::{
    crypto::{self, Keys},
    db::schema::{members, merchant_users, operators, password_resets},
    domain::{email_address::EmailAddress, password::NewPassword, portal::Portal},
    email::quota,
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
};

use super::credentials::{self, Identifier};

/// How long a "forgot my password" link works.
pub const RESET_VALIDITY: Duration = Duration::minutes(30);
/// How long an invitation works: long enough to be read after a weekend.
pub const INVITATION_VALIDITY: Duration = Duration::hours(72);

/// What the caller emails: the secret token goes only into the link.
#[derive(Debug)]
pub struct Ticket {
    pub token: String,
    pub email: EmailAddress,
    pub display_name: String,
    pub locale: Locale,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("this link is not valid, has expired or was already used")]
    InvalidLink,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for ResetError {
    fn class(&self) -> Class {
        match self {
            Self::InvalidLink => Class::Refusal(Refusal::new(
                Kind::Conflict,
                "reset_link_invalid",
                Message::new("auth.error.link_invalid"),
            )),
            Self::Database(_) => Class::System,
        }
    }
}

/// Issues a link for the account the identifier names, if it exists, has an
/// email address and that address (and `ip`) is within its mail quota. The
/// caller tells the person the same either way, so the page does not reveal
/// who has an account.
#[tracing::instrument(skip_all)]
pub fn request(
    conn: &mut PgConnection,
    keys: &Keys,
    portal: Portal,
    identifier: &Identifier,
    ip: &str,
) -> QueryResult<Option<Ticket>> {
    let Some(id) = credentials::account_id(conn, keys, portal, identifier)? else {
        return Ok(None);
    };
    let Some(contact) = contact(conn, portal, id)? else {
        return Ok(None);
    };
    if !quota::admit(conn, keys, &contact.0, ip)? {
        return Ok(None);
    }
    issue_to(conn, portal, id, contact, RESET_VALIDITY)
}

/// Issues a link for a known account (invitations); None if it has no email.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn issue(
    conn: &mut PgConnection,
    portal: Portal,
    id: i64,
    validity: Duration,
) -> QueryResult<Option<Ticket>> {
    match contact(conn, portal, id)? {
        Some(contact) => issue_to(conn, portal, id, contact, validity),
        None => Ok(None),
    }
}

fn issue_to(
    conn: &mut PgConnection,
    portal: Portal,
    id: i64,
    (email, display_name, locale): (String, String, String),
    validity: Duration,
) -> QueryResult<Option<Ticket>> {
    let token = crypto::random_token();
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::token_hash.eq(&crypto::sha256(token.as_bytes())[..]),
            password_resets::portal.eq(portal.slug()),
            password_resets::principal_id.eq(id),
            password_resets::expires_at.eq(Utc::now() + validity),
        ))
        .execute(conn)?;
    Ok(Some(Ticket {
        token,
        email: EmailAddress::parse(&email).map_err(|_| diesel::result::Error::NotFound)?,
        display_name,
        locale: locale.parse().unwrap_or_default(),
    }))
}

/// True while the link can still be used (to show the form or an error).
pub fn is_valid(conn: &mut PgConnection, portal: Portal, token: &str) -> QueryResult<bool> {
    Ok(usable(conn, portal, token, false)?.is_some())
}

/// Sets the new password and spends the link; returns the account's id.
#[tracing::instrument(skip_all)]
pub fn complete(
    conn: &mut PgConnection,
    portal: Portal,
    token: &str,
    password: &NewPassword,
) -> Result<i64, ResetError> {
    conn.transaction(|conn| {
        let id = usable(conn, portal, token, true)?.ok_or(ResetError::InvalidLink)?;
        // This link and every other outstanding one: an older link lying in a
        // mailbox must not undo the new password.
        void_outstanding(conn, portal, id)?;
        credentials::set_password_hash(
            conn,
            portal,
            id,
            &crypto::hash_password(password.expose()),
        )?;
        Ok(id)
    })
}

/// Spends every unused link of one account; call whenever its password changes.
fn void_outstanding(conn: &mut PgConnection, portal: Portal, id: i64) -> QueryResult<usize> {
    diesel::update(
        password_resets::table
            .filter(password_resets::portal.eq(portal.slug()))
            .filter(password_resets::principal_id.eq(id))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(diesel::dsl::now))
    .execute(conn)
}

fn usable(
    conn: &mut PgConnection,
    portal: Portal,
    token: &str,
    lock: bool,
) -> QueryResult<Option<i64>> {
    let token_hash = crypto::sha256(token.as_bytes());
    let query = password_resets::table
        .find(&token_hash[..])
        .filter(password_resets::portal.eq(portal.slug()))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(diesel::dsl::now))
        .select(password_resets::principal_id);
    // Locking makes two submissions of the same link use it once.
    if lock {
        query.for_update().first(conn).optional()
    } else {
        query.first(conn).optional()
    }
}

fn contact(
    conn: &mut PgConnection,
    portal: Portal,
    id: i64,
) -> QueryResult<Option<(String, String, String)>> {
    match portal {
        Portal::Platform => operators::table
            .find(id)
            .select((operators::email, operators::display_name, operators::locale))
            .first(conn)
            .optional(),
        Portal::Merchant => merchant_users::table
            .find(id)
            .select((
                merchant_users::email,
                merchant_users::display_name,
                merchant_users::locale,
            ))
            .first(conn)
            .optional(),
        Portal::Consumer => Ok(members::table
            .find(id)
            .select((members::email, members::display_name, members::locale))
            .first::<(Option<String>, String, String)>(conn)
            .optional()?
            .and_then(|(email, name, locale)| Some((email?, name, locale)))),
    }
}
