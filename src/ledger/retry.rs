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
    /// Why this failure is worth another attempt; `None` when it is not.
    fn retry_reason(&self) -> Option<&'static str>;
}

impl Retryable for DieselError {
    fn retry_reason(&self) -> Option<&'static str> {
        match self {
            Self::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Some("serialization failure")
            }
            Self::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("deadlock detected") =>
            {
                Some("deadlock")
            }
            _ => None,
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
            Err(e) => match e.retry_reason() {
                Some(reason) if tries + 1 < MAX_ATTEMPTS => {
                    tries += 1;
                    let ceiling_ms = 1_u64 << tries.min(7);
                    let backoff_us = rand::random_range(0..ceiling_ms * 1000);
                    tracing::info!(
                        attempt = tries,
                        reason,
                        backoff_us,
                        "ledger transaction aborted; retrying"
                    );
                    thread::sleep(Duration::from_micros(backoff_us));
                }
                Some(reason) => {
                    tracing::warn!(
                        attempts = MAX_ATTEMPTS,
                        reason,
                        "ledger transaction aborted; giving up"
                    );
                    return Err(e);
                }
                None => return Err(e),
            },
            ok => return ok,
        }
    }
}
