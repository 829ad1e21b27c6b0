//! How far a build has got, as its page shows it. The build calls
//! [`Progress::set`] as often as it likes; at most every quarter second the
//! counts are written, through a pooled connection of their own (not the
//! build's), so they are visible while the build's own transaction runs.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::db::PgPool;

use super::{ExportId, store};

/// Counts are written at most this often.
const WRITE_EVERY: Duration = Duration::from_millis(250);
/// Nothing set yet.
const UNSET: i64 = -1;

#[derive(Debug)]
pub struct Progress {
    id: ExportId,
    pool: PgPool,
    done: AtomicI64,
    total: AtomicI64,
    last_write: Mutex<Option<Instant>>,
}

impl Progress {
    pub(super) fn new(pool: PgPool, id: ExportId) -> Self {
        Self {
            id,
            pool,
            done: AtomicI64::new(UNSET),
            total: AtomicI64::new(UNSET),
            last_write: Mutex::new(None),
        }
    }

    /// `done` rows of `total` are built. The first call writes at once, the
    /// others when a quarter second has passed since the last write; the
    /// final counts are written when the export finishes.
    pub fn set(&self, done: u64, total: u64) {
        let done = i64::try_from(done).unwrap_or(i64::MAX);
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        {
            let mut last = self
                .last_write
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < WRITE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        self.write(done, total);
    }

    /// The last counts set, if any.
    pub(super) fn counts(&self) -> Option<(i64, i64)> {
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        (done != UNSET && total != UNSET).then_some((done, total))
    }

    /// A lost progress write only makes the page lag: it is logged, and the
    /// build goes on.
    fn write(&self, done: i64, total: i64) {
        let written = self
            .pool
            .get()
            .map_err(anyhow::Error::from)
            .and_then(|mut conn| Ok(store::set_progress(&mut conn, self.id, done, total)?));
        if let Err(e) = written {
            tracing::warn!(export = %self.id, error = format!("{e:#}"), "could not record export progress");
        }
    }
}
