//! When the database cannot serve a request, the request is told so quickly and
//! plainly: `503 Service Unavailable` with `Retry-After`, never a `500` that a
//! client would read as a bug, and never a hang.
//!
//! Three things make that so:
//! - every pooled connection runs with a statement timeout and a lock timeout
//!   ([`Limits`], set when the connection is opened), so a held lock or a runaway
//!   query costs a request seconds, not minutes;
//! - [`Gate::run`] watches the queries a piece of work makes (diesel's
//!   instrumentation) and reports an [`Outage`] when the work failed because a
//!   query timed out or the connection was lost;
//! - the gate remembers whether connecting has been failing lately: while it has,
//!   a checkout waits a fraction of a second instead of the full pool wait, so a
//!   database that is down answers fast, and the first connection that succeeds
//!   ends the outage.
//!
//! A timeout is recognised by how long the failed query took (at least the lock
//! timeout, which is never longer than the statement timeout) rather than by the
//! server's message, which is in the server's language. diesel does not expose
//! the SQLSTATE of such errors.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use diesel::{
    Connection, PgConnection, RunQueryDsl,
    connection::{Instrumentation, InstrumentationEvent, SimpleConnection},
    r2d2::{ConnectionManager, CustomizeConnection, HandleError, Pool},
    result::{DatabaseErrorKind, Error as DieselError},
};

use super::{PgPool, PooledPg};

/// How long a client should wait before trying again.
pub const RETRY_AFTER_SECONDS: u64 = 5;
/// A checkout waits in slices of this long, and no longer once connecting has
/// been failing: long enough for a pooled connection that frees up, short
/// enough to answer at once.
const WAIT_WHILE_DOWN: Duration = Duration::from_millis(250);
/// A connection failure older than this no longer counts as an outage.
const OUTAGE_MEMORY: Duration = Duration::from_secs(10);

/// How long the database may make a request wait (`ALLIANCE_DATABASE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a statement may run.
    pub statement_timeout: Duration,
    /// Longest a statement may wait for a lock; at most `statement_timeout`.
    pub lock_timeout: Duration,
    /// Longest a request waits for a pooled connection.
    pub pool_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(15),
            lock_timeout: Duration::from_secs(2),
            pool_wait: Duration::from_secs(5),
        }
    }
}

/// Why the database could not serve a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Outage {
    #[error("no database connection was free or could be opened in time")]
    NoConnection,
    #[error("a query ran past the statement or lock timeout")]
    TimedOut,
    #[error("the connection to the database was lost")]
    ConnectionLost,
}

impl Outage {
    /// The outage a failed query shows, if any: `elapsed` is how long it ran.
    fn of(error: &DieselError, elapsed: Duration, limits: &Limits) -> Option<Self> {
        let timed_out = matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, _)
        ) && elapsed >= limits.lock_timeout;
        Self::of_error(error).or(timed_out.then_some(Self::TimedOut))
    }

    /// The outage a lost connection shows, for errors that reach a handler
    /// without passing through [`Gate::run`].
    pub fn of_error(error: &DieselError) -> Option<Self> {
        matches!(
            error,
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _
            )
        )
        .then_some(Self::ConnectionLost)
    }
}

/// Builds the serving pool: its connections run under `limits`, and the
/// returned gate hands them out.
pub fn serving_pool(
    database_url: &str,
    max_size: u32,
    limits: Limits,
) -> Result<(PgPool, Gate), diesel::r2d2::PoolError> {
    let health = Arc::new(Health::default());
    let pool = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(limits.pool_wait)
        .connection_customizer(Box::new(SessionSettings {
            limits,
            health: Arc::clone(&health),
        }))
        .error_handler(Box::new(FailureListener(Arc::clone(&health))))
        .build(ConnectionManager::new(database_url))?;
    let gate = Gate {
        pool: pool.clone(),
        health,
        limits,
    };
    Ok((pool, gate))
}

/// Hands out pooled connections to request handlers and tells an outage from
/// any other failure of their work.
#[derive(Debug, Clone)]
pub struct Gate {
    pool: PgPool,
    health: Arc<Health>,
    limits: Limits,
}

