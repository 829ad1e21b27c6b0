//! Caps on high-demand rewards (高频权益管理): operators limit how many of a
//! reward may be redeemed a day and a month (Asia/Shanghai), overall and per
//! member. Held and fulfilled redemptions count; cancelled and expired ones
//! give their place back. `redeem` checks the caps under the reward's row lock,
//! so they hold exactly however many members order at once.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    catalog::RewardStatus,
    db::schema::{redemptions, reward_caps, rewards},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId},
        shanghai,
    },
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::RedemptionStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Queryable, Selectable, Serialize)]
#[diesel(table_name = reward_caps, check_for_backend(diesel::pg::Pg))]
pub struct Caps {
    pub daily_total: Option<i32>,
    pub monthly_total: Option<i32>,
    pub daily_per_member: Option<i32>,
    pub monthly_per_member: Option<i32>,
}

/// Which cap an order ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    DailyTotal,
    MonthlyTotal,
    DailyPerMember,
    MonthlyPerMember,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DailyTotal => "daily_total",
            Self::MonthlyTotal => "monthly_total",
            Self::DailyPerMember => "daily_per_member",
            Self::MonthlyPerMember => "monthly_per_member",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("no such reward")]
    UnknownReward,
    #[error("a cap must be a whole number above zero, or none")]
    Invalid,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for CapsError {
    fn class(&self) -> Class {
        let (kind, key) = match self {
            Self::UnknownReward => (Kind::NotFound, "error.not_found.text"),
            Self::Invalid => (Kind::Unprocessable, "reward_caps.error.invalid"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "caps_refused", Message::new(key)))
    }
}

pub fn of(conn: &mut PgConnection, reward_id: RewardId) -> QueryResult<Caps> {
    Ok(reward_caps::table
        .find(reward_id)
        .select(Caps::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// Sets a reward's caps (None: no cap); audited.
#[tracing::instrument(skip_all, fields(reward_id = %reward_id))]
pub fn set_caps(
    conn: &mut PgConnection,
    actor: &Actor,
    reward_id: RewardId,
    caps: Caps,
) -> Result<Caps, CapsError> {
    let values = [
        caps.daily_total,
        caps.monthly_total,
        caps.daily_per_member,
        caps.monthly_per_member,
    ];
    if values.iter().flatten().any(|cap| *cap <= 0) {
        return Err(CapsError::Invalid);
    }
    conn.transaction(|conn| {
        let exists: Option<i64> = rewards::table
            .find(reward_id)
            .select(rewards::id)
            .for_update()
            .first(conn)
            .optional()?;
        exists.ok_or(CapsError::UnknownReward)?;
        let before = of(conn, reward_id)?;
        diesel::insert_into(reward_caps::table)
            .values((
                reward_caps::reward_id.eq(reward_id),
                reward_caps::daily_total.eq(caps.daily_total),
                reward_caps::monthly_total.eq(caps.monthly_total),
                reward_caps::daily_per_member.eq(caps.daily_per_member),
                reward_caps::monthly_per_member.eq(caps.monthly_per_member),
                reward_caps::updated_by.eq(&actor.label),
            ))
            .on_conflict(reward_caps::reward_id)
            .do_update()
            .set((
                reward_caps::daily_total.eq(caps.daily_total),
                reward_caps::monthly_total.eq(caps.monthly_total),
                reward_caps::daily_per_member.eq(caps.daily_per_member),
                reward_caps::monthly_per_member.eq(caps.monthly_per_member),
                reward_caps::updated_by.eq(&actor.label),
                reward_caps::updated_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.caps", "reward", reward_id)
                .before(before)
                .after(caps),
        )?;
        Ok(caps)
    })
}

/// What the caps leave now: None where there is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Remaining {
    pub today: Option<i64>,
    pub this_month: Option<i64>,
}

/// How many more of the reward may be redeemed today and this month, overall.
pub fn remaining(
    conn: &mut PgConnection,
    reward_id: RewardId,
    now: DateTime<Utc>,
) -> QueryResult<Remaining> {
    let caps = of(conn, reward_id)?;
    let left = |cap: Option<i32>, used: i64| cap.map(|cap| (i64::from(cap) - used).max(0));
    Ok(Remaining {
        today: left(
            caps.daily_total,
            counted(conn, reward_id, None, day_start(now))?,
        ),
        this_month: left(
            caps.monthly_total,
            counted(conn, reward_id, None, shanghai::start_of_month(now))?,
        ),
    })
}

/// The first cap one more order by the member would pass. Call with the
/// reward's row locked.
pub(super) fn reached(
    conn: &mut PgConnection,
    reward_id: RewardId,
    member_id: MemberId,
    now: DateTime<Utc>,
) -> QueryResult<Option<Window>> {
    let caps = of(conn, reward_id)?;
    let checks = [
        (Window::DailyTotal, caps.daily_total, None, day_start(now)),
        (
            Window::MonthlyTotal,
            caps.monthly_total,
            None,
            shanghai::start_of_month(now),
        ),
        (
            Window::DailyPerMember,
            caps.daily_per_member,
            Some(member_id),
            day_start(now),
        ),
        (
            Window::MonthlyPerMember,
            caps.monthly_per_member,
            Some(member_id),
            shanghai::start_of_month(now),
        ),
    ];
    for (window, cap, member, since) in checks {
        if let Some(cap) = cap
            && counted(conn, reward_id, member, since)? >= i64::from(cap)
        {
            return Ok(Some(window));
        }
    }
    Ok(None)
}

/// Held and fulfilled redemptions of the reward since `since`, of one member or all.
fn counted(
    conn: &mut PgConnection,
    reward_id: RewardId,
    member_id: Option<MemberId>,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    let mut query = redemptions::table
        .filter(redemptions::reward_id.eq(reward_id))
        .filter(redemptions::status.eq_any([RedemptionStatus::Held, RedemptionStatus::Fulfilled]))
        .filter(redemptions::created_at.ge(since))
        .into_boxed();
    if let Some(member) = member_id {
        query = query.filter(redemptions::member_id.eq(member));
    }
    query.count().get_result(conn)
}

fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    shanghai::start_of_day(now)
}

/// A reward as the platform's caps page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedReward {
    pub reward_id: RewardId,
    pub merchant_id: MerchantId,
    pub title_zh: String,
    pub title_en: String,
    pub status: RewardStatus,
    pub stock: i64,
    pub caps: Caps,
    pub remaining: Remaining,
}

/// Every reward with its caps and what they leave now, newest first.
pub fn overview(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<CappedReward>> {
    let rows: Vec<(RewardId, MerchantId, String, String, RewardStatus, i64)> = rewards::table
        .order(rewards::id.desc())
        .select((
            rewards::id,
            rewards::merchant_id,
            rewards::title_zh,
            rewards::title_en,
            rewards::status,
            rewards::stock,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(reward_id, merchant_id, title_zh, title_en, status, stock)| {
                Ok(CappedReward {
                    reward_id,
                    merchant_id,
                    title_zh,
                    title_en,
                    status,
                    stock,
                    caps: of(conn, reward_id)?,
                    remaining: remaining(conn, reward_id, now)?,
                })
            },
        )
        .collect()
}
