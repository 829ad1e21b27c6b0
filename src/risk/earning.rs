//! Abnormal earning. The earning service calls in after every earn it books
//! (`review_earn`, in the earn's own transaction, so an alert exists exactly when
//! the earn does) and after refusing one over the member's daily limit
//! (`daily_limit_reached`). Four patterns are watched, with the limits in
//! [`Thresholds`]:
//!
//! - `earn.velocity`: a member earning many times within an hour;
//! - `earn.outlier`: a purchase far above the member's usual amount;
//! - `earn.shared_device` / `earn.shared_ip`: many members earning from one device
//!   or one IP address — an alert about the merchant where it was seen, since the
//!   device, not any one member, is the risk;
//! - `earn.daily_limit`: an earn refused for the member's daily limit.
//!
//! Member alerts are raised once while unresolved (see `risk`), so a burst of
//! earns puts one alert on the queue, not one per earn.

use chrono::{DateTime, Duration, Utc};
use diesel::{
    dsl::{count, count_star, sum},
    prelude::*,
    sql_types::{BigInt, Timestamptz},
};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::{Value, json};

use crate::{
    db::schema::earn_orders,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        money::Money,
    },
    i18n::Locale,
};

use super::{NewAlert, Severity};

pub const VELOCITY_KIND: &str = "earn.velocity";
pub const OUTLIER_KIND: &str = "earn.outlier";
pub const SHARED_DEVICE_KIND: &str = "earn.shared_device";
pub const SHARED_IP_KIND: &str = "earn.shared_ip";
pub const DAILY_LIMIT_KIND: &str = "earn.daily_limit";

/// When earning counts as abnormal. The defaults are the alliance's policy;
/// they are deliberately loose, since an alert asks an operator to look, not the
/// earn to stop (the daily limit, enforced by the earning service, does that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Velocity: more than this many earns by one member with purchase times
    /// within one hour (default 10).
    pub earns_per_hour: i64,
    /// Outlier: an amount at least this many times the member's average
    /// purchase (default 10)...
    pub outlier_multiple: i64,
    /// ...over this many days before the purchase (default 90)...
    pub outlier_window_days: i64,
    /// ...once the member has at least this many earlier purchases in that
    /// window, so a new member's second purchase is not an outlier (default 5).
    pub outlier_min_history: i64,
    /// Shared device or IP: at least this many distinct members earning from
    /// one device id or one IP address (default 5)...
    pub members_per_device: i64,
    /// ...within this many hours (default 24).
    pub device_window_hours: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            earns_per_hour: 10,
            outlier_multiple: 10,
            outlier_window_days: 90,
            outlier_min_history: 5,
            members_per_device: 5,
            device_window_hours: 24,
        }
    }
}

