//! Transactions that are retried, invisibly to the caller, when PostgreSQL aborts
//! them for concurrency reasons.
//!
//! The ledger takes its locks in one global order (see `submit`), so deadlocks
//! should not happen at all; this is the safety net. Diesel reports SQLSTATE 40001
//! as `SerializationFailure` but has no kind for 40P01 (`deadlock_detected`), so the
//! latter is recognised by PostgreSQL's message.

use std::{thread, time::Duration};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Enough to ride out heavy contention; a caller only sees an error after this
/// many consecutive aborts of the same work.
const MAX_ATTEMPTS: u32 = 12;

pub(crate) trait Retryable {
    fn is_retryable(&self) -> bool;
}

impl Retryable for DieselError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            Self::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                info.message().starts_with("deadlock detected")
            }
            _ => false,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for a reason that is not retryable, or
/// has been aborted `MAX_ATTEMPTS` times, backing off with jitter in between.
pub(crate) fn with_retry<T, E: Retryable>(
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut tries = 0;
    loop {
        match attempt() {
            Err(e) if e.is_retryable() && tries + 1 < MAX_ATTEMPTS => {
                tries += 1;
                let ceiling_ms = 1_u64 << tries.min(7);
                thread::sleep(Duration::from_micros(rand::random_range(
                    0..ceiling_ms * 1000,
                )));
            }
            other => return other,
        }
    }
}
