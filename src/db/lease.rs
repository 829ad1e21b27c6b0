//! Leases on named jobs, in PostgreSQL (`job_leases`): several server processes
//! share one database, and a job that must not run twice at once (settlement)
//! runs only in the process holding its unexpired lease. A holder that dies
//! simply lets its lease expire; the next process to ask takes it over.

use std::{sync::OnceLock, time::Duration};

use diesel::{
    prelude::*,
    sql_types::{Interval, Text},
};

use crate::crypto;

/// This process's name as a lease holder: host, process id and a random part, so
/// that a restarted process with a reused pid is still someone else.
pub fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!(
            "{}:{}:{}",
            host.trim(),
            std::process::id(),
            &crypto::random_hex_id()[..8]
        )
    })
}

/// Takes the lease on `name` for `ttl` if it is free, expired, or already ours
/// (renewing it). One statement, so two processes asking at once cannot both get
/// it.
pub fn acquire(
    conn: &mut PgConnection,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> QueryResult<bool> {
    let ttl = diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX),
    );
    let taken = diesel::sql_query(
        "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3)
         ON CONFLICT (name) DO UPDATE
            SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, acquired_at = now()
          WHERE job_leases.expires_at < now() OR job_leases.holder = EXCLUDED.holder",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(holder)
    .bind::<Interval, _>(ttl)
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease back early, if we hold it.
pub fn release(conn: &mut PgConnection, name: &str, holder: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
        .bind::<Text, _>(name)
        .bind::<Text, _>(holder)
        .execute(conn)?;
    Ok(())
}
