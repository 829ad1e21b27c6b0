//! Signing in, the same way on every portal: throttle, find the account, check
//! the password (upgrading an old hash on the way), record the outcome.

use diesel::prelude::*;

use crate::{
    crypto::{self, Keys, PasswordCheck},
    db::{
        Gate, Outage,
        schema::{members, merchant_users, merchants, operators},
    },
    domain::{email_address::EmailAddress, phone::Phone, portal::Portal},
    error::{Class, Classify, Kind, Message, Refusal},
    merchant::standing::Status,
};

use super::{
    hashing::PasswordHasher,
    throttle::{self, Throttled},
};

/// What a person signs in with: operators and merchant users an email, members
/// their mobile number (or their email, to reset a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(EmailAddress),
    Phone(Phone),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid sign-in name")]
pub struct InvalidIdentifier;

impl Identifier {
    pub fn parse(portal: Portal, input: &str) -> Result<Self, InvalidIdentifier> {
        match portal {
            Portal::Consumer if !input.contains('@') => Phone::parse(input)
                .map(Self::Phone)
                .map_err(|_| InvalidIdentifier),
            _ => EmailAddress::parse(input)
                .map(Self::Email)
                .map_err(|_| InvalidIdentifier),
        }
    }

    /// How attempts are counted; a phone number is never stored in the clear.
    fn throttle_key(&self, keys: &Keys) -> String {
        match self {
            Self::Email(email) => email.as_str().to_owned(),
            Self::Phone(phone) => format!("phone:{}", hex::encode(phone_index(keys, phone))),
        }
    }
}

/// The blind index members are found by.
pub fn phone_index(keys: &Keys, phone: &Phone) -> [u8; 32] {
    keys.blind_index("members.phone", phone.as_str())
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong sign-in name or password")]
    Invalid,
    #[error("too many attempts")]
    Throttled(Throttled),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Unavailable(#[from] Outage),
}

impl Classify for SignInError {
    /// A wrong name and a wrong password read the same, so the page does not
    /// tell who has an account.
    fn class(&self) -> Class {
        let (kind, slug, key) = match self {
            Self::Invalid => (Kind::Forbidden, "sign_in_invalid", "auth.error.invalid"),
            Self::Throttled(_) => (Kind::Conflict, "throttled", "auth.error.throttled"),
            Self::Database(_) | Self::Unavailable(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, slug, Message::new(key)))
    }
}

/// What a sign-in needs besides the form: where the people are, how passwords
/// are checked, the keys that find members.
#[derive(Debug, Clone, Copy)]
pub struct Deps<'a> {
    pub gate: &'a Gate,
    pub hasher: &'a PasswordHasher,
    pub keys: &'a Keys,
}

/// Checks a password; returns the id of the operator, merchant user or member.
///
/// In three steps, so that no database connection is held while the password
/// hash is computed (a burst of sign-ins would otherwise empty the pool): admit
/// and record the attempt and load the stored hash; wait out any delay and
/// check on the bounded hashing pool; record the outcome.
pub async fn sign_in(
    deps: Deps<'_>,
    portal: Portal,
    identifier: &Identifier,
    password: &str,
    ip: &str,
) -> Result<i64, SignInError> {
    let (keys, identifier_owned, ip) = (deps.keys.clone(), identifier.clone(), ip.to_owned());
    let (admission, account, stored) = with_connection(deps.gate, move |conn| {
        let throttle_key = identifier_owned.throttle_key(&keys);
        let admission = match throttle::admit(conn, portal, &throttle_key, &ip)? {
            Ok(admission) => admission,
            Err(throttled) => return Err(SignInError::Throttled(throttled)),
        };
        let account = find(conn, &keys, portal, &identifier_owned)?;
        // Unknown accounts cost the same time as known ones, so timing tells nothing.
        let stored = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| unusable_hash().to_owned());
        Ok((admission, account.map(|a| a.id), stored))
    })
    .await?;
    tokio::time::sleep(admission.delay).await;
    let check = deps.hasher.verify(password.to_owned(), stored).await;
    let (id, rehash) = match (account, check) {
        (Some(id), PasswordCheck::Valid) => (id, None),
        (Some(id), PasswordCheck::ValidNeedsRehash) => {
            (id, Some(deps.hasher.hash(password.to_owned()).await))
        }
        _ => return Err(SignInError::Invalid),
    };
    with_connection(deps.gate, move |conn| {
        conn.transaction(|conn| {
            if let Some(hash) = rehash {
                set_password_hash(conn, portal, id, &hash)?;
            }
            throttle::succeeded(conn, admission.attempt_id)?;
            touch_last_sign_in(conn, portal, id)
        })?;
        Ok(id)
    })
    .await
}

