//! Server-side sessions in PostgreSQL behind actix-session. The cookie carries a
//! random key; the table holds only its SHA-256, so a copy of the database cannot
//! be replayed as live sessions, and signing out deletes the row.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::Utc;
use diesel::prelude::*;

use crate::{
    crypto,
    db::{Gate, schema::web_sessions},
    domain::portal::Portal,
};

/// Session state entries.
pub const PRINCIPAL: &str = "principal";
pub const CSRF: &str = "csrf";
pub const FLASH: &str = "flash";
/// An operator past the password, not yet past the second factor (`platform:12`),
/// and where they were going; not signed in until then.
pub const PENDING: &str = "pending_principal";
pub const PENDING_NEXT: &str = "pending_next";

/// Who a session belongs to, as stored: `platform:12`.
pub fn principal_value(portal: Portal, id: i64) -> String {
    format!("{}:{id}", portal.slug())
}

#[derive(Debug, Clone)]
pub struct PgSessionStore {
    /// Through the gate, so a database that is down fails the load at once
    /// (see `web::availability`) instead of after the full pool wait.
    gate: Gate,
}

impl PgSessionStore {
    pub fn new(gate: Gate) -> Self {
        Self { gate }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let gate = self.gate.clone();
        tokio::task::spawn_blocking(move || gate.run(work)?).await?
    }
}

fn key_hash(key: &SessionKey) -> Vec<u8> {
    crypto::sha256(key.as_ref().as_bytes()).to_vec()
}

fn expiry(ttl: &Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(ttl.whole_seconds())
}

fn new_key() -> SessionKey {
    SessionKey::try_from(crypto::random_token()).expect("a token is a valid session key")
}

impl SessionStore for PgSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let hash = key_hash(session_key);
        let state: Option<serde_json::Value> = self
            .run(move |conn| {
                Ok(web_sessions::table
                    .find(hash)
                    .filter(web_sessions::expires_at.gt(Utc::now()))
                    .select(web_sessions::state)
                    .first(conn)
                    .optional()?)
            })
            .await
            .map_err(LoadError::Other)?;
        state
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let key = new_key();
        let (hash, expires_at) = (key_hash(&key), expiry(ttl));
        let state = serde_json::to_value(state).map_err(|e| SaveError::Serialization(e.into()))?;
        self.run(move |conn| {
            diesel::insert_into(web_sessions::table)
                .values((
                    web_sessions::key_hash.eq(hash),
                    web_sessions::state.eq(state),
                    web_sessions::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(SaveError::Other)?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let (hash, expires_at) = (key_hash(&key), expiry(ttl));
        let value =
            serde_json::to_value(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let updated = self
            .run(move |conn| {
                Ok(diesel::update(
                    web_sessions::table
                        .find(hash)
                        .filter(web_sessions::expires_at.gt(Utc::now())),
                )
                .set((
                    web_sessions::state.eq(value),
                    web_sessions::expires_at.eq(expires_at),
                ))
                .execute(conn)?)
            })
            .await
            .map_err(UpdateError::Other)?;
        if updated == 1 {
            Ok(key)
        } else {
            // Expired or signed out meanwhile: start afresh under a new key.
            self.save(state, ttl)
                .await
                .map_err(|e| UpdateError::Other(anyhow::anyhow!(e.to_string())))
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let (hash, expires_at) = (key_hash(key), expiry(ttl));
        self.run(move |conn| {
            diesel::update(web_sessions::table.find(hash))
                .set(web_sessions::expires_at.eq(expires_at))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let hash = key_hash(key);
        self.run(move |conn| {
            diesel::delete(web_sessions::table.find(hash)).execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// Ends every session of one person (after a password reset or deactivation).
pub fn end_sessions_of(conn: &mut PgConnection, portal: Portal, id: i64) -> QueryResult<usize> {
    // actix-session stores each value JSON-encoded, hence the quotes.
    let stored = serde_json::to_string(&principal_value(portal, id)).expect("a string serializes");
    diesel::delete(
        web_sessions::table.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("state->>'principal' = ")
                .bind::<diesel::sql_types::Text, _>(stored),
        ),
    )
    .execute(conn)
}

/// Removes expired sessions; run periodically.
pub fn purge_expired(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.filter(web_sessions::expires_at.le(Utc::now())))
        .execute(conn)
}
