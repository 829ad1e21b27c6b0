//! Sign-in throttling: too many failures for one account, or from one address,
//! and further attempts are refused for a while — before the password is even
//! checked, so guessing costs the attacker time, not us CPU.

use chrono::{DateTime, Duration, Utc};
use diesel::{dsl::count_star, prelude::*};

use crate::{db::schema::sign_in_attempts, domain::portal::Portal};

/// The window in which failures count.
const WINDOW_MINUTES: i64 = 15;
/// Failures for one account (since its last success) before it is throttled.
const MAX_ACCOUNT_FAILURES: i64 = 5;
/// Failures from one address, across accounts, before it is throttled.
const MAX_IP_FAILURES: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// When the oldest counted failure leaves the window.
    pub retry_at: DateTime<Utc>,
}

/// Refuses the attempt if the account or the address has failed too often lately.
pub fn check(
    conn: &mut PgConnection,
    portal: Portal,
    account_key: &str,
    ip: &str,
) -> QueryResult<Result<(), Throttled>> {
    let since = Utc::now() - Duration::minutes(WINDOW_MINUTES);
    let last_success: Option<DateTime<Utc>> = sign_in_attempts::table
        .filter(sign_in_attempts::portal.eq(portal.slug()))
        .filter(sign_in_attempts::account_key.eq(account_key))
        .filter(sign_in_attempts::succeeded)
        .select(diesel::dsl::max(sign_in_attempts::at))
        .first(conn)?;
    let account_since = last_success.map_or(since, |s| s.max(since));
    let (failed, retry_at) = failures(conn, portal, Subject::Account(account_key), account_since)?;
    if failed >= MAX_ACCOUNT_FAILURES {
        return Ok(Err(Throttled { retry_at }));
    }
    let (failed, retry_at) = failures(conn, portal, Subject::Ip(ip), since)?;
    if failed >= MAX_IP_FAILURES {
        return Ok(Err(Throttled { retry_at }));
    }
    Ok(Ok(()))
}

/// Whose failures to count.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Account(&'a str),
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

pub fn record(
    conn: &mut PgConnection,
    portal: Portal,
    account_key: &str,
    ip: &str,
    succeeded: bool,
) -> QueryResult<()> {
    diesel::insert_into(sign_in_attempts::table)
        .values((
            sign_in_attempts::portal.eq(portal.slug()),
            sign_in_attempts::account_key.eq(account_key),
            sign_in_attempts::ip.eq(ip),
            sign_in_attempts::succeeded.eq(succeeded),
        ))
        .execute(conn)
        .map(drop)
}