/// Runs database work on the blocking pool with a connection it returns at once.
async fn with_connection<T: Send + 'static>(
    gate: &Gate,
    work: impl FnOnce(&mut PgConnection) -> Result<T, SignInError> + Send + 'static,
) -> Result<T, SignInError> {
    let gate = gate.clone();
    match tokio::task::spawn_blocking(move || gate.run(work)?).await {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A real hash of a random password, so a missing account is checked as slowly
/// as a present one.
fn unusable_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password(&crypto::random_token()))
}

struct Account {
    id: i64,
    /// None for members who never set one; "!" for invited users until they do.
    password_hash: Option<String>,
}

fn find(
    conn: &mut PgConnection,
    keys: &Keys,
    portal: Portal,
    identifier: &Identifier,
) -> QueryResult<Option<Account>> {
    let found: Option<(i64, Option<String>)> = match (portal, identifier) {
        (Portal::Platform, Identifier::Email(email)) => operators::table
            .filter(operators::email.eq(email.as_str()))
            .filter(operators::active)
            .select((operators::id, operators::password_hash.nullable()))
            .first(conn)
            .optional()?,
        (Portal::Merchant, Identifier::Email(email)) => merchant_users::table
            .inner_join(merchants::table)
            .filter(merchant_users::email.eq(email.as_str()))
            .filter(merchant_users::active)
            .filter(merchants::status.ne(Status::Exited))
            .select((merchant_users::id, merchant_users::password_hash.nullable()))
            .first(conn)
            .optional()?,
        (Portal::Consumer, Identifier::Phone(phone)) => members::table
            .filter(members::phone_index.eq(&phone_index(keys, phone)[..]))
            .select((members::id, members::password_hash))
            .first(conn)
            .optional()?,
        (Portal::Consumer, Identifier::Email(email)) => members::table
            .filter(members::email.eq(email.as_str()))
            .select((members::id, members::password_hash))
            .first(conn)
            .optional()?,
        (Portal::Platform | Portal::Merchant, Identifier::Phone(_)) => None,
    };
    Ok(found.map(|(id, password_hash)| Account { id, password_hash }))
}

/// The id of the account an identifier names, if any.
pub fn account_id(
    conn: &mut PgConnection,
    keys: &Keys,
    portal: Portal,
    identifier: &Identifier,
) -> QueryResult<Option<i64>> {
    Ok(find(conn, keys, portal, identifier)?.map(|a| a.id))
}

#[tracing::instrument(skip_all, fields(id = id))]
pub fn set_password_hash(
    conn: &mut PgConnection,
    portal: Portal,
    id: i64,
    hash: &str,
) -> QueryResult<()> {
    let updated = match portal {
        Portal::Platform => diesel::update(operators::table.find(id))
            .set(operators::password_hash.eq(hash))
            .execute(conn)?,
        Portal::Merchant => diesel::update(merchant_users::table.find(id))
            .set(merchant_users::password_hash.eq(hash))
            .execute(conn)?,
        Portal::Consumer => diesel::update(members::table.find(id))
            .set(members::password_hash.eq(hash))
            .execute(conn)?,
    };
    if updated == 1 {
        Ok(())
    } else {
        Err(diesel::result::Error::NotFound)
    }
}

/// Stamps a successful sign-in (by password here, or by SMS code).
#[tracing::instrument(skip_all, fields(id = id))]
pub fn touch_last_sign_in(conn: &mut PgConnection, portal: Portal, id: i64) -> QueryResult<()> {
    let now = diesel::dsl::now;
    match portal {
        Portal::Platform => diesel::update(operators::table.find(id))
            .set(operators::last_sign_in_at.eq(now))
            .execute(conn)?,
        Portal::Merchant => diesel::update(merchant_users::table.find(id))
            .set(merchant_users::last_sign_in_at.eq(now))
            .execute(conn)?,
        Portal::Consumer => diesel::update(members::table.find(id))
            .set(members::last_sign_in_at.eq(now))
            .execute(conn)?,
    };
    Ok(())
}
