//! The mix the redemption page proposes: the member's points that lapse
//! soonest go first (never-expiring ones last, the reward's own points before
//! others on a tie, as they carry no fee), each program giving only what is
//! still needed, and cash only for what the points cannot cover.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    domain::{
        id::{MemberId, RewardId},
        money::Money,
    },
    earn::lot,
    program, wallet,
};

use super::{
    RedeemError, offer,
    pay::{self, Leg},
    valuation,
};

/// A payment mix that pays the reward exactly enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub legs: Vec<Leg>,
    pub cash: Money,
}

/// What a member has to pay with: available points by program and when each
/// program's points first lapse (None: never). Loaded once, it prices any
/// number of rewards (`propose_from`).
#[derive(Debug, Clone)]
pub struct Holdings {
    member_id: MemberId,
    available: Vec<(String, i64)>,
    soonest: HashMap<String, Option<DateTime<Utc>>>,
}

impl Holdings {
    pub fn of(conn: &mut PgConnection, member_id: MemberId) -> Result<Self, RedeemError> {
        let balances = wallet::of_member(conn, member_id).map_err(|e| match e {
            wallet::WalletError::Database(e) => RedeemError::Database(e),
            _ => RedeemError::Overflow,
        })?;
        Ok(Self {
            member_id,
            available: balances
                .balances
                .into_iter()
                .filter(|b| b.available > 0)
                .map(|b| (b.code, b.available))
                .collect(),
            soonest: soonest_expiry(conn, member_id)?,
        })
    }
}

/// The proposed mix, or None when the member's points (and cash, where the
/// reward takes it) cannot pay for it.
#[tracing::instrument(skip_all, fields(member_id = %member_id, reward_id = %reward_id))]
pub fn propose(
    conn: &mut PgConnection,
    member_id: MemberId,
    reward_id: RewardId,
) -> Result<Option<Proposal>, RedeemError> {
    let holdings = Holdings::of(conn, member_id)?;
    propose_from(conn, &holdings, reward_id)
}

/// As `propose`, from holdings already loaded.
#[tracing::instrument(skip_all, fields(reward_id = %reward_id))]
pub fn propose_from(
    conn: &mut PgConnection,
    holdings: &Holdings,
    reward_id: RewardId,
) -> Result<Option<Proposal>, RedeemError> {
    let offer = offer(conn, reward_id, false)?;
    let own = program::of_merchant(conn, offer.merchant_id)?.ok_or(RedeemError::UnknownReward)?;
    let mut candidates = Vec::new();
    for (code, available) in &holdings.available {
        match valuation(conn, &offer, &own, code, holdings.member_id) {
            Ok(valuation) => {
                let soonest = holdings.soonest.get(code).copied().flatten();
                let order = (soonest.is_none(), soonest, *code != own.code, code.clone());
                candidates.push((order, code.clone(), *available, valuation));
            }
            Err(RedeemError::ProgramNotAccepted(_)) => {}
            Err(e) => return Err(e),
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0));

    let mut legs: Vec<Leg> = Vec::new();
    let mut left = offer.value_fen;
    for (_, code, available, valuation) in candidates {
        if left <= 0 {
            break;
        }
        // Not enough on its own, a program gives all it is worth, from the
        // fewest points worth that much: rounding can make a last point add nothing.
        let points = if let Some(points) = pay::points_for(valuation, &code, left, available) {
            points
        } else {
            let all = valuation
                .leg(&code, available)
                .ok_or(RedeemError::Overflow)?;
            pay::points_for(valuation, &code, all.value_fen, available).unwrap_or(available)
        };
        let leg = valuation.leg(&code, points).ok_or(RedeemError::Overflow)?;
        left -= leg.value_fen;
        legs.push(leg);
    }
    if left > 0 && !offer.cash_topup {
        return Ok(None);
    }
    trim(&mut legs, offer.value_fen)?;
    // No points at all is no redemption (`RedeemError::NoPoints`).
    if legs.is_empty() {
        return Ok(None);
    }
    Ok(Some(Proposal {
        legs,
        cash: Money::from_fen(left.max(0)),
    }))
}

/// Gives back what earlier legs no longer need once the later ones are in:
/// each leg ends as the fewest points that, with the others, still pay.
fn trim(legs: &mut Vec<Leg>, value_fen: i64) -> Result<(), RedeemError> {
    for i in (0..legs.len()).rev() {
        let others: i64 = legs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, leg)| leg.value_fen)
            .sum();
        let needed = value_fen - others;
        if let Some(points) =
            pay::points_for(legs[i].valuation, &legs[i].program, needed, legs[i].points)
            && points < legs[i].points
        {
            legs[i] = legs[i]
                .valuation
                .leg(&legs[i].program, points)
                .ok_or(RedeemError::Overflow)?;
        }
    }
    // A leg the others made unnecessary is no leg at all.
    legs.retain(|leg| leg.points > 0);
    Ok(())
}

/// When each of the member's programs first has points lapse (None: never).
fn soonest_expiry(
    conn: &mut PgConnection,
    member_id: MemberId,
) -> QueryResult<HashMap<String, Option<DateTime<Utc>>>> {
    let mut soonest: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
    for lot in lot::upcoming(conn, member_id)? {
        soonest
            .entry(lot.program_code.to_string())
            .or_insert(lot.expires_at);
    }
    Ok(soonest)
}
