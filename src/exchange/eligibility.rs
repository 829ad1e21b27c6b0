//! What an exchange must satisfy, checked when it is quoted and again when it
//! is executed (the world may have changed in between; the price may not):
//! A lets points out, B takes points in and may issue (a suspended merchant's
//! program can only be exchanged out of), each side's per-exchange limits, the
//! member's daily limit out of A, and real-name verification from the policy's
//! threshold on.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::{
    db::schema::exchanges,
    deposit,
    domain::{id::MemberId, money::Money, shanghai},
    merchant::{self, tier::Tier},
    people::member,
    program::{self, Program},
};

use super::{ExchangeError, policy::ExchangePolicy};

/// The two programs of an exchange and their partners' tiers.
#[derive(Debug, Clone)]
pub(super) struct Sides {
    pub from: Program,
    pub to: Program,
    pub from_tier: Tier,
    pub to_tier: Tier,
}

impl Sides {
    /// The mean of the two partners' tier spreads (see `pricing`).
    pub fn spread_bp(&self) -> i32 {
        super::pricing::partner_spread_bp(self.from_tier, self.to_tier)
    }
}

pub(super) fn sides(
    conn: &mut PgConnection,
    from_code: &str,
    to_code: &str,
) -> Result<Sides, ExchangeError> {
    if from_code == to_code {
        return Err(ExchangeError::SameProgram);
    }
    let mut side = |code: &str| -> Result<(Program, Tier), ExchangeError> {
        let program = program::by_code(conn, code)?.ok_or(ExchangeError::UnknownProgram)?;
        let merchant =
            merchant::find(conn, program.merchant_id)?.ok_or(ExchangeError::UnknownProgram)?;
        Ok((program, merchant.tier))
    };
    let (from, from_tier) = side(from_code)?;
    let (to, to_tier) = side(to_code)?;
    Ok(Sides {
        from,
        to,
        from_tier,
        to_tier,
    })
}

/// An exchange about to be quoted or executed.
pub(super) struct Candidate<'a> {
    pub sides: &'a Sides,
    pub member_id: MemberId,
    pub from_points: i64,
    pub to_points: i64,
    pub value_out: Money,
}

pub(super) fn check(
    conn: &mut PgConnection,
    candidate: &Candidate,
    policy: &ExchangePolicy,
    now: DateTime<Utc>,
) -> Result<(), ExchangeError> {
    let Sides { from, to, .. } = candidate.sides;
    if !from.exchange_out {
        return Err(ExchangeError::ExchangeOutClosed(from.code.clone()));
    }
    if !to.exchange_in {
        return Err(ExchangeError::ExchangeInClosed(to.code.clone()));
    }
    deposit::ensure_issuing_allowed(conn, to.merchant_id).map_err(|blocked| {
        ExchangeError::DestinationBlocked {
            program: to.code.clone(),
            blocked,
        }
    })?;
    within_limits(from, candidate.from_points)?;
    if candidate.to_points < 1 {
        return Err(ExchangeError::TooFewPoints);
    }
    within_limits(to, candidate.to_points)?;
    let used = exchanged_out_today(conn, candidate.member_id, &from.code, now)?;
    if used + candidate.from_points > from.member_daily_exchange_limit {
        return Err(ExchangeError::DailyLimit {
            program: from.code.clone(),
            limit: from.member_daily_exchange_limit,
            used,
        });
    }
    if candidate.value_out >= policy.real_name_threshold()
        && !member::identity_verified(conn, candidate.member_id)?
    {
        return Err(ExchangeError::RealNameRequired {
            threshold: policy.real_name_threshold(),
        });
    }
    Ok(())
}

fn within_limits(program: &Program, points: i64) -> Result<(), ExchangeError> {
    if points < program.min_exchange_points {
        return Err(ExchangeError::BelowMinimum {
            program: program.code.clone(),
            min: program.min_exchange_points,
        });
    }
    if points > program.max_exchange_points {
        return Err(ExchangeError::AboveMaximum {
            program: program.code.clone(),
            max: program.max_exchange_points,
        });
    }
    Ok(())
}

/// Points of `program` the member exchanged out since midnight in Shanghai.
pub(super) fn exchanged_out_today(
    conn: &mut PgConnection,
    member_id: MemberId,
    program: &str,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    let total: Option<Decimal> = exchanges::table
        .filter(exchanges::member_id.eq(member_id))
        .filter(exchanges::from_program.eq(program))
        .filter(exchanges::created_at.ge(shanghai::start_of_day(now)))
        .select(diesel::dsl::sum(exchanges::from_points))
        .first(conn)?;
    Ok(super::rates::sum_i64(total))
}
