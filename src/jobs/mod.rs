//! Periodic work that runs inside the server process. Every job is safe to run in
//! several processes at once (see each job's own notes), so no job is run twice in
//! effect.

use std::time::Duration;

use crate::{db::PgPool, ledger, web::session};

/// Holds voided per pass; more wait for the next pass.
const HOLD_EXPIRY_BATCH: i64 = 500;

/// A job and how often it runs.
struct Periodic {
    name: &'static str,
    every: Duration,
    /// Returns how many things it handled, for the log.
    run: fn(&PgPool) -> anyhow::Result<usize>,
}

const JOBS: [Periodic; 2] = [
    Periodic {
        name: "expire holds",
        every: Duration::from_secs(5),
        run: expire_holds,
    },
    Periodic {
        name: "purge expired sessions",
        every: Duration::from_mins(15),
        run: purge_sessions,
    },
];

/// Starts every periodic job on the current Tokio runtime.
pub fn spawn(pool: &PgPool) {
    for job in JOBS {
        let pool = pool.clone();
        tokio::spawn(async move {
            // The first pass waits one period: a server that has just started has
            // nothing urgent to do, and its database may still be settling.
            let start = tokio::time::Instant::now() + job.every;
            let mut interval = tokio::time::interval_at(start, job.every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let pool = pool.clone();
                match tokio::task::spawn_blocking(move || (job.run)(&pool)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(handled)) => tracing::info!(job = job.name, handled, "periodic job done"),
                    Ok(Err(e)) => tracing::warn!(
                        job = job.name,
                        error = format!("{e:#}"),
                        "periodic job failed"
                    ),
                    Err(e) => tracing::error!(job = job.name, error = %e, "periodic job panicked"),
                }
            }
        });
    }
}

/// Voids holds whose timeout has passed (idempotent per hold).
pub fn expire_holds(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(ledger::void_expired_holds(
        &mut *pool.get()?,
        HOLD_EXPIRY_BATCH,
    )?)
}

/// Deletes sessions past their expiry (deleting twice is harmless).
fn purge_sessions(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(session::purge_expired(&mut *pool.get()?)?)
}
