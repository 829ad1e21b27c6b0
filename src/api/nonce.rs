//! Replay protection: the nonces each key used in the last ten minutes. A nonce
//! is recorded only after its request's signature verified, so nobody can use
//! up another key's nonces.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::db::schema::api_nonces;

use super::signature::NONCE_RETENTION_MINUTES;

/// Records the nonce for the key; false when the key already used it (a
/// replay). Two concurrent requests with one nonce: the primary key lets only
/// one of them through.
pub fn record(conn: &mut PgConnection, key_id: &str, nonce: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(api_nonces::table)
        .values((api_nonces::key_id.eq(key_id), api_nonces::nonce.eq(nonce)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Forgets nonces past the retention period (any timestamp they were sent
/// with is stale by now). Deleting twice is harmless.
pub fn purge(conn: &mut PgConnection) -> QueryResult<usize> {
    let cutoff = Utc::now() - Duration::minutes(NONCE_RETENTION_MINUTES);
    diesel::delete(api_nonces::table.filter(api_nonces::seen_at.lt(cutoff))).execute(conn)
}
