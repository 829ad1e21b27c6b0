//! `Idempotency-Key` on every POST: the first response to a key (per merchant)
//! is stored and replayed to every repeat of the same request; the same key
//! with a different request is refused with 409.
//!
//! The key's row is inserted in the transaction that does the work, so a
//! concurrent duplicate blocks on the row until the first commits and then
//! replays what it stored. Successes and client errors (4xx) are stored; an
//! internal error rolls the row back with everything else, so a retry runs
//! afresh. Requests refused before any work (malformed JSON, invalid fields)
//! are not stored, so the key stays usable for the corrected request.

use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode,
    http::header::CONTENT_TYPE,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{crypto, db::schema::api_idempotency, domain::id::MerchantId, i18n::Locale};

use super::problem::{self, ApiError};

pub const HEADER: &str = "idempotency-key";
/// Replays say so, for the partner's logs.
const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 64;
/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// 1–64 printable ASCII characters (spaces included), as API.md allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let printable = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if (1..=MAX_KEY_LEN).contains(&text.len()) && printable {
            Ok(Self(text.to_owned()))
        } else {
            Err(ApiError::IdempotencyKeyRequired)
        }
    }

    /// The key as a domain service's own request key (`[\x21-\x7e]{1,64}`):
    /// the hex SHA-256 of the merchant and the key, since a partner's key may
    /// hold spaces and two merchants may pick the same key for one member.
    pub fn scoped(&self, merchant_id: MerchantId) -> String {
        hex::encode(crypto::sha256(
            format!("{merchant_id}\n{}", self.0).as_bytes(),
        ))
    }
}

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.headers()
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or(ApiError::IdempotencyKeyRequired)
                .and_then(IdempotencyKey::parse),
        )
    }
}

/// What identifies "the same request" under one key: the operation and the
/// exact body bytes.
pub fn request_hash(method: &str, path_with_query: &str, body: &[u8]) -> [u8; 32] {
    let mut message = Vec::with_capacity(method.len() + path_with_query.len() + body.len() + 2);
    message.extend_from_slice(method.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(path_with_query.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    crypto::sha256(&message)
}

/// A response as stored: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub replayed: bool,
}

impl Reply {
    pub fn json(status: StatusCode, value: &impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            status,
            body: serde_json::to_string(value).map_err(|e| ApiError::Internal(e.into()))?,
            replayed: false,
        })
    }

    fn problem(error: &ApiError, locale: Locale) -> Result<Self, ApiError> {
        Self::json(error.status(), &error.problem(locale))
    }

    pub fn into_response(self) -> HttpResponse {
        let content_type = if self.status.is_success() {
            "application/json"
        } else {
            problem::CONTENT_TYPE
        };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((CONTENT_TYPE, content_type));
        if self.replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        response.body(self.body)
    }
}

/// Runs `work` once for the merchant's key and stores its reply, or replays
/// the reply stored for an earlier identical request. `work` runs in a nested
/// transaction (a savepoint): when it refuses the request (a 4xx), what it
/// wrote is undone and the refusal itself is stored, in `locale`.
pub fn once(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    key: &IdempotencyKey,
    request_hash: &[u8; 32],
    locale: Locale,
    work: impl FnOnce(&mut PgConnection) -> Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    conn.transaction(|conn| {
        let claimed = diesel::insert_into(api_idempotency::table)
            .values((
                api_idempotency::merchant_id.eq(merchant_id),
                api_idempotency::idempotency_key.eq(&key.0),
                api_idempotency::request_hash.eq(&request_hash[..]),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?
            == 1;
        if !claimed {
            return stored(conn, merchant_id, key, request_hash);
        }
        let reply = match conn.transaction(work) {
            Ok(reply) => reply,
            Err(error) if error.status().is_client_error() => Reply::problem(&error, locale)?,
            Err(error) => return Err(error),
        };
        diesel::update(api_idempotency::table.find((merchant_id, &key.0)))
            .set((
                api_idempotency::status.eq(i16::try_from(reply.status.as_u16())
                    .map_err(|e| ApiError::Internal(e.into()))?),
                api_idempotency::body.eq(&reply.body),
            ))
            .execute(conn)?;
        Ok(reply)
    })
}

/// The reply stored under a key another request claimed (and committed: the
/// claiming insert waited for it).
fn stored(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    key: &IdempotencyKey,
    request_hash: &[u8; 32],
) -> Result<Reply, ApiError> {
    let (hash, status, body): (Vec<u8>, Option<i16>, Option<String>) = api_idempotency::table
        .find((merchant_id, &key.0))
        .select((
            api_idempotency::request_hash,
            api_idempotency::status,
            api_idempotency::body,
        ))
        .first(conn)?;
    if !crypto::constant_time_eq(&hash, request_hash) {
        return Err(ApiError::IdempotencyKeyReused);
    }
    // `once` always stores the reply before committing the row.
    let (Some(status), Some(body)) = (status, body) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "idempotency row without a stored reply"
        )));
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored status {status} is invalid")))?;
    Ok(Reply {
        status,
        body,
        replayed: true,
    })
}

/// Forgets keys older than the retention period. Deleting twice is harmless.
pub fn purge(conn: &mut PgConnection) -> QueryResult<usize> {
    let cutoff = Utc::now() - Duration::hours(RETENTION_HOURS);
    diesel::delete(api_idempotency::table.filter(api_idempotency::created_at.lt(cutoff)))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_64_printable_ascii_characters() {
        assert!(IdempotencyKey::parse("order-1 retry").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", "\t", "键", &"k".repeat(65)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_request_hash_covers_operation_and_body() {
        let hash = request_hash("POST", "/api/v1/earn", b"{}");
        assert_eq!(hash, request_hash("POST", "/api/v1/earn", b"{}"));
        assert_ne!(hash, request_hash("POST", "/api/v1/members", b"{}"));
        assert_ne!(hash, request_hash("POST", "/api/v1/earn", b"{ }"));
    }
}