/// What the review needs of an earn order.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = earn_orders, check_for_backend(diesel::pg::Pg))]
struct Earn {
    id: i64,
    merchant_id: MerchantId,
    member_id: MemberId,
    order_id: String,
    amount_fen: i64,
    device_id: Option<String>,
    ip: Option<String>,
    occurred_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// Alerts are raised by the risk watch itself, not by whoever made the earn.
fn watcher() -> Actor {
    Actor::system("risk")
}

/// Looks at a booked earn and raises the alerts it calls for, with the default
/// [`Thresholds`]. Call it in the earn's transaction, once per booked earn (not
/// for a replayed request).
pub fn review_earn(conn: &mut PgConnection, earn_order_id: i64) -> QueryResult<()> {
    let limits = Thresholds::default();
    let earn: Earn = earn_orders::table
        .find(earn_order_id)
        .select(Earn::as_select())
        .first(conn)?;
    velocity(conn, &earn, &limits)?;
    outlier(conn, &earn, &limits)?;
    if let Some(device) = &earn.device_id {
        shared_source(conn, &earn, &limits, Source::Device(device))?;
    }
    if let Some(ip) = &earn.ip {
        shared_source(conn, &earn, &limits, Source::Ip(ip))?;
    }
    Ok(())
}

/// Records an earn of `attempted` points the earning service refused because
/// it would take the member over `limit` points today at the program.
pub fn daily_limit_reached(
    conn: &mut PgConnection,
    member_id: MemberId,
    merchant_id: MerchantId,
    program_code: &str,
    limit: i64,
    attempted: i64,
) -> QueryResult<()> {
    let details = json!({
        "program": program_code,
        "limit": limit,
        "attempted": attempted,
    });
    let alert = member_alert(DAILY_LIMIT_KIND, merchant_id, member_id, details);
    super::raise_for_member(conn, &watcher(), member_id, &alert).map(drop)
}

/// The most earns by the member in any one hour of purchase times that
/// includes this earn's.
#[derive(QueryableByName)]
struct Busiest {
    #[diesel(sql_type = BigInt)]
    earns: i64,
}

fn velocity(conn: &mut PgConnection, earn: &Earn, limits: &Thresholds) -> QueryResult<()> {
    // Purchase times, not arrival times: a merchant sending a day's orders in one
    // batch is not a member earning fast. Tills that were offline report
    // purchases late and in any order, so every hour-long window that holds
    // this purchase is looked at, not just the hour before it: each ends at
    // some purchase between this one and an hour after it.
    let busiest: Busiest = diesel::sql_query(
        "SELECT coalesce(max(earns), 0) AS earns FROM ( \
             SELECT occurred_at, count(*) OVER (ORDER BY occurred_at \
                 RANGE BETWEEN interval '1 hour' PRECEDING AND CURRENT ROW) AS earns \
             FROM earn_orders \
             WHERE member_id = $1 \
               AND occurred_at >= $2 - interval '1 hour' \
               AND occurred_at < $2 + interval '1 hour' \
         ) windows WHERE occurred_at >= $2",
    )
    .bind::<BigInt, _>(earn.member_id)
    .bind::<Timestamptz, _>(earn.occurred_at)
    .get_result(conn)?;
    if busiest.earns <= limits.earns_per_hour {
        return Ok(());
    }
    let details = json!({ "earns": busiest.earns, "order": earn.order_id });
    let alert = member_alert(VELOCITY_KIND, earn.merchant_id, earn.member_id, details);
    super::raise_for_member(conn, &watcher(), earn.member_id, &alert).map(drop)
}

fn outlier(conn: &mut PgConnection, earn: &Earn, limits: &Thresholds) -> QueryResult<()> {
    let since = earn.occurred_at - Duration::days(limits.outlier_window_days);
    let (earlier, total): (i64, Option<Decimal>) = earn_orders::table
        .filter(earn_orders::member_id.eq(earn.member_id))
        .filter(earn_orders::id.ne(earn.id))
        .filter(earn_orders::occurred_at.ge(since))
        .filter(earn_orders::occurred_at.le(earn.occurred_at))
        .select((count_star(), sum(earn_orders::amount_fen)))
        .get_result(conn)?;
    let Some(total) = total.filter(|t| earlier >= limits.outlier_min_history && *t > Decimal::ZERO)
    else {
        return Ok(());
    };
    // amount ≥ multiple × total / earlier, without dividing.
    let amount = Decimal::from(earn.amount_fen);
    if amount * Decimal::from(earlier) < Decimal::from(limits.outlier_multiple) * total {
        return Ok(());
    }
    let average = total / Decimal::from(earlier);
    let details = json!({
        "amount_fen": earn.amount_fen,
        "average_fen": average.round().to_i64().unwrap_or(i64::MAX),
        "times": (amount / average).round_dp(1).normalize().to_string(),
        "days": limits.outlier_window_days,
        "order": earn.order_id,
    });
    let alert = member_alert(OUTLIER_KIND, earn.merchant_id, earn.member_id, details);
    super::raise_for_member(conn, &watcher(), earn.member_id, &alert).map(drop)
}

/// Where earns came from, as the merchant reported it.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Device(&'a str),
    Ip(&'a str),
}

/// Raises the source's alert when enough distinct members earned from it
/// within the window up to this earn.
fn shared_source(
    conn: &mut PgConnection,
    earn: &Earn,
    limits: &Thresholds,
    source: Source<'_>,
) -> QueryResult<()> {
    // Arrival times here: the indexes are on them, and a device is shared when
    // it is used now, whatever purchase times the merchant reports.
    let since = earn.created_at - Duration::hours(limits.device_window_hours);
    let query = earn_orders::table
        .filter(earn_orders::created_at.gt(since))
        .filter(earn_orders::created_at.le(earn.created_at))
        .select(count(earn_orders::member_id).aggregate_distinct())
        .into_boxed();
    let (query, kind, field, value) = match source {
        Source::Device(device) => (
            query.filter(earn_orders::device_id.eq(device)),
            SHARED_DEVICE_KIND,
            "device",
            device,
        ),
        Source::Ip(ip) => (
            query.filter(earn_orders::ip.eq(ip)),
            SHARED_IP_KIND,
            "ip",
            ip,
        ),
    };
    let members: i64 = query.get_result(conn)?;
    if members < limits.members_per_device {
        return Ok(());
    }
    let details = json!({
        field: value,
        "members": members,
        "hours": limits.device_window_hours,
    });
    let alert = NewAlert {
        kind,
        severity: Severity::Warning,
        merchant_id: earn.merchant_id,
        summary: summary(kind, &details),
        details,
    };
    super::raise(conn, &watcher(), &alert).map(drop)
}

fn member_alert(
    kind: &'static str,
    merchant_id: MerchantId,
    member_id: MemberId,
    details: Value,
) -> NewAlert {
    let subject =
        Locale::default().t_with("risk.subject.member", &[("id", &member_id.to_string())]);
    NewAlert {
        kind,
        severity: Severity::Warning,
        merchant_id,
        summary: format!("{subject} {}", summary(kind, &details)),
        details,
    }
}

/// The stored summary, in the default language, filled from `details` the way
/// pages fill it (see `risk`).
fn summary(kind: &str, details: &Value) -> String {
    let args: Vec<(&str, String)> = details
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| match (name.strip_suffix("_fen"), value) {
            (Some(name), Value::Number(fen)) => {
                Some((name, format!("¥{}", Money::from_fen(fen.as_i64()?))))
            }
            (_, Value::Number(n)) => Some((name.as_str(), n.to_string())),
            (_, Value::String(text)) => Some((name.as_str(), text.clone())),
            _ => None,
        })
        .collect();
    let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Locale::default().t_with(&format!("risk.summary.{kind}"), &args)
}
