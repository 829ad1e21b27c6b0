//! Partner-API keys: a public key id (`ak_…`) and a secret that signs requests
//! (HMAC-SHA256, see the API contract). The server must recompute signatures, so
//! the secret is stored encrypted, not hashed. It leaves this module twice: to
//! the person who creates the key, once, and to the signature check through
//! [`authenticate`]; listings and the audit log never carry it. Only merchants
//! whose tier has API access get keys, and keys work only while they are active.

use chrono::{DateTime, Utc};
use diesel::{dsl::now, prelude::*};
use rand::{Rng as _, distr::Alphanumeric};
use secrecy::SecretString;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    crypto::{self, CryptoError, Keys},
    db::schema::{api_keys, merchants},
    domain::{actor::Actor, id::MerchantId},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::{Merchant, standing::Status, tier::Tier};

/// Names the column in the ciphertext, so a value copied elsewhere will not
/// decrypt.
const SECRET_AAD: &[u8] = b"api_keys.secret";
const KEY_ID_PREFIX: &str = "ak_";
/// 24 alphanumerics: about 143 bits, so ids never collide in practice.
const KEY_ID_RANDOM_CHARS: usize = 24;
const MAX_LABEL_CHARS: usize = 60;
/// `last_used_at` is written at most this often per key: a busy integration
/// would otherwise write the same row on every request.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub label: String,
    /// Who created it (an email, or `system:cli`).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created, with its secret: show it once, then drop it.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

/// What the key is for ("收银系统", "ERP"), so the owner knows which to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLabel(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a label is needed (at most 60 characters)")]
pub struct InvalidLabel;

impl KeyLabel {
    pub fn parse(input: &str) -> Result<Self, InvalidLabel> {
        let label = input.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
            Err(InvalidLabel)
        } else {
            Ok(Self(label.to_owned()))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("the merchant's tier has no partner-API access (strategic merchants only)")]
    NoApiAccess,
    #[error("the merchant is not active")]
    MerchantNotActive,
    #[error("a stored API secret does not decrypt: was ALLIANCE_SECRET_KEY changed?")]
    Sealed(#[from] CryptoError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for ApiKeyError {
    /// The tier or the standing keeps the merchant from the API; a secret
    /// that does not decrypt is the system's.
    fn class(&self) -> Class {
        let (slug, key) = match self {
            Self::NoApiAccess => ("no_api_access", "merchant_admin.api_key.error.tier"),
            Self::MerchantNotActive => (
                "merchant_not_active",
                "merchant_admin.api_key.error.not_active",
            ),
            Self::Sealed(_) | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(Kind::Forbidden, slug, Message::new(key)))
    }
}

/// Whether the merchant may create and use keys now, and if not, why.
pub fn eligibility(merchant: &Merchant) -> Result<(), ApiKeyError> {
    may_use_api(merchant.tier, merchant.status)
}

fn may_use_api(tier: Tier, status: Status) -> Result<(), ApiKeyError> {
    if !tier.policy().api_access {
        Err(ApiKeyError::NoApiAccess)
    } else if status != Status::Active {
        Err(ApiKeyError::MerchantNotActive)
    } else {
        Ok(())
    }
}

/// `ak_` and random alphanumerics. The id is not secret (it travels in every
/// request), so `rand`'s generator is enough; the secret comes from the OS.
fn new_key_id() -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(KEY_ID_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{KEY_ID_PREFIX}{random}")
}

/// Keys still working first, newest first.
pub fn list(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::merchant_id.eq(merchant_id))
        .order((api_keys::revoked_at.is_not_null(), api_keys::id.desc()))
        .select(ApiKey::as_select())
        .load(conn)
}

/// Creates a key for `merchant`, which must have API access and be active. The
/// audit record holds the key without its secret.
#[tracing::instrument(skip_all)]
pub fn create(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    merchant: &Merchant,
    label: &KeyLabel,
) -> Result<IssuedKey, ApiKeyError> {
    eligibility(merchant)?;
    let secret = crypto::random_token();
    let key_id = new_key_id();
    let key = conn.transaction(|conn| {
        let key = diesel::insert_into(api_keys::table)
            .values((
                api_keys::merchant_id.eq(merchant.id),
                api_keys::key_id.eq(&key_id),
                api_keys::secret_ciphertext.eq(keys.encrypt(secret.as_bytes(), SECRET_AAD)),
                api_keys::label.eq(&label.0),
                api_keys::created_by.eq(&actor.label),
            ))
            .returning(ApiKey::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("api_key.create", "api_key", key.id).after(&key),
        )?;
        QueryResult::Ok(key)
    })?;
    Ok(IssuedKey {
        key,
        secret: secret.into(),
    })
}