impl Gate {
    /// Runs `work` with a pooled connection. `Err(Outage)` when no connection
    /// could be had, or when `work` failed because a query timed out or the
    /// connection was lost; otherwise what `work` returned.
    pub fn run<T, E>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
    ) -> Result<Result<T, E>, Outage> {
        let mut conn = self.checkout()?;
        let seen = Arc::new(Mutex::new(None));
        conn.set_instrumentation(Watcher {
            started: None,
            limits: self.limits,
            seen: Arc::clone(&seen),
        });
        let outcome = work(&mut conn);
        conn.set_instrumentation(None::<Watcher>);
        let outage = *seen.lock().unwrap_or_else(PoisonError::into_inner);
        match (outcome, outage) {
            (Err(_), Some(outage)) => {
                tracing::warn!(%outage, "database unavailable");
                Err(outage)
            }
            (outcome, _) => Ok(outcome),
        }
    }

    /// True while connecting to the database has been failing.
    pub fn is_down(&self) -> bool {
        self.health.is_down()
    }

    /// Waits for a connection in short slices, up to the pool wait, and gives
    /// up as soon as connecting is seen to fail: a busy pool is waited for, a
    /// database that is down is not.
    fn checkout(&self) -> Result<PooledPg, Outage> {
        let deadline = Instant::now() + self.limits.pool_wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .pool
                .get_timeout(WAIT_WHILE_DOWN.min(left).max(Duration::from_millis(1)))
            {
                Ok(conn) => return Ok(conn),
                Err(e) if self.health.is_down() || Instant::now() >= deadline => {
                    tracing::warn!(error = %e, "no database connection");
                    return Err(Outage::NoConnection);
                }
                Err(_) => {}
            }
        }
    }
}

/// When connecting last failed and last succeeded, in milliseconds since the
/// gate was made (0: never).
#[derive(Debug)]
struct Health {
    origin: Instant,
    last_failure: AtomicU64,
    last_success: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            last_failure: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
        }
    }
}

impl Health {
    fn now(&self) -> u64 {
        // +1 so that a stamp is never 0, which means "never".
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }

    fn is_down(&self) -> bool {
        let failure = self.last_failure.load(Ordering::Relaxed);
        let memory = u64::try_from(OUTAGE_MEMORY.as_millis()).unwrap_or(u64::MAX);
        failure > self.last_success.load(Ordering::Relaxed)
            && self.now().saturating_sub(failure) < memory
    }
}

/// Hears the pool's connection failures.
#[derive(Debug)]
struct FailureListener(Arc<Health>);

impl HandleError<diesel::r2d2::Error> for FailureListener {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        self.0.last_failure.store(self.0.now(), Ordering::Relaxed);
        tracing::warn!(%error, "cannot connect to the database");
    }
}

/// Sets the limits on every new connection, and notes that connecting works.
#[derive(Debug)]
struct SessionSettings {
    limits: Limits,
    health: Arc<Health>,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}",
            self.limits.statement_timeout.as_millis(),
            self.limits.lock_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)?;
        self.health
            .last_success
            .store(self.health.now(), Ordering::Relaxed);
        Ok(())
    }
}

/// Notes the outage a piece of work's queries ran into.
struct Watcher {
    started: Option<Instant>,
    limits: Limits,
    seen: Arc<Mutex<Option<Outage>>>,
}

impl Instrumentation for Watcher {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } => {
                let elapsed = self.started.map_or(Duration::ZERO, |s| s.elapsed());
                if let Some(outage) = Outage::of(error, elapsed, &self.limits) {
                    *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(outage);
                }
            }
            _ => {}
        }
    }
}

/// Lets long batch work (the ledger's verification, building an export) run
/// past the statement timeout, for the rest of the current transaction.
pub fn lift_statement_timeout(conn: &mut PgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown() -> DieselError {
        DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("canceling statement due to lock timeout".to_owned()),
        )
    }

    #[test]
    fn a_query_that_failed_after_the_lock_timeout_timed_out() {
        let limits = Limits::default();
        assert_eq!(
            Outage::of(&unknown(), limits.lock_timeout, &limits),
            Some(Outage::TimedOut)
        );
        assert_eq!(
            Outage::of(&unknown(), Duration::from_millis(3), &limits),
            None
        );
    }

    #[test]
    fn a_refused_write_is_no_outage() {
        let unique = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_owned()),
        );
        let limits = Limits::default();
        assert_eq!(Outage::of(&unique, Duration::from_mins(1), &limits), None);
        assert_eq!(Outage::of_error(&unique), None);
        assert_eq!(Outage::of_error(&DieselError::NotFound), None);
    }

    #[test]
    fn a_lost_connection_is_an_outage() {
        let closed = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection".to_owned()),
        );
        assert_eq!(Outage::of_error(&closed), Some(Outage::ConnectionLost));
    }

    #[test]
    fn health_is_down_only_after_a_failure_newer_than_any_success() {
        let health = Health::default();
        assert!(!health.is_down());
        health.last_failure.store(health.now(), Ordering::Relaxed);
        assert!(health.is_down());
        std::thread::sleep(Duration::from_millis(2));
        health.last_success.store(health.now(), Ordering::Relaxed);
        assert!(!health.is_down());
    }
}
