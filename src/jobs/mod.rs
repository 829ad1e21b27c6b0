//! Periodic work that runs inside the server process. Every job is safe to run in
//! several processes at once (see each job's own notes), so no job is run twice in
//! effect.

use std::time::Duration;

use crate::{db::PgPool, ledger};

/// How often expired holds are looked for.
const HOLD_EXPIRY_INTERVAL: Duration = Duration::from_secs(5);
/// Holds voided per pass; more wait for the next pass.
const HOLD_EXPIRY_BATCH: i64 = 500;

/// Starts the periodic jobs on the current Tokio runtime.
pub fn spawn(pool: PgPool) {
    tokio::spawn(async move {
        // The first pass waits one period: a server that has just started has
        // nothing urgent to expire, and its database may still be settling.
        let start = tokio::time::Instant::now() + HOLD_EXPIRY_INTERVAL;
        let mut interval = tokio::time::interval_at(start, HOLD_EXPIRY_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let pool = pool.clone();
            match tokio::task::spawn_blocking(move || expire_holds(&pool)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(voided)) => tracing::info!(voided, "voided expired holds"),
                Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "expiring holds failed"),
                Err(e) => tracing::error!(error = %e, "hold expiry job panicked"),
            }
        }
    });
}

/// One pass of the hold-expiry job.
pub fn expire_holds(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    Ok(ledger::void_expired_holds(&mut conn, HOLD_EXPIRY_BATCH)?)
}
