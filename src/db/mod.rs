//! The PostgreSQL pool, the embedded migrations and the generated schema.

pub mod lease;
pub mod outage;
pub mod schema;

pub use outage::{Gate, Limits, Outage, lift_statement_timeout, serving_pool};

use std::time::Duration;

use diesel::{
    PgConnection,
    r2d2::{ConnectionManager, Pool, PooledConnection},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PooledPg = PooledConnection<ConnectionManager<PgConnection>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A pool for tools and tests: no statement or lock timeout. The server's pool
/// is [`serving_pool`]. Connections are opened lazily, so either can be built
/// while the database is still down.
pub fn pool(database_url: &str, max_size: u32) -> Result<PgPool, diesel::r2d2::PoolError> {
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .build(ConnectionManager::new(database_url))
}

/// Applies every pending migration; returns the versions applied.
pub fn migrate(conn: &mut PgConnection) -> Result<Vec<String>, BoxError> {
    Ok(conn
        .run_pending_migrations(MIGRATIONS)?
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// True when the database has every migration this binary embeds.
pub fn migrations_current(conn: &mut PgConnection) -> Result<bool, BoxError> {
    Ok(!conn.has_pending_migration(MIGRATIONS)?)
}

#[derive(diesel::QueryableByName)]
struct LockResult {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    done: bool,
}

/// Takes a session-level advisory lock without waiting: false when another
/// session holds it. Periodic passes that must not run twice at once use it; a
/// crashed process's connection releases its lock.
pub fn try_advisory_lock(conn: &mut PgConnection, key: i64) -> diesel::QueryResult<bool> {
    advisory(conn, "pg_try_advisory_lock", key)
}

/// Waits for a transaction-scoped advisory lock named by `key` (hashed to the
/// lock's number): work sharing the key is serialised until the transaction ends.
pub fn advisory_xact_lock(conn: &mut PgConnection, key: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .map(drop)
}

/// Releases a lock taken by `try_advisory_lock`.
pub fn advisory_unlock(conn: &mut PgConnection, key: i64) -> diesel::QueryResult<bool> {
    advisory(conn, "pg_advisory_unlock", key)
}

fn advisory(conn: &mut PgConnection, function: &str, key: i64) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("SELECT {function}($1) AS done"))
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result::<LockResult>(conn)
        .map(|r| r.done)
}
