//! The time the domain services act at.
//!
//! Every service that asks "what time is it?" — to stamp an order, open a lot,
//! decide whether a lot has lapsed, a hold has timed out or a period has ended —
//! asks [`now`], never `Utc::now()` or the database's `now()`. In production it
//! is the wall clock. The simulator (`crate::sim`) installs a [`SimClock`] on
//! each of its worker threads and moves it forward, so days of expiry, hold
//! timeouts, rate publications and settlement periods pass in seconds, the same
//! for every connection it drives.
//!
//! The clock is per thread, not per process, so a simulation never shifts the
//! time of anything else running in the same process (other tests, a server).

use std::{
    cell::RefCell,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use chrono::{DateTime, Duration, Utc};

thread_local! {
    static INSTALLED: RefCell<Option<Arc<SimClock>>> = const { RefCell::new(None) };
}

/// The time now: the installed simulated clock's on this thread, else the wall clock.
pub fn now() -> DateTime<Utc> {
    INSTALLED.with(|installed| match &*installed.borrow() {
        Some(clock) => clock.now(),
        None => Utc::now(),
    })
}

/// A clock that stands still until it is moved forward. Shared by every thread
/// of one simulation.
#[derive(Debug)]
pub struct SimClock {
    micros: AtomicI64,
}

impl SimClock {
    pub fn starting_at(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            micros: AtomicI64::new(start.timestamp_micros()),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst))
            .expect("the simulated time stays within chrono's range")
    }

    /// Moves the time forward; time never goes back.
    pub fn advance(&self, by: Duration) {
        let micros = by
            .num_microseconds()
            .expect("a step of less than 292,000 years");
        assert!(micros >= 0, "the simulated clock never goes back");
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// Makes this clock the time of [`now`] on the current thread until the
    /// guard is dropped.
    pub fn install(self: &Arc<Self>) -> Installed {
        let previous = INSTALLED.with(|installed| installed.replace(Some(Arc::clone(self))));
        Installed { previous }
    }
}

/// Puts back the clock that was installed before, when dropped.
#[derive(Debug)]
#[must_use = "the clock is uninstalled when the guard is dropped"]
pub struct Installed {
    previous: Option<Arc<SimClock>>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous.take();
        INSTALLED.with(|installed| *installed.borrow_mut() = previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_is_seen_only_on_the_threads_it_is_installed_on() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = SimClock::starting_at(start);
        let guard = clock.install();
        assert_eq!(now(), start);
        clock.advance(Duration::days(3));
        assert_eq!(now(), start + Duration::days(3));
        let elsewhere = std::thread::spawn(now).join().unwrap();
        assert!(elsewhere > start + Duration::days(300));
        drop(guard);
        assert!(now() > start + Duration::days(300));
    }
}