/// Revokes one of the merchant's keys; it stops authenticating at once. None
/// when the merchant has no such key. Revoking a revoked key changes nothing.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = id))]
pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: i64,
) -> QueryResult<Option<ApiKey>> {
    conn.transaction(|conn| {
        let Some(before) = api_keys::table
            .find(id)
            .filter(api_keys::merchant_id.eq(merchant_id))
            .select(ApiKey::as_select())
            .for_update()
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        if before.revoked_at.is_some() {
            return Ok(Some(before));
        }
        let after = diesel::update(api_keys::table.find(id))
            .set(api_keys::revoked_at.eq(now))
            .returning(ApiKey::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("api_key.revoke", "api_key", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(Some(after))
    })
}

/// For the partner API's signature check: the merchant a key id belongs to and
/// the secret to verify with. None for an unknown or revoked key, and for a
/// merchant that is not active or whose tier has no API access (a tier change
/// takes effect on the next request).
#[tracing::instrument(skip_all)]
pub fn authenticate(
    conn: &mut PgConnection,
    keys: &Keys,
    key_id: &str,
) -> Result<Option<(MerchantId, SecretString)>, ApiKeyError> {
    let found: Option<(MerchantId, Vec<u8>, Tier, Status)> = api_keys::table
        .inner_join(merchants::table)
        .filter(api_keys::key_id.eq(key_id))
        .filter(api_keys::revoked_at.is_null())
        .select((
            api_keys::merchant_id,
            api_keys::secret_ciphertext,
            merchants::tier,
            merchants::status,
        ))
        .first(conn)
        .optional()?;
    let Some((merchant_id, sealed, tier, status)) = found else {
        return Ok(None);
    };
    if may_use_api(tier, status).is_err() {
        return Ok(None);
    }
    let plaintext = keys.decrypt(&sealed, SECRET_AAD)?;
    // We only ever seal ASCII tokens, and AES-GCM rejects altered ciphertext, so
    // this fails only if something else wrote the column.
    let secret = String::from_utf8(plaintext).map_err(|_| CryptoError::Decrypt)?;
    Ok(Some((merchant_id, secret.into())))
}

/// Notes that a key was just used (after its signature verified), for the
/// "last used" column; not audited, it changes nothing a person decided.
#[tracing::instrument(skip_all)]
pub fn touch_last_used(conn: &mut PgConnection, key_id: &str) -> QueryResult<()> {
    let stale = Utc::now() - chrono::Duration::seconds(LAST_USED_GRANULARITY_SECONDS);
    diesel::update(
        api_keys::table.filter(api_keys::key_id.eq(key_id)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.lt(stale)),
        ),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_ak_and_24_alphanumerics_and_distinct() {
        let id = new_key_id();
        assert_eq!(id.len(), 27, "{id}");
        assert!(id.starts_with("ak_"), "{id}");
        assert!(id[3..].bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        assert_ne!(id, new_key_id());
    }

    #[test]
    fn a_label_is_trimmed_and_bounded() {
        assert_eq!(KeyLabel::parse("  收银系统 ").unwrap().0, "收银系统");
        assert_eq!(KeyLabel::parse("   "), Err(InvalidLabel));
        assert!(KeyLabel::parse(&"键".repeat(MAX_LABEL_CHARS)).is_ok());
        assert_eq!(
            KeyLabel::parse(&"键".repeat(MAX_LABEL_CHARS + 1)),
            Err(InvalidLabel)
        );
    }

    #[test]
    fn only_active_merchants_of_a_tier_with_api_access_may_use_the_api() {
        assert!(may_use_api(Tier::Strategic, Status::Active).is_ok());
        assert!(matches!(
            may_use_api(Tier::Standard, Status::Active),
            Err(ApiKeyError::NoApiAccess)
        ));
        assert!(matches!(
            may_use_api(Tier::Strategic, Status::Suspended),
            Err(ApiKeyError::MerchantNotActive)
        ));
    }
}
