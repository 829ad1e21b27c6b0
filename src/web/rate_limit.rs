//! Requests per key per minute (GCRA, through `governor`). The counts live in
//! this process's memory: with several server processes behind a balancer,
//! each allows the configured rate, so a key's real ceiling is that many times
//! higher. Only keys whose signature verified are counted, so strangers cannot
//! spend a partner's allowance, nor grow the table with made-up key ids.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _, clock::DefaultClock};

#[derive(Debug)]
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RateLimiter {
    /// `per_minute` requests a minute per key, in bursts of up to as many.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request for the key; when over the rate, the whole seconds
    /// until the next request would be allowed (at least 1).
    pub fn check(&self, key_id: &str) -> Result<(), u64> {
        self.limiter
            .check_key(&key_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_own_allowance() {
        let limiter = RateLimiter::per_minute(NonZeroU32::new(2).unwrap());
        assert_eq!(limiter.check("ak_a"), Ok(()));
        assert_eq!(limiter.check("ak_a"), Ok(()));
        let wait = limiter.check("ak_a").unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(limiter.check("ak_b"), Ok(()));
    }
}
