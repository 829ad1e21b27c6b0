//! Sign-in throttling, decided before the password is checked so guessing costs
//! the attacker time, not us CPU. Three counts of failures in a window:
//!
//! - one account from one address: that address may not try that account again
//!   for a while;
//! - one address across accounts: the address is refused;
//! - one account from everywhere: never a refusal — that would let anyone lock
//!   the owner out — but a growing, bounded delay before the check.
//!
//! Deciding and recording are one step: under a transaction-scoped advisory lock
//! per account (and then per address), the attempt is counted and recorded as a
//! failure before the password is checked, and turned into a success afterwards.
//! Parallel guesses therefore see each other and cannot all slip under the limit.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::{dsl::count_star, prelude::*};

use crate::{
    db::{advisory_xact_lock, schema::sign_in_attempts},
    domain::portal::Portal,
};

/// The window in which failures count.
const WINDOW_MINUTES: i64 = 15;
/// Failures for one account from one address (since its last success from there).
const MAX_PAIR_FAILURES: i64 = 5;
/// Failures from one address, across accounts, before it is throttled.
const MAX_IP_FAILURES: i64 = 30;
/// Failures for one account, from anywhere, before attempts are slowed down.
const FREE_ACCOUNT_FAILURES: i64 = 5;
/// The first delay; it doubles with each further failure up to the bound.
const FIRST_DELAY: StdDuration = StdDuration::from_millis(500);
const MAX_DELAY: StdDuration = StdDuration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// When the oldest counted failure leaves the window.
    pub retry_at: DateTime<Utc>,
}

/// An attempt allowed to go ahead, recorded as failed until [`succeeded`] says
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub attempt_id: i64,
    /// How long to wait before checking the secret.
    pub delay: StdDuration,
}

/// Admits the attempt and records it, or refuses it if the account from this
/// address, or the address, has failed too often lately.
#[tracing::instrument(skip_all)]
pub fn admit(
    conn: &mut PgConnection,
    portal: Portal,
    account_key: &str,
    ip: &str,
) -> QueryResult<Result<Admission, Throttled>> {
    conn.transaction(|conn| {
        // Always the account first, then the address: one order, no deadlock.
        advisory_xact_lock(conn, &format!("sign-in:{}:{account_key}", portal.slug()))?;
        advisory_xact_lock(conn, &format!("sign-in-ip:{}:{ip}", portal.slug()))?;
        let window_start = Utc::now() - Duration::minutes(WINDOW_MINUTES);
        let account_since = last_success(conn, portal, account_key, None)?
            .map_or(window_start, |s| s.max(window_start));
        let pair_since = last_success(conn, portal, account_key, Some(ip))?
            .map_or(window_start, |s| s.max(window_start));

        let (failed, retry_at) =
            failures(conn, portal, Subject::Pair(account_key, ip), pair_since)?;
        if failed >= MAX_PAIR_FAILURES {
            return Ok(Err(Throttled { retry_at }));
        }
        let (failed, retry_at) = failures(conn, portal, Subject::Ip(ip), window_start)?;
        if failed >= MAX_IP_FAILURES {
            return Ok(Err(Throttled { retry_at }));
        }
        let (account_failures, _) =
            failures(conn, portal, Subject::Account(account_key), account_since)?;
        let attempt_id = diesel::insert_into(sign_in_attempts::table)
            .values((
                sign_in_attempts::portal.eq(portal.slug()),
                sign_in_attempts::account_key.eq(account_key),
                sign_in_attempts::ip.eq(ip),
                sign_in_attempts::succeeded.eq(false),
            ))
            .returning(sign_in_attempts::id)
            .get_result(conn)?;
        Ok(Ok(Admission {
            attempt_id,
            delay: delay_after(account_failures),
        }))
    })
}

/// Marks an admitted attempt as a success: the account's failures before it no
/// longer count.
#[tracing::instrument(skip_all, fields(attempt_id = attempt_id))]
pub fn succeeded(conn: &mut PgConnection, attempt_id: i64) -> QueryResult<()> {
    diesel::update(sign_in_attempts::table.find(attempt_id))
        .set(sign_in_attempts::succeeded.eq(true))
        .execute(conn)
        .map(drop)
}

/// The delay after `failures` failures for one account: none for the first few,
/// then doubling, bounded.
fn delay_after(failures: i64) -> StdDuration {
    let Ok(extra) = u32::try_from(failures - FREE_ACCOUNT_FAILURES) else {
        return StdDuration::ZERO;
    };
    FIRST_DELAY
        .checked_mul(2u32.saturating_pow(extra))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

/// When the account last signed in (from `ip`, if given).
fn last_success(
    conn: &mut PgConnection,
    portal: Portal,
    account_key: &str,
    ip: Option<&str>,
) -> QueryResult<Option<DateTime<Utc>>> {
    let query = sign_in_attempts::table
        .filter(sign_in_attempts::portal.eq(portal.slug()))
        .filter(sign_in_attempts::account_key.eq(account_key))
        .filter(sign_in_attempts::succeeded)
        .into_boxed();
    let query = match ip {
        Some(ip) => query.filter(sign_in_attempts::ip.eq(ip)),
        None => query,
    };
    query
        .select(diesel::dsl::max(sign_in_attempts::at))
        .first(conn)
}

/// Whose failures to count.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Account(&'a str),
    Pair(&'a str, &'a str),
    Ip(&'a str),
}

/// How many failures since `since`, and when the oldest of them leaves the window.
fn failures(
    conn: &mut PgConnection,
    portal: Portal,
    subject: Subject,
    since: DateTime<Utc>,
) -> QueryResult<(i64, DateTime<Utc>)> {
    let query = sign_in_attempts::table
        .filter(sign_in_attempts::portal.eq(portal.slug()))
        .filter(diesel::dsl::not(sign_in_attempts::succeeded))
        .filter(sign_in_attempts::at.gt(since))
        .into_boxed();
    let query = match subject {
        Subject::Account(key) => query.filter(sign_in_attempts::account_key.eq(key)),
        Subject::Pair(key, ip) => query
            .filter(sign_in_attempts::account_key.eq(key))
            .filter(sign_in_attempts::ip.eq(ip)),
        Subject::Ip(ip) => query.filter(sign_in_attempts::ip.eq(ip)),
    };
    let (count, oldest): (i64, Option<DateTime<Utc>>) = query
        .select((count_star(), diesel::dsl::min(sign_in_attempts::at)))
        .first(conn)?;
    Ok((
        count,
        oldest.unwrap_or_else(Utc::now) + Duration::minutes(WINDOW_MINUTES),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_from_the_sixth_failure_and_stays_bounded() {
        assert_eq!(delay_after(0), StdDuration::ZERO);
        assert_eq!(delay_after(4), StdDuration::ZERO);
        assert_eq!(delay_after(5), FIRST_DELAY);
        assert_eq!(delay_after(6), FIRST_DELAY * 2);
        assert_eq!(delay_after(1_000), MAX_DELAY);
    }
}
